//! The window without a window: views driven by iced_test's simulator
//! (click, type, find text), answers given by hand through a test
//! requester.

#![allow(clippy::unwrap_used)]

use iced::keyboard::{Key, key::Named};
use iced::{Point, mouse};
use iced_test::{selector, simulator};
use wimsy_ipc::{
    AccountSnapshot, ChatMessage, ChatSummary, ConnectionState, ConnectionStatus, Delivery,
    Direction, Event, Request, Response, Snapshot,
};

use super::*;

mod attention;
mod daemon;
mod screens;
use crate::link::testing::{self, Asked};
use crate::screen::conversation::COMPOSER_ID;

pub(super) const ME: &str = "me@example.org";
pub(super) const BOB: &str = "bob@example.org";

pub(super) fn msg(id: i64, direction: Direction, delivery: Delivery) -> ChatMessage {
    ChatMessage {
        id,
        peer: BOB.to_owned(),
        direction,
        body: format!("message {id}"),
        timestamp_ms: 1_700_000_000_000 + id * 60_000,
        origin_id: None,
        stanza_id: None,
        delivery,
    }
}

pub(super) fn snapshot(seq: u64) -> Snapshot {
    Snapshot {
        seq,
        settings: Vec::new(),
        notifier: None,
        accounts: vec![AccountSnapshot {
            jid: ME.to_owned(),
            status: ConnectionStatus::new(ConnectionState::Connected, ""),
            contacts: Vec::new(),
            chats: vec![ChatSummary {
                peer: BOB.to_owned(),
                last: msg(200, Direction::In, Delivery::Received),
                unread: 1,
            }],
            subscription_requests: Vec::new(),
            presence: Default::default(),
            mutes: Vec::new(),
        }],
    }
}

/// A window attached on connection `connection` at event `seq`.
pub(super) fn attach(app: &mut App, connection: u64, seq: u64) -> Asked {
    let (requester, asked) = testing::requester(connection);
    let _ = app.update(Message::Link(LinkEvent::Attached {
        requester,
        daemon: "wimsyd test".to_owned(),
        snapshot: snapshot(seq),
    }));
    asked
}

pub(super) fn app() -> App {
    App::new(Launch::default())
}

/// Click `what` (a text or an id) in the window and apply what it produced.
pub(super) fn click(app: &mut App, what: &str) {
    let messages: Vec<Message> = {
        let mut ui = simulator(app.view());
        ui.click(what)
            .unwrap_or_else(|e| panic!("cannot click {what}: {e:?}"));
        ui.into_messages().collect()
    };
    for message in messages {
        let _ = app.update(message);
    }
}

pub(super) fn finds(app: &App, what: &str) -> bool {
    let mut ui = simulator(app.view());
    ui.find(what).is_ok()
}

/// The requests asked so far, answers dropped; `History` pages are
/// returned in order to be answered with [`page`].
pub(super) fn requests(asked: &mut Asked) -> Vec<Request> {
    testing::drain(asked)
}

/// The newest page of bob's chat: messages `from..=to`, newest first.
pub(super) fn page(app: &mut App, token: u64, older: bool, from: i64, to: i64, more: bool) {
    let messages = (from..=to)
        .rev()
        .map(|id| msg(id, Direction::In, Delivery::Received))
        .collect();
    let _ = app.update(Message::Page {
        chat: ChatKey::new(ME, BOB),
        token,
        older,
        answer: Ok(Response::History {
            account: ME.to_owned(),
            peer: BOB.to_owned(),
            messages,
            next_before: more.then(|| format!("before-{from}")),
        }),
    });
}

pub(super) fn history_asks(requests: &[Request]) -> Vec<Option<String>> {
    requests
        .iter()
        .filter_map(|r| match r {
            Request::History { before, .. } => Some(before.clone()),
            _ => None,
        })
        .collect()
}

/// Open bob's chat by clicking it, and answer its newest page (101..=200).
pub(super) fn open_bob(app: &mut App, asked: &mut Asked) {
    click(app, BOB);
    let asks = requests(asked);
    assert_eq!(history_asks(&asks), [None], "{asks:?}");
    page(app, 1, false, 101, 200, true);
}

#[test]
fn the_sidebar_shows_accounts_in_words_and_chats() {
    let mut app = app();
    let _asked = attach(&mut app, 1, 5);
    assert!(finds(&app, ME));
    assert!(finds(&app, "Connected"));
    assert!(finds(&app, BOB));
    assert!(finds(&app, "message 200"));
    assert!(finds(&app, "1"), "the unread count");
}

#[test]
fn opening_a_chat_shows_its_newest_messages_and_marks_it_read() {
    let mut app = app();
    let mut asked = attach(&mut app, 1, 5);
    open_bob(&mut app, &mut asked);
    assert!(finds(&app, "message 200"));
    assert!(finds(&app, "message 150"));
    // The newest message is on screen in a focused window: read.
    let asks = requests(&mut asked);
    assert!(
        asks.iter()
            .any(|r| matches!(r, Request::MarkRead { peer, .. } if peer == BOB)),
        "{asks:?}"
    );
}

#[test]
fn enter_sends_and_the_message_appears_with_its_delivery_mark() {
    let mut app = app();
    let mut asked = attach(&mut app, 1, 5);
    open_bob(&mut app, &mut asked);
    requests(&mut asked);

    let messages: Vec<Message> = {
        let mut ui = simulator(app.view());
        ui.click(selector::id(COMPOSER_ID)).unwrap();
        ui.typewrite("hello bob");
        ui.tap_key(Key::Named(Named::Enter));
        ui.into_messages().collect()
    };
    for message in messages {
        let _ = app.update(message);
    }
    let asks = requests(&mut asked);
    assert!(
        asks.iter().any(
            |r| matches!(r, Request::Send { to, body, .. } if to == BOB && body == "hello bob")
        ),
        "{asks:?}"
    );

    let mut sent = msg(201, Direction::Out, Delivery::Queued);
    sent.body = "hello bob".to_owned();
    let _ = app.update(Message::Link(LinkEvent::Event {
        seq: 6,
        event: Event::Message {
            account: ME.to_owned(),
            message: sent,
        },
    }));
    assert!(finds(&app, "hello bob"));
    assert!(finds(&app, "Waiting to send"));
}

#[test]
fn a_delivery_change_shows_and_a_failure_says_why() {
    let mut app = app();
    let mut asked = attach(&mut app, 1, 5);
    click(&mut app, BOB);
    requests(&mut asked);
    let _ = app.update(Message::Page {
        chat: ChatKey::new(ME, BOB),
        token: 1,
        older: false,
        answer: Ok(Response::History {
            account: ME.to_owned(),
            peer: BOB.to_owned(),
            messages: vec![msg(7, Direction::Out, Delivery::Sent)],
            next_before: None,
        }),
    });
    assert!(finds(&app, "Sent"));
    let _ = app.update(Message::Link(LinkEvent::Event {
        seq: 6,
        event: Event::Delivery {
            account: ME.to_owned(),
            message_id: 7,
            delivery: Delivery::Acked,
            reason: None,
        },
    }));
    assert!(finds(&app, "On the server"));
    let _ = app.update(Message::Link(LinkEvent::Event {
        seq: 7,
        event: Event::Delivery {
            account: ME.to_owned(),
            message_id: 7,
            delivery: Delivery::Failed,
            reason: Some("bob's server refused it".to_owned()),
        },
    }));
    assert!(finds(&app, "Not delivered"));
    assert!(finds(&app, "bob's server refused it"));
}

#[test]
fn scrolling_up_loads_older_pages() {
    let mut app = app();
    let mut asked = attach(&mut app, 1, 5);
    open_bob(&mut app, &mut asked);
    requests(&mut asked);
    // Scroll far up, repeatedly: the drawn slice grows to every loaded
    // message, then the next page is asked for with the cursor.
    for _ in 0..4 {
        wheel_to_the_top(&mut app);
    }
    let asks = requests(&mut asked);
    assert_eq!(
        history_asks(&asks),
        [Some("before-101".to_owned())],
        "{asks:?}"
    );
    // Request number 2: the one after the newest page's.
    page(&mut app, 2, true, 1, 100, false);
    let open = app.open.as_ref().unwrap();
    let conversation = &app.conversations[&open.chat];
    assert_eq!(conversation.messages().len(), 200);
    assert_eq!(conversation.messages()[0].message.id, 1);
}

/// Turn the wheel far up over the history, once, and apply what it did.
fn wheel_to_the_top(app: &mut App) {
    for message in at_the_top(app, |_| ()) {
        let _ = app.update(message);
    }
}

/// The wheel turned far up over a fresh view of `app`, then `then` done
/// there: what both produced.
fn at_the_top(
    app: &App,
    then: impl FnOnce(&mut iced_test::Simulator<'_, Message>),
) -> Vec<Message> {
    let mut ui = simulator(app.view());
    ui.point_at(Point::new(600.0, 300.0));
    ui.simulate([iced::Event::Mouse(mouse::Event::WheelScrolled {
        delta: mouse::ScrollDelta::Pixels {
            x: 0.0,
            y: 100_000.0,
        },
    })]);
    then(&mut ui);
    ui.into_messages().collect()
}

#[test]
fn an_older_page_that_failed_can_be_asked_again_from_the_top() {
    let mut app = app();
    let mut asked = attach(&mut app, 1, 5);
    open_bob(&mut app, &mut asked);
    requests(&mut asked);
    for _ in 0..4 {
        wheel_to_the_top(&mut app);
    }
    assert_eq!(
        history_asks(&requests(&mut asked)),
        [Some("before-101".to_owned())]
    );
    let _ = app.update(Message::Page {
        chat: ChatKey::new(ME, BOB),
        token: 2,
        older: true,
        answer: Err(crate::link::RequestError {
            code: None,
            message: "The background service went away before answering.".to_owned(),
        }),
    });
    assert!(finds(
        &app,
        "Could not load older messages: The background service went away before answering."
    ));
    // A real window stays at its top, where the wheel moves nothing and so
    // asks nothing: the button is the way on. The simulator starts each
    // view at the bottom, so it scrolls up to reach the button, and what
    // that scroll would do is left out.
    let messages = at_the_top(&app, |ui| {
        ui.click(crate::screen::conversation::LOAD_OLDER).unwrap();
    });
    for message in messages {
        if !matches!(
            message,
            Message::Conversation(conversation::Message::Scrolled(_))
        ) {
            let _ = app.update(message);
        }
    }
    assert_eq!(
        history_asks(&requests(&mut asked)),
        [Some("before-101".to_owned())],
        "the button asks for the same page again"
    );
    page(&mut app, 3, true, 1, 100, false);
    let open = app.open.as_ref().unwrap();
    let conversation = &app.conversations[&open.chat];
    assert_eq!(conversation.messages().len(), 200);
    assert_eq!(
        open.shown(conversation),
        160,
        "the page's rows are drawn as they come"
    );
    assert!(!finds(&app, crate::screen::conversation::LOAD_OLDER));
}

#[test]
fn without_the_daemon_the_top_says_older_messages_wait_for_it() {
    let mut app = app();
    let mut asked = attach(&mut app, 1, 5);
    open_bob(&mut app, &mut asked);
    requests(&mut asked);
    let _ = app.update(Message::Link(LinkEvent::Down(Down::Closed)));
    for _ in 0..4 {
        wheel_to_the_top(&mut app);
    }
    assert!(finds(
        &app,
        "Older messages load once the background service is back."
    ));
    assert!(!finds(&app, "Loading older messages…"));
    assert!(!finds(&app, crate::screen::conversation::LOAD_OLDER));
    assert!(
        requests(&mut asked).is_empty(),
        "nothing asked of no daemon"
    );
}

#[test]
fn the_daemon_going_away_keeps_the_draft_and_the_chat_and_reloads_it() {
    let mut app = app();
    let mut asked = attach(&mut app, 1, 5);
    open_bob(&mut app, &mut asked);
    let messages: Vec<Message> = {
        let mut ui = simulator(app.view());
        ui.click(selector::id(COMPOSER_ID)).unwrap();
        ui.typewrite("half a thought");
        ui.into_messages().collect()
    };
    for message in messages {
        let _ = app.update(message);
    }

    let _ = app.update(Message::Link(LinkEvent::Down(Down::Closed)));
    assert!(finds(&app, "Wimsy's background service went away."));
    assert!(finds(&app, "message 200"), "the open chat stays on screen");
    assert!(finds(&app, BOB), "and the chat list");
    assert!(finds(
        &app,
        "Not known while the background service is away"
    ));

    let mut asked = attach(&mut app, 2, 40);
    assert!(!finds(&app, "Wimsy's background service went away."));
    assert_eq!(app.open.as_ref().unwrap().draft(), "half a thought");
    let asks = requests(&mut asked);
    assert_eq!(
        history_asks(&asks),
        [None],
        "the open chat is read again: {asks:?}"
    );
}

#[test]
fn ctrl_n_opens_the_start_dialog_and_enter_opens_the_chat() {
    let mut app = app();
    let mut asked = attach(&mut app, 1, 5);
    let _ = app.update(Message::Shortcut(Shortcut::StartChat));
    assert!(finds(&app, "Start a chat"));
    let _ = app.update(Message::StartChat(start_chat::Message::Jid(
        "carol@example.org".to_owned(),
    )));
    let _ = app.update(Message::StartChat(start_chat::Message::Open));
    assert!(app.dialog.is_none());
    assert_eq!(
        app.open.as_ref().unwrap().chat,
        ChatKey::new(ME, "carol@example.org")
    );
    let asks = requests(&mut asked);
    assert_eq!(history_asks(&asks), [None]);
    // Escape leaves a dialog.
    let _ = app.update(Message::Shortcut(Shortcut::StartChat));
    let _ = app.update(Message::Shortcut(Shortcut::Escape));
    assert!(app.dialog.is_none());
}

#[test]
fn quitting_asks_first_and_then_stops_the_daemon() {
    let mut app = app();
    let mut asked = attach(&mut app, 1, 5);
    let _ = app.update(Message::Shortcut(Shortcut::Quit));
    assert!(finds(&app, "Quit Wimsy?"));
    click(&mut app, "Quit Wimsy");
    let asks = requests(&mut asked);
    assert!(asks.contains(&Request::Quit), "{asks:?}");
}

#[test]
fn a_gap_asks_the_link_for_a_fresh_snapshot_once() {
    let (link, mut commands) = Link::for_test();
    let mut app = app();
    let _ = app.update(Message::Link(LinkEvent::Ready(link)));
    let _asked = attach(&mut app, 4, 10);
    let connected = |seq| {
        Message::Link(LinkEvent::Event {
            seq,
            event: Event::Connection {
                account: ME.to_owned(),
                status: ConnectionStatus::new(ConnectionState::Offline, ""),
            },
        })
    };
    let _ = app.update(connected(13));
    let _ = app.update(connected(14));
    assert_eq!(commands.resubscribes(), [4]);
    assert!(finds(
        &app,
        "Missed some updates; fetching the current state…"
    ));
    // Nothing after the gap is applied until the new snapshot.
    assert!(finds(&app, "Connected"));
    let _asked = attach(&mut app, 5, 20);
    let _ = app.update(connected(21));
    assert!(finds(&app, "Offline"));
}
