//! Wake detection from logind, on a real (private) D-Bus daemon standing in
//! for the system bus: the test owns org.freedesktop.login1 there and emits
//! the `PrepareForSleep` signal logind emits around a suspend; the daemon,
//! pointed at that bus by DBUS_SYSTEM_BUS_ADDRESS, must probe its streams
//! at once on wake. Without a bus, or without logind on it, the daemon must
//! run as usual and say once that it falls back to the clock-gap check.

#![allow(clippy::unwrap_used)]

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use wimsy_testkit::Prosody;
use wimsy_tests::*;

const FALLBACK: &str = "wake detection falls back to the clock-gap check";
const SUBSCRIBED: &str = "watching logind for sleep and wake";
const WOKE: &str = "woke from sleep (logind)";
const PROBING: &str = "probing the stream";

/// A private `dbus-daemon`, killed on drop.
struct Bus {
    child: Child,
    address: String,
    _dir: tempfile::TempDir,
}

impl Bus {
    fn start() -> Bus {
        let dir = tempfile::tempdir().unwrap();
        let mut child = Command::new("dbus-daemon")
            .args(["--session", "--nofork", "--print-address"])
            .arg(format!(
                "--address=unix:path={}",
                dir.path().join("bus").display()
            ))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            // It complains that it may not raise its fd limit; harmless.
            .stderr(Stdio::null())
            .spawn()
            .expect("dbus-daemon (Debian package dbus) is needed");
        // It prints its address once it listens.
        let mut address = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut address)
            .unwrap();
        assert!(address.starts_with("unix:"), "dbus-daemon said {address:?}");
        Bus {
            child,
            address: address.trim().to_owned(),
            _dir: dir,
        }
    }

    async fn connect(&self, name: Option<&str>) -> zbus::Connection {
        let mut builder = zbus::connection::Builder::address(self.address.as_str()).unwrap();
        if let Some(name) = name {
            builder = builder.name(name).unwrap();
        }
        builder.build().await.unwrap()
    }
}

impl Drop for Bus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Emit logind's `PrepareForSleep(start)` from `conn`, then wait for the
/// bus's answer to a call, so the bus has routed the signal.
async fn prepare_for_sleep(conn: &zbus::Connection, start: bool) {
    conn.emit_signal(
        None::<zbus::names::BusName<'_>>,
        "/org/freedesktop/login1",
        "org.freedesktop.login1.Manager",
        "PrepareForSleep",
        &(start,),
    )
    .await
    .unwrap();
    conn.call_method(
        Some("org.freedesktop.DBus"),
        "/org/freedesktop/DBus",
        Some("org.freedesktop.DBus"),
        "GetId",
        &(),
    )
    .await
    .unwrap();
}

/// A `wimsyd` whose system bus is `bus_address`, with the default (laptop)
/// timeouts: no idle probe for minutes, so any probe seen is the wake's.
/// The [`Daemon`] keeps the directories and answers `ctl`/`log`; the
/// process is the returned child (killed on drop).
struct BusDaemon {
    daemon: Daemon,
    child: Child,
}

impl BusDaemon {
    fn start(bus_address: &str) -> BusDaemon {
        // Daemon gives us directories and helpers; its own process (started
        // without our variable) is replaced by ours on the same directories.
        let mut daemon = Daemon::start().unwrap();
        daemon.kill9();
        let log_path = daemon.dir().join("wimsyd.log");
        let log = std::fs::File::create(&log_path).unwrap();
        let child = Command::new(bin("wimsyd"))
            .arg("--config-dir")
            .arg(daemon.dir().join("config"))
            .arg("--data-dir")
            .arg(daemon.dir().join("data"))
            .arg("--socket")
            .arg(&daemon.socket)
            .env("WIMSY_LOG", "debug")
            .env_remove("WIMSY_SOCKET")
            .env("DBUS_SYSTEM_BUS_ADDRESS", bus_address)
            // Passwords in the 0600 files, as Daemon does.
            .env(
                "DBUS_SESSION_BUS_ADDRESS",
                format!(
                    "unix:path={}",
                    daemon.dir().join("no-session-bus").display()
                ),
            )
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap();
        let socket = daemon.socket.clone();
        wait_until(DEADLINE, "wimsyd to answer on its socket", || {
            std::os::unix::net::UnixStream::connect(&socket).is_ok()
        })
        .unwrap();
        BusDaemon { daemon, child }
    }

    fn wait_log(&self, what: &str) {
        if wait_until(DEADLINE, what, || self.daemon.log().contains(what)).is_err() {
            panic!("no {what:?} in the log:\n{}", self.daemon.log());
        }
    }

    fn count(&self, what: &str) -> usize {
        self.daemon.log().matches(what).count()
    }
}

impl Drop for BusDaemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// XEP-0198 ack requests Prosody received (the session's probe), not the
/// ones it sent.
fn sm_requests(prosody: &Prosody) -> usize {
    prosody
        .log()
        .lines()
        .filter(|l| l.contains("Received[c2s]: <r ") && l.contains("urn:xmpp:sm:3"))
        .count()
}

#[test]
fn a_wake_from_logind_probes_the_stream_at_once() {
    let bus = Bus::start();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let logind = runtime.block_on(bus.connect(Some("org.freedesktop.login1")));
    let prosody = prosody_with(&["alice"]);
    let jid = prosody.jid("alice");
    let d = BusDaemon::start(&bus.address);
    d.wait_log(SUBSCRIBED);
    assert_eq!(d.count(FALLBACK), 0, "{}", d.daemon.log());
    let out = d.daemon.add_account(&prosody, "alice", "alice-pw");
    assert!(out.status.success(), "{out:?}");
    d.daemon.wait_state(&jid, "connected").unwrap();

    // Going to sleep: noted, nothing else.
    runtime.block_on(prepare_for_sleep(&logind, true));
    d.wait_log("going to sleep (logind)");

    // Anyone else sending the same signal is not logind: the bus does not
    // route it to the daemon (it matches on the sender).
    let impostor = runtime.block_on(bus.connect(None));
    runtime.block_on(prepare_for_sleep(&impostor, false));

    let probes_before = d.count(PROBING);
    let server_probes_before = sm_requests(&prosody);
    let woke_at = Instant::now();
    runtime.block_on(prepare_for_sleep(&logind, false));
    d.wait_log(WOKE);
    wait_until(DEADLINE, "the session to probe its stream", || {
        d.count(PROBING) > probes_before
    })
    .unwrap();
    let reacted = woke_at.elapsed();
    if wait_until(DEADLINE, "Prosody to get the probe", || {
        sm_requests(&prosody) > server_probes_before
    })
    .is_err()
    {
        panic!("Prosody got no <r/>:\n{}", prosody.log());
    }
    let log = d.daemon.log();
    assert_eq!(
        log.matches(WOKE).count(),
        1,
        "the impostor's signal counted:\n{log}"
    );
    assert!(
        log.find(WOKE).unwrap() < log.rfind(PROBING).unwrap(),
        "the probe follows the wake:\n{log}"
    );
    // The default idle probe is minutes away: this one is the wake's.
    assert!(reacted < Duration::from_secs(5), "probed after {reacted:?}");
    assert_eq!(d.daemon.state_of(&jid).unwrap().0, "connected");
    eprintln!("wake to probe: {reacted:?}");
}

/// Start a daemon on `address`, wait for the fallback line, and check that
/// it serves requests and says it only once.
fn falls_back_once(address: &str, why: &str) {
    let d = BusDaemon::start(address);
    d.wait_log(FALLBACK);
    let status = d.daemon.ctl_json(&["status"]);
    assert!(status["accounts"].is_array(), "{status}");
    // No retry loop: a second look after a while finds the same one line.
    std::thread::sleep(Duration::from_millis(500));
    let log = d.daemon.log();
    assert_eq!(log.matches(FALLBACK).count(), 1, "{log}");
    let line = log.lines().find(|l| l.contains(FALLBACK)).unwrap();
    assert!(line.contains(" INFO "), "{line}");
    assert!(line.contains(why), "{line}");
    assert!(!log.contains(SUBSCRIBED), "{log}");
}

#[test]
fn without_a_system_bus_the_daemon_runs_and_says_it_falls_back_once() {
    assert!(!Path::new("/nonexistent").exists());
    falls_back_once("unix:path=/nonexistent", "no system bus");
}

#[test]
fn a_bus_without_logind_is_a_fallback_too() {
    let bus = Bus::start();
    falls_back_once(&bus.address, "no logind on the system bus");
}
