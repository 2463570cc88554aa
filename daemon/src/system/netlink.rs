//! Route and address changes from the kernel (rtnetlink multicast), so a
//! network that comes or goes is noticed at once, not at the next timeout.

use std::io;
use std::time::Duration;

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

/// Changes come in bursts (an interface going up brings addresses and
/// routes); they are gathered for this long before acting.
const SETTLE: Duration = Duration::from_millis(300);

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
    let mut available = super::network_available();
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        if wait_readable(&socket, &mut buf).await.is_err() {
            tracing::warn!("netlink socket failed; no longer watching network changes");
            return;
        }
        // Let the burst settle, then drain it.
        tokio::time::sleep(SETTLE).await;
        while drain_one(&socket, &mut buf) {}
        let now = routes::default_route_present().unwrap_or(true);
        let event = if now != available {
            available = now;
            tracing::info!(available, "network route changed");
            SystemEvent::NetworkAvailable(now)
        } else {
            tracing::debug!("network configuration changed");
            SystemEvent::NetworkChanged
        };
        if events.send(event).await.is_err() {
            return;
        }
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
