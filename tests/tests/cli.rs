//! `wimsyctl` against the real daemon: every command, human and JSON
//! output, and exit codes.

#![allow(clippy::unwrap_used)]

use wimsy_tests::*;

fn stdout(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn every_command_works_against_a_real_daemon() {
    let prosody = prosody_with(&["alice", "bob"]);
    let alice = connected_daemon(&prosody, "alice");
    let (alice_jid, bob_jid) = (prosody.jid("alice"), prosody.jid("bob"));

    let list = alice.ctl_json(&["account", "list"]);
    assert_eq!(list["accounts"][0]["jid"], alice_jid.as_str());
    assert!(!list.to_string().contains("alice-pw"), "never the password");
    assert!(stdout(&alice.ctl(&["account", "list"])).contains(&alice_jid));

    let status = stdout(&alice.ctl(&["status"]));
    assert!(
        status.contains(&alice_jid) && status.contains("connected"),
        "{status}"
    );

    let roster = alice.ctl_json(&["roster"]);
    assert_eq!(roster["kind"], "roster");
    assert_eq!(roster["account"], alice_jid.as_str());

    // Offline, a message is stored and queued; on connect it goes out.
    assert!(alice.ctl(&["disconnect"]).status.success());
    alice.wait_state(&alice_jid, "offline").unwrap();
    let sent = alice.ctl_json(&["send", &bob_jid, "while", "offline"]);
    assert_eq!(sent["message"]["delivery"], "queued");
    assert_eq!(sent["message"]["body"], "while offline");
    assert!(alice.ctl(&["connect"]).status.success());
    alice.wait_state(&alice_jid, "connected").unwrap();
    wait_until(DEADLINE, "the queued message to be acked", || {
        alice.ctl_json(&["history", &bob_jid])["messages"][0]["delivery"] == "acked"
    })
    .unwrap();

    let bob = connected_daemon(&prosody, "bob");
    for i in 0..3 {
        assert!(
            bob.ctl(&["send", &alice_jid, &format!("page {i}")])
                .status
                .success()
        );
    }
    wait_until(DEADLINE, "alice to have 3 unread", || {
        alice.ctl_json(&["status"])["accounts"][0]["unread"] == 3
    })
    .unwrap();
    let page = alice.ctl_json(&["history", &bob_jid, "--limit", "2"]);
    assert_eq!(page["messages"].as_array().unwrap().len(), 2);
    let cursor = page["next_before"].as_str().unwrap().to_owned();
    let older = alice.ctl_json(&["history", &bob_jid, "--limit", "2", "--before", &cursor]);
    let bodies: Vec<&str> = older["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["body"].as_str().unwrap())
        .collect();
    assert_eq!(bodies, ["page 0", "while offline"]);
    let human = stdout(&alice.ctl(&["history", &bob_jid, "--limit", "2"]));
    assert!(
        human.contains("<- page 2") && human.contains("older: wimsyctl history"),
        "{human}"
    );

    assert!(alice.ctl(&["mark-read", &bob_jid]).status.success());
    assert_eq!(alice.ctl_json(&["status"])["accounts"][0]["unread"], 0);

    let bad_cursor = alice.ctl(&["history", &bob_jid, "--before", "garbage"]);
    assert_eq!(bad_cursor.status.code(), Some(1));
    let unknown = alice.ctl(&["roster", "--account", "nobody@localhost"]);
    assert_eq!(unknown.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("no account nobody@localhost"));
    let usage = alice.ctl(&["send"]);
    assert_eq!(usage.status.code(), Some(2));

    assert!(
        alice
            .ctl(&["account", "remove", &alice_jid])
            .status
            .success()
    );
    assert_eq!(
        alice.ctl_json(&["account", "list"])["accounts"],
        serde_json::json!([])
    );
    let gone = alice.ctl(&["send", &bob_jid, "x"]);
    assert_eq!(gone.status.code(), Some(1));
    // The daemon's words name no frontend command; wimsyctl may add its own.
    assert!(String::from_utf8_lossy(&gone.stderr).contains("no account is configured"));
}

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// `account add` waits for the first login: a wrong password is exit 1
/// with the reason and what to do, and the account stays; a right one is
/// exit 0 with "connected".
#[test]
fn account_add_waits_for_the_first_login() {
    let prosody = prosody_with(&["alice", "bob"]);
    let daemon = Daemon::start().unwrap();
    let alice = prosody.jid("alice");

    let wrong = daemon.add_account(&prosody, "alice", "wrong-password");
    assert_eq!(wrong.status.code(), Some(1), "{}", stderr(&wrong));
    let text = stderr(&wrong);
    assert!(
        text.contains(&format!("{alice} is added but could not log in"))
            && text.contains("the server refused the user name or password")
            && text.contains("the account stays configured")
            && text.contains(&format!("`wimsyctl account password {alice}`")),
        "{text}"
    );
    assert!(stdout(&wrong).is_empty(), "{}", stdout(&wrong));
    assert_eq!(
        daemon.ctl_json(&["account", "list"])["accounts"][0]["jid"],
        alice.as_str(),
        "the account stays configured"
    );

    let right = daemon.add_account(&prosody, "bob", "bob-pw");
    assert_eq!(right.status.code(), Some(0), "{}", stderr(&right));
    let line = stdout(&right);
    assert!(
        line.starts_with(&format!(
            "account {} added; connected as",
            prosody.jid("bob")
        )),
        "{line}"
    );
    let (state, _) = daemon.state_of(&prosody.jid("bob")).unwrap();
    assert_eq!(state, "connected", "exit 0 means it is connected now");
}

/// `--no-wait` returns as soon as wimsyd has the account; without it, a
/// server that never answers ends the wait at `--timeout` with "still
/// trying" and the last error (exit 1), and wimsyd keeps trying.
#[test]
fn no_wait_returns_at_once_and_a_login_that_never_ends_is_still_trying() {
    let daemon = Daemon::start().unwrap();
    // Nothing listens there: every attempt is refused, none is terminal.
    let server = format!("127.0.0.1:{}", wimsy_testkit::free_loopback_port());
    let add = |jid: &str, extra: &[&str]| {
        let mut args = vec![
            "account",
            "add",
            jid,
            "--server",
            &server,
            "--password-stdin",
        ];
        args.extend_from_slice(extra);
        let started = std::time::Instant::now();
        let out = daemon.ctl_with_stdin(&args, "pw\n");
        (out, started.elapsed())
    };

    let (out, took) = add("carol@localhost", &["--no-wait"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stdout(&out).contains("account carol@localhost added"));
    assert!(
        took < std::time::Duration::from_secs(5),
        "no wait: {took:?}"
    );

    let (out, took) = add("dave@localhost", &["--timeout", "3"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let text = stderr(&out);
    assert!(
        text.contains("dave@localhost is added but is not connected after 3s; still trying: "),
        "{text}"
    );
    assert!(text.contains("refused"), "names the last error: {text}");
    assert!(took >= std::time::Duration::from_secs(3), "{took:?}");
    let (state, _) = daemon.state_of("dave@localhost").unwrap();
    assert_eq!(state, "connecting", "wimsyd keeps trying");

    let json = daemon.ctl_with_stdin(
        &[
            "--json",
            "account",
            "add",
            "erin@localhost",
            "--server",
            &server,
            "--password-stdin",
            "--timeout",
            "2",
        ],
        "pw\n",
    );
    assert_eq!(json.status.code(), Some(1));
    let value: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(value["error"]["code"], "still_trying");
    assert_eq!(value["error"]["account"], "erin@localhost");
    assert!(
        !value.to_string().contains("wimsyctl account"),
        "no hints in JSON: {value}"
    );
}

/// A failed account gets a new password: it logs in, and keeps the
/// certificate it pinned and its history; `account list` shows the pin.
#[test]
fn account_password_fixes_a_failed_account_and_keeps_its_pin_and_history() {
    let prosody = prosody_with(&["alice", "bob"]);
    let daemon = Daemon::start().unwrap();
    let (alice, bob) = (prosody.jid("alice"), prosody.jid("bob"));
    // No --ca-file: the certificate is refused with its fingerprint first.
    let out = daemon.ctl_with_stdin(
        &[
            "account",
            "add",
            &alice,
            "--server",
            &prosody.server(),
            "--password-stdin",
        ],
        "wrong-password\n",
    );
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let text = stderr(&out);
    assert!(
        text.contains("could not log in")
            && text.contains(&format!("wimsyctl account trust {alice} SHA256:")),
        "says how to trust it: {text}"
    );
    let status = daemon.ctl_json(&["status"]);
    let fingerprint = status["accounts"][0]["status"]["fingerprint"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        daemon
            .ctl(&["account", "trust", &alice, &fingerprint])
            .status
            .success()
    );
    daemon.wait_state(&alice, "error").unwrap();
    let status = daemon.ctl_json(&["status"]);
    assert_eq!(status["accounts"][0]["status"]["error"], "authentication");
    let human = stdout(&daemon.ctl(&["status"]));
    assert!(
        human.contains(&format!("`wimsyctl account password {alice}`")),
        "{human}"
    );
    // History: a message stored while the account cannot log in.
    let sent = daemon.ctl_json(&["send", &bob, "kept", "across", "the", "change"]);
    assert_eq!(sent["message"]["delivery"], "queued");

    let out = daemon.ctl_with_stdin(
        &["account", "password", &alice, "--password-stdin"],
        "alice-pw\n",
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        stdout(&out).starts_with(&format!("new password for {alice} stored; connected as")),
        "{}",
        stdout(&out)
    );
    let list = daemon.ctl_json(&["account", "list"]);
    assert_eq!(
        list["accounts"][0]["pinned_fingerprint"],
        fingerprint.as_str()
    );
    assert!(stdout(&daemon.ctl(&["account", "list"])).contains(&fingerprint));
    assert!(!list.to_string().contains("alice-pw"));
    wait_until(DEADLINE, "the stored message to go out", || {
        daemon.ctl_json(&["history", &bob])["messages"][0]["delivery"] == "acked"
    })
    .unwrap();
    let history = daemon.ctl_json(&["history", &bob]);
    assert_eq!(history["messages"][0]["body"], "kept across the change");

    // A wrong new password: exit 1 with words, and the pin still stays.
    let out = daemon.ctl_with_stdin(
        &["account", "password", &alice, "--password-stdin"],
        "nope\n",
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains(&format!(
            "{alice} has its new password but could not log in"
        )),
        "{}",
        stderr(&out)
    );
    let file = std::fs::read_to_string(daemon.dir().join("config/accounts.toml")).unwrap();
    assert!(file.contains(&fingerprint), "{file}");
    let unknown = daemon.ctl_with_stdin(
        &[
            "account",
            "password",
            "nobody@localhost",
            "--password-stdin",
        ],
        "x\n",
    );
    assert_eq!(unknown.status.code(), Some(1));
}

/// Malformed arguments never reach wimsyd: exit 2 and no new client.
#[test]
fn a_malformed_jid_or_fingerprint_is_exit_2_without_asking_the_daemon() {
    let daemon = Daemon::start().unwrap();
    let attached = || daemon.log().matches("client attached").count();
    assert!(daemon.ctl(&["status"]).status.success());
    let before = attached();
    assert!(before >= 1, "the daemon logs attaching clients");
    for args in [
        &["account", "remove", "not a jid"][..],
        &["account", "trust", "a@localhost", "SHA256:12:34"][..],
        &["account", "trust", "a@localhost", "not hex at all"][..],
        &["connect", "localhost"][..],
        &["send", "no-user-part", "hi"][..],
        // (wimsyctl exits before it would read stdin)
        &["account", "add", "@localhost", "--password-stdin"][..],
    ] {
        let out = daemon.ctl(args);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
    }
    assert_eq!(attached(), before, "no request reached wimsyd");
}

/// The data directory holds the message store: only the user may enter it.
#[cfg(unix)]
#[test]
fn the_data_directory_is_created_private() {
    use std::os::unix::fs::PermissionsExt;
    let daemon = Daemon::start().unwrap();
    let data = daemon.dir().join("data");
    let mode = std::fs::metadata(&data).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o700, "{}", data.display());
    assert!(data.join("wimsy.sqlite3").exists());
}
