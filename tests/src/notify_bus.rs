//! A private session bus for desktop-integration tests, and
//! python3-dbusmock's notification server on it: only what the test starts
//! answers there (no `<servicedir>`, so nothing is started on demand; on a
//! `--session` bus gnome-keyring would be, and take the daemon's
//! passwords). What wimsyd asked of the server is read back from the mock
//! (`GetCalls`); signals are sent with the mock's `EmitSignal`.
//!
//! Needs the Debian packages `dbus` (dbus-daemon) and `python3-dbusmock`.

use std::collections::HashMap;
use std::process::{Child, Command, Stdio};
use std::time::Instant;

use wimsy_testkit::XmppServer;
use zbus::zvariant::OwnedValue;

use crate::{DEADLINE, Daemon};

/// The testkit's private session bus.
pub use wimsy_testkit::SessionBus as Bus;

/// Starting wimsyd on a [`Bus`].
pub trait BusDaemon {
    /// wimsyd with this bus as its session bus, its account `user` on
    /// `server` connected.
    fn daemon(&self, server: &dyn XmppServer, user: &str) -> Daemon;
    /// [`BusDaemon::daemon`] with more variables in its environment.
    fn daemon_env(&self, server: &dyn XmppServer, user: &str, env: &[(&str, &str)]) -> Daemon;
}

impl BusDaemon for Bus {
    /// wimsyd with this bus as its session bus, its account `user` on
    /// `server` connected.
    fn daemon(&self, server: &dyn XmppServer, user: &str) -> Daemon {
        self.daemon_env(server, user, &[])
    }

    /// [`Bus::daemon`] with more variables in its environment.
    fn daemon_env(&self, server: &dyn XmppServer, user: &str, env: &[(&str, &str)]) -> Daemon {
        let mut all = vec![("DBUS_SESSION_BUS_ADDRESS", self.address.as_str())];
        all.extend_from_slice(env);
        let daemon = Daemon::start_env(&all).unwrap();
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

/// python3-dbusmock's notification server on a [`Bus`], killed on drop.
pub struct MockServer {
    child: Child,
    conn: zbus::Connection,
}

/// One `Notify` call, as the server got it.
#[derive(Debug)]
pub struct Notify {
    pub app: String,
    pub replaces_id: u32,
    pub summary: String,
    pub body: String,
    pub actions: Vec<String>,
    pub hints: HashMap<String, OwnedValue>,
}

impl Notify {
    pub fn hint(&self, key: &str) -> Option<String> {
        let value = self.hints.get(key)?.try_clone().ok()?;
        String::try_from(value).ok()
    }

    pub fn hint_bool(&self, key: &str) -> Option<bool> {
        bool::try_from(self.hints.get(key)?).ok()
    }
}

/// A call the server got.
#[derive(Debug)]
pub enum Call {
    Notify(Box<Notify>),
    Close(u32),
    Other,
}

impl MockServer {
    /// The template as it comes: its capabilities lack `actions`.
    pub async fn start(bus: &Bus) -> MockServer {
        Self::start_with(bus, None).await
    }

    /// With clicks: the server says it has `actions`.
    pub async fn start_with_actions(bus: &Bus) -> MockServer {
        Self::start_with(bus, Some(r#"{"capabilities": "body actions body-markup"}"#)).await
    }

    async fn start_with(bus: &Bus, parameters: Option<&str>) -> MockServer {
        // Debian's python3 (dbusmock is installed for it), not one first
        // on the PATH.
        let mut command = Command::new("/usr/bin/python3");
        command.args(["-m", "dbusmock", "--session", "-t", "notification_daemon"]);
        if let Some(parameters) = parameters {
            command.args(["-p", parameters]);
        }
        let child = command
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

    pub async fn try_calls(&self) -> Option<Vec<Call>> {
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

    /// The user clicks notification `id` (its default action).
    pub async fn click(&self, id: u32) {
        let args: Vec<zbus::zvariant::Value<'_>> = vec![id.into(), "default".into()];
        self.conn
            .call_method(
                Some("org.freedesktop.Notifications"),
                "/org/freedesktop/Notifications",
                Some("org.freedesktop.DBus.Mock"),
                "EmitSignal",
                &("org.freedesktop.Notifications", "ActionInvoked", "us", args),
            )
            .await
            .unwrap();
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
