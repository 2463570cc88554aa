//! When the user is interrupted, end to end: muted chats, do not disturb,
//! quiet hours (local time from TZ, so the test can stand at 23:30),
//! clicks on a notification, and what `wimsyctl status` says about the
//! notification server. The real wimsyd on a private session bus with
//! python3-dbusmock's notification server, real Prosody, bob on a second
//! daemon; a click that finds no window starts the real `wimsy` under
//! Xvfb, and dunst drawing a real popup whose action opens the chat.
//!
//! Absence is proved as in notifications.rs: the next call the server
//! gets belongs to a later message.

#![allow(clippy::unwrap_used)]

use wimsy_ipc::{Client, Event, Role};
use wimsy_testkit::{Hook, ServerKind, Xvfb};
use wimsy_tests::notify_bus::{Bus, BusDaemon, MockServer};
use wimsy_tests::*;

fn ok(out: &std::process::Output) -> String {
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn send(from: &Daemon, to: &str, body: &str) {
    ok(&from.ctl(&["send", to, body]));
}

fn stored(daemon: &Daemon, peer: &str, body: &str) {
    wait_until(DEADLINE, &format!("{body:?} stored"), || {
        let page = daemon.ctl_json(&["history", peer, "--limit", "50"]);
        page["messages"]
            .as_array()
            .is_some_and(|m| m.iter().any(|m| m["body"] == body))
    })
    .unwrap();
}

/// A POSIX TZ under which the local time is now 23:30, so that quiet hours
/// of 22:00-07:00 (across midnight) hold.
fn tz_at_half_past_eleven() -> String {
    let utc = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let utc_min = i64::try_from((utc / 60) % 1440).unwrap();
    let mut offset = (23 * 60 + 30 - utc_min).rem_euclid(1440);
    if offset > 720 {
        offset -= 1440;
    }
    // POSIX counts west of Greenwich as positive.
    let sign = if offset >= 0 { '-' } else { '+' };
    format!("WIM{sign}{:02}:{:02}", offset.abs() / 60, offset.abs() % 60)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_muted_chat_notifies_nothing_until_its_mute_ends_by_itself() {
    let server = ServerKind::Prosody.shared().unwrap();
    let (a, b) = (
        server.new_account("alice").unwrap(),
        server.new_account("bob").unwrap(),
    );
    let bus = Bus::start().unwrap();
    let mock = MockServer::start(&bus).await;
    let alice = bus.daemon(server, &a.user);
    let bob = connected_daemon(server, &b.user);
    let mut watcher = alice.client().await;
    watcher.subscribe().await.unwrap();

    let said = ok(&alice.ctl(&["mute", &b.jid, "--for", "3s"]));
    assert!(said.contains("muted until "), "{said}");
    next_matching(&mut watcher, |e| matches!(e, Event::Muted { .. })).await;

    send(&bob, &a.jid, "while muted");
    stored(&alice, &b.jid, "while muted");
    // The daemon ends the mute by itself, and says so.
    let ended = next_matching(&mut watcher, |e| matches!(e, Event::Unmuted { .. })).await;
    assert_eq!(
        ended,
        Event::Unmuted {
            account: a.jid.clone(),
            peer: b.jid.clone()
        }
    );
    send(&bob, &a.jid, "after the mute");
    let first = mock.notify(1).await;
    assert_eq!(first.body, "2 new messages\nafter the mute");

    // A mute until unmuted, then unmute.
    ok(&alice.ctl(&["mute", &b.jid]));
    assert_eq!(mock.close(2).await, 1, "muting withdraws the notification");
    send(&bob, &a.jid, "muted again");
    stored(&alice, &b.jid, "muted again");
    let said = ok(&alice.ctl(&["unmute", &b.jid]));
    assert!(said.contains("is not muted"), "{said}");
    send(&bob, &a.jid, "unmuted");
    assert_eq!(mock.notify(3).await.body, "4 new messages\nunmuted");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn do_not_disturb_and_quiet_hours_hold_notifications_and_show_them_silently_after() {
    let server = ServerKind::Prosody.shared().unwrap();
    let (a, b) = (
        server.new_account("alice").unwrap(),
        server.new_account("bob").unwrap(),
    );
    let bus = Bus::start().unwrap();
    let mock = MockServer::start(&bus).await;
    let tz = tz_at_half_past_eleven();
    let alice = bus.daemon_env(server, &a.user, &[("TZ", &tz)]);
    let bob = connected_daemon(server, &b.user);

    ok(&alice.ctl(&["settings", "set", "notifications.do_not_disturb", "on"]));
    send(&bob, &a.jid, "during dnd");
    stored(&alice, &b.jid, "during dnd");
    ok(&alice.ctl(&["settings", "set", "notifications.do_not_disturb", "off"]));
    let released = mock.notify(1).await;
    assert_eq!(released.body, "during dnd");
    assert_eq!(released.hint_bool("suppress-sound"), Some(true), "silently");
    ok(&alice.ctl(&["mark-read", &b.jid]));
    mock.close(2).await;

    // 23:30 by the daemon's clock: inside 22:00-07:00.
    let said = ok(&alice.ctl(&[
        "settings",
        "set",
        "notifications.quiet_hours",
        "22:00-07:00",
    ]));
    assert!(said.contains("22:00-07:00"), "{said}");
    send(&bob, &a.jid, "at night");
    stored(&alice, &b.jid, "at night");
    let refused = alice.ctl(&["settings", "set", "notifications.quiet_hours", "late"]);
    assert!(!refused.status.success());
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("like 22:00-07:30"),
        "{}",
        String::from_utf8_lossy(&refused.stderr)
    );
    ok(&alice.ctl(&["settings", "set", "notifications.quiet_hours", "off"]));
    let morning = mock.notify(3).await;
    assert_eq!(morning.body, "at night");
    assert_eq!(morning.hint_bool("suppress-sound"), Some(true));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_click_opens_the_chat_in_the_attached_window_and_status_says_clicks_work() {
    let server = ServerKind::Prosody.shared().unwrap();
    let (a, b) = (
        server.new_account("alice").unwrap(),
        server.new_account("bob").unwrap(),
    );
    let bus = Bus::start().unwrap();
    let mock = MockServer::start_with_actions(&bus).await;
    let alice = bus.daemon(server, &a.user);
    let bob = connected_daemon(server, &b.user);
    let mut window = Client::connect(&alice.socket, Role::Gui, "test-window")
        .await
        .unwrap();
    window.subscribe().await.unwrap();

    send(&bob, &a.jid, "click me");
    mock.notify(1).await;
    // The template numbers its notifications from 1.
    mock.click(1).await;
    let asked = next_matching(&mut window, |e| matches!(e, Event::OpenChat { .. })).await;
    assert_eq!(
        asked,
        Event::OpenChat {
            account: a.jid.clone(),
            peer: b.jid.clone()
        }
    );
    let status = ok(&alice.ctl(&["status"]));
    assert!(
        status.contains("notifications: Notifications are shown; clicking one opens its chat."),
        "{status}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_click_brings_the_chat_up_in_the_running_window() {
    let server = ServerKind::Prosody.shared().unwrap();
    let (a, b) = (
        server.new_account("alice").unwrap(),
        server.new_account("bob").unwrap(),
    );
    let xvfb = Xvfb::start().unwrap();
    let bus = Bus::start().unwrap();
    let mock = MockServer::start_with_actions(&bus).await;
    let alice = bus.daemon(server, &a.user);
    let bob = connected_daemon(server, &b.user);
    let shots = gui_screenshots("a_click_brings_the_chat_up_in_the_running_window");
    let mut gui = wimsy_command(&alice, xvfb.display())
        .spawn(&shots.dir().join("wimsy.log"))
        .unwrap();
    gui.wait_hook(DEADLINE, "being attached", |h| {
        matches!(h, Hook::Attached { .. })
    })
    .unwrap();

    send(&bob, &a.jid, "look here");
    mock.notify(1).await;
    mock.click(1).await;
    gui.wait_hook(DEADLINE, "bob's chat opened by the click", |h| {
        *h == Hook::Open {
            account: a.jid.clone(),
            peer: b.jid.clone(),
        }
    })
    .unwrap();
    assert!(
        !alice.log().contains("for the user; its output"),
        "no second window is started: {}",
        alice.log()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_click_with_no_window_open_starts_one_on_the_chat() {
    let server = ServerKind::Prosody.shared().unwrap();
    let (a, b) = (
        server.new_account("alice").unwrap(),
        server.new_account("bob").unwrap(),
    );
    let xvfb = Xvfb::start().unwrap();
    let x = xvfb.connect().unwrap();
    let frames = xvfb.frames().unwrap();
    let bus = Bus::start().unwrap();
    let mock = MockServer::start_with_actions(&bus).await;
    let alice = bus.daemon_env(
        server,
        &a.user,
        &[("DISPLAY", xvfb.display()), ("WIMSY_TEST_HOOKS", "1")],
    );
    // The window's first-run notice would cover the chat in the screenshot.
    std::fs::write(alice.config_dir().join("notices-seen"), "keep-connected\n").unwrap();
    let bob = connected_daemon(server, &b.user);

    send(&bob, &a.jid, "open me");
    mock.notify(1).await;
    mock.click(1).await;
    window_started_on(&alice, &a.jid, &b.jid);
    // Once the window has drawn what it was told.
    frames
        .settle(std::time::Duration::from_millis(300), DEADLINE)
        .unwrap();
    let mut shots = gui_screenshots("a_click_with_no_window_open_starts_one_on_the_chat");
    shots.take(&x, "opened-from-notification").unwrap();
    assert!(
        alice.log().contains("a notification was clicked"),
        "{}",
        alice.log()
    );
}

/// Wait until the window the daemon started (its hooks go to the data
/// directory's wimsy.log) has opened and shows the chat with `peer`.
fn window_started_on(daemon: &Daemon, account: &str, peer: &str) {
    let log = daemon.dir().join("data/wimsy.log");
    let open = format!("open {account} {peer}");
    let showing = format!("showing {account} {peer}");
    wait_until(DEADLINE, "the started window to open the chat", || {
        std::fs::read_to_string(&log).is_ok_and(|text| text.contains(&open))
    })
    .unwrap();
    wait_until(DEADLINE, "the chat shown", || {
        std::fs::read_to_string(&log)
            .is_ok_and(|text| text.lines().any(|l| l.starts_with(&showing)))
    })
    .unwrap();
}

/// dunst on `display` and `bus`, with Debian's own configuration, killed
/// on drop.
struct Dunst(std::process::Child);

impl Dunst {
    fn start(display: &str, bus: &Bus) -> Dunst {
        let child = std::process::Command::new("dunst")
            .args(["-config", "/etc/xdg/dunst/dunstrc"])
            .env("DISPLAY", display)
            .env("DBUS_SESSION_BUS_ADDRESS", &bus.address)
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::from(
                std::fs::File::create(bus.dir.path().join("dunst.log")).unwrap(),
            ))
            .spawn()
            .expect("dunst (Debian package dunst) is needed");
        let dunst = Dunst(child);
        wait_until(DEADLINE, "dunst on the bus", || {
            dunst.displayed(bus).is_some()
        })
        .unwrap();
        dunst
    }

    /// How many notifications dunst shows now (`dunstctl count
    /// displayed`); `None` while it does not answer.
    fn displayed(&self, bus: &Bus) -> Option<u32> {
        let out = dunstctl(bus, &["count", "displayed"]);
        out.status.success().then_some(())?;
        String::from_utf8_lossy(&out.stdout).trim().parse().ok()
    }
}

impl Drop for Dunst {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn dunstctl(bus: &Bus, args: &[&str]) -> std::process::Output {
    std::process::Command::new("dunstctl")
        .args(args)
        .env("DBUS_SESSION_BUS_ADDRESS", &bus.address)
        .output()
        .unwrap()
}

/// A real notification server drawing on a real X server: the popup is on
/// screen (screenshot), and dunst's own "do the default action" opens the
/// chat in a window the daemon starts.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_popup_drawn_by_dunst_opens_the_chat_when_its_action_is_taken() {
    let server = ServerKind::Prosody.shared().unwrap();
    let (a, b) = (
        server.new_account("alice").unwrap(),
        server.new_account("bob").unwrap(),
    );
    let xvfb = Xvfb::start().unwrap();
    let x = xvfb.connect().unwrap();
    let frames = xvfb.frames().unwrap();
    let bus = Bus::start().unwrap();
    let dunst = Dunst::start(xvfb.display(), &bus);
    let alice = bus.daemon_env(
        server,
        &a.user,
        &[("DISPLAY", xvfb.display()), ("WIMSY_TEST_HOOKS", "1")],
    );
    std::fs::write(alice.config_dir().join("notices-seen"), "keep-connected\n").unwrap();
    let bob = connected_daemon(server, &b.user);
    let mut shots =
        gui_screenshots("a_popup_drawn_by_dunst_opens_the_chat_when_its_action_is_taken");

    send(&bob, &a.jid, "hello through dunst");
    wait_until(DEADLINE, "dunst to show the notification", || {
        dunst.displayed(&bus) == Some(1)
    })
    .unwrap();
    wait_until(DEADLINE, "status to say clicks work", || {
        alice.ctl_json(&["status"])["notifier"]["state"] == "ready"
    })
    .unwrap();
    frames
        .settle(std::time::Duration::from_millis(300), DEADLINE)
        .unwrap();
    shots.take(&x, "dunst-popup").unwrap();

    assert!(dunstctl(&bus, &["action", "0"]).status.success());
    window_started_on(&alice, &a.jid, &b.jid);
    frames
        .settle(std::time::Duration::from_millis(300), DEADLINE)
        .unwrap();
    shots.take(&x, "chat-opened").unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_says_when_no_notification_server_runs() {
    let server = ServerKind::Prosody.shared().unwrap();
    let a = server.new_account("alice").unwrap();
    let bus = Bus::start().unwrap();
    let alice = bus.daemon(server, &a.user);
    wait_until(DEADLINE, "status to name the missing server", || {
        let status = String::from_utf8_lossy(&alice.ctl(&["status"]).stdout).into_owned();
        status.contains("notifications: No notification server runs on this desktop")
    })
    .unwrap();
    let json = alice.ctl_json(&["status"]);
    assert_eq!(json["notifier"]["state"], "missing");

    // One without clicks: said too.
    let _mock = MockServer::start(&bus).await;
    wait_until(DEADLINE, "status to see the server", || {
        alice.ctl_json(&["status"])["notifier"]["state"] == "no_actions"
    })
    .unwrap();
}
