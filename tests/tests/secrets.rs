//! Where passwords live: in a real Secret Service (gnome-keyring, unlocked,
//! on a private session bus from `dbus-run-session`) when one answers,
//! else in 0600 files with one warning saying where. Either way the daemon
//! logs in after a restart with what it stored, and removing the account
//! removes the password.
//!
//! Needs the Debian packages `dbus-daemon` (dbus-run-session),
//! `gnome-keyring` and `libsecret-tools` (secret-tool, to look into the
//! keyring independently of Wimsy).

#![allow(clippy::unwrap_used)]

use std::io::{BufRead, BufReader};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Output, Stdio};

use wimsy_testkit::Prosody;
use wimsy_tests::*;

const IN_KEYRING: &str = "passwords are kept in the Secret Service keyring";
const FALLBACK: &str = "no usable Secret Service on the session bus";
const IN_FILES: &str = "passwords are kept in 0600 files under";
const MOVED: &str = "moved the password from";

/// A private session bus with gnome-keyring's Secret Service on it, its
/// login keyring unlocked (created on first use) in a private home. The
/// bus lives until this is dropped, across daemon restarts.
struct KeyringBus {
    child: Child,
    stdin: Option<ChildStdin>,
    address: String,
    _home: tempfile::TempDir,
}

/// Runs inside `dbus-run-session`: unlock the keyring, say the bus address,
/// then hold the session open until our end of stdin closes.
const SESSION_SCRIPT: &str = r#"printf '%s' "$1" | gnome-keyring-daemon --unlock --components=secrets >/dev/null || exit 1
echo "$DBUS_SESSION_BUS_ADDRESS"
exec cat >/dev/null"#;

impl KeyringBus {
    fn start() -> KeyringBus {
        let home = tempfile::tempdir().unwrap();
        let runtime = home.path().join("run");
        std::fs::create_dir(&runtime).unwrap();
        std::fs::set_permissions(&runtime, std::fs::Permissions::from_mode(0o700)).unwrap();
        let mut child = Command::new("dbus-run-session")
            .args(["--", "sh", "-c", SESSION_SCRIPT, "sh", "keyring-pass"])
            // Everything gnome-keyring keeps goes under the private home,
            // never into the keyring of whoever runs the tests.
            .env("HOME", home.path())
            .env("XDG_RUNTIME_DIR", &runtime)
            .env_remove("XDG_DATA_HOME")
            .env_remove("XDG_CONFIG_HOME")
            .env_remove("XDG_CACHE_HOME")
            .env_remove("DBUS_SESSION_BUS_ADDRESS")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            // dbus-daemon complains that it may not raise its fd limit.
            .stderr(Stdio::null())
            .spawn()
            .expect("dbus-run-session (Debian package dbus-daemon) is needed");
        // Read on a thread, so a keyring that never comes up fails the test
        // at the deadline instead of hanging it.
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut line = String::new();
            let _ = BufReader::new(stdout).read_line(&mut line);
            let _ = tx.send(line);
        });
        let address = rx.recv_timeout(DEADLINE).unwrap_or_default();
        if !address.starts_with("unix:") {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "no session bus with gnome-keyring (Debian packages gnome-keyring, \
                 libsecret-tools): got {address:?}"
            );
        }
        KeyringBus {
            stdin: child.stdin.take(),
            child,
            address: address.trim().to_owned(),
            _home: home,
        }
    }

    /// `secret-tool ARGS` on this bus.
    fn secret_tool(&self, args: &[&str]) -> Output {
        Command::new("secret-tool")
            .args(args)
            .env("DBUS_SESSION_BUS_ADDRESS", &self.address)
            .output()
            .expect("secret-tool (Debian package libsecret-tools) is needed")
    }

    /// What the keyring holds for `jid` under Wimsy's attributes.
    fn lookup(&self, jid: &str) -> Option<String> {
        let out = self.secret_tool(&["lookup", "service", "wimsy", "username", jid]);
        out.status
            .success()
            .then(|| String::from_utf8(out.stdout).unwrap())
    }
}

impl Drop for KeyringBus {
    fn drop(&mut self) {
        // EOF ends `cat`, and with it the bus and gnome-keyring.
        drop(self.stdin.take());
        if wait_until(DEADLINE, "the session bus to close", || {
            matches!(self.child.try_wait(), Ok(Some(_)))
        })
        .is_err()
        {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

fn password_file(daemon: &Daemon, jid: &str) -> PathBuf {
    daemon.dir().join("config/passwords").join(jid)
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

fn add(daemon: &Daemon, prosody: &Prosody, user: &str) -> String {
    let out = daemon.add_account(prosody, user, &format!("{user}-pw"));
    assert!(
        out.status.success(),
        "account add: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let jid = prosody.jid(user);
    daemon.wait_state(&jid, "connected").unwrap();
    jid
}

fn remove(daemon: &Daemon, jid: &str) {
    let out = daemon.ctl(&["account", "remove", jid]);
    assert!(
        out.status.success(),
        "account remove: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn restart(daemon: &mut Daemon) {
    assert!(daemon.terminate().unwrap().success());
    daemon.spawn().unwrap();
}

#[test]
fn with_a_secret_service_the_password_is_in_the_keyring_and_nowhere_else() {
    let bus = KeyringBus::start();
    let prosody = prosody_with(&["alice"]);
    // At trace level, so that zbus's and tokio-xmpp's captures are on too.
    let mut daemon = Daemon::start_env(&[
        ("DBUS_SESSION_BUS_ADDRESS", &bus.address),
        ("WIMSY_LOG", "trace"),
    ])
    .unwrap();
    let jid = add(&daemon, &prosody, "alice");

    assert_eq!(bus.lookup(&jid).as_deref(), Some("alice-pw"));
    assert!(!password_file(&daemon, &jid).exists());
    let log = daemon.log();
    assert!(log.contains(IN_KEYRING), "{log}");
    assert!(!log.contains(FALLBACK), "{log}");

    // Same bus, new daemon: the password comes from the keyring.
    restart(&mut daemon);
    daemon.wait_state(&jid, "connected").unwrap();
    assert!(!password_file(&daemon, &jid).exists());

    remove(&daemon, &jid);
    assert_eq!(bus.lookup(&jid), None, "the keyring entry is gone");
    assert!(!daemon.log().contains("alice-pw"), "{}", daemon.log());
}

#[test]
fn a_password_file_left_by_a_run_without_keyring_moves_into_it() {
    let bus = KeyringBus::start();
    let prosody = prosody_with(&["alice"]);
    let mut daemon = Daemon::start().unwrap();
    let jid = add(&daemon, &prosody, "alice");
    assert!(password_file(&daemon, &jid).exists());
    assert_eq!(bus.lookup(&jid), None);

    assert!(daemon.terminate().unwrap().success());
    daemon.set_env("DBUS_SESSION_BUS_ADDRESS", &bus.address);
    daemon.spawn().unwrap();
    daemon.wait_state(&jid, "connected").unwrap();
    assert_eq!(bus.lookup(&jid).as_deref(), Some("alice-pw"));
    assert!(
        !password_file(&daemon, &jid).exists(),
        "the file is deleted"
    );
    let log = daemon.log();
    assert!(log.contains(MOVED), "{log}");
    assert!(!log.contains("alice-pw"), "{log}");

    // From now on the keyring alone serves the login.
    restart(&mut daemon);
    daemon.wait_state(&jid, "connected").unwrap();
}

#[test]
fn without_a_session_bus_the_password_is_in_a_private_file() {
    let prosody = prosody_with(&["alice"]);
    // Daemon points DBUS_SESSION_BUS_ADDRESS at a socket that does not exist.
    let mut daemon = Daemon::start().unwrap();
    let jid = add(&daemon, &prosody, "alice");

    let file = password_file(&daemon, &jid);
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "alice-pw");
    assert_eq!(mode(&file), 0o600);
    assert_eq!(mode(file.parent().unwrap()), 0o700);
    let log = daemon.log();
    let warnings: Vec<&str> = log.lines().filter(|l| l.contains(FALLBACK)).collect();
    assert_eq!(warnings.len(), 1, "one warning: {log}");
    let passwords_dir = daemon.dir().join("config/passwords");
    assert!(
        warnings[0].contains("WARN")
            && warnings[0].contains(IN_FILES)
            && warnings[0].contains(&passwords_dir.display().to_string()),
        "says where: {}",
        warnings[0]
    );
    assert!(!log.contains(IN_KEYRING), "{log}");

    restart(&mut daemon);
    daemon.wait_state(&jid, "connected").unwrap();

    remove(&daemon, &jid);
    assert!(!file.exists(), "the password file is gone");
    assert!(!daemon.log().contains("alice-pw"), "{}", daemon.log());
}

#[test]
fn trusting_a_certificate_logs_in_with_the_password_from_the_keyring() {
    let bus = KeyringBus::start();
    let prosody = prosody_with(&["alice"]);
    let daemon = Daemon::start_env(&[("DBUS_SESSION_BUS_ADDRESS", &bus.address)]).unwrap();
    let jid = prosody.jid("alice");
    // No --ca-file: the test CA is unknown, so the account stops with the
    // certificate's fingerprint.
    let out = daemon.ctl_with_stdin(
        &[
            "account",
            "add",
            &jid,
            "--server",
            &prosody.server(),
            "--password-stdin",
            "--no-wait",
        ],
        "alice-pw\n",
    );
    assert!(out.status.success());
    daemon.wait_state(&jid, "error").unwrap();
    let status = daemon.ctl_json(&["status"]);
    let fingerprint = status["accounts"][0]["status"]["fingerprint"]
        .as_str()
        .unwrap()
        .to_owned();

    // Trusting restarts the session, which reads the password again.
    let out = daemon.ctl(&["account", "trust", &jid, &fingerprint]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    daemon.wait_state(&jid, "connected").unwrap();
    assert_eq!(bus.lookup(&jid).as_deref(), Some("alice-pw"));
    assert!(!password_file(&daemon, &jid).exists());
}
