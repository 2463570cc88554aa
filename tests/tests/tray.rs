//! The tray icon end to end: the real `wimsy-tray` on a private session bus
//! with a real StatusNotifierWatcher (`status-notifier-watcher`, Debian's
//! haskell-status-notifier-item-utils, headless), the real wimsyd and a
//! real Prosody the test stops and starts. What a panel would read (the
//! item's tooltip, icon and dbusmenu layout) is read over D-Bus, and the
//! menu is clicked the way a panel clicks it (com.canonical.dbusmenu
//! `Event`).
//!
//! Needs the Debian packages `dbus` and `haskell-status-notifier-item-utils`.

#![allow(clippy::unwrap_used)]

use std::collections::HashMap;
use std::path::Path;
use std::process::{Command, Stdio};

use wimsy_testkit::{KillOnDrop as Proc, Xvfb};
use wimsy_tests::notify_bus::{Bus, BusDaemon};
use wimsy_tests::*;
use zbus::zvariant::{OwnedValue, Value};

/// An icon on the bus: width, height, ARGB32.
type Pixmap = (i32, i32, Vec<u8>);
/// A dbusmenu layout node: id, properties, children.
type Node = (i32, HashMap<String, OwnedValue>, Vec<OwnedValue>);

const WATCHER: &str = "org.kde.StatusNotifierWatcher";
const ITEM: &str = "org.kde.StatusNotifierItem";

fn watcher(bus: &Bus) -> Proc {
    Proc(
        Command::new("status-notifier-watcher")
            .env("DBUS_SESSION_BUS_ADDRESS", &bus.address)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("status-notifier-watcher (haskell-status-notifier-item-utils) is needed"),
    )
}

/// `wimsy-tray` for `daemon` on `bus`; its stderr goes to `log`. The
/// daemon it may start uses the test daemon's directories.
fn tray(bus: &Bus, daemon: &Daemon, log: &Path, env: &[(&str, &str)]) -> Proc {
    let data = daemon.dir().join("data");
    let mut command = Command::new(bin("wimsy-tray"));
    command
        .arg("--socket")
        .arg(&daemon.socket)
        .env("DBUS_SESSION_BUS_ADDRESS", &bus.address)
        .env("WIMSY_CONFIG_DIR", daemon.config_dir())
        .env("WIMSY_DATA_DIR", &data)
        .env("XDG_STATE_HOME", daemon.dir().join("state"))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(log).unwrap());
    for (k, v) in env {
        command.env(k, v);
    }
    Proc(command.spawn().unwrap())
}

fn check(bus: &Bus) -> std::process::Output {
    Command::new(bin("wimsy-tray"))
        .arg("--check")
        .env("DBUS_SESSION_BUS_ADDRESS", &bus.address)
        .output()
        .unwrap()
}

/// A panel's view of the bus.
struct Panel {
    conn: zbus::Connection,
}

/// What the item shows.
#[derive(Debug, Clone)]
struct Shown {
    title: String,
    description: String,
    /// The biggest icon's centre pixel, A R G B.
    centre: [u8; 4],
    /// The biggest icon: width, height, ARGB32.
    icon: Pixmap,
}

impl Shown {
    /// Keep the icon as a PNG in target/test-artifacts/tray/, to look at.
    fn save(&self, name: &str) {
        let dir = bin_dir().parent().unwrap().join("test-artifacts/tray");
        let (w, h, argb) = &self.icon;
        let path = dir.join(format!("{name}.png"));
        wimsy_testkit::save_argb_png(&path, *w as u32, *h as u32, argb).unwrap();
        eprintln!("tray icon: {}", path.display());
    }
}

/// One menu entry.
#[derive(Debug, Clone)]
struct Entry {
    id: i32,
    label: String,
    enabled: bool,
    checked: Option<bool>,
}

impl Panel {
    async fn on(bus: &Bus) -> Panel {
        Panel {
            conn: zbus::connection::Builder::address(bus.address.as_str())
                .unwrap()
                .build()
                .await
                .unwrap(),
        }
    }

    async fn proxy(&self, dest: &str, path: &str, iface: &str) -> Option<zbus::Proxy<'static>> {
        zbus::proxy::Builder::new(&self.conn)
            .destination(dest.to_owned())
            .ok()?
            .path(path.to_owned())
            .ok()?
            .interface(iface.to_owned())
            .ok()?
            .cache_properties(zbus::proxy::CacheProperties::No)
            .build()
            .await
            .ok()
    }

    /// The items the watcher knows, as (bus name, path).
    async fn items(&self) -> Vec<(String, String)> {
        let Some(watcher) = self.proxy(WATCHER, "/StatusNotifierWatcher", WATCHER).await else {
            return Vec::new();
        };
        let Ok(items) = watcher
            .get_property::<Vec<String>>("RegisteredStatusNotifierItems")
            .await
        else {
            return Vec::new();
        };
        items
            .into_iter()
            .map(|item| match item.find('/') {
                Some(i) => (item[..i].to_owned(), item[i..].to_owned()),
                None => (item, "/StatusNotifierItem".to_owned()),
            })
            .collect()
    }

    async fn wait_item(&self) -> (String, String) {
        let end = std::time::Instant::now() + DEADLINE;
        loop {
            if let Some(item) = self.items().await.into_iter().next() {
                return item;
            }
            assert!(
                std::time::Instant::now() < end,
                "the watcher never saw the item"
            );
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
    }

    async fn shown(&self, item: &(String, String)) -> Option<Shown> {
        let proxy = self.proxy(&item.0, &item.1, ITEM).await?;
        let (_, _, title, description): (String, Vec<Pixmap>, String, String) =
            proxy.get_property("ToolTip").await.ok()?;
        let icons: Vec<Pixmap> = proxy.get_property("IconPixmap").await.ok()?;
        let (w, h, data) = icons.into_iter().max_by_key(|(w, _, _)| *w)?;
        let i = usize::try_from(((h / 2) * w + w / 2) * 4).ok()?;
        Some(Shown {
            title,
            description,
            centre: [data[i], data[i + 1], data[i + 2], data[i + 3]],
            icon: (w, h, data),
        })
    }

    /// Wait until the tooltip's title is `title`; what is shown then.
    async fn wait_title(&self, item: &(String, String), title: &str) -> Shown {
        eventually(async || {
            let shown = self.shown(item).await;
            match shown.as_ref().filter(|s| s.title == title) {
                Some(shown) => Ok(shown.clone()),
                None => Err(format!(
                    "the tooltip never said {title:?}; it says {shown:?}"
                )),
            }
        })
        .await
    }

    async fn menu(&self, item: &(String, String)) -> Vec<Entry> {
        let proxy = self.proxy(&item.0, &item.1, ITEM).await.unwrap();
        let path: zbus::zvariant::OwnedObjectPath = proxy.get_property("Menu").await.unwrap();
        let menu = self
            .proxy(&item.0, path.as_str(), "com.canonical.dbusmenu")
            .await
            .unwrap();
        let reply = menu
            .call_method("GetLayout", &(0i32, -1i32, Vec::<String>::new()))
            .await
            .unwrap();
        let (_, (_, _, children)): (u32, Node) = reply.body().deserialize().unwrap();
        children
            .into_iter()
            .map(|child| {
                let (id, props, _): Node = Value::from(child).try_into().unwrap();
                let text = |k: &str| {
                    props
                        .get(k)
                        .and_then(|v| String::try_from(v.try_clone().unwrap()).ok())
                };
                Entry {
                    id,
                    label: text("label").unwrap_or_default(),
                    enabled: props
                        .get("enabled")
                        .and_then(|v| bool::try_from(v).ok())
                        .unwrap_or(true),
                    checked: props
                        .get("toggle-state")
                        .and_then(|v| i32::try_from(v).ok())
                        .map(|s| s == 1),
                }
            })
            .collect()
    }

    async fn entry(&self, item: &(String, String), label: &str) -> Entry {
        eventually(async || {
            let menu = self.menu(item).await;
            match menu.iter().find(|e| e.label == label) {
                Some(entry) => Ok(entry.clone()),
                None => Err(format!("no {label:?} in the menu: {menu:#?}")),
            }
        })
        .await
    }

    /// Click the menu entry labelled `label`, as a panel does.
    async fn click(&self, item: &(String, String), label: &str) {
        let entry = self.entry(item, label).await;
        let proxy = self.proxy(&item.0, &item.1, ITEM).await.unwrap();
        let path: zbus::zvariant::OwnedObjectPath = proxy.get_property("Menu").await.unwrap();
        let menu = self
            .proxy(&item.0, path.as_str(), "com.canonical.dbusmenu")
            .await
            .unwrap();
        menu.call_method("Event", &(entry.id, "clicked", Value::from(0i32), 0u32))
            .await
            .unwrap();
    }

    /// A left click on the icon.
    async fn activate(&self, item: &(String, String)) {
        let proxy = self.proxy(&item.0, &item.1, ITEM).await.unwrap();
        proxy.call_method("Activate", &(0i32, 0i32)).await.unwrap();
    }
}

const GREEN: [u8; 4] = [0xff, 0x2e, 0x9e, 0x5b];
const AMBER: [u8; 4] = [0xff, 0xe0, 0x9b, 0x1a];
const GREY: [u8; 4] = [0xff, 0x8a, 0x8f, 0x98];

fn state(daemon: &Daemon, account: &str) -> String {
    daemon
        .state_of(account)
        .map(|(state, _)| state)
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_icon_follows_the_connection_and_the_menu_drives_the_daemon() {
    let mut server = prosody_with(&["alice", "bob"]);
    let xvfb = Xvfb::start().unwrap();
    let bus = Bus::start().unwrap();
    let _watcher = watcher(&bus);
    let mut alice = bus.daemon_env(
        &server,
        "alice",
        &[("DISPLAY", xvfb.display()), ("WIMSY_TEST_HOOKS", "1")],
    );
    std::fs::write(alice.config_dir().join("notices-seen"), "keep-connected\n").unwrap();
    let jid = server.jid("alice");
    let log = alice.dir().join("tray.log");
    let mut tray = tray(&bus, &alice, &log, &[]);
    let panel = Panel::on(&bus).await;
    let item = panel.wait_item().await;

    let shown = panel.wait_title(&item, "Wimsy: connected").await;
    assert_eq!(shown.description, format!("{jid}: connected"));
    assert_eq!(shown.centre, GREEN);
    shown.save("connected");
    let menu = panel.menu(&item).await;
    let labels: Vec<&str> = menu.iter().map(|e| e.label.as_str()).collect();
    assert_eq!(
        labels,
        [
            &format!("{jid}: connected"),
            "",
            "Open Wimsy",
            "Go offline",
            "Do not disturb",
            "",
            "Quit Wimsy"
        ],
        "{menu:#?}"
    );
    assert!(!menu[0].enabled, "the account line is not a command");

    // The server goes away and comes back: so does the icon's colour.
    server.stop().unwrap();
    let shown = panel.wait_title(&item, "Wimsy: connecting").await;
    assert_eq!(shown.centre, AMBER);
    shown.save("connecting");
    server.start_again().unwrap();
    panel.wait_title(&item, "Wimsy: connected").await;

    // An unread message is in the title.
    let bob = connected_daemon(&server, "bob");
    ok(&bob.ctl(&["send", &jid, "tray?"]));
    panel
        .wait_title(&item, "Wimsy: connected, 1 unread message")
        .await
        .save("connected-unread");

    // Offline and online from the menu.
    panel.click(&item, "Go offline").await;
    wait_until(DEADLINE, "alice offline", || {
        state(&alice, &jid) == "offline"
    })
    .unwrap();
    let shown = panel
        .wait_title(&item, "Wimsy: offline, 1 unread message")
        .await;
    assert_eq!(shown.centre, GREY);
    shown.save("offline-unread");
    panel.click(&item, "Go online").await;
    wait_until(DEADLINE, "alice back online", || {
        state(&alice, &jid) == "connected"
    })
    .unwrap();

    // Do not disturb, in step with the daemon's setting.
    assert_eq!(
        panel.entry(&item, "Do not disturb").await.checked,
        Some(false)
    );
    panel.click(&item, "Do not disturb").await;
    wait_until(DEADLINE, "do not disturb on", || {
        let out = alice.ctl_json(&["settings", "get", "notifications.do_not_disturb"]);
        out["settings"][0]["value"] == true
    })
    .unwrap();
    let end = std::time::Instant::now() + DEADLINE;
    while panel.entry(&item, "Do not disturb").await.checked != Some(true) {
        assert!(std::time::Instant::now() < end, "the check never showed");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }

    // A left click opens the window: none is attached, so the daemon
    // starts one, which attaches.
    panel.activate(&item).await;
    let window_log = alice.dir().join("data/wimsy.log");
    wait_until(DEADLINE, "the window the click opened to attach", || {
        std::fs::read_to_string(&window_log).is_ok_and(|t| t.contains("attached 1 accounts"))
    })
    .unwrap();

    // Quit Wimsy: the daemon stops cleanly, then the tray.
    panel.click(&item, "Quit Wimsy").await;
    let status = alice.wait_exit().unwrap();
    assert!(status.success(), "wimsyd exited with {status}");
    let end = std::time::Instant::now() + DEADLINE;
    let tray_status = loop {
        if let Some(status) = tray.0.try_wait().unwrap() {
            break status;
        }
        assert!(std::time::Instant::now() < end, "the tray did not exit");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    };
    assert!(
        tray_status.success(),
        "wimsy-tray exited with {tray_status}: {}",
        std::fs::read_to_string(&log).unwrap_or_default()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_tray_it_says_so_once_and_registers_when_one_appears() {
    let server = wimsy_testkit::ServerKind::Prosody.shared().unwrap();
    let a = server.new_account("alice").unwrap();
    let bus = Bus::start().unwrap();
    let alice = bus.daemon(server, &a.user);
    let log = alice.dir().join("tray.log");
    let _tray = tray(&bus, &alice, &log, &[]);
    const SAID: &str = "this desktop shows no tray icons now";
    wait_until(DEADLINE, "the tray to say there is no tray", || {
        std::fs::read_to_string(&log).is_ok_and(|t| t.contains(SAID))
    })
    .unwrap();
    let out = check(&bus);
    assert_eq!(out.status.code(), Some(1), "--check without a tray");

    // A panel starts later: the item is registered with it.
    let _watcher = watcher(&bus);
    let panel = Panel::on(&bus).await;
    let item = panel.wait_item().await;
    panel.wait_title(&item, "Wimsy: connected").await;
    let text = std::fs::read_to_string(&log).unwrap();
    assert_eq!(text.matches(SAID).count(), 1, "said once: {text}");

    // A watcher with no host (no panel drawing) is not a tray yet.
    assert_eq!(check(&bus).status.code(), Some(1));
    let watcher_proxy = panel
        .proxy(WATCHER, "/StatusNotifierWatcher", WATCHER)
        .await
        .unwrap();
    let me = panel.conn.unique_name().unwrap().to_string();
    watcher_proxy
        .call_method("RegisterStatusNotifierHost", &(me.as_str(),))
        .await
        .unwrap();
    let out = check(&bus);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn when_the_daemon_is_gone_the_tray_says_so_and_starts_it_again() {
    let server = wimsy_testkit::ServerKind::Prosody.shared().unwrap();
    let a = server.new_account("alice").unwrap();
    let bus = Bus::start().unwrap();
    let _watcher = watcher(&bus);
    let mut alice = bus.daemon(server, &a.user);
    let log = alice.dir().join("tray.log");
    let _tray = tray(&bus, &alice, &log, &[]);
    let panel = Panel::on(&bus).await;
    let item = panel.wait_item().await;
    panel.wait_title(&item, "Wimsy: connected").await;

    ok(&alice.ctl(&["quit"]));
    assert!(alice.wait_exit().unwrap().success());
    let shown = panel.wait_title(&item, "Wimsy is not running").await;
    assert!(shown.description.contains("Start Wimsy"), "{shown:?}");
    shown.save("not-running");
    let labels: Vec<String> = panel
        .menu(&item)
        .await
        .into_iter()
        .map(|e| e.label)
        .collect();
    assert_eq!(labels, ["Wimsy is not running", "Start Wimsy"]);

    // Start from the tray: a wimsyd on the same socket and directories
    // (the tray's environment names them), which connects the account.
    panel.click(&item, "Start Wimsy").await;
    panel.wait_title(&item, "Wimsy: connected").await;
    ok(&alice.ctl(&["quit"]));
}

fn ok(out: &std::process::Output) -> String {
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}
