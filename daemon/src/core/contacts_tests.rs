//! The roster kept in memory: what a fresh attach's snapshot shows after
//! roster results, pushes, removals and presence, and that a restarted
//! daemon takes the roster from the store. Against a real store file.

#![allow(clippy::unwrap_used)]

use wimsy_ipc::{ConnectionState, Contact, PresenceView};
use wimsy_session::{Jid, PresenceUpdate, RosterItem, SessionEvent, SessionState};
use wimsy_store::Store;

use super::convert;
use super::sessions::tests::{Fixture, ME, fixture};
use crate::accounts::{AccountEntry, AccountStore};

fn item(jid: &str, name: Option<&str>, subscription: &str, groups: &[&str]) -> RosterItem {
    RosterItem {
        jid: jid.to_owned(),
        name: name.map(str::to_owned),
        subscription: subscription.to_owned(),
        groups: groups.iter().map(|g| (*g).to_owned()).collect(),
    }
}

fn contact(jid: &str, name: Option<&str>, subscription: &str, groups: &[&str]) -> Contact {
    Contact {
        jid: jid.to_owned(),
        name: name.map(str::to_owned),
        subscription: subscription.to_owned(),
        groups: groups.iter().map(|g| (*g).to_owned()).collect(),
        presence: PresenceView::default(),
    }
}

fn presence(from: &str, available: bool, show: Option<&str>) -> SessionEvent {
    SessionEvent::Presence(PresenceUpdate {
        from: Jid::new(from).unwrap(),
        available,
        show: show.map(str::to_owned),
        status: None,
    })
}

fn online(show: Option<&str>) -> PresenceView {
    PresenceView {
        available: true,
        show: show.map(str::to_owned),
        status: None,
    }
}

impl Fixture {
    /// The account's contacts in a snapshot taken now, as a fresh attach
    /// gets it.
    fn snapshot_contacts(&self) -> Vec<Contact> {
        let snapshot = self.core.snapshot().unwrap();
        let account = snapshot.accounts.iter().find(|a| a.jid == ME).unwrap();
        account.contacts.clone()
    }

    /// The stored roster with the presence the core knows: what the
    /// snapshot showed when it read the store each time.
    fn stored_contacts(&self) -> Vec<Contact> {
        let (_, items) = self.core.store.roster(ME).unwrap();
        let runtime = &self.core.accounts[ME];
        items
            .iter()
            .map(|i| convert::contact(i, runtime.presence.view(&i.jid)))
            .collect()
    }
}

#[test]
fn roster_changes_and_presence_show_in_a_fresh_snapshot_exactly() {
    let mut f = fixture();
    f.event(SessionEvent::RosterReplaced {
        ver: Some("1".to_owned()),
        items: vec![
            item(
                "romeo@example.net",
                Some("Romeo"),
                "both",
                &["Verona", "Friends", "Verona"],
            ),
            item("nurse@example.net", None, "to", &[]),
            item("benvolio@example.net", None, "from", &[]),
        ],
    });
    // Groups as the store reads them back: sorted, once each.
    assert_eq!(
        f.snapshot_contacts(),
        [
            contact("benvolio@example.net", None, "from", &[]),
            contact("nurse@example.net", None, "to", &[]),
            contact(
                "romeo@example.net",
                Some("Romeo"),
                "both",
                &["Friends", "Verona"]
            ),
        ]
    );
    assert_eq!(f.snapshot_contacts(), f.stored_contacts());

    f.event(SessionEvent::RosterPushed {
        ver: Some("2".to_owned()),
        item: item("tybalt@example.net", Some("Tybalt"), "none", &["Capulet"]),
    });
    f.event(SessionEvent::RosterPushed {
        ver: Some("3".to_owned()),
        item: item("nurse@example.net", None, "remove", &[]),
    });
    f.event(SessionEvent::RosterPushed {
        ver: Some("4".to_owned()),
        item: item("romeo@example.net", Some("Romeo M."), "both", &["Verona"]),
    });
    f.event(presence("romeo@example.net/phone", true, Some("away")));
    f.event(presence("romeo@example.net/laptop", true, None));
    f.event(presence("benvolio@example.net/a", true, Some("dnd")));
    // Presence from someone not in the roster shows nowhere.
    f.event(presence("mercutio@example.net/x", true, None));
    let mut romeo = contact("romeo@example.net", Some("Romeo M."), "both", &["Verona"]);
    romeo.presence = online(None);
    let mut benvolio = contact("benvolio@example.net", None, "from", &[]);
    benvolio.presence = online(Some("dnd"));
    let tybalt = contact("tybalt@example.net", Some("Tybalt"), "none", &["Capulet"]);
    assert_eq!(
        f.snapshot_contacts(),
        [benvolio.clone(), romeo.clone(), tybalt.clone()]
    );
    assert_eq!(f.snapshot_contacts(), f.stored_contacts());

    f.event(presence("romeo@example.net/laptop", false, None));
    f.event(presence("benvolio@example.net/a", false, None));
    romeo.presence = online(Some("away"));
    benvolio.presence = PresenceView::default();
    assert_eq!(
        f.snapshot_contacts(),
        [benvolio.clone(), romeo.clone(), tybalt.clone()]
    );

    // A roster result from the server replaces the book: gone is gone,
    // presence of those still there stays.
    f.event(SessionEvent::RosterReplaced {
        ver: Some("5".to_owned()),
        items: vec![
            item("romeo@example.net", Some("Romeo M."), "both", &["Verona"]),
            item("juliet@example.net", None, "both", &[]),
        ],
    });
    assert_eq!(
        f.snapshot_contacts(),
        [contact("juliet@example.net", None, "both", &[]), romeo]
    );
    assert_eq!(f.snapshot_contacts(), f.stored_contacts());

    // The connection gone, nobody is online any more.
    f.event(SessionEvent::State(SessionState::Connecting {
        attempt: 1,
        retry_in: Some(std::time::Duration::from_secs(1)),
        last_error: Some("the server closed the connection".to_owned()),
    }));
    assert_ne!(f.core.accounts[ME].status.state, ConnectionState::Connected);
    assert_eq!(
        f.snapshot_contacts(),
        [
            contact("juliet@example.net", None, "both", &[]),
            contact("romeo@example.net", Some("Romeo M."), "both", &["Verona"]),
        ]
    );
}

/// The book is memory only: a new daemon on the same store file starts
/// with the stored roster, before its session has said anything (the
/// account is offline, so there is no server to ask).
#[tokio::test]
async fn a_restarted_daemon_takes_the_roster_from_the_store() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("wimsy.sqlite3");
    {
        let mut f = fixture_at(&path, dir.path());
        f.event(SessionEvent::RosterReplaced {
            ver: Some("1".to_owned()),
            items: vec![
                item("romeo@example.net", Some("Romeo"), "both", &["Verona"]),
                item("nurse@example.net", None, "to", &[]),
            ],
        });
        f.event(SessionEvent::RosterPushed {
            ver: Some("2".to_owned()),
            item: item("nurse@example.net", None, "remove", &[]),
        });
        f.event(SessionEvent::RosterPushed {
            ver: Some("3".to_owned()),
            item: item("tybalt@example.net", None, "none", &[]),
        });
        f.event(presence("romeo@example.net/phone", true, None));
        f.core.set_online(ME, false);
    }

    let (mut core, _task_end) = super::sessions::tests::core_in(dir.path());
    let entry = AccountEntry {
        jid: ME.to_owned(),
        server: None,
        ca_file: None,
        pinned_sha256: None,
    };
    core.start_account(entry, wimsy_session::Password::new("unused"))
        .unwrap();
    assert_eq!(core.accounts[ME].status.state, ConnectionState::Offline);
    let snapshot = core.snapshot().unwrap();
    assert_eq!(snapshot.accounts.len(), 1);
    assert_eq!(
        snapshot.accounts[0].contacts,
        [
            contact("romeo@example.net", Some("Romeo"), "both", &["Verona"]),
            contact("tybalt@example.net", None, "none", &[]),
        ]
    );
}

/// [`fixture`], on a store file of the caller's.
fn fixture_at(path: &std::path::Path, dir: &std::path::Path) -> Fixture {
    let mut f = fixture();
    f.core.store = Store::open(path).unwrap();
    f.core.account_files = AccountStore::new(dir);
    f
}
