//! What the user sets and shows, end to end with the real binaries:
//! settings through `wimsyctl` (kept across a restart, followed live,
//! refused with words and exit 1), the window's view driving CSI on a
//! real Prosody, and a bounced message sent again with `retry`.

#![allow(clippy::unwrap_used)]

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;

use wimsy_ipc::{ChatRef, Client, Delivery, Event, Request, Response, Role};
use wimsy_testkit::{ServerKind, XmppServer, both_servers};
use wimsy_tests::*;

const KEEP: &str = "background.keep_connected";

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// `wimsyctl follow` as a process, its stdout lines handed over as they
/// come; killed when dropped.
struct Follower {
    child: Child,
    lines: mpsc::Receiver<String>,
}

impl Follower {
    fn start(daemon: &Daemon) -> Self {
        let mut child = Command::new(bin("wimsyctl"))
            .arg("--socket")
            .arg(&daemon.socket)
            .arg("follow")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Self { child, lines }
    }

    /// Wait for a line containing `wanted`.
    fn wait_for(&self, wanted: &str) -> String {
        let end = std::time::Instant::now() + DEADLINE;
        let mut seen = Vec::new();
        while let Some(left) = end.checked_duration_since(std::time::Instant::now()) {
            match self.lines.recv_timeout(left) {
                Ok(line) if line.contains(wanted) => return line,
                Ok(line) => seen.push(line),
                Err(_) => break,
            }
        }
        panic!("follow never printed {wanted:?}; it printed {seen:#?}")
    }
}

impl Drop for Follower {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_setting_set_with_wimsyctl_is_followed_live_and_survives_a_restart() {
    let mut daemon = Daemon::start().unwrap();
    let got = daemon.ctl_json(&["settings", "get"]);
    assert_eq!(got["kind"], "settings");
    assert_eq!(got["settings"][0]["key"], KEEP);
    assert_eq!(got["settings"][0]["value"], true, "on by default");

    let follower = Follower::start(&daemon);
    follower.wait_for("following");
    let mut watch = daemon.client().await;
    watch.request(Request::Subscribe).await.unwrap();

    let out = daemon.ctl(&["settings", "set", KEEP, "off"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let printed = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        printed.starts_with(&format!("{KEEP} = false\n")),
        "{printed}"
    );
    assert!(
        printed.contains("Keep connected when all windows are closed"),
        "{printed}"
    );
    let event = next_matching(&mut watch, |e| matches!(e, Event::Setting { .. })).await;
    assert_eq!(
        event,
        Event::Setting {
            key: KEEP.into(),
            value: wimsy_ipc::SettingValue::Bool(false)
        }
    );
    assert_eq!(
        follower.wait_for("setting "),
        format!("setting {KEEP} = false")
    );
    drop(follower);

    let file = daemon.dir().join("config/settings.toml");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&file).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "owner only");
    }

    assert_eq!(daemon.terminate().unwrap().code(), Some(0));
    daemon.spawn().unwrap();
    let got = daemon.ctl_json(&["settings", "get", KEEP]);
    assert_eq!(
        got["settings"][0]["value"], false,
        "kept across the restart"
    );
    let mut fresh = daemon.client().await;
    let Response::Subscribed { snapshot } = fresh.request(Request::Subscribe).await.unwrap() else {
        panic!("not a snapshot")
    };
    assert_eq!(
        snapshot.settings[0].value,
        wimsy_ipc::SettingValue::Bool(false)
    );
    let human =
        String::from_utf8_lossy(&daemon.ctl(&["settings", "get", KEEP]).stdout).into_owned();
    assert!(human.starts_with(&format!("{KEEP} = false\n")), "{human}");
}

#[test]
fn an_unknown_key_or_a_bad_value_exits_1_saying_what_is_allowed() {
    let daemon = Daemon::start().unwrap();

    let out = daemon.ctl(&["settings", "set", "background.keep", "on"]);
    assert_eq!(out.status.code(), Some(1));
    let said = stderr(&out);
    assert!(
        said.contains("\"background.keep\"") && said.contains(KEEP),
        "names the known keys: {said}"
    );
    let out = daemon.ctl(&["settings", "get", "nope"]);
    assert_eq!(out.status.code(), Some(1));

    let out = daemon.ctl(&["settings", "set", KEEP, "maybe"]);
    assert_eq!(out.status.code(), Some(1));
    let said = stderr(&out);
    assert!(
        said.contains("true or false") && said.contains("\"maybe\""),
        "says which values: {said}"
    );
    let json = daemon.ctl_json(&["settings", "set", KEEP, "maybe"]);
    assert_eq!(json["error"]["code"], "invalid_argument");
    let json = daemon.ctl_json(&["settings", "set", "x.y", "on"]);
    assert_eq!(json["error"]["code"], "unknown_setting");

    // Only a malformed command line is a usage error.
    assert_eq!(
        daemon.ctl(&["settings", "set", KEEP]).status.code(),
        Some(2)
    );
    assert_eq!(
        daemon.ctl_json(&["settings", "get", KEEP])["settings"][0]["value"],
        true,
        "nothing changed"
    );
}

#[test]
fn a_broken_settings_file_is_reported_defaults_are_used_and_it_is_kept_aside() {
    let mut daemon = Daemon::start().unwrap();
    assert_eq!(daemon.terminate().unwrap().code(), Some(0));
    let file = daemon.dir().join("config/settings.toml");
    std::fs::create_dir_all(file.parent().unwrap()).unwrap();
    std::fs::write(&file, "[background\nkeep_connected = false\n").unwrap();
    daemon.spawn().unwrap();
    assert!(
        daemon.log().contains("cannot be used"),
        "the log says so:\n{}",
        daemon.log()
    );
    assert_eq!(
        daemon.ctl_json(&["settings", "get", KEEP])["settings"][0]["value"],
        true
    );
    assert!(
        daemon
            .ctl(&["settings", "set", KEEP, "no"])
            .status
            .success()
    );
    let aside = std::fs::read_to_string(daemon.dir().join("config/settings.toml.broken")).unwrap();
    assert!(aside.starts_with("[background\n"), "{aside}");
}

/// Prosody logs every element it receives: how many CSI `name` elements
/// (`active` / `inactive`) it has had from its clients.
fn csi_seen(server: &dyn XmppServer, name: &str) -> usize {
    let element = format!("Received[c2s]: <{name} ");
    server
        .log()
        .lines()
        .filter(|l| l.contains(&element) && l.contains("'urn:xmpp:csi:0'"))
        .count()
}

/// `set_view` decides the CSI state the server is told: active while a
/// connection shows a visible window, focused or not; inactive when it is
/// hidden or its connection closes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_windows_view_drives_what_the_server_is_told() {
    let server = server_with(ServerKind::Prosody, &["alice"]);
    let alice = connected_daemon(&*server, "alice");
    let seen = |name| csi_seen(&*server, name);
    wimsy_testkit::wait_until(DEADLINE, "the server to see inactive", || {
        seen("inactive") == 1
    })
    .unwrap();

    let mut gui = Client::connect(&alice.socket, Role::Gui, "test-gui")
        .await
        .unwrap();
    let chat = ChatRef {
        account: server.jid("alice"),
        peer: server.jid("bob"),
    };
    let view = |visible, focused| Request::SetView {
        visible,
        focused,
        chat: Some(chat.clone()),
    };
    gui.request(view(true, true)).await.unwrap();
    wimsy_testkit::wait_until(DEADLINE, "active with a visible window", || {
        seen("active") == 1
    })
    .unwrap();
    // Losing the focus is still looking.
    gui.request(view(true, false)).await.unwrap();
    gui.request(view(false, false)).await.unwrap();
    wimsy_testkit::wait_until(DEADLINE, "inactive once hidden", || seen("inactive") == 2).unwrap();
    assert_eq!(seen("active"), 1, "no active while merely unfocused");

    gui.request(view(true, true)).await.unwrap();
    wimsy_testkit::wait_until(DEADLINE, "active again", || seen("active") == 2).unwrap();
    drop(gui);
    wimsy_testkit::wait_until(
        DEADLINE,
        "inactive once the window's connection closes",
        || seen("inactive") == 3,
    )
    .unwrap();
}

async fn send(client: &mut Client, to: &str, body: &str) -> wimsy_ipc::ChatMessage {
    let request = Request::Send {
        account: None,
        to: to.into(),
        body: body.into(),
    };
    match client.request(request).await.unwrap() {
        Response::Sent { message, .. } => message,
        other => panic!("not sent: {other:?}"),
    }
}

async fn delivery(watch: &mut Client, id: i64, wanted: Delivery) -> Option<String> {
    match next_matching(watch, |e| {
        matches!(e, Event::Delivery { message_id, delivery, .. } if *message_id == id && *delivery == wanted)
    })
    .await
    {
        Event::Delivery { reason, .. } => reason,
        _ => unreachable!(),
    }
}

both_servers! {
    /// A message to an account that does not exist bounces (`failed`);
    /// `retry` queues it again and it goes out as any send: while the
    /// account is still missing it fails again, and once it exists it is
    /// acked and arrives, once. Retrying what has not failed, or what was
    /// received, is refused with words.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_bounced_message_is_sent_again_with_retry(kind: ServerKind) {
        let server = kind.shared().unwrap();
        let alice = server.new_account("alice").unwrap();
        let daemon = connected_daemon_with(server, &alice.user, &alice.password);
        let mut watch = daemon.client().await;
        watch.request(Request::Subscribe).await.unwrap();
        let mut a = daemon.client().await;
        // Unique in this test binary, which has its own shared server.
        let later = format!("later-{}", kind.name());
        let later_jid = server.jid(&later);

        let lost = send(&mut a, &later_jid, "are you there yet?").await;
        let first = delivery(&mut watch, lost.id, Delivery::Failed).await;
        assert!(first.is_some(), "a failure says why");

        let retry = Request::Retry { account: None, message_id: lost.id };
        let Response::Sent { message, .. } = a.request(retry.clone()).await.unwrap() else {
            panic!("not sent")
        };
        assert_eq!((message.id, message.delivery), (lost.id, Delivery::Queued));
        assert_eq!(message.origin_id, lost.origin_id, "the same message");
        delivery(&mut watch, lost.id, Delivery::Queued).await;
        delivery(&mut watch, lost.id, Delivery::Sent).await;
        delivery(&mut watch, lost.id, Delivery::Failed).await;

        // The fault goes away: the account now exists and is online.
        server.register(&later, &format!("{later}-pw")).unwrap();
        let receiver = connected_daemon_with(server, &later, &format!("{later}-pw"));
        let mut inbox = receiver.client().await;
        inbox.request(Request::Subscribe).await.unwrap();
        a.request(retry.clone()).await.unwrap();
        delivery(&mut watch, lost.id, Delivery::Acked).await;
        let arrived = next_matching(&mut inbox, |e| matches!(e, Event::Message { .. })).await;
        let Event::Message { message, .. } = arrived else { unreachable!() };
        assert_eq!(message.body, "are you there yet?");
        let history = whole_history(&mut a, &later_jid).await;
        assert_eq!(history.len(), 1, "one message, retried: {history:?}");
        assert_eq!(history[0].delivery, Delivery::Acked);

        let refused = a.request(retry).await.unwrap_err().to_string();
        assert!(refused.contains("has not failed"), "{refused}");
        let mut inbox_client = receiver.client().await;
        let received = whole_history(&mut inbox_client, &server.jid(&alice.user)).await;
        assert_eq!(received.len(), 1, "received once: {received:?}");
        let refused = inbox_client
            .request(Request::Retry { account: None, message_id: received[0].id })
            .await
            .unwrap_err()
            .to_string();
        assert!(refused.contains("received, not sent"), "{refused}");
    }
}
