//! What the window tells the daemon: the view, retries, quitting on close.

use wimsy_ipc::{
    ChatRef, Delivery, Direction, ErrorCode, Event, Request, Response, Setting, SettingKind,
    SettingValue,
};

use super::*;
use crate::link::RequestError;
use crate::link::testing;

fn views(asks: &[Request]) -> Vec<Request> {
    asks.iter()
        .filter(|r| matches!(r, Request::SetView { .. } | Request::SetVisibility { .. }))
        .cloned()
        .collect()
}

#[test]
fn the_daemon_hears_focus_and_the_open_chat() {
    let mut app = app();
    let mut asked = attach(&mut app, 1, 5);
    let asks = requests(&mut asked);
    assert_eq!(
        views(&asks),
        [Request::SetView {
            visible: true,
            focused: true,
            chat: None
        }]
    );
    click(&mut app, BOB);
    let bob = Some(ChatRef {
        account: ME.to_owned(),
        peer: BOB.to_owned(),
    });
    assert_eq!(
        views(&requests(&mut asked)),
        [Request::SetView {
            visible: true,
            focused: true,
            chat: bob.clone()
        }]
    );
    let _ = app.update(Message::Focus(false));
    assert_eq!(
        views(&requests(&mut asked)),
        [Request::SetView {
            visible: true,
            focused: false,
            chat: bob
        }]
    );
}

#[test]
fn an_older_daemon_hears_visibility_instead() {
    let mut app = app();
    let mut asked = attach(&mut app, 1, 5);
    requests(&mut asked);
    let refused = Err(RequestError {
        code: Some(ErrorCode::UnknownRequest),
        message: "unknown op".to_owned(),
    });
    let _ = app.update(Message::ViewReported(refused));
    let asks = requests(&mut asked);
    assert_eq!(views(&asks), [Request::SetVisibility { visible: true }]);
}

#[test]
fn retry_sends_the_failed_message_again() {
    let mut app = app();
    let mut asked = attach(&mut app, 1, 5);
    click(&mut app, BOB);
    requests(&mut asked);
    let mut failed = msg(9, Direction::Out, Delivery::Failed);
    failed.body = "lost".to_owned();
    let _ = app.update(Message::Page {
        chat: ChatKey::new(ME, BOB),
        token: 1,
        older: false,
        answer: Ok(Response::History {
            account: ME.to_owned(),
            peer: BOB.to_owned(),
            messages: vec![failed],
            next_before: None,
        }),
    });
    click(&mut app, "Retry");
    let asks = requests(&mut asked);
    assert!(
        asks.contains(&Request::Retry {
            account: Some(ME.to_owned()),
            message_id: 9
        }),
        "{asks:?}"
    );
    let _ = app.update(Message::Link(LinkEvent::Event {
        seq: 6,
        event: Event::Delivery {
            account: ME.to_owned(),
            message_id: 9,
            delivery: Delivery::Queued,
            reason: None,
        },
    }));
    assert!(finds(&app, "Waiting to send"));
    assert!(!finds(&app, "Retry"));
}

fn keep_connected(on: bool) -> Setting {
    Setting {
        key: KEEP_CONNECTED.to_owned(),
        value: SettingValue::Bool(on),
        default: SettingValue::Bool(true),
        kind: SettingKind::Bool,
        choices: None,
        label: "Keep connected when windows close".to_owned(),
        description: String::new(),
    }
}

#[test]
fn closing_with_keep_connected_off_asks_once_then_quits() {
    let mut app = app();
    let (requester, mut asked) = testing::requester(1);
    let mut with_setting = snapshot(5);
    with_setting.settings = vec![keep_connected(true)];
    let _ = app.update(Message::Link(LinkEvent::Attached {
        requester,
        daemon: "wimsyd test".to_owned(),
        snapshot: with_setting,
    }));
    // On: closing just ends the window (the task is iced's exit).
    assert!(app.keep_connected());
    assert!(finds(&app, "Stays connected when this window closes"));
    let _ = app.update(Message::Link(LinkEvent::Event {
        seq: 6,
        event: Event::Setting {
            key: KEEP_CONNECTED.to_owned(),
            value: SettingValue::Bool(false),
        },
    }));
    assert!(!app.keep_connected());
    assert!(finds(&app, "Goes offline when this window closes"));
    requests(&mut asked);
    let _ = app.update(Message::CloseRequested(iced::window::Id::unique()));
    assert!(finds(&app, "Close Wimsy and go offline?"));
    assert!(!requests(&mut asked).contains(&Request::Quit));
    click(&mut app, "Close and go offline");
    assert!(requests(&mut asked).contains(&Request::Quit));
}

#[test]
fn a_window_on_a_socket_of_its_own_names_the_command_that_starts_its_daemon() {
    let socket = std::path::PathBuf::from("/tmp/wimsy-demo-7/alice.sock");
    let mut app = App::new(Launch {
        socket: socket.clone(),
        ..Launch::default()
    });
    let command = "To start it in a terminal: wimsyd --socket /tmp/wimsy-demo-7/alice.sock";
    let _ = app.update(Message::Link(LinkEvent::Down(Down::NoDaemon(
        "connection refused".to_owned(),
    ))));
    assert!(finds(&app, "Wimsy's background service is not running."));
    assert!(finds(&app, command));

    let _ = attach(&mut app, 1, 5);
    assert!(!finds(&app, command));
    let _ = app.update(Message::Link(LinkEvent::Down(Down::Closed)));
    assert!(finds(&app, "Wimsy's background service went away."));
    assert!(finds(&app, command), "after a quit too");

    // On the default socket, plain `wimsyd` (or the button) is right.
    let mut app = App::new(Launch {
        socket: wimsy_ipc::default_socket_path(),
        ..Launch::default()
    });
    let _ = app.update(Message::Link(LinkEvent::Down(Down::NoDaemon(
        "connection refused".to_owned(),
    ))));
    assert!(finds(&app, "Wimsy's background service is not running."));
    assert!(!finds(&app, "To start it in a terminal: wimsyd"));
}
