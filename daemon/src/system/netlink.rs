//! Route and address changes from the kernel (rtnetlink multicast), so a
//! network that comes or goes is noticed at once, not at the next timeout.

use std::io;
use std::time::{Duration, Instant};

use rustix::net::netlink::SocketAddrNetlink;
use rustix::net::{AddressFamily, RecvFlags, SocketFlags, SocketType};
use tokio::io::unix::AsyncFd;
use tokio::sync::mpsc;

use super::{SystemEvent, routes};

const RTMGRP_LINK: u32 = 0x1;
const RTMGRP_IPV4_IFADDR: u32 = 0x10;
const RTMGRP_IPV4_ROUTE: u32 = 0x40;
const RTMGRP_IPV6_IFADDR: u32 = 0x100;
const RTMGRP_IPV6_ROUTE: u32 = 0x400;

/// A change that does not move the default route (an address, a second
/// interface) comes in a burst; it is gathered for this long and reported
/// once.
const SETTLE: Duration = Duration::from_millis(300);

/// A default route that comes or goes is acted on at once, unless it came
/// and went already within this long: a link that flaps is reported once it
/// has been still for [`SETTLE`]. (One loss and its return are not a flap:
/// the return is what a session waits for.)
const FLAP_WINDOW: Duration = Duration::from_secs(2);

/// A burst that never goes quiet is reported after this long all the same.
const LONGEST_BURST: Duration = Duration::from_secs(2);

fn open() -> io::Result<AsyncFd<rustix::fd::OwnedFd>> {
    let fd = rustix::net::socket_with(
        AddressFamily::NETLINK,
        SocketType::RAW,
        SocketFlags::NONBLOCK | SocketFlags::CLOEXEC,
        None,
    )?;
    let groups = RTMGRP_LINK
        | RTMGRP_IPV4_IFADDR
        | RTMGRP_IPV4_ROUTE
        | RTMGRP_IPV6_IFADDR
        | RTMGRP_IPV6_ROUTE;
    rustix::net::bind(&fd, &SocketAddrNetlink::new(0, groups))?;
    // `new` is deprecated for fds someone else may close behind tokio's
    // back; this `OwnedFd` is ours alone and lives inside the `AsyncFd`.
    #[allow(deprecated)]
    AsyncFd::new(fd)
}

pub(crate) async fn watch(events: mpsc::Sender<SystemEvent>) {
    let socket = match open() {
        Ok(socket) => socket,
        Err(e) => {
            tracing::warn!("cannot watch network changes (netlink: {e}); relying on timeouts");
            return;
        }
    };
    let mut state = Debounce::new(super::network_available());
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        if wait_readable(&socket, &mut buf).await.is_err() {
            tracing::warn!("netlink socket failed; no longer watching network changes");
            return;
        }
        // One burst: every message in it is read, and the route checked
        // after each read, until the burst has been quiet long enough.
        state.burst_began();
        loop {
            while drain_one(&socket, &mut buf) {}
            let now = tokio::time::Instant::now();
            let route = routes::default_route_present().unwrap_or(true);
            if let Some(available) = state.on_route(route, now.into_std())
                && !report(&events, SystemEvent::NetworkAvailable(available)).await
            {
                return;
            }
            let deadline = tokio::time::Instant::from_std(state.quiet_until());
            match tokio::time::timeout_at(deadline, wait_readable(&socket, &mut buf)).await {
                Ok(Ok(())) => continue,
                Ok(Err(_)) => {
                    tracing::warn!("netlink socket failed; no longer watching network changes");
                    return;
                }
                Err(_quiet) => break,
            }
        }
        let route = routes::default_route_present().unwrap_or(true);
        let event = match state.burst_ended(route, std::time::Instant::now()) {
            Some(available) => SystemEvent::NetworkAvailable(available),
            None if state.reported_in_burst() => continue,
            None => {
                tracing::debug!("network configuration changed");
                SystemEvent::NetworkChanged
            }
        };
        if !report(&events, event).await {
            return;
        }
    }
}

async fn report(events: &mpsc::Sender<SystemEvent>, event: SystemEvent) -> bool {
    if let SystemEvent::NetworkAvailable(available) = event {
        tracing::info!(available, "network route changed");
    }
    events.send(event).await.is_ok()
}

/// When to report the default route coming or going: at once, but a link
/// that flaps is reported once it is still.
#[derive(Debug)]
struct Debounce {
    /// What was last reported.
    available: bool,
    /// When the last two reported changes were, newest first.
    flips: [Option<Instant>; 2],
    burst_start: Option<Instant>,
    last_message: Option<Instant>,
    reported_in_burst: bool,
}

impl Debounce {
    fn new(available: bool) -> Self {
        Self {
            available,
            flips: [None, None],
            burst_start: None,
            last_message: None,
            reported_in_burst: false,
        }
    }

    fn burst_began(&mut self) {
        self.burst_start = None;
        self.reported_in_burst = false;
    }

    /// Messages were read and the route is `route` now: `Some` when that
    /// is to be reported at once.
    fn on_route(&mut self, route: bool, now: Instant) -> Option<bool> {
        self.burst_start.get_or_insert(now);
        self.last_message = Some(now);
        let flapping = self.flips[1].is_some_and(|flip| now.duration_since(flip) < FLAP_WINDOW);
        if route == self.available || flapping {
            return None;
        }
        self.flip(route, now)
    }

    /// The burst has been quiet for [`SETTLE`]: `Some` when the route
    /// differs from what was last reported.
    fn burst_ended(&mut self, route: bool, now: Instant) -> Option<bool> {
        if route == self.available {
            return None;
        }
        self.flip(route, now)
    }

    fn flip(&mut self, route: bool, now: Instant) -> Option<bool> {
        self.available = route;
        self.flips = [Some(now), self.flips[0]];
        self.reported_in_burst = true;
        Some(route)
    }

    fn reported_in_burst(&self) -> bool {
        self.reported_in_burst
    }

    /// The burst ends when no message came for [`SETTLE`], or when it has
    /// lasted [`LONGEST_BURST`].
    fn quiet_until(&self) -> Instant {
        let now = Instant::now();
        let quiet = self.last_message.unwrap_or(now) + SETTLE;
        let longest = self.burst_start.unwrap_or(now) + LONGEST_BURST;
        quiet.min(longest)
    }
}

async fn wait_readable(socket: &AsyncFd<rustix::fd::OwnedFd>, buf: &mut [u8]) -> io::Result<()> {
    loop {
        let mut guard = socket.readable().await?;
        match guard.try_io(|fd| {
            rustix::net::recv(fd.get_ref(), &mut *buf, RecvFlags::empty()).map_err(io::Error::from)
        }) {
            Ok(Ok(_)) => return Ok(()),
            Ok(Err(e)) if e.kind() == io::ErrorKind::WouldBlock => continue,
            // ENOBUFS: we missed messages; that still means "changed".
            Ok(Err(e)) if e.raw_os_error() == Some(rustix::io::Errno::NOBUFS.raw_os_error()) => {
                return Ok(());
            }
            Ok(Err(e)) => return Err(e),
            Err(_would_block) => continue,
        }
    }
}

fn drain_one(socket: &AsyncFd<rustix::fd::OwnedFd>, buf: &mut [u8]) -> bool {
    rustix::net::recv(socket.get_ref(), buf, RecvFlags::DONTWAIT).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_route_that_comes_back_is_reported_at_once() {
        let t0 = Instant::now();
        let mut d = Debounce::new(false);
        d.burst_began();
        // The link comes up before its route: nothing to say yet.
        assert_eq!(d.on_route(false, t0), None);
        assert_eq!(d.on_route(true, t0 + Duration::from_millis(5)), Some(true));
        assert!(d.reported_in_burst());
        assert_eq!(d.burst_ended(true, t0 + Duration::from_millis(305)), None);
    }

    #[test]
    fn a_change_that_keeps_the_route_is_reported_after_the_burst() {
        let t0 = Instant::now();
        let mut d = Debounce::new(true);
        d.burst_began();
        assert_eq!(d.on_route(true, t0), None);
        assert!(!d.reported_in_burst());
        assert_eq!(d.quiet_until(), t0 + SETTLE);
        assert_eq!(d.burst_ended(true, t0 + SETTLE), None);
        assert!(!d.reported_in_burst(), "the caller reports a plain change");
    }

    #[test]
    fn a_flapping_link_is_reported_once_it_is_still() {
        let t0 = Instant::now();
        let mut d = Debounce::new(true);
        d.burst_began();
        assert_eq!(d.on_route(false, t0), Some(false));
        let ms = Duration::from_millis;
        // Back at once: a loss and its return are not a flap.
        assert_eq!(d.on_route(true, t0 + ms(50)), Some(true));
        // Gone and back again within the window: held.
        assert_eq!(d.on_route(false, t0 + ms(100)), None);
        assert_eq!(d.on_route(true, t0 + ms(150)), None);
        assert_eq!(d.on_route(false, t0 + ms(200)), None);
        assert_eq!(d.quiet_until(), t0 + ms(200) + SETTLE);
        // Still for SETTLE: the final state, once.
        assert_eq!(d.burst_ended(false, t0 + ms(500)), Some(false));
        // Long after, a change is at once again.
        d.burst_began();
        assert_eq!(d.on_route(true, t0 + ms(5000)), Some(true));
    }

    #[test]
    fn a_burst_that_never_goes_quiet_still_ends() {
        let t0 = Instant::now();
        let mut d = Debounce::new(true);
        d.burst_began();
        for i in 0..100 {
            d.on_route(true, t0 + Duration::from_millis(i * 100));
        }
        assert_eq!(d.quiet_until(), t0 + LONGEST_BURST);
    }
}
