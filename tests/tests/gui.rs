//! The GUI attaches to a real daemon under a real X server (Xvfb), and
//! killing it leaves the daemon and its session untouched.

#![allow(clippy::unwrap_used)]

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;

use wimsy_tests::*;

struct Xvfb {
    child: Child,
    display: String,
}

impl Xvfb {
    fn start() -> Self {
        // -displayfd lets Xvfb pick a free display and tell us which.
        let mut child = Command::new("Xvfb")
            .args([
                "-displayfd",
                "1",
                "-screen",
                "0",
                "800x600x24",
                "-nolisten",
                "tcp",
            ])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("Xvfb is installed by cargo xtask test");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        Self {
            child,
            display: format!(":{}", line.trim()),
        }
    }
}

impl Drop for Xvfb {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn the_gui_attaches_and_killing_it_leaves_the_session_up() {
    let prosody = prosody_with(&["alice"]);
    let daemon = connected_daemon(&prosody, "alice");
    let x = Xvfb::start();
    let mut gui = Command::new(bin("wimsy"))
        .arg("--socket")
        .arg(&daemon.socket)
        .env("DISPLAY", &x.display)
        .env("ICED_BACKEND", "tiny-skia")
        .env("WIMSY_TEST_HOOKS", "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = gui.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let attached = rx.recv_timeout(DEADLINE).expect("the GUI printed nothing");
    assert_eq!(attached, "attached 1 accounts");

    gui.kill().unwrap();
    gui.wait().unwrap();
    let (state, _) = daemon.state_of(&prosody.jid("alice")).unwrap();
    assert_eq!(
        state, "connected",
        "closing a frontend never touches the connection"
    );
}
