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

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::Instant;

use wimsy_ipc::{ChatRef, Client, Request, Role};
use wimsy_testkit::{Prosody, ServerKind, XmppServer, both_servers};
use wimsy_tests::*;
use zbus::zvariant::OwnedValue;

const NO_SERVER: &str = "desktop notifications cannot be shown";
const BACK: &str = "desktop notifications are shown again";

/// A private session bus: only what the test starts on it answers there.
struct Bus {
    child: Child,
    address: String,
    dir: tempfile::TempDir,
}

/// No `<servicedir>`: nothing is started on demand (on a `--session` bus,
/// gnome-keyring would be, and take the daemon's passwords).
const BUS_CONFIG: &str = r#"<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:path=BUS</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
"#;

impl Bus {
    fn start() -> Bus {
        let dir = tempfile::tempdir().unwrap();
        let socket = dir.path().join("bus");
        let config = dir.path().join("bus.conf");
        std::fs::write(
            &config,
            BUS_CONFIG.replace("BUS", &socket.display().to_string()),
        )
        .unwrap();
        let mut child = Command::new("dbus-daemon")
            .args(["--nofork", "--print-address"])
            .arg(format!("--config-file={}", config.display()))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            // It complains that it may not raise its fd limit; harmless.
            .stderr(Stdio::null())
            .spawn()
            .expect("dbus-daemon (Debian package dbus) is needed");
        // It prints its address once it accepts connections (the socket
        // file alone comes a moment earlier).
        let mut address = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut address)
            .unwrap();
        assert!(address.starts_with("unix:"), "dbus-daemon said {address:?}");
        Bus {
            child,
            address: address.trim().to_owned(),
            dir,
        }
    }

    /// wimsyd with this bus as its session bus, its account `user` on
    /// `server` connected.
    fn daemon(&self, server: &dyn XmppServer, user: &str) -> Daemon {
        let daemon = Daemon::start_env(&[("DBUS_SESSION_BUS_ADDRESS", &self.address)]).unwrap();
        let out = daemon.add_account(server, user, &format!("{user}-pw"));
        assert!(
            out.status.success(),
            "account add: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        daemon.wait_state(&server.jid(user), "connected").unwrap();
        daemon
    }
}

impl Drop for Bus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// python3-dbusmock's notification server on a [`Bus`], killed on drop.
struct MockServer {
    child: Child,
    conn: zbus::Connection,
}

/// One `Notify` call, as the server got it.
#[derive(Debug)]
struct Notify {
    app: String,
    replaces_id: u32,
    summary: String,
    body: String,
    actions: Vec<String>,
    hints: HashMap<String, OwnedValue>,
}

impl Notify {
    fn hint(&self, key: &str) -> Option<String> {
        let value = self.hints.get(key)?.try_clone().ok()?;
        String::try_from(value).ok()
    }

    fn hint_bool(&self, key: &str) -> Option<bool> {
        bool::try_from(self.hints.get(key)?).ok()
    }
}

/// A call the server got.
#[derive(Debug)]
enum Call {
    Notify(Box<Notify>),
    Close(u32),
    Other,
}

impl MockServer {
    async fn start(bus: &Bus) -> MockServer {
        // Debian's python3 (dbusmock is installed for it), not one first
        // on the PATH.
        let child = Command::new("/usr/bin/python3")
            .args(["-m", "dbusmock", "--session", "-t", "notification_daemon"])
            .env("DBUS_SESSION_BUS_ADDRESS", &bus.address)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::from(
                std::fs::File::create(bus.dir.path().join("dbusmock.log")).unwrap(),
            ))
            .spawn()
            .expect("/usr/bin/python3 is needed");
        let conn = zbus::connection::Builder::address(bus.address.as_str())
            .unwrap()
            .build()
            .await
            .unwrap();
        let mut server = MockServer { child, conn };
        let end = Instant::now() + DEADLINE;
        while server.try_calls().await.is_none() {
            if let Ok(Some(status)) = server.child.try_wait() {
                panic!(
                    "dbusmock exited ({status}); is python3-dbusmock installed? {}",
                    std::fs::read_to_string(bus.dir.path().join("dbusmock.log"))
                        .unwrap_or_default()
                );
            }
            assert!(Instant::now() < end, "dbusmock never answered on the bus");
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        server
    }

    async fn try_calls(&self) -> Option<Vec<Call>> {
        let reply = self
            .conn
            .call_method(
                Some("org.freedesktop.Notifications"),
                "/org/freedesktop/Notifications",
                Some("org.freedesktop.DBus.Mock"),
                "GetCalls",
                &(),
            )
            .await
            .ok()?;
        let calls: Vec<(u64, String, Vec<OwnedValue>)> = reply.body().deserialize().unwrap();
        Some(calls.into_iter().map(call).collect())
    }

    /// Every call so far, oldest first.
    async fn calls(&self) -> Vec<Call> {
        self.try_calls().await.expect("dbusmock stopped answering")
    }

    /// Wait until the server has had `n` calls of Notify or
    /// CloseNotification; those calls, oldest first.
    async fn wait_for(&self, n: usize) -> Vec<Call> {
        let end = Instant::now() + DEADLINE;
        loop {
            let calls: Vec<Call> = self
                .calls()
                .await
                .into_iter()
                .filter(|c| !matches!(c, Call::Other))
                .collect();
            if calls.len() >= n {
                assert_eq!(calls.len(), n, "more calls than expected: {calls:#?}");
                return calls;
            }
            assert!(
                Instant::now() < end,
                "the server never got {n} calls; it got {calls:#?}"
            );
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    }

    /// The `n`th call, waited for, as a Notify.
    async fn notify(&self, n: usize) -> Notify {
        match self.wait_for(n).await.pop().unwrap() {
            Call::Notify(notify) => *notify,
            other => panic!("call {n} is not a Notify: {other:?}"),
        }
    }

    /// The `n`th call, waited for, as a CloseNotification; its id.
    async fn close(&self, n: usize) -> u32 {
        match self.wait_for(n).await.pop().unwrap() {
            Call::Close(id) => id,
            other => panic!("call {n} is not a CloseNotification: {other:?}"),
        }
    }
}

impl Drop for MockServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn call((_, method, args): (u64, String, Vec<OwnedValue>)) -> Call {
    let text = |i: usize| String::try_from(args[i].try_clone().unwrap()).unwrap();
    match method.as_str() {
        "Notify" => Call::Notify(Box::new(Notify {
            app: text(0),
            replaces_id: u32::try_from(&args[1]).unwrap(),
            summary: text(3),
            body: text(4),
            actions: Vec::try_from(args[5].try_clone().unwrap()).unwrap(),
            hints: HashMap::try_from(args[6].try_clone().unwrap()).unwrap(),
        })),
        // The template declares its id an `i`; wimsyd sends the spec's `u`.
        "CloseNotification" => Call::Close(
            u32::try_from(&args[0])
                .or_else(|_| i32::try_from(&args[0]).map(|id| id as u32))
                .unwrap(),
        ),
        _ => Call::Other,
    }
}

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
        let bus = Bus::start();
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
async fn what_the_user_sends_from_another_device_notifies_nothing() {
    let server = ServerKind::Prosody.shared().unwrap();
    let (a, b) = (
        server.new_account("alice").unwrap(),
        server.new_account("bob").unwrap(),
    );
    let bus = Bus::start();
    let mock = MockServer::start(&bus).await;
    let laptop = bus.daemon(server, &a.user);
    let phone = connected_daemon(server, &a.user);
    let bob = connected_daemon(server, &b.user);

    send(&phone, &b.jid, "from my phone");
    wait_until(DEADLINE, "the laptop to store the carbon", || {
        history_bodies(&laptop, &b.jid).contains(&"from my phone".to_owned())
    })
    .unwrap();
    send(&bob, &a.jid, "got it");
    // The first call is bob's: the carbon made none.
    let notify = mock.notify(1).await;
    assert_eq!(
        (notify.summary.as_str(), notify.body.as_str()),
        (b.jid.as_str(), "got it")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_preview_setting_hides_the_text_and_turning_notifications_off_withdraws_them() {
    let server = ServerKind::Prosody.shared().unwrap();
    let (a, b) = (
        server.new_account("alice").unwrap(),
        server.new_account("bob").unwrap(),
    );
    let bus = Bus::start();
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
        let bus = Bus::start();
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
        for i in 1..=5 {
            send(&bob, &a.jid, &format!("bob {i}"));
        }
        for i in 1..=3 {
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
            acked(&bob, &a.jid, 6) && acked(&carol, &a.jid, 3)
        })
        .unwrap();

        alice.spawn().unwrap();
        alice.wait_state(&a.jid, "connected").unwrap();
        wait_until(DEADLINE, "every message in alice's history", || {
            history_bodies(&alice, &b.jid).len() == 6 && history_bodies(&alice, &c.jid).len() == 3
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
            (b.jid.clone(), "5 new messages\nbob 5".to_owned()),
            (c.jid.clone(), "3 new messages\ncarol 3".to_owned()),
        ];
        expected.sort();
        assert_eq!(shown, expected, "one per chat, with the latest: {calls:#?}");
        assert!(alice.log().contains("archive catch-up done"));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_no_notification_server_messages_are_still_stored_and_it_is_said_once() {
    let server = ServerKind::Prosody.shared().unwrap();
    let (a, b) = (
        server.new_account("alice").unwrap(),
        server.new_account("bob").unwrap(),
    );
    let bus = Bus::start();
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
    assert!(
        log.contains("no notification server runs on the session bus"),
        "{log}"
    );
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
    let bus = Bus::start();
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
