//! The real `wimsy` window on a private X server (Xvfb), attached to a
//! real daemon connected to a real Prosody, driven as a person would:
//! keys through XTEST, the close button as the `WM_DELETE_WINDOW` a
//! window manager sends. What the window shows is read from its test
//! hooks (`WIMSY_TEST_HOOKS=1`); screenshots of each step are kept under
//! `target/test-artifacts/gui/<test>/` for a person to look at.

#![allow(clippy::unwrap_used)]

use std::time::Duration;

use wimsy_testkit::{Frames, Hook, Screenshots, Wimsy, X11, Xvfb};
use wimsy_tests::*;

/// How long the screen must stay unchanged to count as drawn.
const QUIET: Duration = Duration::from_millis(150);

/// The X server and the test's hands and eyes on it.
struct Desk {
    xvfb: Xvfb,
    x: X11,
    frames: Frames,
    shots: Screenshots,
}

impl Desk {
    fn new(test: &str) -> Self {
        let xvfb = Xvfb::start().unwrap();
        let x = xvfb.connect().unwrap();
        let frames = xvfb.frames().unwrap();
        Self {
            x,
            frames,
            shots: gui_screenshots(test),
            xvfb,
        }
    }

    /// A screenshot once the window has finished drawing what it was
    /// told.
    fn shot(&mut self, step: &str) {
        self.frames.settle(QUIET, DEADLINE).unwrap();
        self.shots.take(&self.x, step).unwrap();
    }
}

/// A window on `x`, started and attached, its window found.
struct Window {
    gui: Wimsy,
    window: u32,
}

fn open_window(daemon: &Daemon, desk: &Desk, args: &[&str]) -> Window {
    let mut gui = wimsy_command(daemon, desk.xvfb.display())
        .args(args)
        .spawn(&desk.shots.dir().join("wimsy.log"))
        .unwrap();
    gui.wait_hook(DEADLINE, "being attached", |h| {
        matches!(h, Hook::Attached { .. })
    })
    .unwrap();
    let window = desk.x.wait_window(gui.pid(), DEADLINE).unwrap();
    Window { gui, window }
}

#[test]
fn the_close_button_ends_the_window_and_the_session_stays_up() {
    let prosody = prosody_with(&["alice"]);
    let daemon = connected_daemon(&prosody, "alice");
    let mut desk = Desk::new("close-button");

    let Window { mut gui, window } = open_window(&daemon, &desk, &[]);
    let attached = gui.seen().first().map(|l| l.hook.clone());
    assert_eq!(attached, Some(Hook::Attached { accounts: 1 }));
    assert_eq!(desk.x.title(window).unwrap(), "Wimsy");
    desk.shot("attached");

    desk.x.close(window).unwrap();
    let status = gui.wait_exit(DEADLINE).unwrap();
    assert!(status.success(), "wimsy exited with {status}");
    desk.shot("closed");
    assert!(
        !desk.x.is_viewable(window).unwrap(),
        "the window is still shown after its process exited"
    );

    let (state, _) = daemon.state_of(&prosody.jid("alice")).unwrap();
    assert_eq!(
        state, "connected",
        "closing the window never touches the connection"
    );
}

#[test]
fn the_window_reattaches_by_itself_when_the_daemon_comes_back() {
    let prosody = prosody_with(&["alice"]);
    let mut daemon = connected_daemon(&prosody, "alice");
    let mut desk = Desk::new("daemon-restart");

    let Window { mut gui, .. } = open_window(&daemon, &desk, &[]);
    desk.shot("attached");

    let killed = std::time::Instant::now();
    daemon.kill9();
    // The window says the daemon is gone; there is no hook for that, the
    // screenshot shows it once it has been redrawn.
    desk.frames.first_after(killed, DEADLINE).unwrap();
    desk.shot("daemon-gone");
    daemon.spawn().unwrap();
    gui.wait_hook(DEADLINE, "being attached again", |h| {
        matches!(h, Hook::Attached { accounts: 1 })
    })
    .unwrap();
    assert!(gui.is_running());
    daemon
        .wait_state(&prosody.jid("alice"), "connected")
        .unwrap();
    desk.shot("reattached");
}
