//! Faults against real Prosody and real daemons: the server restarted,
//! frozen or cut off, the daemon frozen past the resumption window or
//! killed mid-burst, the password changed. Each checks that nothing is
//! lost and nothing is stored or announced twice, in both directions.

#![allow(clippy::unwrap_used)]

use std::collections::HashMap;
use std::process::Command;
use std::time::Duration;

use wimsy_ipc::{Client, ConnectionState, Direction, Event, Request, Response};
use wimsy_tests::*;

/// Bursts and recoveries take longer than one ordinary step.
const BURST_DEADLINE: Duration = Duration::from_secs(90);

async fn send_all(client: &mut Client, to: &str, prefix: &str, range: std::ops::Range<usize>) {
    for i in range {
        let request = Request::Send {
            account: None,
            to: to.to_owned(),
            body: format!("{prefix} {i}"),
        };
        match client.request(request).await.unwrap() {
            Response::Sent { .. } => {}
            other => panic!("{other:?}"),
        }
    }
}

/// Every message of a conversation, oldest first, through the paged history.
async fn whole_history(client: &mut Client, peer: &str) -> Vec<wimsy_ipc::ChatMessage> {
    let mut all = Vec::new();
    let mut before = None;
    loop {
        let request = Request::History {
            account: None,
            peer: peer.to_owned(),
            limit: Some(500),
            before: before.clone(),
        };
        let Response::History {
            messages,
            next_before,
            ..
        } = client.request(request).await.unwrap()
        else {
            panic!("not a history page");
        };
        all.extend(messages);
        match next_before {
            Some(cursor) => before = Some(cursor),
            None => break,
        }
    }
    all.reverse();
    all
}

/// Wait until `client`'s chat with `peer` holds `expected` messages in
/// direction `direction`; then check each body is there exactly once.
async fn expect_exactly(
    client: &mut Client,
    peer: &str,
    direction: Direction,
    prefix: &str,
    expected: usize,
) {
    let deadline = tokio::time::Instant::now() + BURST_DEADLINE;
    loop {
        let history = whole_history(client, peer).await;
        let bodies: Vec<&str> = history
            .iter()
            .filter(|m| m.direction == direction && m.body.starts_with(prefix))
            .map(|m| m.body.as_str())
            .collect();
        let mut counts: HashMap<&str, usize> = HashMap::new();
        for body in &bodies {
            *counts.entry(body).or_default() += 1;
        }
        let twice: Vec<_> = counts.iter().filter(|(_, n)| **n > 1).collect();
        assert!(twice.is_empty(), "stored twice: {twice:?}");
        if bodies.len() == expected {
            for i in 0..expected {
                assert!(
                    counts.contains_key(format!("{prefix} {i}").as_str()),
                    "missing {prefix} {i}"
                );
            }
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{peer}: {} of {expected} {direction:?} messages after {BURST_DEADLINE:?}",
            bodies.len()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Wait until every outgoing message to `peer` is acknowledged.
async fn expect_all_acked(client: &mut Client, peer: &str) {
    let deadline = tokio::time::Instant::now() + BURST_DEADLINE;
    loop {
        let history = whole_history(client, peer).await;
        let pending = history
            .iter()
            .filter(|m| m.direction == Direction::Out && m.delivery != wimsy_ipc::Delivery::Acked)
            .count();
        if pending == 0 {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{pending} messages never acked"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Count message events per body seen by a subscriber until `expected`
/// distinct ones arrived; fail if any arrives twice.
async fn watch_messages(mut client: Client, direction: Direction, expected: usize) {
    let mut seen: HashMap<String, usize> = HashMap::new();
    tokio::time::timeout(BURST_DEADLINE, async {
        while seen.len() < expected {
            match client.next_event().await.unwrap() {
                Some((_, Event::Message { message, .. })) if message.direction == direction => {
                    let n = seen.entry(message.body.clone()).or_default();
                    *n += 1;
                    assert_eq!(*n, 1, "announced twice: {}", message.body);
                }
                Some(_) => {}
                None => panic!("daemon closed the subscription"),
            }
        }
    })
    .await
    .unwrap_or_else(|_| panic!("subscriber saw {} of {expected}", seen.len()));
}

async fn subscribed(daemon: &Daemon) -> Client {
    let mut client = daemon.client().await;
    client.subscribe().await.unwrap();
    client
}

fn cut_connections(port: u16) {
    // Kills established loopback connections to the server with a RST, as
    // a vanished network would (root; the kernel's INET_DIAG_DESTROY).
    let status = Command::new("ss")
        .args(["-K", "dport", "=", &format!(":{port}")])
        .stdout(std::process::Stdio::null())
        // ss also tries sockets it cannot kill and says so; the status
        // still tells whether the command ran.
        .stderr(std::process::Stdio::null())
        .status()
        .unwrap();
    assert!(status.success());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_server_restarted_mid_burst_loses_and_duplicates_nothing() {
    let mut prosody = prosody_with(&["alice", "bob"]);
    let alice = connected_daemon(&prosody, "alice");
    let bob = connected_daemon(&prosody, "bob");
    let (alice_jid, bob_jid) = (prosody.jid("alice"), prosody.jid("bob"));
    let alice_watch = tokio::spawn(watch_messages(subscribed(&alice).await, Direction::In, 500));
    let bob_watch = tokio::spawn(watch_messages(subscribed(&bob).await, Direction::In, 500));
    let (mut a, mut b) = (alice.client().await, bob.client().await);

    send_all(&mut a, &bob_jid, "a2b", 0..250).await;
    send_all(&mut b, &alice_jid, "b2a", 0..250).await;
    prosody.restart().unwrap();
    send_all(&mut a, &bob_jid, "a2b", 250..500).await;
    send_all(&mut b, &alice_jid, "b2a", 250..500).await;

    expect_exactly(&mut b, &alice_jid, Direction::In, "a2b", 500).await;
    expect_exactly(&mut a, &bob_jid, Direction::In, "b2a", 500).await;
    alice_watch.await.unwrap();
    bob_watch.await.unwrap();
    expect_all_acked(&mut a, &bob_jid).await;
    expect_all_acked(&mut b, &alice_jid).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cut_connection_is_resumed_and_loses_nothing() {
    let prosody = prosody_with(&["alice", "bob"]);
    let alice = connected_daemon(&prosody, "alice");
    let bob = connected_daemon(&prosody, "bob");
    let (alice_jid, bob_jid) = (prosody.jid("alice"), prosody.jid("bob"));
    let mut watch = subscribed(&alice).await;
    let (mut a, mut b) = (alice.client().await, bob.client().await);

    send_all(&mut a, &bob_jid, "a2b", 0..50).await;
    send_all(&mut b, &alice_jid, "b2a", 0..50).await;
    cut_connections(prosody.port());
    send_all(&mut a, &bob_jid, "a2b", 50..100).await;
    send_all(&mut b, &alice_jid, "b2a", 50..100).await;

    let resumed = next_matching(&mut watch, |e| {
        matches!(e, Event::Connection { status, .. }
            if status.state == ConnectionState::Connected && status.reason.contains("resumed"))
    })
    .await;
    assert!(matches!(resumed, Event::Connection { .. }));
    expect_exactly(&mut b, &alice_jid, Direction::In, "a2b", 100).await;
    expect_exactly(&mut a, &bob_jid, Direction::In, "b2a", 100).await;
    expect_all_acked(&mut a, &bob_jid).await;
    assert!(
        alice.log().contains("stream resumed"),
        "resumed, not a fresh session"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_frozen_server_is_detected_and_the_session_comes_back_when_it_thaws() {
    let prosody = prosody_with(&["alice", "bob"]);
    let alice = connected_daemon(&prosody, "alice");
    let bob = connected_daemon(&prosody, "bob");
    let (alice_jid, bob_jid) = (prosody.jid("alice"), prosody.jid("bob"));
    let mut watch = subscribed(&alice).await;
    let mut a = alice.client().await;

    prosody.freeze().unwrap();
    // Silence past the probe timeouts (3 s idle + 2 s answer in the tight
    // preset) must take the account out of "connected": a stale transport
    // is never shown as connected.
    next_matching(&mut watch, |e| {
        matches!(e, Event::Connection { status, .. } if status.state != ConnectionState::Connected)
    })
    .await;
    send_all(&mut a, &bob_jid, "frozen", 0..20).await;
    prosody.thaw().unwrap();
    next_matching(&mut watch, |e| {
        matches!(e, Event::Connection { status, .. } if status.state == ConnectionState::Connected)
    })
    .await;
    let mut b = bob.client().await;
    expect_exactly(&mut b, &alice_jid, Direction::In, "frozen", 20).await;
    expect_all_acked(&mut a, &bob_jid).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_daemon_frozen_past_the_resumption_window_catches_up_from_the_archive() {
    let prosody = wimsy_testkit::Prosody::builder()
        .account("alice", "alice-pw")
        .account("bob", "bob-pw")
        .hibernation_secs(1)
        .start()
        .unwrap();
    let alice = connected_daemon(&prosody, "alice");
    let bob = connected_daemon(&prosody, "bob");
    let (alice_jid, bob_jid) = (prosody.jid("alice"), prosody.jid("bob"));
    let mut b = bob.client().await;

    // As in a suspend: the process stops and its TCP connection dies.
    Command::new("kill")
        .args(["-STOP", &alice.pid().to_string()])
        .status()
        .unwrap();
    let alice_port = local_port_of(alice.pid(), prosody.port());
    Command::new("ss")
        .args(["-K", "sport", "=", &format!(":{alice_port}")])
        .stdout(std::process::Stdio::null())
        // ss also tries sockets it cannot kill and says so; the status
        // still tells whether the command ran.
        .stderr(std::process::Stdio::null())
        .status()
        .unwrap();
    send_all(&mut b, &alice_jid, "asleep", 0..30).await;
    wimsy_testkit::wait_until(
        BURST_DEADLINE,
        "the server to drop alice's hibernated session",
        || {
            prosody
                .log()
                .contains("Destroying session for hibernating too long")
        },
    )
    .unwrap();
    Command::new("kill")
        .args(["-CONT", &alice.pid().to_string()])
        .status()
        .unwrap();

    let mut a = alice.client().await;
    expect_exactly(&mut a, &bob_jid, Direction::In, "asleep", 30).await;
    let log = alice.log();
    assert!(
        log.contains("resume refused"),
        "the resume was tried and refused:\n{log}"
    );
    assert!(log.contains("caught up from the archive"));
}

/// The local port of `pid`'s TCP connection to `server_port`.
fn local_port_of(pid: u32, server_port: u16) -> u16 {
    let out = Command::new("ss")
        .args(["-tnpH", "dport", "=", &format!(":{server_port}")])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let line = text
        .lines()
        .find(|l| l.contains(&format!("pid={pid},")))
        .unwrap_or_else(|| panic!("no connection of pid {pid} in:\n{text}"));
    let local = line.split_whitespace().nth(3).unwrap();
    local.rsplit(':').next().unwrap().parse().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_daemon_killed_mid_burst_resends_its_outbox_and_catches_up() {
    let prosody = prosody_with(&["alice", "bob"]);
    let mut alice = connected_daemon(&prosody, "alice");
    let bob = connected_daemon(&prosody, "bob");
    let (alice_jid, bob_jid) = (prosody.jid("alice"), prosody.jid("bob"));
    let bob_watch = tokio::spawn(watch_messages(subscribed(&bob).await, Direction::In, 300));
    let mut b = bob.client().await;
    {
        let mut a = alice.client().await;
        send_all(&mut a, &bob_jid, "a2b", 0..300).await;
    }
    send_all(&mut b, &alice_jid, "b2a", 0..150).await;
    alice.kill9();
    send_all(&mut b, &alice_jid, "b2a", 150..300).await;
    alice.spawn().unwrap();

    let mut a = alice.client().await;
    expect_exactly(&mut b, &alice_jid, Direction::In, "a2b", 300).await;
    expect_exactly(&mut a, &bob_jid, Direction::In, "b2a", 300).await;
    bob_watch.await.unwrap();
    expect_all_acked(&mut a, &bob_jid).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_password_changed_on_the_server_is_a_terminal_error_without_retries() {
    let prosody = prosody_with(&["alice"]);
    let alice = connected_daemon(&prosody, "alice");
    let jid = prosody.jid("alice");
    let mut watch = subscribed(&alice).await;
    prosody.set_password("alice", "changed-elsewhere").unwrap();
    cut_connections(prosody.port());
    let failed = next_matching(
        &mut watch,
        |e| matches!(e, Event::Connection { status, .. } if status.state == ConnectionState::Error),
    )
    .await;
    let Event::Connection { status, .. } = failed else {
        unreachable!()
    };
    assert_eq!(
        status.error,
        Some(wimsy_ipc::ConnectionError::Authentication)
    );
    // Barrier: a whole login of another account takes longer than any
    // retry would have.
    prosody.register("carol", "carol-pw").unwrap();
    alice.add_account(&prosody, "carol", "carol-pw");
    alice
        .wait_state(&prosody.jid("carol"), "connected")
        .unwrap();
    assert_eq!(alice.state_of(&jid).unwrap().0, "error");
    let failures = prosody
        .log()
        .matches("Sending[c2s_unauthed]: <failure xmlns='urn:ietf:params:xml:ns:xmpp-sasl'")
        .count();
    assert_eq!(failures, 1, "exactly one failed login");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_server_is_told_inactive_without_a_visible_gui_and_active_with_one() {
    let prosody = prosody_with(&["alice"]);
    let alice = connected_daemon(&prosody, "alice");
    // Prosody logs attributes in hash order (`xml:lang` may come before
    // `xmlns`), so match the element and the namespace separately.
    let received = |name: &str| {
        let element = format!("Received[c2s]: <{name} ");
        prosody
            .log()
            .lines()
            .filter(|l| l.contains(&element) && l.contains("'urn:xmpp:csi:0'"))
            .count()
    };
    wimsy_testkit::wait_until(DEADLINE, "the server to see inactive", || {
        received("inactive") > 0
    })
    .unwrap();
    assert_eq!(received("active"), 0);

    let mut gui = Client::connect(&alice.socket, wimsy_ipc::Role::Gui, "test-gui")
        .await
        .unwrap();
    gui.request(Request::SetVisibility { visible: true })
        .await
        .unwrap();
    wimsy_testkit::wait_until(DEADLINE, "the server to see active", || {
        received("active") > 0
    })
    .unwrap();

    drop(gui);
    wimsy_testkit::wait_until(DEADLINE, "inactive again once the GUI is gone", || {
        received("inactive") == 2
    })
    .unwrap();
}
