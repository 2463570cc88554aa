//! Muting from the conversation header, the mute shown in the chat list,
//! and a click on a notification opening the chat.

use wimsy_ipc::{Event, Mute, Request};

use super::*;

fn event(app: &mut App, seq: u64, event: Event) {
    let _ = app.update(Message::Link(LinkEvent::Event { seq, event }));
}

#[test]
fn mute_from_the_header_asks_the_daemon_and_the_mute_shows_until_unmuted() {
    let mut app = app();
    let mut asked = attach(&mut app, 1, 5);
    open_bob(&mut app, &mut asked);
    let _ = requests(&mut asked);

    click(&mut app, "Mute…");
    click(&mut app, "8 hours");
    let asks = requests(&mut asked);
    let mutes: Vec<&Request> = asks
        .iter()
        .filter(|r| matches!(r, Request::Mute { .. }))
        .collect();
    let [
        Request::Mute {
            account,
            peer,
            until_ms: Some(until),
        },
    ] = mutes.as_slice()
    else {
        panic!("one timed mute: {asks:?}")
    };
    assert_eq!((account.as_deref(), peer.as_str()), (Some(ME), BOB));
    let in_8h = chrono::Utc::now().timestamp_millis() + 8 * 3600 * 1000;
    assert!((in_8h - until).abs() < 60_000, "about 8 hours from now");

    // The daemon says so: the header and the chat list show it.
    event(
        &mut app,
        6,
        Event::Muted {
            account: ME.to_owned(),
            mute: Mute {
                peer: BOB.to_owned(),
                until_ms: None,
            },
        },
    );
    assert!(finds(&app, "Muted: no notifications"));
    assert!(finds(&app, "Muted"));
    click(&mut app, "Unmute");
    let asks = requests(&mut asked);
    assert!(
        asks.iter()
            .any(|r| matches!(r, Request::Unmute { peer, .. } if peer == BOB)),
        "{asks:?}"
    );
    event(
        &mut app,
        7,
        Event::Unmuted {
            account: ME.to_owned(),
            peer: BOB.to_owned(),
        },
    );
    assert!(!finds(&app, "Muted: no notifications"));
    assert!(finds(&app, "Mute…"));
}

#[test]
fn a_clicked_notification_opens_its_chat() {
    let mut app = app();
    let mut asked = attach(&mut app, 1, 5);
    let _ = requests(&mut asked);
    assert!(!finds(&app, "Mute…"), "no chat open yet");
    event(
        &mut app,
        6,
        Event::OpenChat {
            account: ME.to_owned(),
            peer: BOB.to_owned(),
        },
    );
    let asks = requests(&mut asked);
    assert_eq!(history_asks(&asks), [None], "bob's chat loads: {asks:?}");
    assert!(finds(&app, "Mute…"), "its header shows");
}
