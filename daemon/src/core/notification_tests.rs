//! When the core orders a notification, against a real store and settings
//! file, with the notification task's orders read back.

#![allow(clippy::unwrap_used)]

use wimsy_ipc::{ChatRef, Request, SettingValue};
use wimsy_session::{ArchiveStep, BareJid, Batch, MessageDirection, ReceivedMessage, SessionEvent};

use super::sessions::tests::{Fixture, JULIET, ME, fixture};
use crate::notify::{ChatKey, Content, Order, Preview};
use crate::settings::{NOTIFICATIONS_ENABLED, NOTIFICATIONS_PREVIEW};

pub(super) const ROMEO: &str = "romeo@example.net";

fn message(peer: &str, body: &str, direction: MessageDirection, archived: bool) -> ReceivedMessage {
    ReceivedMessage {
        peer: BareJid::new(peer).unwrap(),
        direction,
        body: body.to_owned(),
        timestamp_ms: 1_700_000_000_000,
        origin_id: None,
        stanza_id: Some(format!("{peer}-{body}")),
        marker_id: None,
        archived,
    }
}

pub(super) fn chat(peer: &str) -> ChatKey {
    ChatKey {
        account: ME.into(),
        peer: peer.into(),
    }
}

pub(super) fn full(peer: &str, unread: u32, latest: &str) -> Order {
    Order::Show(
        chat(peer),
        Content::new(Preview::Full, peer, unread, latest, true),
    )
}

impl Fixture {
    pub(super) fn live(&mut self, peer: &str, body: &str) {
        let received = message(peer, body, MessageDirection::Incoming, false);
        self.event(SessionEvent::Messages {
            messages: vec![received],
            archive_position: None,
            batch: Batch(0),
        });
    }

    /// One archive page, moving the position from `from` to its last.
    fn page(&mut self, from: Option<&str>, messages: &[(&str, &str)]) {
        let messages: Vec<_> = messages
            .iter()
            .map(|(peer, body)| message(peer, body, MessageDirection::Incoming, true))
            .collect();
        let to = messages.last().unwrap().stanza_id.clone().unwrap();
        self.event(SessionEvent::Messages {
            messages,
            archive_position: Some(ArchiveStep {
                from: from.map(str::to_owned),
                to,
            }),
            batch: Batch(0),
        });
    }

    pub(super) fn orders(&mut self) -> Vec<Order> {
        let mut orders = Vec::new();
        while let Ok(order) = self.notifications.try_recv() {
            orders.push(order);
        }
        orders
    }

    pub(super) async fn request(&mut self, request: Request) {
        let client = self.core.subscribers[&1].clone();
        assert!(!self.core.handle_request(&client, 7, request).await);
        while self.frames.try_recv().is_ok() {}
    }

    pub(super) async fn set(&mut self, key: &str, value: SettingValue) {
        self.request(Request::SettingsSet {
            key: key.into(),
            value,
        })
        .await;
    }
}

#[tokio::test]
async fn a_live_message_notifies_its_chat_counting_unread_until_the_chat_is_read() {
    let mut f = fixture();
    f.live(JULIET, "hello");
    assert_eq!(f.orders(), [full(JULIET, 1, "hello")]);
    f.live(JULIET, "again");
    assert_eq!(f.orders(), [full(JULIET, 2, "again")]);

    f.request(Request::MarkRead {
        account: None,
        peer: JULIET.into(),
    })
    .await;
    assert_eq!(f.orders(), [Order::Close(chat(JULIET))]);
    f.live(JULIET, "after reading");
    assert_eq!(f.orders(), [full(JULIET, 1, "after reading")]);
}

#[tokio::test]
async fn a_batch_notifies_each_chat_once_with_its_newest_message_and_a_carbon_between_ends_a_run() {
    let mut f = fixture();
    let live = |peer: &str, body: &str| message(peer, body, MessageDirection::Incoming, false);
    f.event(SessionEvent::Messages {
        messages: vec![
            live(JULIET, "j1"),
            live(ROMEO, "r1"),
            live(JULIET, "j2"),
            live(ROMEO, "r2"),
            live(JULIET, "j3"),
        ],
        archive_position: None,
        batch: Batch(1),
    });
    assert_eq!(f.orders(), [full(JULIET, 3, "j3"), full(ROMEO, 2, "r2")]);

    // Our reply from another device comes between two of Juliet's: the
    // first is notified before it (and withdrawn by it), the second falls
    // in the quiet spell after it. Unread counts are the chat's once the
    // whole batch is stored.
    f.event(SessionEvent::Messages {
        messages: vec![
            live(JULIET, "j4"),
            message(JULIET, "mine", MessageDirection::SentElsewhere, false),
            live(JULIET, "j5"),
        ],
        archive_position: None,
        batch: Batch(2),
    });
    assert_eq!(
        f.orders(),
        [full(JULIET, 5, "j4"), Order::Close(chat(JULIET))]
    );
}

#[tokio::test]
async fn a_focused_window_on_the_chat_and_carbons_of_our_own_messages_notify_nothing() {
    let mut f = fixture();
    let view = |focused, peer: &str| Request::SetView {
        visible: true,
        focused,
        chat: Some(ChatRef {
            account: ME.into(),
            peer: peer.into(),
        }),
    };
    f.request(view(true, JULIET)).await;
    f.live(JULIET, "seen in the window");
    assert_eq!(f.orders(), []);
    f.live(ROMEO, "another chat");
    assert_eq!(f.orders(), [full(ROMEO, 1, "another chat")]);
    // Visible but not focused: the user may not be looking.
    f.request(view(false, JULIET)).await;
    f.live(JULIET, "unfocused");
    assert_eq!(f.orders(), [full(JULIET, 2, "unfocused")]);

    let carbon = message(
        JULIET,
        "from my phone",
        MessageDirection::SentElsewhere,
        false,
    );
    f.event(SessionEvent::Messages {
        messages: vec![carbon],
        archive_position: None,
        batch: Batch(0),
    });
    // Writing there from another device: the notification goes, and the
    // chat stays quiet for the grace period.
    assert_eq!(f.orders(), [Order::Close(chat(JULIET))]);
    f.live(JULIET, "answer to my phone");
    assert_eq!(f.orders(), []);
    f.live(ROMEO, "another chat still notifies");
    assert_eq!(f.orders(), [full(ROMEO, 2, "another chat still notifies")]);
}

#[tokio::test]
async fn the_settings_turn_notifications_off_and_hide_the_text() {
    let mut f = fixture();
    f.set(NOTIFICATIONS_PREVIEW, SettingValue::Text("none".into()))
        .await;
    f.live(JULIET, "secret");
    let orders = f.orders();
    let [Order::Show(_, content)] = orders.as_slice() else {
        panic!("{orders:?}")
    };
    assert_eq!(
        (content.summary.as_str(), content.body.as_str()),
        ("New message", "")
    );

    f.set(NOTIFICATIONS_ENABLED, SettingValue::Bool(false))
        .await;
    assert_eq!(f.orders(), [Order::CloseAll], "those showing go");
    f.live(JULIET, "quiet");
    assert_eq!(f.orders(), []);
}

#[tokio::test]
async fn a_catch_up_notifies_once_per_chat_at_its_end_and_not_what_was_read_meanwhile() {
    let mut f = fixture();
    // The account's first catch-up is its history: nothing of the archive.
    f.event(SessionEvent::CatchUpStarted);
    f.page(None, &[(JULIET, "old 1"), (JULIET, "old 2")]);
    f.event(SessionEvent::CatchUpDone { fetched: 2 });
    assert_eq!(f.orders(), []);

    let position = format!("{JULIET}-old 2");
    f.event(SessionEvent::CatchUpStarted);
    // Delivered live from the server's offline storage during the
    // catch-up: held for its end too.
    f.live(ROMEO, "offline 1");
    f.page(
        Some(&position),
        &[(JULIET, "new 1"), (ROMEO, "r 1"), (JULIET, "new 2")],
    );
    f.page(Some(&format!("{JULIET}-new 2")), &[(ROMEO, "r 2")]);
    assert_eq!(f.orders(), [], "nothing one by one");
    f.request(Request::MarkRead {
        account: None,
        peer: ROMEO.into(),
    })
    .await;
    assert_eq!(f.orders(), [Order::Close(chat(ROMEO))]);
    f.event(SessionEvent::CatchUpDone { fetched: 4 });
    assert_eq!(
        f.orders(),
        [full(JULIET, 4, "new 2")],
        "Juliet's unread count includes the history never read; Romeo's chat was read"
    );
    f.live(ROMEO, "after");
    assert_eq!(f.orders(), [full(ROMEO, 1, "after")], "live again");
}

#[tokio::test]
async fn an_archive_empty_at_the_first_catch_up_is_news_at_the_next() {
    let mut f = fixture();
    f.event(SessionEvent::CatchUpStarted);
    f.event(SessionEvent::CatchUpDone { fetched: 0 });
    // No position yet (nothing was archived), but the history is in: what
    // the archive brings next is news.
    assert_eq!(f.core.store.archive_position(ME).unwrap(), None);
    f.event(SessionEvent::CatchUpStarted);
    f.page(None, &[(JULIET, "while away")]);
    assert_eq!(f.orders(), []);
    f.event(SessionEvent::CatchUpDone { fetched: 1 });
    assert_eq!(f.orders(), [full(JULIET, 1, "while away")]);
}

#[tokio::test]
async fn a_catch_up_that_stops_or_loses_its_connection_tells_what_it_brought() {
    let mut f = fixture();
    f.live(JULIET, "first");
    f.request(Request::MarkRead {
        account: None,
        peer: JULIET.into(),
    })
    .await;
    f.orders();

    // A server without an archive refuses the catch-up.
    f.event(SessionEvent::CatchUpStarted);
    f.live(JULIET, "held");
    assert_eq!(f.orders(), []);
    f.event(SessionEvent::CatchUpStopped);
    assert_eq!(f.orders(), [full(JULIET, 1, "held")]);

    f.event(SessionEvent::CatchUpStarted);
    f.live(ROMEO, "held too");
    assert_eq!(f.orders(), []);
    f.event(SessionEvent::State(
        wimsy_session::SessionState::Connecting {
            attempt: 1,
            retry_in: None,
            last_error: None,
        },
    ));
    assert_eq!(f.orders(), [full(ROMEO, 1, "held too")]);
}

#[tokio::test]
async fn removing_an_account_withdraws_its_notifications_and_forgets_its_catch_up() {
    let mut f = fixture();
    f.event(SessionEvent::CatchUpStarted);
    f.live(JULIET, "held");
    f.request(Request::AccountRemove { jid: ME.into() }).await;
    assert_eq!(f.orders(), [Order::CloseAccount(ME.into())]);
    assert!(f.core.catch_up_news.is_empty());
}
