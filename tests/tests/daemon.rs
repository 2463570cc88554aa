//! The daemon as a process: one instance, clean shutdown, and a socket
//! that survives garbage.

#![allow(clippy::unwrap_used)]

use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;

use wimsy_tests::*;

fn raw(daemon: &Daemon) -> (UnixStream, BufReader<UnixStream>) {
    let stream = UnixStream::connect(&daemon.socket).unwrap();
    stream.set_read_timeout(Some(DEADLINE)).unwrap();
    let reader = BufReader::new(stream.try_clone().unwrap());
    (stream, reader)
}

fn reply(reader: &mut BufReader<UnixStream>) -> serde_json::Value {
    let mut line = String::new();
    reader.read_line(&mut line).unwrap();
    serde_json::from_str(&line).unwrap_or_else(|e| panic!("{e}: {line:?}"))
}

const HELLO: &str = "{\"id\":1,\"op\":\"hello\",\"protocol\":1,\"role\":\"cli\"}\n";

#[test]
fn garbage_and_oversized_frames_get_errors_and_others_are_still_served() {
    let daemon = Daemon::start().unwrap();
    let (mut bystander, mut bystander_reader) = raw(&daemon);
    bystander.write_all(HELLO.as_bytes()).unwrap();
    assert_eq!(reply(&mut bystander_reader)["result"]["kind"], "hello");

    let (mut stream, mut reader) = raw(&daemon);
    stream.write_all(b"{\"id\":1,\"op\":\"status\"}\n").unwrap();
    assert_eq!(reply(&mut reader)["error"]["code"], "handshake_required");
    stream.write_all(HELLO.as_bytes()).unwrap();
    assert_eq!(reply(&mut reader)["result"]["kind"], "hello");
    stream.write_all(b"this is not json\n").unwrap();
    assert_eq!(reply(&mut reader)["error"]["code"], "bad_frame");
    stream.write_all(&[0xff, 0xfe, b'\n']).unwrap();
    assert_eq!(reply(&mut reader)["error"]["code"], "bad_frame");
    stream
        .write_all(b"{\"id\":7,\"op\":\"teleport\"}\n")
        .unwrap();
    let unknown = reply(&mut reader);
    assert_eq!(
        (unknown["id"].as_u64(), unknown["error"]["code"].as_str()),
        (Some(7), Some("unknown_request"))
    );
    stream.write_all(b"{\"id\":8,\"op\":\"fail\"}\n").unwrap();
    assert_eq!(reply(&mut reader)["error"]["code"], "test_failure");

    // 2 MiB with no newline: refused before it is all read, then closed.
    let big = vec![b'x'; 2 * 1024 * 1024];
    let _ = stream.write_all(&big);
    assert_eq!(reply(&mut reader)["error"]["code"], "frame_too_large");
    let mut rest = String::new();
    assert_eq!(
        reader.read_line(&mut rest).unwrap_or(0),
        0,
        "connection closed after an oversized frame"
    );

    bystander
        .write_all(b"{\"id\":2,\"op\":\"status\"}\n")
        .unwrap();
    assert_eq!(reply(&mut bystander_reader)["result"]["kind"], "status");
    let status = daemon.ctl(&["status"]);
    assert!(status.status.success());
}

#[test]
fn a_protocol_mismatch_says_what_to_do() {
    let daemon = Daemon::start().unwrap();
    let (mut stream, mut reader) = raw(&daemon);
    stream
        .write_all(b"{\"id\":1,\"op\":\"hello\",\"protocol\":999,\"role\":\"gui\"}\n")
        .unwrap();
    let error = reply(&mut reader);
    assert_eq!(error["error"]["code"], "protocol_mismatch");
    assert!(
        error["error"]["message"]
            .as_str()
            .unwrap()
            .contains("quit wimsyd and start it again"),
        "{error}"
    );
}

#[test]
fn a_silent_client_is_closed_after_the_handshake_timeout_without_harm() {
    // The default handshake timeout is 10 s; a silent client must not block
    // anyone in the meantime.
    let daemon = Daemon::start().unwrap();
    let _silent = UnixStream::connect(&daemon.socket).unwrap();
    for _ in 0..50 {
        let _ = UnixStream::connect(&daemon.socket).unwrap();
    }
    assert!(daemon.ctl(&["status"]).status.success());
}

#[test]
fn a_second_daemon_refuses_to_start_and_harms_nothing() {
    let daemon = Daemon::start().unwrap();
    let out = daemon.command().output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "already running: {stderr}");
    assert!(stderr.contains("already running"), "{stderr}");
    assert!(
        daemon.ctl(&["status"]).status.success(),
        "the first one still serves"
    );
}

#[test]
fn quit_stops_the_daemon_cleanly_and_removes_the_socket() {
    let mut daemon = Daemon::start().unwrap();
    let out = daemon.ctl(&["quit"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let status = daemon.wait_exit().unwrap();
    assert_eq!(status.code(), Some(0), "{}", daemon.log());
    assert!(!daemon.socket.exists());
    let out = daemon.ctl(&["status"]);
    assert_eq!(out.status.code(), Some(3), "no daemon: exit 3");
}

#[test]
fn sigterm_closes_sessions_and_exits_zero_and_a_stale_socket_is_reclaimed() {
    let prosody = prosody_with(&["alice"]);
    let mut daemon = connected_daemon(&prosody, "alice");
    let status = daemon.terminate().unwrap();
    assert_eq!(status.code(), Some(0), "{}", daemon.log());
    assert!(daemon.log().contains("wimsyd stopped"));

    // A crash leaves the socket file behind; the next start reclaims it.
    daemon.spawn().unwrap();
    daemon.kill9();
    assert!(daemon.socket.exists());
    daemon.spawn().unwrap();
    daemon
        .wait_state(&prosody.jid("alice"), "connected")
        .unwrap();
}

#[test]
fn an_account_taken_offline_stays_offline_across_a_restart() {
    let prosody = prosody_with(&["alice"]);
    let mut daemon = connected_daemon(&prosody, "alice");
    let jid = prosody.jid("alice");
    assert!(daemon.ctl(&["disconnect", &jid]).status.success());
    daemon.wait_state(&jid, "offline").unwrap();
    assert_eq!(daemon.terminate().unwrap().code(), Some(0));
    daemon.spawn().unwrap();
    daemon.wait_state(&jid, "offline").unwrap();
    // `connect` both connects and forgets the choice.
    assert!(daemon.ctl(&["connect", &jid]).status.success());
    daemon.wait_state(&jid, "connected").unwrap();
    assert_eq!(daemon.terminate().unwrap().code(), Some(0));
    daemon.spawn().unwrap();
    daemon.wait_state(&jid, "connected").unwrap();
}

#[test]
fn an_account_whose_password_is_missing_stays_configured_and_can_be_repaired() {
    let prosody = prosody_with(&["alice", "bob"]);
    let mut daemon = connected_daemon(&prosody, "alice");
    let alice = prosody.jid("alice");
    assert_eq!(daemon.terminate().unwrap().code(), Some(0));
    let password_file = daemon.dir().join("config/passwords").join(&alice);
    std::fs::remove_file(&password_file).unwrap();
    daemon.spawn().unwrap();

    let reason = daemon.wait_state(&alice, "error").unwrap();
    assert!(
        reason.contains("not started") && reason.contains("no password"),
        "{reason}"
    );
    let status = daemon.ctl_json(&["status"]);
    assert_eq!(status["accounts"][0]["status"]["error"], "authentication");
    let human = String::from_utf8_lossy(&daemon.ctl(&["status"]).stdout).into_owned();
    assert!(
        human.contains(&format!("`wimsyctl account password {alice}`")),
        "wimsyctl says how to give it a password: {human}"
    );
    // Frontends see it too: the snapshot lists what `status` lists.
    let snapshot = tokio::runtime::Runtime::new()
        .unwrap()
        .block_on(async { daemon.client().await.subscribe().await.unwrap() });
    let listed: Vec<(&str, wimsy_ipc::ConnectionState)> = snapshot
        .accounts
        .iter()
        .map(|a| (a.jid.as_str(), a.status.state))
        .collect();
    assert_eq!(
        listed,
        [(alice.as_str(), wimsy_ipc::ConnectionState::Error)],
        "{snapshot:?}"
    );
    assert_eq!(
        snapshot.accounts[0].status.error,
        Some(wimsy_ipc::ConnectionError::Authentication)
    );
    // Another change to the accounts file must not drop alice from it.
    assert!(
        daemon
            .add_account(&prosody, "bob", "bob-pw")
            .status
            .success()
    );
    let list = daemon.ctl_json(&["account", "list"]);
    let jids: Vec<&str> = list["accounts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["jid"].as_str().unwrap())
        .collect();
    assert!(jids.contains(&alice.as_str()), "{list}");
    let file = std::fs::read_to_string(daemon.dir().join("config/accounts.toml")).unwrap();
    assert!(file.contains(&alice), "{file}");

    // A new password repairs it, and `account password` waits for the login.
    let out = daemon.ctl_with_stdin(
        &["account", "password", &alice, "--password-stdin"],
        "alice-pw\n",
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let (state, _) = daemon.state_of(&alice).unwrap();
    assert_eq!(state, "connected");
}
