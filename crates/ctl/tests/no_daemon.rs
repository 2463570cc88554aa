//! The binary without a daemon: usage errors exit 2, a missing daemon exits 3
//! with a message saying where it looked and what to do.

use std::process::{Command, Output};

fn wimsyctl(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_wimsyctl"))
        .args(args)
        .env_remove("WIMSY_SOCKET")
        .output()
        .expect("run wimsyctl")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn no_daemon_exits_3_with_a_clear_message() {
    let out = wimsyctl(&["--socket", "/nonexistent/x.sock", "status"]);
    assert_eq!(out.status.code(), Some(3), "{out:?}");
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("no wimsyd is running at /nonexistent/x.sock"),
        "{stderr}"
    );
    assert!(
        stderr.contains("start it with `wimsyd --socket /nonexistent/x.sock`"),
        "{stderr}"
    );
    assert!(out.stdout.is_empty(), "{}", text(&out.stdout));
}

#[test]
fn no_daemon_with_json_prints_an_error_document_too() {
    let out = wimsyctl(&["--json", "--socket", "/nonexistent/x.sock", "roster"]);
    assert_eq!(out.status.code(), Some(3));
    let value: serde_json::Value = serde_json::from_slice(&out.stdout).expect("one JSON document");
    assert_eq!(value["error"]["code"], "no_daemon");
    let message = value["error"]["message"].as_str().unwrap();
    assert!(message.contains("/nonexistent/x.sock"), "{message}");
    assert!(text(&out.stderr).contains("no wimsyd is running"));
}

#[test]
fn every_daemon_command_exits_3_without_a_daemon() {
    for args in [
        &["follow"][..],
        &["quit"][..],
        &["account", "list"][..],
        &["account", "add", "a@example.org", "--password-stdin"][..],
        &["account", "password", "a@example.org", "--password-stdin"][..],
        &["send", "b@example.org", "hi"][..],
        &["history", "b@example.org"][..],
        &["roster", "add", "b@example.org", "--name", "Bob"][..],
        &["roster", "accept", "b@example.org"][..],
        &["presence", "away", "back", "soon"][..],
    ] {
        let mut all = vec!["--socket", "/nonexistent/x.sock"];
        all.extend_from_slice(args);
        let out = wimsyctl(&all);
        assert_eq!(out.status.code(), Some(3), "{args:?}: {out:?}");
    }
}

/// Checked before any daemon is asked: exit 2 (usage), not 3 (no daemon).
#[test]
fn a_malformed_jid_or_fingerprint_is_a_usage_error_before_any_daemon_call() {
    for args in [
        &["account", "add", "not a jid", "--password-stdin"][..],
        &["account", "password", "example.org", "--password-stdin"][..],
        &["account", "trust", "a@example.org", "SHA256:AB:CD"][..],
        &["send", "bob", "hi"][..],
        &["roster", "remove", "bob"][..],
    ] {
        let mut all = vec!["--socket", "/nonexistent/x.sock"];
        all.extend_from_slice(args);
        let out = wimsyctl(&all);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {out:?}");
        let stderr = text(&out.stderr);
        assert!(!stderr.contains("no wimsyd"), "{stderr}");
        assert!(
            stderr.contains("JID") || stderr.contains("hex digits"),
            "says what is wrong: {stderr}"
        );
    }
}

#[test]
fn a_usage_error_with_json_prints_an_error_document() {
    let out = wimsyctl(&[
        "--socket",
        "/nonexistent/x.sock",
        "--json",
        "account",
        "trust",
        "a@example.org",
        "xyz",
    ]);
    assert_eq!(out.status.code(), Some(2));
    let value: serde_json::Value = serde_json::from_slice(&out.stdout).expect("one JSON document");
    assert_eq!(value["error"]["code"], "usage");
    let message = value["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("xyz") && message.contains("hex digits"),
        "{message}"
    );
    assert!(text(&out.stderr).contains("hex digits"));
    let help = wimsyctl(&["--json", "--help"]);
    assert_eq!(help.status.code(), Some(0));
    assert!(!text(&help.stdout).contains("\"error\""));
}

#[test]
fn the_socket_flag_wins_over_the_variable() {
    let run = |flag: Option<&str>| {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_wimsyctl"));
        cmd.env("WIMSY_SOCKET", "/nonexistent/from-env.sock");
        if let Some(flag) = flag {
            cmd.args(["--socket", flag]);
        }
        cmd.arg("status").output().expect("run wimsyctl")
    };
    let from_env = run(None);
    assert_eq!(from_env.status.code(), Some(3));
    assert!(text(&from_env.stderr).contains("/nonexistent/from-env.sock"));
    let from_flag = run(Some("/nonexistent/from-flag.sock"));
    assert_eq!(from_flag.status.code(), Some(3));
    let stderr = text(&from_flag.stderr);
    assert!(stderr.contains("/nonexistent/from-flag.sock"), "{stderr}");
    assert!(!stderr.contains("from-env"), "{stderr}");
}

#[test]
fn bad_usage_exits_2() {
    for args in [
        &[][..],
        &["frobnicate"][..],
        &["status", "--bogus"][..],
        &["account"][..],
        &["account", "add"][..],
        &["account", "add", "a@example.org", "hunter2"][..],
        &["send", "b@example.org"][..],
        &["history", "b@example.org", "--limit", "0"][..],
        &["history", "b@example.org", "--limit", "501"][..],
    ] {
        let out = wimsyctl(args);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {out:?}");
        assert!(!out.stderr.is_empty(), "{args:?}");
    }
}

#[test]
fn help_and_version_exit_0() {
    let help = wimsyctl(&["--help"]);
    assert_eq!(help.status.code(), Some(0));
    let help = text(&help.stdout);
    for command in [
        "status",
        "account",
        "connect",
        "disconnect",
        "roster",
        "send",
        "history",
        "follow",
        "quit",
    ] {
        assert!(help.contains(command), "{command} missing from:\n{help}");
    }
    assert!(
        !help
            .lines()
            .any(|line| line.trim_start().starts_with("fail ")),
        "the test command is hidden:\n{help}"
    );
    let version = wimsyctl(&["--version"]);
    assert_eq!(version.status.code(), Some(0));
    assert_eq!(
        text(&version.stdout).trim(),
        format!("wimsyctl {}", env!("CARGO_PKG_VERSION"))
    );
}

#[test]
fn no_daemon_on_the_default_socket_advises_plain_wimsyd() {
    let out = Command::new(env!("CARGO_BIN_EXE_wimsyctl"))
        .arg("status")
        .env_remove("WIMSY_SOCKET")
        .env("XDG_RUNTIME_DIR", "/nonexistent-runtime")
        .output()
        .expect("run wimsyctl");
    assert_eq!(out.status.code(), Some(3), "{out:?}");
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("no wimsyd is running at /nonexistent-runtime/wimsy/wimsyd.sock"),
        "{stderr}"
    );
    assert!(stderr.contains("start it with `wimsyd`"), "{stderr}");
    assert!(!stderr.contains("--socket"), "{stderr}");
}
