//! A private session bus with python3-dbusmock's notification server on
//! it, for tests of desktop notifications: the real wimsyd talks to it as
//! to a desktop's, and what it asked is read back from the mock
//! (`GetCalls`). The same as `tests/notifications.rs` has inline (which
//! can move to this one).
//!
//! Needs the Debian packages `dbus` (dbus-daemon) and `python3-dbusmock`.

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::Instant;

use wimsy_testkit::XmppServer;
use zbus::zvariant::OwnedValue;

use crate::{DEADLINE, Daemon};

/// A private session bus: only what the test starts on it answers there.
pub struct Bus {
    child: Child,
    address: String,
    dir: tempfile::TempDir,
}

/// No `<servicedir>`: nothing is started on demand (on a `--session` bus,
/// gnome-keyring would be, and take the daemon's passwords).
const BUS_CONFIG: &str = r#"<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:path=BUS</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
"#;

impl Bus {
    /// Start it; it accepts connections when this returns.
    pub fn start() -> Bus {
        let dir = tempfile::tempdir().unwrap();
        let socket = dir.path().join("bus");
        let config = dir.path().join("bus.conf");
        std::fs::write(
            &config,
            BUS_CONFIG.replace("BUS", &socket.display().to_string()),
        )
        .unwrap();
        let mut child = Command::new("dbus-daemon")
            .args(["--nofork", "--print-address"])
            .arg(format!("--config-file={}", config.display()))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            // It complains that it may not raise its fd limit; harmless.
            .stderr(Stdio::null())
            .spawn()
            .expect("dbus-daemon (Debian package dbus) is needed");
        // It prints its address once it accepts connections (the socket
        // file alone comes a moment earlier).
        let mut address = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut address)
            .unwrap();
        assert!(address.starts_with("unix:"), "dbus-daemon said {address:?}");
        Bus {
            child,
            address: address.trim().to_owned(),
            dir,
        }
    }

    /// wimsyd with this bus as its session bus, its account `user` on
    /// `server` connected.
    pub fn daemon(&self, server: &dyn XmppServer, user: &str) -> Daemon {
        let daemon = Daemon::start_env(&[("DBUS_SESSION_BUS_ADDRESS", &self.address)]).unwrap();
        let out = daemon.add_account(server, user, &format!("{user}-pw"));
        assert!(
            out.status.success(),
            "account add: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        daemon.wait_state(&server.jid(user), "connected").unwrap();
        daemon
    }
}

impl Drop for Bus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// python3-dbusmock's notification server on a [`Bus`], killed on drop.
pub struct MockServer {
    child: Child,
    conn: zbus::Connection,
}

/// One `Notify` call, as the server got it.
#[derive(Debug)]
pub struct Notify {
    /// The application name.
    pub app: String,
    /// The notification it replaces (0: none).
    pub replaces_id: u32,
    /// Its summary.
    pub summary: String,
    /// Its body.
    pub body: String,
    /// Action keys and labels, alternating.
    pub actions: Vec<String>,
    /// Its hints.
    pub hints: HashMap<String, OwnedValue>,
}

impl Notify {
    /// A text hint.
    pub fn hint(&self, key: &str) -> Option<String> {
        let value = self.hints.get(key)?.try_clone().ok()?;
        String::try_from(value).ok()
    }

    /// A boolean hint.
    pub fn hint_bool(&self, key: &str) -> Option<bool> {
        bool::try_from(self.hints.get(key)?).ok()
    }
}

/// A call the server got.
#[derive(Debug)]
pub enum Call {
    /// Notify.
    Notify(Box<Notify>),
    /// CloseNotification, with its id.
    Close(u32),
    /// Anything else.
    Other,
}

impl MockServer {
    /// Start it on `bus`; it answers when this returns.
    pub async fn start(bus: &Bus) -> MockServer {
        // Debian's python3 (dbusmock is installed for it), not one first
        // on the PATH.
        let child = Command::new("/usr/bin/python3")
            .args(["-m", "dbusmock", "--session", "-t", "notification_daemon"])
            .env("DBUS_SESSION_BUS_ADDRESS", &bus.address)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::from(
                std::fs::File::create(bus.dir.path().join("dbusmock.log")).unwrap(),
            ))
            .spawn()
            .expect("/usr/bin/python3 is needed");
        let conn = zbus::connection::Builder::address(bus.address.as_str())
            .unwrap()
            .build()
            .await
            .unwrap();
        let mut server = MockServer { child, conn };
        let end = Instant::now() + DEADLINE;
        while server.try_calls().await.is_none() {
            if let Ok(Some(status)) = server.child.try_wait() {
                panic!(
                    "dbusmock exited ({status}); is python3-dbusmock installed? {}",
                    std::fs::read_to_string(bus.dir.path().join("dbusmock.log"))
                        .unwrap_or_default()
                );
            }
            assert!(Instant::now() < end, "dbusmock never answered on the bus");
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        server
    }

    async fn try_calls(&self) -> Option<Vec<Call>> {
        let reply = self
            .conn
            .call_method(
                Some("org.freedesktop.Notifications"),
                "/org/freedesktop/Notifications",
                Some("org.freedesktop.DBus.Mock"),
                "GetCalls",
                &(),
            )
            .await
            .ok()?;
        let calls: Vec<(u64, String, Vec<OwnedValue>)> = reply.body().deserialize().unwrap();
        Some(calls.into_iter().map(call).collect())
    }

    /// Every call so far, oldest first.
    pub async fn calls(&self) -> Vec<Call> {
        self.try_calls().await.expect("dbusmock stopped answering")
    }

    /// Wait until the server has had `n` calls of Notify or
    /// CloseNotification; those calls, oldest first.
    pub async fn wait_for(&self, n: usize) -> Vec<Call> {
        let end = Instant::now() + DEADLINE;
        loop {
            let calls: Vec<Call> = self
                .calls()
                .await
                .into_iter()
                .filter(|c| !matches!(c, Call::Other))
                .collect();
            if calls.len() >= n {
                assert_eq!(calls.len(), n, "more calls than expected: {calls:#?}");
                return calls;
            }
            assert!(
                Instant::now() < end,
                "the server never got {n} calls; it got {calls:#?}"
            );
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    }

    /// The `n`th call, waited for, as a Notify.
    pub async fn notify(&self, n: usize) -> Notify {
        match self.wait_for(n).await.pop().unwrap() {
            Call::Notify(notify) => *notify,
            other => panic!("call {n} is not a Notify: {other:?}"),
        }
    }

    /// The `n`th call, waited for, as a CloseNotification; its id.
    pub async fn close(&self, n: usize) -> u32 {
        match self.wait_for(n).await.pop().unwrap() {
            Call::Close(id) => id,
            other => panic!("call {n} is not a CloseNotification: {other:?}"),
        }
    }
}

impl Drop for MockServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn call((_, method, args): (u64, String, Vec<OwnedValue>)) -> Call {
    let text = |i: usize| String::try_from(args[i].try_clone().unwrap()).unwrap();
    match method.as_str() {
        "Notify" => Call::Notify(Box::new(Notify {
            app: text(0),
            replaces_id: u32::try_from(&args[1]).unwrap(),
            summary: text(3),
            body: text(4),
            actions: Vec::try_from(args[5].try_clone().unwrap()).unwrap(),
            hints: HashMap::try_from(args[6].try_clone().unwrap()).unwrap(),
        })),
        // The template declares its id an `i`; wimsyd sends the spec's `u`.
        "CloseNotification" => Call::Close(
            u32::try_from(&args[0])
                .or_else(|_| i32::try_from(&args[0]).map(|id| id as u32))
                .unwrap(),
        ),
        _ => Call::Other,
    }
}
