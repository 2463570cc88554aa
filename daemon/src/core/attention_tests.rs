//! Mutes, do not disturb, quiet hours and clicks, against a real store and
//! settings file, with the notification task's orders read back and its
//! reports sent by hand.

#![allow(clippy::unwrap_used)]

use chrono::NaiveTime;
use wimsy_ipc::{Event, Mute, NotifierState, NotifierStatus, Request, SettingValue};

use super::notification_tests::{ROMEO, chat, full};
use super::sessions::tests::{JULIET, ME, fixture};
use crate::notify::{Content, Order, Preview, Report};
use crate::settings::{NOTIFICATIONS_DO_NOT_DISTURB, NOTIFICATIONS_QUIET_HOURS};

const NOW_MS: i64 = 1_800_000_000_000;

/// The events among what the client received since the last read.
fn events_of(f: &mut super::sessions::tests::Fixture) -> Vec<Event> {
    let mut events = Vec::new();
    while let Ok(out) = f.frames.try_recv() {
        let bytes = out.bytes();
        if let wimsy_ipc::ServerFrame::Event { event, .. } =
            wimsy_ipc::decode_frame(&bytes[..bytes.len() - 1]).unwrap()
        {
            events.push(event);
        }
    }
    events
}

fn at(h: u32, m: u32) -> Option<(i64, NaiveTime)> {
    Some((NOW_MS, NaiveTime::from_hms_opt(h, m, 0).unwrap()))
}

fn silent(peer: &str, unread: u32, latest: &str) -> Order {
    Order::Show(
        chat(peer),
        Content::new(Preview::Full, peer, unread, latest, false),
    )
}

fn mute(peer: &str, until_ms: Option<i64>) -> Request {
    Request::Mute {
        account: None,
        peer: peer.into(),
        until_ms,
    }
}

#[tokio::test]
async fn a_muted_chat_never_notifies_and_its_mute_ends_by_itself() {
    let mut f = fixture();
    f.core.attention.clock.fixed = at(12, 0);
    f.live(JULIET, "before");
    assert_eq!(f.orders(), [full(JULIET, 1, "before")]);

    f.request(mute(JULIET, Some(NOW_MS + 60_000))).await;
    // Muting takes its notification away.
    assert_eq!(f.orders(), [Order::Close(chat(JULIET))]);
    let _ = f.published();
    f.live(JULIET, "while muted");
    f.live(ROMEO, "not muted");
    assert_eq!(f.orders(), [full(ROMEO, 1, "not muted")]);
    assert!(f.core.attention.wake_at.is_some(), "a timer for the end");

    // The clock passes the end: the mute goes, and frontends are told.
    f.core.attention.clock.fixed =
        Some((NOW_MS + 60_000, NaiveTime::from_hms_opt(12, 1, 0).unwrap()));
    f.core.on_wake();
    let events = f.published();
    assert!(
        events.contains(&Event::Unmuted {
            account: ME.into(),
            peer: JULIET.into()
        }),
        "{events:?}"
    );
    assert_eq!(f.core.attention.wake_at, None);
    f.live(JULIET, "after the mute");
    assert_eq!(f.orders(), [full(JULIET, 3, "after the mute")]);
}

#[tokio::test]
async fn mute_and_unmute_are_told_to_frontends_and_kept_in_the_snapshot() {
    let mut f = fixture();
    f.core.attention.clock.fixed = at(12, 0);
    let _ = f.published();
    let client = f.core.subscribers[&1].clone();
    assert!(!f.core.handle_request(&client, 1, mute(JULIET, None)).await);
    let events = events_of(&mut f);
    assert_eq!(f.orders(), [Order::Close(chat(JULIET))]);
    assert!(events.contains(&Event::Muted {
        account: ME.into(),
        mute: Mute {
            peer: JULIET.into(),
            until_ms: None
        }
    }));
    let snapshot = f.core.snapshot().unwrap();
    assert_eq!(
        snapshot.accounts[0].mutes,
        [Mute {
            peer: JULIET.into(),
            until_ms: None
        }]
    );
    // A mute that would already be over is refused with words.
    let _ = f
        .core
        .handle_request(&client, 2, mute(ROMEO, Some(NOW_MS - 1)))
        .await;
    assert!(f.core.snapshot().unwrap().accounts[0].mutes.len() == 1);

    f.request(Request::Unmute {
        account: None,
        peer: JULIET.into(),
    })
    .await;
    assert!(f.core.snapshot().unwrap().accounts[0].mutes.is_empty());
    f.live(JULIET, "heard again");
    assert_eq!(f.orders(), [full(JULIET, 1, "heard again")]);
}

#[tokio::test]
async fn do_not_disturb_holds_notifications_and_shows_them_silently_when_turned_off() {
    let mut f = fixture();
    f.core.attention.clock.fixed = at(12, 0);
    f.set(NOTIFICATIONS_DO_NOT_DISTURB, SettingValue::Bool(true))
        .await;
    f.live(JULIET, "one");
    f.live(JULIET, "two");
    f.live(ROMEO, "read before the end");
    assert_eq!(f.orders(), []);
    f.request(Request::MarkRead {
        account: None,
        peer: ROMEO.into(),
    })
    .await;
    let _ = f.orders();
    f.set(NOTIFICATIONS_DO_NOT_DISTURB, SettingValue::Bool(false))
        .await;
    // One per chat still unread, without sound; none for the one read.
    assert_eq!(f.orders(), [silent(JULIET, 2, "two")]);
}

#[tokio::test]
async fn quiet_hours_across_midnight_hold_until_they_end() {
    let mut f = fixture();
    f.core.attention.clock.fixed = at(23, 30);
    f.set(
        NOTIFICATIONS_QUIET_HOURS,
        SettingValue::Text("22:00-07:00".into()),
    )
    .await;
    f.live(JULIET, "late at night");
    assert_eq!(f.orders(), []);
    assert!(f.core.attention.wake_at.is_some(), "woken at the end");

    // Past midnight, still quiet.
    f.core.attention.clock.fixed = at(3, 0);
    f.core.on_wake();
    f.live(JULIET, "small hours");
    assert_eq!(f.orders(), []);

    // Morning: what was held shows, once, without sound.
    f.core.attention.clock.fixed = at(7, 0);
    f.core.on_wake();
    assert_eq!(f.orders(), [silent(JULIET, 2, "small hours")]);
    assert_eq!(f.core.attention.wake_at, None);
    f.live(JULIET, "daytime");
    assert_eq!(f.orders(), [full(JULIET, 3, "daytime")]);

    // Outside the window nothing is held at all.
    f.core.attention.clock.fixed = at(12, 0);
    f.live(ROMEO, "noon");
    assert_eq!(f.orders(), [full(ROMEO, 1, "noon")]);
}

#[tokio::test]
async fn a_click_asks_frontends_to_open_the_chat_and_the_notifier_state_is_told() {
    let mut f = fixture();
    let _ = f.published();
    f.core.on_notifier_report(Report::Clicked(chat(JULIET)));
    assert_eq!(
        f.published(),
        [Event::OpenChat {
            account: ME.into(),
            peer: JULIET.into()
        }]
    );
    let missing = NotifierStatus {
        state: NotifierState::Missing,
        detail: "none".into(),
    };
    f.core.on_notifier_report(Report::Status(missing.clone()));
    f.core.on_notifier_report(Report::Status(missing.clone()));
    assert_eq!(
        f.published(),
        [Event::Notifier {
            status: missing.clone()
        }],
        "told once"
    );
    assert_eq!(f.core.snapshot().unwrap().notifier, Some(missing));
}
