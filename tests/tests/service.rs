//! wimsyd as a systemd user service: the units in packaging/systemd verify,
//! socket activation serves the first client (without systemd as PID 1:
//! `systemd-socket-activate` passes the socket the way systemd does), and
//! readiness reaches a NOTIFY_SOCKET the test binds.

#![allow(clippy::unwrap_used)]

use std::os::unix::fs::DirBuilderExt;
use std::os::unix::net::UnixDatagram;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Instant;

use wimsy_tests::*;

fn packaging() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../packaging")
}

/// A tool on PATH, or `None` (the caller says the test is skipped).
fn tool(name: &str) -> Option<PathBuf> {
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|dir| dir.join(name))
        .find(|path| path.is_file())
}

fn private_dir(path: &Path) -> PathBuf {
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(path)
        .unwrap();
    path.to_path_buf()
}

/// A NOTIFY_SOCKET of our own, as systemd binds for a Type=notify unit.
fn notify_socket(dir: &Path) -> (UnixDatagram, PathBuf) {
    let path = dir.join("notify");
    let socket = UnixDatagram::bind(&path).unwrap();
    socket.set_read_timeout(Some(DEADLINE)).unwrap();
    (socket, path)
}

/// The next notification, as text.
fn next_notification(socket: &UnixDatagram) -> String {
    let mut buf = [0u8; 4096];
    let n = socket
        .recv(&mut buf)
        .unwrap_or_else(|e| panic!("no notification from wimsyd within {DEADLINE:?}: {e}"));
    String::from_utf8_lossy(&buf[..n]).into_owned()
}

/// Killed when the test ends, whatever happened.
struct Reaped(Child);

impl Drop for Reaped {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn the_user_units_verify() {
    let Some(analyze) = tool("systemd-analyze") else {
        eprintln!(
            "SKIPPED: systemd-analyze is not installed (Debian package `systemd`); the units were not verified"
        );
        return;
    };
    let temp = tempfile::tempdir().unwrap();
    let runtime = private_dir(&temp.path().join("runtime"));
    let service = std::fs::read_to_string(packaging().join("systemd/wimsyd.service")).unwrap();
    assert_eq!(
        service.matches("ExecStart=/usr/bin/wimsyd\n").count(),
        1,
        "the unit starts the installed binary"
    );
    // verify refuses an ExecStart binary that does not exist, and nothing
    // installs /usr/bin/wimsyd here: point it at the one just built.
    let service = service.replace(
        "ExecStart=/usr/bin/wimsyd",
        &format!("ExecStart={}", bin("wimsyd").display()),
    );
    std::fs::write(temp.path().join("wimsyd.service"), service).unwrap();
    std::fs::copy(
        packaging().join("systemd/wimsyd.socket"),
        temp.path().join("wimsyd.socket"),
    )
    .unwrap();
    // --man=no: the man page named by Documentation= is installed by the
    // Debian package, not present on a build machine.
    let out = Command::new(analyze)
        .args([
            "--user",
            "verify",
            "--man=no",
            "wimsyd.socket",
            "wimsyd.service",
        ])
        .current_dir(temp.path())
        .env("XDG_RUNTIME_DIR", &runtime)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "systemd-analyze verify: {stderr}");
    assert!(stderr.trim().is_empty(), "warnings: {stderr}");
}

#[test]
fn socket_activation_starts_wimsyd_on_the_first_connection_and_the_lock_still_holds() {
    let Some(activate) = tool("systemd-socket-activate") else {
        eprintln!(
            "SKIPPED: systemd-socket-activate is not installed (Debian package `systemd`); socket activation was not tested"
        );
        return;
    };
    let temp = tempfile::tempdir().unwrap();
    let config = private_dir(&temp.path().join("config"));
    let data = private_dir(&temp.path().join("data"));
    let run = private_dir(&temp.path().join("run"));
    let socket = run.join("wimsyd.sock");
    let (notify, notify_path) = notify_socket(temp.path());
    let log_path = temp.path().join("wimsyd.log");
    let log = std::fs::File::create(&log_path).unwrap();
    let show_log = || std::fs::read_to_string(&log_path).unwrap_or_default();

    // Like systemd, systemd-socket-activate passes only the environment it
    // is told to (-E).
    let mut manager = Reaped(
        Command::new(activate)
            .arg("--listen")
            .arg(&socket)
            .arg("--setenv=WIMSY_LOG=debug")
            .arg(format!("--setenv=NOTIFY_SOCKET={}", notify_path.display()))
            .arg(format!(
                "--setenv=DBUS_SESSION_BUS_ADDRESS=unix:path={}",
                temp.path().join("no-session-bus").display()
            ))
            .arg(bin("wimsyd"))
            .arg("--config-dir")
            .arg(&config)
            .arg("--data-dir")
            .arg(&data)
            .arg("--socket")
            .arg(&socket)
            .arg("--tight-timeouts")
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap(),
    );
    let deadline = Instant::now() + DEADLINE;
    while !socket.exists() {
        assert!(Instant::now() < deadline, "no socket: {}", show_log());
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    notify.set_nonblocking(true).unwrap();
    assert!(
        notify.recv(&mut [0u8; 64]).is_err(),
        "wimsyd must not run before anyone connects: {}",
        show_log()
    );
    notify.set_nonblocking(false).unwrap();

    // The first client starts wimsyd, which serves it on the passed socket.
    let ctl = |args: &[&str]| {
        Command::new(bin("wimsyctl"))
            .arg("--socket")
            .arg(&socket)
            .args(args)
            .output()
            .unwrap()
    };
    let out = ctl(&["--json", "status"]);
    assert!(
        out.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&out.stderr),
        show_log()
    );
    let status: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(status["accounts"].is_array(), "{status}");
    let ready = next_notification(&notify);
    assert!(ready.lines().any(|l| l == "READY=1"), "{ready}");
    assert!(show_log().contains("activated=true"), "{}", show_log());

    // A second wimsyd started by hand on the same data is refused by the
    // lock, even on a socket of its own, with the exit code that keeps
    // systemd from restarting it (RestartPreventExitStatus=3).
    let other = run.join("other.sock");
    let second = Command::new(bin("wimsyd"))
        .arg("--config-dir")
        .arg(&config)
        .arg("--data-dir")
        .arg(&data)
        .arg("--socket")
        .arg(&other)
        .env("DBUS_SESSION_BUS_ADDRESS", "unix:path=/nonexistent")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&second.stderr);
    assert_eq!(second.status.code(), Some(3), "{stderr}");
    assert!(stderr.contains("already running"), "{stderr}");
    assert!(!other.exists());
    assert!(
        ctl(&["status"]).status.success(),
        "the first one still serves"
    );

    // Quit: a clean exit (0, so Restart=on-failure leaves it stopped),
    // STOPPING=1 first, and the socket stays, for the manager to start the
    // next wimsyd on.
    assert!(ctl(&["quit"]).status.success());
    let deadline = Instant::now() + DEADLINE;
    let exit = loop {
        if let Some(status) = manager.0.try_wait().unwrap() {
            break status;
        }
        assert!(
            Instant::now() < deadline,
            "wimsyd did not stop: {}",
            show_log()
        );
        std::thread::sleep(std::time::Duration::from_millis(10));
    };
    assert_eq!(exit.code(), Some(0), "{}", show_log());
    let stopping = next_notification(&notify);
    assert!(stopping.lines().any(|l| l == "STOPPING=1"), "{stopping}");
    assert!(
        socket.exists(),
        "the manager's socket is not ours to remove"
    );
}

#[test]
fn a_daemon_started_by_hand_binds_its_own_socket_and_still_tells_readiness() {
    let temp = tempfile::tempdir().unwrap();
    let (notify, notify_path) = notify_socket(temp.path());
    let mut daemon =
        Daemon::start_env(&[("NOTIFY_SOCKET", notify_path.to_str().unwrap())]).unwrap();
    let ready = next_notification(&notify);
    assert!(ready.lines().any(|l| l == "READY=1"), "{ready}");
    assert!(daemon.log().contains("activated=false"), "{}", daemon.log());
    assert_eq!(
        daemon.terminate().unwrap().code(),
        Some(0),
        "{}",
        daemon.log()
    );
    let stopping = next_notification(&notify);
    assert!(stopping.lines().any(|l| l == "STOPPING=1"), "{stopping}");
    assert!(!daemon.socket.exists(), "its own socket is removed on exit");
}
