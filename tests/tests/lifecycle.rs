//! wimsyd's life as a service, with the real binary on a real Prosody:
//! SIGHUP reads the accounts and settings files again (and tells the
//! service manager it is reloading), lines written for the journal carry a
//! priority and no time, and the exit codes tell a stop from a failure.

#![allow(clippy::unwrap_used)]

use std::os::unix::fs::MetadataExt;
use std::os::unix::net::UnixDatagram;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use wimsy_ipc::{ConnectionState, Event, Request, SettingValue};
use wimsy_testkit::ServerKind;
use wimsy_tests::*;

const KEEP: &str = "background.keep_connected";

/// A NOTIFY_SOCKET of our own, as systemd binds for a Type=notify unit.
fn notify_socket(dir: &Path) -> (UnixDatagram, PathBuf) {
    let path = dir.join("notify");
    let socket = UnixDatagram::bind(&path).unwrap();
    socket.set_read_timeout(Some(DEADLINE)).unwrap();
    (socket, path)
}

/// Wait for a notification holding the line `wanted`; the ones before it
/// are returned, to show what came instead.
fn expect_notification(socket: &UnixDatagram, wanted: &str, log: impl Fn() -> String) {
    let mut seen = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        let n = socket.recv(&mut buf).unwrap_or_else(|e| {
            panic!(
                "no {wanted} from wimsyd within {DEADLINE:?} ({e}); it said {seen:?}\n{}",
                log()
            )
        });
        let text = String::from_utf8_lossy(&buf[..n]).into_owned();
        if text.lines().any(|l| l == wanted) {
            return;
        }
        seen.push(text);
    }
}

/// `kill -HUP`, as `systemctl --user reload wimsyd` does.
fn hangup(daemon: &Daemon) {
    let status = Command::new("kill")
        .args(["-HUP", &daemon.pid().to_string()])
        .status()
        .unwrap();
    assert!(status.success(), "kill -HUP failed");
}

/// SIGHUP, then wait until wimsyd has read the files again.
fn reload(daemon: &Daemon, notify: &UnixDatagram) {
    hangup(daemon);
    expect_notification(notify, "RELOADING=1", || daemon.log());
    expect_notification(notify, "READY=1", || daemon.log());
}

fn keep_connected(daemon: &Daemon) -> serde_json::Value {
    daemon.ctl_json(&["settings", "get", KEEP])["settings"][0]["value"].clone()
}

/// The accounts file without the `[[account]]` table of `jid`.
fn without_account(file: &str, jid: &str) -> String {
    let mut tables = file.split("[[account]]");
    let mut kept = tables.next().unwrap_or_default().to_owned();
    for table in tables {
        if !table.contains(&format!("\"{jid}\"")) {
            kept.push_str("[[account]]");
            kept.push_str(table);
        }
    }
    kept
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sighup_reads_the_accounts_and_settings_files_again() {
    let server = ServerKind::Prosody.shared().unwrap();
    let alice = server.new_account("alice").unwrap();
    let bob = server.new_account("bob").unwrap();
    let temp = tempfile::tempdir().unwrap();
    let (notify, notify_path) = notify_socket(temp.path());
    let daemon = Daemon::start_env(&[("NOTIFY_SOCKET", notify_path.to_str().unwrap())]).unwrap();
    expect_notification(&notify, "READY=1", || daemon.log());
    for account in [&alice, &bob] {
        let out = daemon.add_account(server, &account.user, &account.password);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        daemon.wait_state(&account.jid, "connected").unwrap();
    }
    let mut watch = daemon.client().await;
    watch.request(Request::Subscribe).await.unwrap();

    // Bob's table taken out by hand: his session ends, the others' go on.
    let accounts = daemon.dir().join("config/accounts.toml");
    let both = std::fs::read_to_string(&accounts).unwrap();
    let alice_only = without_account(&both, &bob.jid);
    assert!(alice_only.contains(&alice.jid) && !alice_only.contains(&bob.jid));
    std::fs::write(&accounts, &alice_only).unwrap();
    reload(&daemon, &notify);
    let removed = next_matching(&mut watch, |e| matches!(e, Event::AccountRemoved { .. })).await;
    assert_eq!(
        removed,
        Event::AccountRemoved {
            account: bob.jid.clone()
        }
    );
    assert_eq!(daemon.state_of(&bob.jid), None, "bob is gone");
    assert_eq!(
        daemon
            .state_of(&alice.jid)
            .map(|(state, _)| state)
            .as_deref(),
        Some("connected"),
        "alice's session was left alone"
    );

    // Put back: his password was kept, so he connects again.
    std::fs::write(&accounts, &both).unwrap();
    reload(&daemon, &notify);
    let added = next_matching(&mut watch, |e| matches!(e, Event::AccountAdded { .. })).await;
    let Event::AccountAdded { account, .. } = added else {
        unreachable!()
    };
    assert_eq!(account, bob.jid);
    daemon.wait_state(&bob.jid, "connected").unwrap();

    // A setting changed in the file is applied and told to subscribers.
    assert_eq!(keep_connected(&daemon), true);
    let settings = daemon.dir().join("config/settings.toml");
    std::fs::write(&settings, "[background]\nkeep_connected = false\n").unwrap();
    reload(&daemon, &notify);
    let changed = next_matching(&mut watch, |e| matches!(e, Event::Setting { .. })).await;
    assert_eq!(
        changed,
        Event::Setting {
            key: KEEP.into(),
            value: SettingValue::Bool(false)
        }
    );
    assert_eq!(keep_connected(&daemon), false);

    // An account whose table changed starts a new session with it (here
    // the same CA file, spelt another way).
    let changed = both.replacen("ca_file = \"/", "ca_file = \"/./", 1);
    assert_ne!(changed, both, "{both}");
    std::fs::write(&accounts, &changed).unwrap();
    reload(&daemon, &notify);
    let restarted = next_matching(&mut watch, |e| matches!(e, Event::Connection { .. })).await;
    let Event::Connection { account, status } = restarted else {
        unreachable!()
    };
    assert_eq!(account, alice.jid, "alice's table comes first");
    assert_eq!(status.state, ConnectionState::Connecting);
    daemon.wait_state(&alice.jid, "connected").unwrap();
    assert_eq!(
        daemon.state_of(&bob.jid).map(|(state, _)| state).as_deref(),
        Some("connected")
    );

    // A change that cannot start keeps the account listed, with why, and
    // mending the file starts it again.
    let server_line = changed
        .lines()
        .find(|line| line.starts_with("server = "))
        .unwrap();
    let unusable = changed.replacen(server_line, "server = \"localhost:notaport\"", 1);
    std::fs::write(&accounts, &unusable).unwrap();
    reload(&daemon, &notify);
    let refused = next_matching(
        &mut watch,
        |e| matches!(e, Event::Connection { status, .. } if status.state == ConnectionState::Error),
    )
    .await;
    let Event::Connection { account, status } = refused else {
        unreachable!()
    };
    assert_eq!(account, alice.jid);
    assert!(status.reason.contains("notaport"), "{}", status.reason);
    let (state, reason) = daemon.state_of(&alice.jid).unwrap();
    assert_eq!(state, "error", "still listed: {reason}");
    std::fs::write(&accounts, &changed).unwrap();
    reload(&daemon, &notify);
    daemon.wait_state(&alice.jid, "connected").unwrap();

    // Files that cannot be used change nothing, and the log says so.
    std::fs::write(&settings, "[background\nkeep_connected = true\n").unwrap();
    std::fs::write(&accounts, "[[account]\njid = ").unwrap();
    reload(&daemon, &notify);
    assert_eq!(keep_connected(&daemon), false, "{}", daemon.log());
    for account in [&alice, &bob] {
        assert_eq!(
            daemon
                .state_of(&account.jid)
                .map(|(state, _)| state)
                .as_deref(),
            Some("connected"),
            "{}",
            daemon.log()
        );
    }
    let log = daemon.log();
    assert!(log.contains("the settings stay as they were"), "{log}");
    assert!(log.contains("the accounts stay as they were"), "{log}");
}

/// What precedes the level on a line tracing-subscriber wrote.
fn starts_with_level(rest: &str) -> bool {
    ["ERROR", "WARN", "INFO", "DEBUG", "TRACE"]
        .iter()
        .any(|level| rest.trim_start().starts_with(level))
}

#[test]
fn for_the_journal_lines_carry_a_priority_and_no_time_and_refusals_exit_3() {
    let mut daemon = Daemon::start().unwrap();
    assert_eq!(daemon.terminate().unwrap().code(), Some(0));
    let by_hand = daemon.log();
    let first = by_hand.lines().next().unwrap_or_default();
    assert!(
        first.starts_with("20") && !starts_with_level(first),
        "started by hand, lines begin with the time: {by_hand}"
    );

    // systemd names the stream it connected stderr to; here that is the
    // log file the harness appends to.
    let log_path = daemon.dir().join("wimsyd.log");
    let meta = std::fs::metadata(&log_path).unwrap();
    let stream = format!("{}:{}", meta.dev(), meta.ino());
    daemon.set_env("JOURNAL_STREAM", &stream);
    daemon.spawn().unwrap();

    // A second wimsyd for the same user is refused with exit 3, its last
    // words an error to the journal.
    let log = std::fs::OpenOptions::new()
        .append(true)
        .open(&log_path)
        .unwrap();
    let second = daemon
        .command()
        .stdin(Stdio::null())
        .stderr(log)
        .status()
        .unwrap();
    assert_eq!(second.code(), Some(3), "{}", daemon.log());
    // The variable is inherited by whatever wimsyd starts, and stderr may
    // have been redirected since: a stream that is not the one named is
    // written for a person.
    let elsewhere = daemon.command().stdin(Stdio::null()).output().unwrap();
    let stderr = String::from_utf8_lossy(&elsewhere.stderr);
    assert_eq!(elsewhere.status.code(), Some(3), "{stderr}");
    assert!(
        stderr.starts_with("wimsyd: another wimsyd is already running"),
        "{stderr}"
    );
    assert_eq!(daemon.terminate().unwrap().code(), Some(0));

    let journal = daemon.log()[by_hand.len()..].to_owned();
    assert!(!journal.contains('\u{1b}'), "no colours: {journal}");
    for line in journal.lines() {
        let (priority, rest) = line.split_at_checked(3).unwrap_or((line, ""));
        let valid = matches!(priority.as_bytes(), [b'<', b'0'..=b'7', b'>']);
        assert!(
            valid && (starts_with_level(rest) || rest.starts_with("wimsyd: ")),
            "a journal line is <N>, then the level (no time): {line:?}\n{journal}"
        );
    }
    assert!(journal.contains("<6> INFO"), "{journal}");
    assert!(journal.contains("<4> WARN"), "{journal}");
    assert!(
        journal.contains("<3>wimsyd: another wimsyd is already running"),
        "{journal}"
    );
}

#[test]
fn an_unusable_accounts_file_exits_4_and_a_clean_quit_exits_0() {
    let mut daemon = Daemon::start().unwrap();
    let quit = daemon.ctl(&["quit"]);
    assert!(quit.status.success());
    assert_eq!(daemon.wait_exit().unwrap().code(), Some(0), "a clean Quit");

    let config = daemon.dir().join("config");
    std::fs::create_dir_all(&config).unwrap();
    std::fs::write(config.join("accounts.toml"), "[[account]\njid = ").unwrap();
    let out = daemon.command().stdin(Stdio::null()).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(4), "{stderr}");
    assert!(stderr.contains("is not a valid accounts file"), "{stderr}");
    // Started by hand (stderr is a pipe, not the journal's stream): words
    // for a person, no priority prefix.
    assert!(
        stderr
            .lines()
            .last()
            .unwrap_or_default()
            .starts_with("wimsyd: "),
        "{stderr}"
    );

    let usage = daemon.command().arg("--no-such-flag").output().unwrap();
    assert_eq!(usage.status.code(), Some(2), "a wrong command line exits 2");
}
