//! Desktop notifications end to end: the real wimsyd on a private session
//! bus (a `dbus-daemon` of the test's own, with no activatable services, so
//! nothing of the runner's desktop or keyring answers on it) with
//! python3-dbusmock's `notification_daemon` template as the notification
//! server, a real XMPP server (Prosody; the main case and the catch-up on
//! ejabberd too), and bob on a second daemon sending. What wimsyd asked of
//! the server is read back from the mock (`GetCalls`).
//!
//! Needs the Debian packages `dbus` (dbus-daemon) and `python3-dbusmock`.

#![allow(clippy::unwrap_used)]

use wimsy_ipc::{ChatRef, Client, Request, Role};
use wimsy_testkit::{Prosody, ServerKind, both_servers};
use wimsy_tests::notify_bus::{Bus, BusDaemon, Call, MockServer};
use wimsy_tests::*;

const NO_SERVER: &str = "No notification server runs on this desktop";
const BACK: &str = "Notifications are shown, but this desktop's notification server does not tell";

/// bob's daemon sends `body` to alice.
fn send(bob: &Daemon, to: &str, body: &str) {
    let out = bob.ctl(&["send", to, body]);
    assert!(
        out.status.success(),
        "send: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn history_bodies(daemon: &Daemon, peer: &str) -> Vec<String> {
    let page = daemon.ctl_json(&["history", peer, "--limit", "100"]);
    let mut bodies: Vec<String> = page["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["body"].as_str().unwrap().to_owned())
        .collect();
    bodies.reverse();
    bodies
}

fn set(daemon: &Daemon, key: &str, value: &str) {
    let out = daemon.ctl(&["settings", "set", key, value]);
    assert!(
        out.status.success(),
        "settings set: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

both_servers! {
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn one_notification_per_chat_replaced_in_place_withdrawn_when_read_and_quiet_when_in_view(kind: ServerKind) {
        let server = kind.shared().unwrap();
        let (a, b) = (
            server.new_account("alice").unwrap(),
            server.new_account("bob").unwrap(),
        );
        let bus = Bus::start().unwrap();
        let mock = MockServer::start(&bus).await;
        let alice = bus.daemon(server, &a.user);
        let bob = connected_daemon(server, &b.user);

        send(&bob, &a.jid, "hello alice");
        let first = mock.notify(1).await;
        assert_eq!(first.app, "Wimsy");
        assert_eq!(first.replaces_id, 0, "a new notification");
        assert_eq!(
            first.summary, b.jid,
            "who wrote (no roster name: the address)"
        );
        assert_eq!(first.body, "hello alice");
        assert_eq!(first.actions, ["default", "Open chat"]);
        assert_eq!(first.hint("category").as_deref(), Some("im.received"));
        assert_eq!(first.hint("desktop-entry").as_deref(), Some("wimsy"));
        assert_eq!(
            first.hint("sound-name").as_deref(),
            Some("message-new-instant")
        );

        // The template numbers notifications from 1: the second replaces the
        // first in place instead of stacking.
        send(&bob, &a.jid, "are you there?");
        let second = mock.notify(2).await;
        assert_eq!(second.replaces_id, 1);
        assert_eq!(second.summary, b.jid);
        assert_eq!(second.body, "2 new messages\nare you there?");

        // Read in a frontend: withdrawn.
        let mut cli = alice.client().await;
        cli.request(Request::MarkRead {
            account: None,
            peer: b.jid.clone(),
        })
        .await
        .unwrap();
        assert_eq!(mock.close(3).await, 1);

        // A focused window on bob's chat: nothing. Then the window loses the
        // focus and the next message notifies; being the next call proves
        // the one in view made none.
        let mut gui = Client::connect(&alice.socket, Role::Gui, "test-gui")
            .await
            .unwrap();
        let view = |focused| Request::SetView {
            visible: true,
            focused,
            chat: Some(ChatRef {
                account: a.jid.clone(),
                peer: b.jid.clone(),
            }),
        };
        gui.request(view(true)).await.unwrap();
        send(&bob, &a.jid, "seen in the window");
        wait_until(DEADLINE, "the message in alice's history", || {
            history_bodies(&alice, &b.jid).contains(&"seen in the window".to_owned())
        })
        .unwrap();
        gui.request(view(false)).await.unwrap();
        send(&bob, &a.jid, "after the window");
        let after = mock.notify(4).await;
        assert_eq!(after.replaces_id, 0, "the read one was withdrawn");
        assert_eq!(after.body, "2 new messages\nafter the window");

        // Sound off asks for silence.
        set(&alice, "notifications.sound", "off");
        send(&bob, &a.jid, "quietly");
        let quiet = mock.notify(5).await;
        assert_eq!(quiet.hint("sound-name"), None);
        assert_eq!(quiet.hint_bool("suppress-sound"), Some(true));
        assert_eq!(quiet.body, "3 new messages\nquietly");
        drop(gui);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn what_the_user_sends_from_another_device_notifies_nothing_and_quiets_the_chat_a_while() {
    let server = ServerKind::Prosody.shared().unwrap();
    let (a, b) = (
        server.new_account("alice").unwrap(),
        server.new_account("bob").unwrap(),
    );
    let bus = Bus::start().unwrap();
    let mock = MockServer::start(&bus).await;
    let laptop = bus.daemon(server, &a.user);
    let phone = connected_daemon(server, &a.user);
    let bob = connected_daemon(server, &b.user);

    send(&phone, &b.jid, "from my phone");
    wait_until(DEADLINE, "the laptop to store the carbon", || {
        history_bodies(&laptop, &b.jid).contains(&"from my phone".to_owned())
    })
    .unwrap();
    let carbon_seen = std::time::Instant::now();
    // The user is in that chat on the phone: bob's answer right away pops
    // up nothing on the laptop.
    send(&bob, &a.jid, "got it");
    wait_until(DEADLINE, "the laptop to store bob's answer", || {
        history_bodies(&laptop, &b.jid).contains(&"got it".to_owned())
    })
    .unwrap();
    // Once the quiet spell is over (the daemon's tight preset,
    // NotifyOptions::tight: 4 s after it stored the carbon, which was
    // before the test saw it), the chat notifies again.
    tokio::time::sleep_until((carbon_seen + REPLY_GRACE).into()).await;
    send(&bob, &a.jid, "still there?");
    // The first call is this one: the carbon and the answer made none.
    let notify = mock.notify(1).await;
    assert_eq!(
        (notify.summary.as_str(), notify.body.as_str()),
        (b.jid.as_str(), "2 new messages\nstill there?")
    );
}

/// `NotifyOptions::tight().reply_grace`, which `--tight-timeouts` sets.
const REPLY_GRACE: std::time::Duration = std::time::Duration::from_secs(4);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_preview_setting_hides_the_text_and_turning_notifications_off_withdraws_them() {
    let server = ServerKind::Prosody.shared().unwrap();
    let (a, b) = (
        server.new_account("alice").unwrap(),
        server.new_account("bob").unwrap(),
    );
    let bus = Bus::start().unwrap();
    let mock = MockServer::start(&bus).await;
    let alice = bus.daemon(server, &a.user);
    let bob = connected_daemon(server, &b.user);

    set(&alice, "notifications.preview", "sender");
    send(&bob, &a.jid, "the text");
    let sender = mock.notify(1).await;
    assert_eq!(
        (sender.summary.as_str(), sender.body.as_str()),
        (b.jid.as_str(), "New message")
    );

    set(&alice, "notifications.preview", "none");
    send(&bob, &a.jid, "a secret");
    let none = mock.notify(2).await;
    assert_eq!(none.replaces_id, 1);
    assert_eq!(none.summary, "2 new messages");
    assert_eq!(none.body, "", "nothing of who or what");

    set(&alice, "notifications.enabled", "off");
    assert_eq!(mock.close(3).await, 1, "the one showing is withdrawn");
    send(&bob, &a.jid, "while off");
    wait_until(DEADLINE, "the message in alice's history", || {
        history_bodies(&alice, &b.jid).contains(&"while off".to_owned())
    })
    .unwrap();
    set(&alice, "notifications.enabled", "on");
    set(&alice, "notifications.preview", "full");
    send(&bob, &a.jid, "back on");
    // The next call: the message sent while off made none.
    let back = mock.notify(4).await;
    assert_eq!(back.body, "4 new messages\nback on");
}

both_servers! {
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_catch_up_after_a_time_offline_gives_one_notification_per_chat(kind: ServerKind) {
        let server = kind.shared().unwrap();
        let (a, b, c) = (
            server.new_account("alice").unwrap(),
            server.new_account("bob").unwrap(),
            server.new_account("carol").unwrap(),
        );
        let bus = Bus::start().unwrap();
        let mock = MockServer::start(&bus).await;
        let mut alice = bus.daemon(server, &a.user);
        let bob = connected_daemon(server, &b.user);
        let carol = connected_daemon(server, &c.user);
        send(&bob, &a.jid, "before the break");
        mock.notify(1).await;
        let mut cli = alice.client().await;
        cli.request(Request::MarkRead {
            account: None,
            peer: b.jid.clone(),
        })
        .await
        .unwrap();
        mock.close(2).await;
        drop(cli);

        assert_eq!(alice.terminate().unwrap().code(), Some(0));
        // Fifty messages while alice is away.
        for i in 1..=30 {
            send(&bob, &a.jid, &format!("bob {i}"));
        }
        for i in 1..=20 {
            send(&carol, &a.jid, &format!("carol {i}"));
        }
        wait_until(DEADLINE, "bob's and carol's messages acked", || {
            let acked = |d: &Daemon, peer: &str, n: usize| {
                let page = d.ctl_json(&["history", peer, "--limit", "100"]);
                page["messages"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .filter(|m| m["delivery"] == "acked")
                    .count()
                    >= n
            };
            acked(&bob, &a.jid, 31) && acked(&carol, &a.jid, 20)
        })
        .unwrap();

        alice.spawn().unwrap();
        alice.wait_state(&a.jid, "connected").unwrap();
        wait_until(DEADLINE, "every message in alice's history", || {
            history_bodies(&alice, &b.jid).len() == 31 && history_bodies(&alice, &c.jid).len() == 20
        })
        .unwrap();
        let calls = mock.wait_for(4).await;
        let mut shown: Vec<(String, String)> = calls[2..]
            .iter()
            .map(|call| match call {
                Call::Notify(n) => (n.summary.clone(), n.body.clone()),
                other => panic!("not a Notify: {other:?}"),
            })
            .collect();
        shown.sort();
        let mut expected = vec![
            (b.jid.clone(), "30 new messages\nbob 30".to_owned()),
            (c.jid.clone(), "20 new messages\ncarol 20".to_owned()),
        ];
        expected.sort();
        assert_eq!(shown, expected, "one per chat, with the latest: {calls:#?}");
        assert!(alice.log().contains("archive catch-up done"));
    }
}

/// Ten messages in a row stay one notification: every Notify after the
/// first replaces it (the task may fold a burst into fewer calls).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_messages_are_one_notification_replaced_in_place() {
    let server = ServerKind::Prosody.shared().unwrap();
    let (a, b) = (
        server.new_account("alice").unwrap(),
        server.new_account("bob").unwrap(),
    );
    let bus = Bus::start().unwrap();
    let mock = MockServer::start(&bus).await;
    let alice = bus.daemon(server, &a.user);
    let bob = connected_daemon(server, &b.user);
    for i in 1..=10 {
        send(&bob, &a.jid, &format!("message {i}"));
    }
    wait_until(DEADLINE, "all ten stored", || {
        history_bodies(&alice, &b.jid).len() == 10
    })
    .unwrap();
    let end = std::time::Instant::now() + DEADLINE;
    let notifies = loop {
        let notifies: Vec<_> = mock
            .calls()
            .await
            .into_iter()
            .filter_map(|c| match c {
                Call::Notify(n) => Some(*n),
                Call::Close(id) => panic!("nothing is withdrawn here (closed {id})"),
                Call::Other => None,
            })
            .collect();
        if notifies
            .last()
            .is_some_and(|n| n.body == "10 new messages\nmessage 10")
        {
            break notifies;
        }
        assert!(std::time::Instant::now() < end, "{notifies:#?}");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    };
    assert_eq!(notifies[0].replaces_id, 0);
    assert!(
        notifies[1..].iter().all(|n| n.replaces_id == 1),
        "each later one replaces the first: {notifies:#?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_no_notification_server_messages_are_still_stored_and_it_is_said_once() {
    let server = ServerKind::Prosody.shared().unwrap();
    let (a, b) = (
        server.new_account("alice").unwrap(),
        server.new_account("bob").unwrap(),
    );
    let bus = Bus::start().unwrap();
    let alice = bus.daemon(server, &a.user);
    let bob = connected_daemon(server, &b.user);

    send(&bob, &a.jid, "one");
    send(&bob, &a.jid, "two");
    wait_until(DEADLINE, "both messages in alice's history", || {
        history_bodies(&alice, &b.jid) == ["one", "two"]
    })
    .unwrap();
    wait_until(DEADLINE, "the daemon to say it cannot notify", || {
        alice.log().contains(NO_SERVER)
    })
    .unwrap();

    // A server that comes later is used from the next message on.
    let mock = MockServer::start(&bus).await;
    send(&bob, &a.jid, "three");
    let notify = mock.notify(1).await;
    assert_eq!(notify.body, "3 new messages\nthree");
    let log = alice.log();
    assert_eq!(log.matches(NO_SERVER).count(), 1, "said once:\n{log}");
    assert!(log.contains(BACK), "{log}");
}

/// A catch-up the server refuses (no archive) must not hold notifications
/// back: what came during it is told when it stops, and later messages
/// notify as they come.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_an_archive_on_the_server_messages_notify_as_they_come() {
    let server = Prosody::builder()
        .account("alice", "alice-pw")
        .account("bob", "bob-pw")
        // The last assignment wins: s2s stays off, and mam goes too.
        .extra_config(r#"modules_disabled = { "s2s"; "s2s_auth_certs"; "mam" }"#)
        .start()
        .unwrap();
    let bus = Bus::start().unwrap();
    let mock = MockServer::start(&bus).await;
    let alice = bus.daemon(&server, "alice");
    wait_until(DEADLINE, "the refused catch-up", || {
        alice
            .log()
            .contains("archive catch-up stopped before its end")
    })
    .unwrap();
    let bob = connected_daemon(&server, "bob");
    let alice_jid = server.jid("alice");
    send(&bob, &alice_jid, "no archive here");
    let first = mock.notify(1).await;
    assert_eq!(first.body, "no archive here");
    send(&bob, &alice_jid, "still live");
    assert_eq!(mock.notify(2).await.body, "2 new messages\nstill live");
}
