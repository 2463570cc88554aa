//! A private session bus (a `dbus-daemon` of its own, killed on drop) for
//! the desktop-integration tests and benchmarks: only what the caller
//! starts answers there. It has no `<servicedir>`, so nothing is started
//! on demand (on a `--session` bus gnome-keyring would be, and take the
//! daemon's passwords), and nothing of the runner's desktop is reached.
//!
//! Needs the Debian package `dbus`.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

use anyhow::{Context, bail};

/// A private session bus; pass [`SessionBus::address`] as
/// `DBUS_SESSION_BUS_ADDRESS`.
pub struct SessionBus {
    child: Child,
    /// Its address (`unix:path=...`).
    pub address: String,
    /// A directory that lives as long as the bus, for the caller's files.
    pub dir: tempfile::TempDir,
}

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

impl SessionBus {
    pub fn start() -> anyhow::Result<SessionBus> {
        let dir = tempfile::tempdir()?;
        let socket = dir.path().join("bus");
        let config = dir.path().join("bus.conf");
        std::fs::write(
            &config,
            BUS_CONFIG.replace("BUS", &socket.display().to_string()),
        )?;
        let mut child = Command::new("dbus-daemon")
            .args(["--nofork", "--print-address"])
            .arg(format!("--config-file={}", config.display()))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            // It complains that it may not raise its fd limit; harmless.
            .stderr(Stdio::null())
            .spawn()
            .context("starting dbus-daemon (Debian package dbus)")?;
        // It prints its address once it accepts connections (the socket
        // file alone comes a moment earlier).
        let mut address = String::new();
        let out = child.stdout.take().context("dbus-daemon's stdout")?;
        BufReader::new(out).read_line(&mut address)?;
        if !address.starts_with("unix:") {
            let _ = child.kill();
            bail!("dbus-daemon said {address:?} instead of its address");
        }
        Ok(SessionBus {
            child,
            address: address.trim().to_owned(),
            dir,
        })
    }
}

impl Drop for SessionBus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
