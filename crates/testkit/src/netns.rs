//! Network namespaces for tests of network loss.

use std::process::Command;

use anyhow::Context as _;

/// A private network namespace for tests of network loss: its own
/// loopback (up) and a veth pair with no address at all, whose only use is
/// to carry a default route that tests remove and restore. No traffic ever
/// leaves the namespace's loopback. Needs root; removed on drop.
#[derive(Debug)]
pub struct NetNs {
    name: String,
}

impl NetNs {
    /// Create a namespace with a default route.
    pub fn create() -> anyhow::Result<Self> {
        static COUNTER: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let n = COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let ns = Self {
            name: format!("wimsy-{}-{n}", std::process::id()),
        };
        run_ip(&["netns", "add", &ns.name])?;
        ns.exec(&["ip", "link", "set", "lo", "up"])?;
        ns.exec(&[
            "ip", "link", "add", "wv0", "type", "veth", "peer", "name", "wv1",
        ])?;
        ns.exec(&["ip", "link", "set", "wv0", "up"])?;
        ns.exec(&["ip", "link", "set", "wv1", "up"])?;
        ns.add_default_route()?;
        Ok(ns)
    }

    /// Its name, for `ip netns exec`.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Run a command inside the namespace.
    pub fn exec(&self, argv: &[&str]) -> anyhow::Result<()> {
        let mut args = vec!["netns", "exec", &self.name];
        args.extend_from_slice(argv);
        run_ip(&args)
    }

    /// Take the network away (as an unplugged cable or lost Wi-Fi would).
    pub fn remove_default_route(&self) -> anyhow::Result<()> {
        self.exec(&["ip", "route", "del", "default"])
    }

    /// Give it back.
    pub fn add_default_route(&self) -> anyhow::Result<()> {
        self.exec(&["ip", "route", "add", "default", "dev", "wv0"])
    }
}

impl Drop for NetNs {
    fn drop(&mut self) {
        let _ = run_ip(&["netns", "del", &self.name]);
    }
}

fn run_ip(args: &[&str]) -> anyhow::Result<()> {
    let out = Command::new("ip")
        .args(args)
        .output()
        .context("running ip (iproute2)")?;
    if !out.status.success() {
        anyhow::bail!(
            "ip {} failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(())
}
