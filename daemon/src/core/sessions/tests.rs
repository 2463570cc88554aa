//! The core's handling of session events against a real store file: the
//! archive position never gets ahead of what is stored, and a bounce is
//! final.

#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};

use tokio::sync::mpsc;
use wimsy_ipc::{ConnectionState, ConnectionStatus, Event, Role, ServerFrame, decode_frame};
use wimsy_session::{
    ArchiveStep, BareJid, Command, DeliveryStage, MessageDirection, ReceivedMessage, SessionEvent,
    SessionHandle,
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
}

pub(in crate::core) fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("wimsy.sqlite3");
    let store = Store::open(&path).unwrap();
    let (session_events, _) = mpsc::unbounded_channel();
    let mut core = Core::new(
        store,
        AccountStore::new(dir.path()),
        Secrets::files_only(dir.path()),
        crate::settings::Settings::load(dir.path()),
        crate::SessionConfig::tight(),
        session_events,
    );
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
            presence: PresenceBook::default(),
            offered_fingerprint: None,
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

    fn batch(&mut self, bodies: &[&str], step: Option<(Option<&str>, &str)>) {
        let messages = bodies.iter().map(|b| archived(b)).collect();
        self.event(SessionEvent::Messages {
            messages,
            archive_position: step.map(|(from, to)| ArchiveStep {
                from: from.map(str::to_owned),
                to: to.to_owned(),
            }),
        });
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
            if let Command::RewindArchive(position) = command {
                rewinds.push(position);
            }
        }
        rewinds
    }

    /// The events a frontend received since the last call.
    fn published(&mut self) -> Vec<Event> {
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
    f.batch(&["s1", "s2"], Some((None, "s2")));
    assert_eq!(f.position().as_deref(), Some("s2"));
    assert_eq!(f.announced(), ["s1", "s2"]);
    assert!(f.rewinds().is_empty());

    // The next page fails half-way: nothing of it is stored or announced,
    // the position stays, and the session is told where it is.
    poison(&f.path, "s4");
    f.batch(&["s3", "s4"], Some((Some("s2"), "s4")));
    assert_eq!(f.position().as_deref(), Some("s2"));
    assert_eq!(f.stored_bodies(), ["s1", "s2"]);
    assert!(f.announced().is_empty());
    assert_eq!(f.rewinds(), [Some("s2".to_owned())]);

    // A page the session sent before it heard of the rewind: stored, but
    // moving the position to s5 would skip s3 and s4.
    f.batch(&["s5"], Some((Some("s4"), "s5")));
    assert_eq!(f.position().as_deref(), Some("s2"));
    assert_eq!(f.announced(), ["s5"]);
    assert_eq!(f.rewinds(), [Some("s2".to_owned())]);

    // The next catch-up starts from s2 and fetches them again.
    cure(&f.path);
    f.batch(&["s3", "s4", "s5"], Some((Some("s2"), "s5")));
    assert_eq!(f.position().as_deref(), Some("s5"));
    assert_eq!(f.announced(), ["s3", "s4"]);
    assert!(f.rewinds().is_empty());
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
