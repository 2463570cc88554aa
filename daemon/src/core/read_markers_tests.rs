//! Read state across devices in the core: what `mark_read` tells the
//! session, and what a read on another device does here.

#![allow(clippy::unwrap_used)]

use wimsy_ipc::{Event, Request, ServerFrame, SettingValue, decode_frame};
use wimsy_session::{
    BareJid, Batch, Command, Displayed, MarkDisplayed, MessageDirection, MessageRef,
    ReceivedMessage, SessionEvent,
};

use super::sessions::tests::{Fixture, JULIET, ME, fixture};
use crate::notify::{ChatKey, Order};
use crate::settings::PRIVACY_SEND_READ_MARKERS;

/// A live message from Juliet: stanza-id `s-BODY`, and marker id `m-BODY`
/// when it asked for markers.
fn from_juliet(body: &str, markable: bool) -> SessionEvent {
    SessionEvent::Messages {
        messages: vec![ReceivedMessage {
            peer: BareJid::new(JULIET).unwrap(),
            direction: MessageDirection::Incoming,
            body: body.to_owned(),
            timestamp_ms: 1_700_000_000_000,
            origin_id: None,
            stanza_id: Some(format!("s-{body}")),
            marker_id: markable.then(|| format!("m-{body}")),
            archived: false,
        }],
        archive_position: None,
        batch: Batch(0),
    }
}

fn read_on_another_device(up_to: MessageRef) -> SessionEvent {
    SessionEvent::Displayed(Displayed {
        peer: BareJid::new(JULIET).unwrap(),
        up_to,
        by_own_device: true,
    })
}

impl Fixture {
    async fn mark_read(&mut self) {
        let client = self.core.subscribers[&1].clone();
        let request = Request::MarkRead {
            account: None,
            peer: JULIET.to_owned(),
        };
        assert!(!self.core.handle_request(&client, 7, request).await);
    }

    /// What the core asked the session to mark displayed since the last
    /// call.
    fn displayed_sent(&mut self) -> Vec<MarkDisplayed> {
        let mut sent = Vec::new();
        while let Ok(command) = self.commands.try_recv() {
            if let Command::MarkDisplayed(displayed) = command {
                sent.push(displayed);
            }
        }
        sent
    }

    /// The unread counts a frontend was told since the last call.
    fn unread_told(&mut self) -> Vec<u32> {
        let mut counts = Vec::new();
        while let Ok(out) = self.frames.try_recv() {
            let bytes = out.bytes();
            if let ServerFrame::Event {
                event: Event::Unread { count, .. },
                ..
            } = decode_frame::<ServerFrame>(&bytes[..bytes.len() - 1]).unwrap()
            {
                counts.push(count);
            }
        }
        counts
    }

    fn closed(&mut self) -> bool {
        let mut closed = false;
        while let Ok(order) = self.notifications.try_recv() {
            closed |= order
                == Order::Close(ChatKey {
                    account: ME.into(),
                    peer: JULIET.into(),
                });
        }
        closed
    }
}

#[tokio::test]
async fn reading_here_tells_the_contact_and_the_other_devices_once() {
    let mut f = fixture();
    f.event(from_juliet("asks", true));
    f.event(from_juliet("does not ask", false));
    f.mark_read().await;
    assert_eq!(
        f.displayed_sent(),
        vec![MarkDisplayed {
            peer: BareJid::new(JULIET).unwrap(),
            marker_id: Some("m-asks".into()),
            stanza_id: Some("s-does not ask".into()),
        }],
        "the marker names the newest that asked; the node the newest of all"
    );
    f.mark_read().await;
    assert!(f.displayed_sent().is_empty(), "nothing new was read");

    f.core
        .settings_set(PRIVACY_SEND_READ_MARKERS, &SettingValue::Bool(false))
        .unwrap();
    f.event(from_juliet("later", true));
    f.mark_read().await;
    assert_eq!(
        f.displayed_sent(),
        vec![MarkDisplayed {
            peer: BareJid::new(JULIET).unwrap(),
            marker_id: None,
            stanza_id: Some("s-later".into()),
        }],
        "no marker for the contact; the user's devices still learn it"
    );
}

#[tokio::test]
async fn a_read_on_another_device_reads_here_up_to_that_message() {
    let mut f = fixture();
    for body in ["one", "two", "three"] {
        f.event(from_juliet(body, true));
    }
    f.unread_told();
    f.closed();

    f.event(read_on_another_device(MessageRef::MarkerId("m-two".into())));
    assert_eq!(f.unread_told(), [1], "three is still unread");
    assert!(!f.closed(), "its notification stays for what is unread");

    f.event(read_on_another_device(MessageRef::StanzaId(
        "s-three".into(),
    )));
    assert_eq!(f.unread_told(), [0]);
    assert!(f.closed(), "read to its end: the notification goes");
    assert!(
        f.displayed_sent().is_empty(),
        "a read elsewhere is not sent back"
    );

    f.event(read_on_another_device(MessageRef::StanzaId(
        "s-three".into(),
    )));
    f.event(read_on_another_device(MessageRef::StanzaId(
        "unknown".into(),
    )));
    assert!(f.unread_told().is_empty(), "nothing changed, nothing told");

    f.event(from_juliet("four", true));
    f.unread_told();
    f.event(SessionEvent::Displayed(Displayed {
        peer: BareJid::new(JULIET).unwrap(),
        up_to: MessageRef::MarkerId("m-four".into()),
        by_own_device: false,
    }));
    assert!(
        f.unread_told().is_empty(),
        "the contact reading our messages reads nothing of theirs"
    );
}
