//! The README's quick start as a newcomer meets it: a fresh `git clone`,
//! the toolchain that `rust-toolchain.toml` pins, then the `cargo xtask
//! demo` line of the README's console block run as written, once without a
//! display and once under Xvfb. Every command the demo prints is run from
//! another directory, `wimsyctl quit` must end the demo cleanly, and none of
//! the noise a newcomer once saw may appear.
//!
//! The clone builds nothing: its `CARGO_TARGET_DIR` is this test's own
//! target directory, and its files carry the same contents and
//! modification times as the tree that was built (cargo decides freshness
//! by both), so cargo finds every binary up to date instead of spending
//! 10 minutes on a rebuild.

#![allow(clippy::unwrap_used)]

#[path = "quickstart/clone.rs"]
mod clone;
#[path = "quickstart/support.rs"]
mod quickstart_support;

use std::time::Duration;

use clone::{clone_working_tree, demo_line};
use quickstart_support::{Demo, Running, find_process, run_printed};
use wimsy_testkit::{Screenshots, Xvfb};
use wimsy_tests::bin_dir;

/// Starting the demo: apt's check, two no-op cargo runs, Prosody, two
/// daemons and their logins. A cold cargo (this test run alone, with
/// nothing built) compiles first, hence the margin.
const DEMO_READY: Duration = Duration::from_secs(600);
/// Anything after that.
const STEP: Duration = Duration::from_secs(30);

/// What bob says in the demo.
const HELLO: &str = "hello from bob, through a real XMPP server";

#[test]
fn the_quick_start_without_a_display() {
    let clone = clone_working_tree().unwrap();
    let toolchain = clone.pinned_toolchain().unwrap();
    let rustc = clone.run_here("rustc --version").unwrap();
    assert!(
        rustc.contains(&toolchain),
        "rust-toolchain.toml pins {toolchain}, the clone uses: {rustc}"
    );

    let mut demo = Demo::start(&clone, &demo_line(&clone).unwrap(), None).unwrap();
    let printed = demo.wait_printed(DEMO_READY).unwrap();
    let elsewhere = tempfile::tempdir().unwrap();

    let status = run_printed(&printed.status, elsewhere.path(), "").unwrap();
    assert!(
        status.contains("alice@localhost") && status.contains("connected"),
        "{status}"
    );
    let history = run_printed(&printed.history, elsewhere.path(), "").unwrap();
    assert!(history.contains(HELLO), "{history}");
    run_printed(&printed.send, elsewhere.path(), "").unwrap();
    let shell = run_printed(&printed.shell, elsewhere.path(), "wimsyctl status\n").unwrap();
    assert!(shell.contains("alice@localhost"), "{shell}");

    // `wimsyctl follow` stands in for the window: bob's hello with its
    // text, and what alice just sent.
    demo.wait_stdout(STEP, &format!("bob@localhost <- {HELLO}"))
        .unwrap();
    demo.wait_stdout(STEP, "bob@localhost -> hi bob").unwrap();

    let help = std::process::Command::new(printed.bin_dir.join("wimsyd"))
        .arg("--help")
        .output()
        .unwrap();
    let help = String::from_utf8_lossy(&help.stdout).into_owned();
    for word in help.split(|c: char| !(c.is_ascii_alphanumeric() || c == '-')) {
        if word.starts_with("wimsy") && word != "wimsy" {
            assert!(
                printed.bin_dir.join(word).is_file(),
                "wimsyd --help names {word}, which is not a program Wimsy has:\n{help}"
            );
        }
    }

    run_printed(&printed.shell, elsewhere.path(), "wimsyctl quit\n").unwrap();
    demo.wait_ended(STEP).unwrap();
    let private = printed.socket.parent().unwrap();
    assert!(!private.exists(), "the demo left {}", private.display());
    demo.assert_quiet();
}

#[test]
fn the_quick_start_with_a_display() {
    let clone = clone_working_tree().unwrap();
    let xvfb = Xvfb::start().unwrap();
    let mut demo = Demo::start(&clone, &demo_line(&clone).unwrap(), Some(xvfb.display())).unwrap();
    let printed = demo.wait_printed(DEMO_READY).unwrap();
    let elsewhere = tempfile::tempdir().unwrap();
    let status = run_printed(&printed.status, elsewhere.path(), "").unwrap();
    assert!(status.contains("connected"), "{status}");

    let window_bin = printed.bin_dir.join("wimsy");
    let gui = find_process(STEP, &window_bin, &printed.socket).unwrap();
    let x = xvfb.connect().unwrap();
    let window = x.wait_window(gui, STEP).unwrap();
    x.focus(window).unwrap();
    // The chat with bob is open: a focused window marks the open chat
    // read, and only that one, so alice's unread count drops to zero.
    let unread = |json: &str| -> Option<u64> {
        let value: serde_json::Value = serde_json::from_str(json).ok()?;
        value["accounts"].as_array()?.first()?["unread"].as_u64()
    };
    let json_status = format!("{} --json", printed.status);
    let deadline = std::time::Instant::now() + STEP;
    loop {
        let out = run_printed(&json_status, elsewhere.path(), "").unwrap();
        if unread(&out) == Some(0) {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the window did not open bob's chat (still unread): {out}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let frames = xvfb.frames().unwrap();
    let _ = frames.settle(Duration::from_millis(500), STEP).unwrap();
    let target = bin_dir().parent().unwrap().to_path_buf();
    let mut shots = Screenshots::new(target.join("test-artifacts/quickstart")).unwrap();
    shots.take(&x, "demo-window").unwrap();
    // The notice about closing the window goes with Escape; what is left
    // is the conversation a newcomer starts from.
    let pressed = std::time::Instant::now();
    x.key("Escape").unwrap();
    frames.first_after(pressed, STEP).unwrap();
    let _ = frames.settle(Duration::from_millis(500), STEP).unwrap();
    shots.take(&x, "demo-chat").unwrap();

    // Closed, the window leaves the daemon running, and the demo prints
    // the command that opens it again.
    x.close(window).unwrap();
    let reopen = demo
        .wait_command_after(STEP, "Open the window again with:")
        .unwrap();
    let reopened =
        Running::start(&reopen, elsewhere.path(), &[("DISPLAY", xvfb.display())]).unwrap();
    let window = x.wait_window(reopened.child.id(), STEP).unwrap();
    let _ = frames.settle(Duration::from_millis(500), STEP).unwrap();
    shots.take(&x, "reopened").unwrap();

    run_printed(&printed.shell, elsewhere.path(), "wimsyctl quit\n").unwrap();
    demo.wait_ended(STEP).unwrap();
    let private = printed.socket.parent().unwrap();
    assert!(!private.exists(), "the demo left {}", private.display());
    // The reopened window is no child of the demo: it stays, and says
    // how to start the daemon on the demo's socket (a person reads the
    // screenshot; the words are checked in gui/src/app/tests/daemon.rs).
    // It draws again each time it tries (every second): the banner is up
    // once a drawing after the quit has settled for a moment.
    frames.first_after(std::time::Instant::now(), STEP).unwrap();
    let _ = frames.settle(Duration::from_millis(300), STEP).unwrap();
    shots.take(&x, "daemon-quit").unwrap();
    assert!(x.is_viewable(window).unwrap_or(false));
    assert!(
        !std::path::Path::new(&format!("/proc/{gui}")).exists(),
        "the demo's window outlived the demo"
    );
    demo.assert_quiet();
    reopened.assert_quiet();
}
