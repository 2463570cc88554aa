//! Only the user gets in: the socket's directory must be private, and a
//! peer running as anyone else is shut out even where file modes are
//! bypassed (root).

#![allow(clippy::unwrap_used)]

use std::io::{BufRead, BufReader, Write};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::UnixStream;
use std::process::{Command, Stdio};

use wimsy_tests::*;

const NOBODY: u32 = 65534;

fn start_fails_with(socket_dir: &std::path::Path, expected: &str) {
    let data = tempfile::tempdir().unwrap();
    let out = Command::new(bin("wimsyd"))
        .arg("--config-dir")
        .arg(data.path().join("config"))
        .arg("--data-dir")
        .arg(data.path().join("data"))
        .arg("--socket")
        .arg(socket_dir.join("wimsyd.sock"))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        out.status.code(),
        Some(4),
        "a directory the user controls: {stderr}"
    );
    assert!(
        stderr.contains(expected) && stderr.contains("chmod 700"),
        "{stderr}"
    );
    assert!(!socket_dir.join("wimsyd.sock").exists());
}

#[test]
fn a_socket_directory_open_to_others_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    start_fails_with(dir.path(), "permissions are 755");
}

#[test]
fn a_socket_directory_owned_by_someone_else_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    std::os::unix::fs::chown(dir.path(), Some(NOBODY), Some(NOBODY)).unwrap();
    start_fails_with(dir.path(), "belongs to uid 65534");
}

#[test]
fn a_peer_running_as_another_user_is_closed_without_an_answer() {
    // The daemon runs as nobody; we, root, pass the file modes but not the
    // peer-credential check.
    let dir = tempfile::tempdir().unwrap();
    std::os::unix::fs::chown(dir.path(), Some(NOBODY), Some(NOBODY)).unwrap();
    let socket = dir.path().join("run/wimsyd.sock");
    let log = dir.path().join("log");
    let mut daemon = Command::new("setpriv")
        .args(["--reuid=65534", "--regid=65534", "--clear-groups"])
        .arg(bin("wimsyd"))
        .arg("--config-dir")
        .arg(dir.path().join("config"))
        .arg("--data-dir")
        .arg(dir.path().join("data"))
        .arg("--socket")
        .arg(&socket)
        .env("WIMSY_LOG", "info")
        .env("HOME", dir.path())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    // The socket's file appears when it is bound, a moment before it
    // listens: a connection in between is refused.
    let mut connected = None;
    wait_until(DEADLINE, "the daemon's socket listening", || {
        connected = UnixStream::connect(&socket).ok();
        connected.is_some()
    })
    .unwrap();
    let mut stream = connected.unwrap();
    stream.set_read_timeout(Some(DEADLINE)).unwrap();
    let _ = stream.write_all(b"{\"id\":1,\"op\":\"hello\",\"protocol\":1,\"role\":\"cli\"}\n");
    let mut line = String::new();
    let read = BufReader::new(&stream).read_line(&mut line).unwrap_or(0);
    assert_eq!((read, line.as_str()), (0, ""), "closed with nothing said");
    wait_until(DEADLINE, "the refusal in the log", || {
        std::fs::read_to_string(&log)
            .unwrap_or_default()
            .contains("peer runs as uid 0")
    })
    .unwrap();

    // Its own user is still served.
    let own = Command::new("setpriv")
        .args(["--reuid=65534", "--regid=65534", "--clear-groups"])
        .arg(bin("wimsyctl"))
        .arg("--socket")
        .arg(&socket)
        .arg("status")
        .stdout(Stdio::null())
        .status()
        .unwrap();
    assert!(own.success());
    daemon.kill().unwrap();
    daemon.wait().unwrap();
}
