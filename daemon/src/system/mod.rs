//! What the machine tells us: network routes coming and going, and wakes
//! from suspend (from logind where it runs, else from the clock gap). Each
//! becomes a [`SystemEvent`] for the core, which tells the sessions (they
//! probe at once, resume or reconnect at once, or stop retrying while there
//! is no route).

mod clock;
pub(crate) mod code_pages;
#[cfg(unix)]
mod hangup;
#[cfg(target_os = "linux")]
mod logind;
#[cfg(target_os = "linux")]
mod netlink;
pub(crate) mod routes;

use std::time::Duration;

use tokio::sync::mpsc;

/// A change the sessions must react to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SystemEvent {
    /// Whether a default route exists now.
    NetworkAvailable(bool),
    /// Routes or addresses changed: live streams may be dead.
    NetworkChanged,
    /// We were asleep: the wall clock jumped ahead of the monotonic one
    /// (`gap` is the time slept), or logind said so (`gap` is zero).
    Woke { gap: Duration },
    /// SIGHUP: read the accounts and settings files again.
    Reload,
}

/// Whether the machine has a network route right now.
pub(crate) fn network_available() -> bool {
    routes::default_route_present().unwrap_or(true)
}

/// Start the watchers; they run until `events` closes.
pub(crate) fn spawn(events: mpsc::Sender<SystemEvent>) {
    #[cfg(unix)]
    hangup::watch(events.clone());
    tokio::spawn(clock::watch(events.clone(), clock::CHECK_EVERY));
    #[cfg(target_os = "linux")]
    tokio::spawn(logind::watch(events.clone()));
    #[cfg(target_os = "linux")]
    tokio::spawn(netlink::watch(events));
    #[cfg(not(target_os = "linux"))]
    drop(events);
}
