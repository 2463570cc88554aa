//! Scenario 9: the tray. What `wimsy-tray` holds in memory while idle,
//! registered with a real StatusNotifierWatcher and attached to a daemon
//! with 200 contacts and 50 chats, beside that daemon's own.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use wimsy_testkit::{KillOnDrop as Proc, SessionBus};

use super::attach::{CHATS, CONTACTS, busy_account};
use super::harness::{Ctx, Daemon, STEP, blocking};
use super::procstat;
use super::report::{Row, median, num};

pub(crate) const TITLE: &str = "9. The tray";

pub(crate) const METHOD: &str = "\
The real `wimsy-tray` (same build as the daemon) on a private session bus\n\
(a `dbus-daemon` of its own) where Debian's `status-notifier-watcher`\n\
(haskell-status-notifier-item-utils) runs headless, attached to a daemon\n\
(default preset) with 200 contacts and 50 chats, as in scenario 8. Once the\n\
watcher lists the tray's item (`busctl` reads RegisteredStatusNotifierItems),\n\
it idles (5 s; 1 s with `--quick`), then `/proc/PID/status` of the tray and\n\
of the daemon are read: VmRSS and RssAnon. A new tray process each run; the\n\
goal is daemon + tray under 15 MB.";

fn idle_for(ctx: &Ctx) -> Duration {
    Duration::from_secs(if ctx.quick { 1 } else { 5 })
}

pub(crate) async fn idle_memory(ctx: &Ctx) -> Result<Row> {
    let busy = busy_account(ctx, "tray-idle").await?;
    let daemon = &busy.account.daemon;
    blocking(|| {
        let bus = SessionBus::start()?;
        let _watcher = Proc(
            Command::new("status-notifier-watcher")
                .env("DBUS_SESSION_BUS_ADDRESS", &bus.address)
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .context("starting status-notifier-watcher (haskell-status-notifier-item-utils)")?,
        );
        let (mut tray_rss, mut tray_anon, mut daemon_rss) = (Vec::new(), Vec::new(), Vec::new());
        for _ in 0..ctx.runs() {
            let (rss, anon, theirs) = idle_once(ctx, &bus, daemon)?;
            tray_rss.push(rss);
            tray_anon.push(anon);
            daemon_rss.push(theirs);
        }
        let show = |v: &[f64]| median(v).map_or_else(|| "?".to_owned(), num);
        let sum = match (median(&tray_rss), median(&daemon_rss)) {
            (Some(t), Some(d)) => num(t + d),
            _ => "?".to_owned(),
        };
        Ok(Row::new(
            format!("{TITLE}, {CONTACTS} contacts + {CHATS} chats: resident memory, idle"),
            "MB",
            tray_rss,
            format!(
                "VmRSS {} s after the item was registered, a new process each run; tray \
                 RssAnon median {} MB; the daemon's VmRSS at the same moments, median {} MB; \
                 daemon + tray {sum} MB (goal < 15 MB)",
                idle_for(ctx).as_secs(),
                show(&tray_anon),
                show(&daemon_rss),
            ),
        ))
    })
}

/// One idle tray: its VmRSS and RssAnon, and the daemon's VmRSS, in MB.
fn idle_once(ctx: &Ctx, bus: &SessionBus, daemon: &Daemon) -> Result<(f64, f64, f64)> {
    let tray = Proc(
        Command::new(ctx.bin_dir.join("wimsy-tray"))
            .arg("--socket")
            .arg(daemon.socket())
            .env("DBUS_SESSION_BUS_ADDRESS", &bus.address)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .context("starting wimsy-tray")?,
    );
    let end = Instant::now() + STEP;
    while registered(bus)? == 0 {
        if Instant::now() > end {
            bail!("the watcher never listed the tray's item");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    std::thread::sleep(idle_for(ctx));
    let stats = procstat::read(tray.0.id())?;
    let theirs = procstat::read(daemon.pid().context("the daemon is not running")?)?;
    let mb = |kib: u64| kib as f64 * 1024.0 / 1e6;
    let figures = (
        mb(stats.rss_kib),
        mb(stats.rss_anon_kib),
        mb(theirs.rss_kib),
    );
    drop(tray);
    // The next run's tray must register afresh, not find this one's item.
    let end = Instant::now() + STEP;
    while registered(bus)? != 0 {
        if Instant::now() > end {
            bail!("the watcher kept the stopped tray's item");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    Ok(figures)
}

/// How many items the watcher lists.
fn registered(bus: &SessionBus) -> Result<usize> {
    let out = Command::new("busctl")
        .arg(format!("--address={}", bus.address))
        .args([
            "get-property",
            "org.kde.StatusNotifierWatcher",
            "/StatusNotifierWatcher",
            "org.kde.StatusNotifierWatcher",
            "RegisteredStatusNotifierItems",
        ])
        .output()
        .context("running busctl (Debian package systemd)")?;
    if !out.status.success() {
        // The watcher has not taken its name yet.
        return Ok(0);
    }
    // `as N "item" ...`
    let text = String::from_utf8_lossy(&out.stdout);
    Ok(text
        .split_whitespace()
        .nth(1)
        .and_then(|n| n.parse().ok())
        .unwrap_or(0))
}
