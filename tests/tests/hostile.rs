//! Clients that misbehave on purpose: one that never reads, one that never
//! says hello, thousands that connect and vanish. Each gets a clear error
//! or a clean close, and the daemon keeps serving everyone else.

#![allow(clippy::unwrap_used)]

use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::net::UnixStream;
use std::time::Instant;

use wimsy_ipc::{Request, Response};
use wimsy_tests::*;

const HELLO: &[u8] = b"{\"id\":1,\"op\":\"hello\",\"protocol\":1,\"role\":\"cli\"}\n";

#[test]
fn a_silent_client_gets_an_error_and_is_closed_after_the_handshake_timeout() {
    let daemon = Daemon::start_args(&["--handshake-timeout-ms", "300"]).unwrap();
    let stream = UnixStream::connect(&daemon.socket).unwrap();
    stream.set_read_timeout(Some(DEADLINE)).unwrap();
    let started = Instant::now();
    let mut reader = BufReader::new(&stream);
    let mut line = String::new();
    reader.read_line(&mut line).unwrap();
    assert!(
        line.contains("handshake_required") && line.contains("no hello"),
        "{line}"
    );
    line.clear();
    assert_eq!(reader.read_line(&mut line).unwrap(), 0, "then closed");
    assert!(started.elapsed() < DEADLINE);
    assert!(daemon.ctl(&["status"]).status.success());
}

#[test]
fn thousands_of_connects_in_a_row_harm_nothing() {
    let daemon = Daemon::start().unwrap();
    for i in 0..3000 {
        let mut stream = UnixStream::connect(&daemon.socket).unwrap();
        if i % 2 == 0 {
            let _ = stream.write_all(HELLO);
        }
    }
    let out = daemon.ctl(&["status"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let fds = std::fs::read_dir(format!("/proc/{}/fd", daemon.pid()))
        .unwrap()
        .count();
    assert!(fds < 200, "connections are not leaked: {fds} open fds");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_subscriber_that_never_reads_is_cut_off_and_nobody_waits_for_it() {
    let prosody = prosody_with(&["alice", "bob"]);
    let daemon = Daemon::start_args(&["--client-queue", "16"]).unwrap();
    assert!(
        daemon
            .add_account(&prosody, "alice", "alice-pw")
            .status
            .success()
    );
    daemon
        .wait_state(&prosody.jid("alice"), "connected")
        .unwrap();
    let bob_jid = prosody.jid("bob");

    let mut stuck = UnixStream::connect(&daemon.socket).unwrap();
    stuck.write_all(HELLO).unwrap();
    stuck
        .write_all(b"{\"id\":2,\"op\":\"subscribe\"}\n")
        .unwrap();

    // Enough events to fill the socket's buffer and the 16-frame queue.
    let mut client = daemon.client().await;
    for i in 0..400 {
        let request = Request::Send {
            account: None,
            to: bob_jid.clone(),
            body: format!("m{i} {}", "x".repeat(400)),
        };
        assert!(matches!(
            client.request(request).await.unwrap(),
            Response::Sent { .. }
        ));
    }
    wait_until(DEADLINE, "the stuck client to be cut off", || {
        daemon
            .log()
            .contains("client is not reading its events; cutting it off")
    })
    .unwrap();
    // The session was never held up: everything went out and was acked.
    wait_until(DEADLINE, "all 400 acked", || {
        let page = daemon.ctl_json(&["history", &bob_jid, "--limit", "500"]);
        let messages = page["messages"].as_array().unwrap();
        messages.len() == 400 && messages.iter().all(|m| m["delivery"] == "acked")
    })
    .unwrap();

    // What the stuck client finds when it finally reads: its frames, then
    // the `lagged` error, then the end.
    stuck.set_read_timeout(Some(DEADLINE)).unwrap();
    let mut rest = String::new();
    let _ = stuck.read_to_string(&mut rest);
    let last = rest.lines().last().unwrap_or_default();
    assert!(last.contains("\"lagged\""), "ends with lagged: {last}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_subscriber_that_reads_keeps_up_with_a_burst_bigger_than_its_queue() {
    let prosody = prosody_with(&["alice", "bob"]);
    let alice = Daemon::start_args(&["--client-queue", "16"]).unwrap();
    assert!(
        alice
            .add_account(&prosody, "alice", "alice-pw")
            .status
            .success()
    );
    alice
        .wait_state(&prosody.jid("alice"), "connected")
        .unwrap();
    let bob = connected_daemon(&prosody, "bob");
    let mut reader = alice.client().await;
    reader.subscribe().await.unwrap();

    // Stopped, alice's daemon cannot read; the server keeps the messages
    // for it, and they all arrive at once when it goes on.
    let signal = |sig: &str| {
        let status = std::process::Command::new("kill")
            .args([sig, &alice.pid().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
    };
    signal("-STOP");
    let mut sender = bob.client().await;
    let alice_jid = prosody.jid("alice");
    for i in 0..300 {
        let request = Request::Send {
            account: None,
            to: alice_jid.clone(),
            body: format!("burst {i} {}", "x".repeat(200)),
        };
        assert!(matches!(
            sender.request(request).await.unwrap(),
            Response::Sent { .. }
        ));
    }
    let bob_jid = prosody.jid("bob");
    let acked = wait_until(DEADLINE, "bob's 300 acked by the server", || {
        let page = bob.ctl_json(&["history", &alice_jid, "--limit", "500"]);
        let messages = page["messages"].as_array().unwrap();
        messages.len() == 300 && messages.iter().all(|m| m["delivery"] == "acked")
    });
    signal("-CONT");
    acked.unwrap();

    let mut seen = 0;
    while seen < 300 {
        next_matching(&mut reader, |e| {
            matches!(e, wimsy_ipc::Event::Message { message, .. }
                if message.peer == bob_jid && message.body.starts_with("burst "))
        })
        .await;
        seen += 1;
    }
    assert!(
        !alice
            .log()
            .contains("client is not reading its events; cutting it off"),
        "a reading client was cut off"
    );
}
