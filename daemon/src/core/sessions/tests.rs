//! The core's handling of session events against a real store file: the
//! archive position never gets ahead of what is stored, and a bounce is
//! final.

#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};

use tokio::sync::mpsc;
use wimsy_ipc::{ConnectionState, ConnectionStatus, Event, Role, ServerFrame, decode_frame};
use wimsy_session::{
    ArchiveStep, BareJid, Batch, Command, DeliveryStage, MessageDirection, ReceivedMessage,
    RosterItem, SessionEvent, SessionHandle, SubscriptionKind,
};
use wimsy_store::{Delivery, Direction, NewMessage, Store};

use crate::accounts::{AccountEntry, AccountStore};
use crate::core::presence::PresenceBook;
use crate::core::{AccountRuntime, Core, TaggedEvent};
use crate::ipc_server::{ClientHandle, Outbound};
use crate::secrets::Secrets;

pub(in crate::core) const ME: &str = "me@example.org";
pub(in crate::core) const JULIET: &str = "juliet@example.net";

pub(in crate::core) struct Fixture {
    pub(in crate::core) _dir: tempfile::TempDir,
    path: PathBuf,
    pub(in crate::core) core: Core,
    /// What the core told the account's session.
    pub(in crate::core) commands: mpsc::UnboundedReceiver<Command>,
    /// What a subscribed frontend received.
    pub(in crate::core) frames: mpsc::Receiver<Outbound>,
    /// What the core told the notification task.
    pub(in crate::core) notifications: mpsc::UnboundedReceiver<crate::notify::Order>,
    /// Stands in for the notification task's reports (clicks, status).
    #[allow(dead_code)]
    pub(in crate::core) reports: mpsc::UnboundedSender<crate::notify::Report>,
    /// The last batch number `batch` gave.
    batches: u64,
    /// The batches the core confirmed stored to the session, read by
    /// `rewinds`.
    confirmed: Vec<Batch>,
}

/// A core on the store and files in `dir`, with no account and no
/// session; the notification task's other end is returned.
pub(in crate::core) fn core_in(dir: &std::path::Path) -> (Core, crate::notify::TaskEnd) {
    let store = Store::open(&dir.join("wimsy.sqlite3")).unwrap();
    let (session_events, _) = mpsc::unbounded_channel();
    let (notifier, task_end) = crate::notify::Notifier::detached();
    let core = Core::new(
        store,
        AccountStore::new(dir),
        Secrets::files_only(dir),
        crate::settings::Settings::load(dir),
        crate::SessionConfig::tight(),
        session_events,
        notifier,
    );
    (core, task_end)
}

pub(in crate::core) fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("wimsy.sqlite3");
    let (mut core, task_end) = core_in(dir.path());
    let (session, commands) = SessionHandle::detached();
    core.accounts.insert(
        ME.to_owned(),
        AccountRuntime {
            entry: AccountEntry {
                jid: ME.to_owned(),
                server: None,
                ca_file: None,
                pinned_sha256: None,
            },
            session,
            generation: 1,
            status: ConnectionStatus::new(ConnectionState::Connected, "connected"),
            contacts: crate::core::contacts::ContactBook::default(),
            presence: PresenceBook::default(),
            offered_fingerprint: None,
            subscription_requests: std::collections::BTreeSet::new(),
            own_presence: wimsy_ipc::OwnPresence::default(),
        },
    );
    let (client, frames) = ClientHandle::detached(1, Role::Gui, 1_024);
    core.subscribers.insert(client.id, client);
    Fixture {
        _dir: dir,
        path,
        core,
        commands,
        frames,
        notifications: task_end.orders,
        reports: task_end.reports,
        batches: 0,
        confirmed: Vec::new(),
    }
}

impl Fixture {
    pub(in crate::core) fn event(&mut self, event: SessionEvent) {
        self.core.on_session_event(TaggedEvent {
            account: ME.to_owned(),
            generation: 1,
            event,
        });
    }

    fn batch(&mut self, bodies: &[&str], step: Option<(Option<&str>, &str)>) -> Batch {
        let messages = bodies.iter().map(|b| archived(b)).collect();
        self.batches += 1;
        let batch = Batch(self.batches);
        self.event(SessionEvent::Messages {
            messages,
            archive_position: step.map(|(from, to)| ArchiveStep {
                from: from.map(str::to_owned),
                to: to.to_owned(),
            }),
            batch,
        });
        batch
    }

    /// The batches confirmed stored since the last call.
    fn confirmed(&mut self) -> Vec<Batch> {
        self.rewinds();
        std::mem::take(&mut self.confirmed)
    }

    fn position(&self) -> Option<String> {
        self.core.store.archive_position(ME).unwrap()
    }

    fn stored_bodies(&self) -> Vec<String> {
        let page = self.core.store.history(ME, JULIET, None, 100).unwrap();
        page.messages.into_iter().rev().map(|m| m.body).collect()
    }

    /// The rewinds the session was sent since the last call.
    fn rewinds(&mut self) -> Vec<Option<String>> {
        let mut rewinds = Vec::new();
        while let Ok(command) = self.commands.try_recv() {
            match command {
                Command::RewindArchive(position) => rewinds.push(position),
                Command::Stored(batch) => self.confirmed.push(batch),
                _ => {}
            }
        }
        rewinds
    }

    /// The events a frontend received since the last call.
    pub(in crate::core) fn published(&mut self) -> Vec<Event> {
        let mut events = Vec::new();
        while let Ok(out) = self.frames.try_recv() {
            let bytes = out.bytes();
            match decode_frame::<ServerFrame>(&bytes[..bytes.len() - 1]).unwrap() {
                ServerFrame::Event { event, .. } => events.push(event),
                other => panic!("not an event: {other:?}"),
            }
        }
        events
    }

    fn announced(&mut self) -> Vec<String> {
        self.published()
            .into_iter()
            .filter_map(|e| match e {
                Event::Message { message, .. } => Some(message.body),
                _ => None,
            })
            .collect()
    }
}

/// An archived message from Juliet whose body is also its stanza-id.
fn archived(body: &str) -> ReceivedMessage {
    ReceivedMessage {
        peer: BareJid::new(JULIET).unwrap(),
        direction: MessageDirection::Incoming,
        body: body.to_owned(),
        timestamp_ms: 1_700_000_000_000,
        origin_id: None,
        stanza_id: Some(body.to_owned()),
        marker_id: None,
        archived: true,
    }
}

/// Makes storing a message with this body fail from now on, from a second
/// connection to the file, as a failing disk would.
fn poison(path: &Path, body: &str) {
    rusqlite::Connection::open(path)
        .unwrap()
        .execute_batch(&format!(
            "CREATE TRIGGER poison BEFORE INSERT ON messages WHEN NEW.body = '{body}' \
             BEGIN SELECT RAISE(ABORT, 'poisoned'); END;"
        ))
        .unwrap();
}

fn cure(path: &Path) {
    rusqlite::Connection::open(path)
        .unwrap()
        .execute_batch("DROP TRIGGER poison;")
        .unwrap();
}

#[test]
fn a_batch_that_cannot_be_stored_does_not_move_the_archive_position() {
    let mut f = fixture();
    let first = f.batch(&["s1", "s2"], Some((None, "s2")));
    assert_eq!(f.position().as_deref(), Some("s2"));
    assert_eq!(f.announced(), ["s1", "s2"]);
    assert!(f.rewinds().is_empty());
    assert_eq!(
        f.confirmed(),
        [first],
        "stored, so confirmed to the session"
    );

    // The next page fails half-way: nothing of it is stored or announced,
    // the position stays, the session is told where it is, and it is not
    // confirmed (the server is not told we have it).
    poison(&f.path, "s4");
    f.batch(&["s3", "s4"], Some((Some("s2"), "s4")));
    assert_eq!(f.position().as_deref(), Some("s2"));
    assert_eq!(f.stored_bodies(), ["s1", "s2"]);
    assert!(f.announced().is_empty());
    assert_eq!(f.rewinds(), [Some("s2".to_owned())]);
    assert!(f.confirmed().is_empty());

    // A page the session sent before it heard of the rewind: stored, but
    // moving the position to s5 would skip s3 and s4.
    let stored = f.batch(&["s5"], Some((Some("s4"), "s5")));
    assert_eq!(f.position().as_deref(), Some("s2"));
    assert_eq!(f.announced(), ["s5"]);
    assert_eq!(f.rewinds(), [Some("s2".to_owned())]);
    assert_eq!(f.confirmed(), [stored]);

    // The next catch-up starts from s2 and fetches them again.
    cure(&f.path);
    let again = f.batch(&["s3", "s4", "s5"], Some((Some("s2"), "s5")));
    assert_eq!(f.position().as_deref(), Some("s5"));
    assert_eq!(f.announced(), ["s3", "s4"]);
    assert!(f.rewinds().is_empty());
    assert_eq!(f.confirmed(), [again]);
    assert_eq!(f.stored_bodies(), ["s1", "s2", "s3", "s4", "s5"]);
}

#[test]
fn a_live_message_that_cannot_be_stored_does_not_move_the_archive_position() {
    let mut f = fixture();
    f.batch(&[], Some((None, "s1")));
    poison(&f.path, "s2");
    f.event(SessionEvent::Messages {
        messages: vec![ReceivedMessage {
            archived: false,
            ..archived("s2")
        }],
        archive_position: Some(ArchiveStep {
            from: Some("s1".into()),
            to: "s2".into(),
        }),
        batch: Batch(0),
    });
    assert_eq!(f.position().as_deref(), Some("s1"));
    assert_eq!(f.rewinds(), [Some("s1".to_owned())]);
}

fn deliveries(f: &mut Fixture) -> Vec<wimsy_ipc::Delivery> {
    f.published()
        .into_iter()
        .filter_map(|e| match e {
            Event::Delivery { delivery, .. } => Some(delivery),
            _ => None,
        })
        .collect()
}

pub(in crate::core) fn outgoing(f: &mut Fixture, body: &str) -> i64 {
    f.core
        .store
        .insert_message(&NewMessage {
            account: ME,
            peer: JULIET,
            direction: Direction::Out,
            body,
            timestamp_ms: 1,
            origin_id: Some(body),
            stanza_id: None,
            delivery: Delivery::Queued,
            marker_id: None,
            archived: false,
        })
        .unwrap()
        .message()
        .id
}

pub(in crate::core) fn stage(f: &mut Fixture, token: i64, stage: DeliveryStage) {
    f.event(SessionEvent::Delivery { token, stage });
}

#[test]
fn a_bounce_is_final_whether_the_ack_comes_before_or_after_it() {
    let mut f = fixture();
    let bounce = || DeliveryStage::Failed("the server of nowhere.invalid cannot be found".into());

    // Acked, then bounced.
    let first = outgoing(&mut f, "first");
    stage(&mut f, first, DeliveryStage::Sent);
    stage(&mut f, first, DeliveryStage::Acked);
    stage(&mut f, first, bounce());
    use wimsy_ipc::Delivery as Wire;
    assert_eq!(deliveries(&mut f), [Wire::Sent, Wire::Acked, Wire::Failed]);

    // Bounced, then acked (the server acks what it took, bounce or not),
    // then a resend's "sent".
    let second = outgoing(&mut f, "second");
    stage(&mut f, second, DeliveryStage::Sent);
    stage(&mut f, second, bounce());
    stage(&mut f, second, DeliveryStage::Acked);
    stage(&mut f, second, DeliveryStage::Sent);
    assert_eq!(deliveries(&mut f), [Wire::Sent, Wire::Failed]);

    for id in [first, second] {
        let m = f.core.store.message(id).unwrap().unwrap();
        assert_eq!(m.delivery, Delivery::Failed);
        assert_eq!(
            m.failure_reason.as_deref(),
            Some("the server of nowhere.invalid cannot be found")
        );
    }
    // Neither goes out again at the next start.
    assert!(f.core.store.pending_outgoing(ME).unwrap().is_empty());
}

fn subscription(from: &str, kind: SubscriptionKind) -> SessionEvent {
    SessionEvent::Subscription {
        from: BareJid::new(from).unwrap(),
        kind,
    }
}

fn push(jid: &str, subscription: &str) -> SessionEvent {
    SessionEvent::RosterPushed {
        ver: None,
        item: RosterItem {
            jid: jid.to_owned(),
            name: None,
            subscription: subscription.to_owned(),
            groups: vec![],
        },
    }
}

/// A request is announced once however often the server delivers it, and
/// is gone when a roster push shows it approved (here or on another
/// device) or the asker withdraws it.
#[test]
fn subscription_requests_are_kept_until_settled() {
    let mut f = fixture();
    f.event(subscription(JULIET, SubscriptionKind::Subscribe));
    f.event(subscription(JULIET, SubscriptionKind::Subscribe));
    f.event(subscription(
        "romeo@example.net",
        SubscriptionKind::Subscribe,
    ));
    let requests = |events: Vec<Event>| -> Vec<String> {
        events
            .into_iter()
            .filter_map(|e| match e {
                Event::SubscriptionRequest { jid, .. } => Some(format!("+{jid}")),
                Event::SubscriptionRequestGone { jid, .. } => Some(format!("-{jid}")),
                _ => None,
            })
            .collect()
    };
    assert_eq!(
        requests(f.published()),
        [format!("+{JULIET}"), "+romeo@example.net".to_owned()]
    );
    assert_eq!(
        f.core.subscription_requests(ME),
        [JULIET, "romeo@example.net"]
    );
    f.event(push(JULIET, "from"));
    f.event(subscription(
        "romeo@example.net",
        SubscriptionKind::Unsubscribe,
    ));
    assert_eq!(
        requests(f.published()),
        [format!("-{JULIET}"), "-romeo@example.net".to_owned()]
    );
    assert!(f.core.subscription_requests(ME).is_empty());
    // Our own account asking is no request.
    f.event(subscription(ME, SubscriptionKind::Subscribe));
    assert!(requests(f.published()).is_empty());
}

/// A contact whose presence we see (we added them and they approved)
/// asking back is approved at once, not shown as a request.
#[tokio::test]
async fn a_request_from_a_contact_we_see_is_approved() {
    let mut f = fixture();
    f.event(push(JULIET, "to"));
    f.published();
    f.event(subscription(JULIET, SubscriptionKind::Subscribe));
    assert!(f.core.subscription_requests(ME).is_empty());
    assert!(
        !f.published()
            .iter()
            .any(|e| matches!(e, Event::SubscriptionRequest { .. }))
    );
    let approved = tokio::time::timeout(std::time::Duration::from_secs(5), async {
        loop {
            match f.commands.recv().await.unwrap() {
                Command::SendSubscription { to, kind, .. } => return (to, kind),
                _ => continue,
            }
        }
    })
    .await
    .unwrap();
    assert_eq!(approved.0.as_str(), JULIET);
    assert_eq!(approved.1, SubscriptionKind::Subscribed);
}

/// The chosen presence is stored, announced once, handed to the session,
/// and read back by a later daemon on the same store.
#[test]
fn own_presence_is_kept_and_announced() {
    let mut f = fixture();
    let away = wimsy_ipc::Show::Away;
    f.core
        .set_presence(None, away, Some(" at lunch ".into()))
        .unwrap();
    f.core
        .set_presence(None, away, Some("at lunch".into()))
        .unwrap();
    let announced: Vec<Event> = f
        .published()
        .into_iter()
        .filter(|e| matches!(e, Event::OwnPresence { .. }))
        .collect();
    let expected = wimsy_ipc::OwnPresence {
        show: wimsy_ipc::Show::Away,
        status: Some("at lunch".into()),
    };
    assert_eq!(
        announced,
        [Event::OwnPresence {
            account: ME.into(),
            presence: expected.clone()
        }]
    );
    let mut told = Vec::new();
    while let Ok(command) = f.commands.try_recv() {
        if let Command::SetPresence(p) = command {
            told.push(p);
        }
    }
    assert_eq!(told.len(), 2);
    assert_eq!(told[0].availability, wimsy_session::Availability::Away);
    assert_eq!(told[0].status.as_deref(), Some("at lunch"));
    let later = Store::open(&f.path).unwrap();
    let (session_events, _) = mpsc::unbounded_channel();
    let dir = tempfile::tempdir().unwrap();
    let core = Core::new(
        later,
        AccountStore::new(dir.path()),
        Secrets::files_only(dir.path()),
        crate::settings::Settings::load(dir.path()),
        crate::SessionConfig::tight(),
        session_events,
        crate::notify::Notifier::detached().0,
    );
    assert_eq!(core.stored_presence(ME), expected);
    let refused = f
        .core
        .set_presence(None, wimsy_ipc::Show::Unknown, None)
        .unwrap_err();
    assert_eq!(refused.code, wimsy_ipc::ErrorCode::InvalidArgument);
}

/// A roster change is answered from outside the core: its place in the
/// client's queue is kept at once, the core goes on (here: an event is
/// published meanwhile), and the answer fills the place when the server
/// has taken the change.
#[tokio::test]
async fn a_roster_change_is_answered_later_in_its_place() {
    let mut f = fixture();
    f.event(push(JULIET, "both"));
    f.published();
    let (client, mut queue) = ClientHandle::detached(2, Role::Cli, 16);
    let rename = wimsy_ipc::Request::RosterRename {
        account: None,
        jid: JULIET.into(),
        name: "Juliet".into(),
    };
    assert!(!f.core.handle_request(&client, 7, rename).await);
    let place = queue.try_recv().unwrap().later().expect("a place kept");
    // The core is free: the session has the change, not yet its answer.
    let Command::SetRosterItem { item, reply } = f.commands.recv().await.unwrap() else {
        panic!("not a roster change")
    };
    assert_eq!(item.name.as_deref(), Some("Juliet"));
    f.event(subscription(
        "romeo@example.net",
        SubscriptionKind::Subscribe,
    ));
    assert_eq!(f.published().len(), 1);
    reply.send(Ok(())).unwrap();
    let bytes = place.wait().await;
    let frame: ServerFrame = decode_frame(&bytes[..bytes.len() - 1]).unwrap();
    assert_eq!(
        frame,
        ServerFrame::Response {
            id: 7,
            result: wimsy_ipc::Response::Done
        }
    );

    // A refusal comes back in the server's words; a contact that is not
    // there is refused at once.
    let remove = wimsy_ipc::Request::RosterRemove {
        account: None,
        jid: JULIET.into(),
    };
    assert!(!f.core.handle_request(&client, 8, remove).await);
    let place = queue.try_recv().unwrap().later().expect("a place kept");
    let Command::RemoveRosterItem { reply, .. } = f.commands.recv().await.unwrap() else {
        panic!("not a roster removal")
    };
    reply
        .send(Err(wimsy_session::RequestError::Refused(
            "the item does not exist".into(),
        )))
        .unwrap();
    let bytes = place.wait().await;
    let ServerFrame::Error { id, error } = decode_frame(&bytes[..bytes.len() - 1]).unwrap() else {
        panic!("not an error")
    };
    assert_eq!(id, Some(8));
    assert_eq!(error.code, wimsy_ipc::ErrorCode::ServerError);
    assert_eq!(
        error.message,
        "me@example.org: the server refused: the item does not exist"
    );
    let stranger = wimsy_ipc::Request::RosterRename {
        account: None,
        jid: "romeo@example.net".into(),
        name: "R".into(),
    };
    assert!(!f.core.handle_request(&client, 9, stranger).await);
    let out = queue.try_recv().unwrap();
    assert!(String::from_utf8_lossy(out.bytes()).contains("is not among the contacts"));
}
