//! Life under a service manager: the listening socket systemd passes
//! (socket activation, `LISTEN_FDS`) and the readiness it waits for
//! (`Type=notify`). Both are no-ops when wimsyd is started by hand.

use std::os::fd::{FromRawFd, OwnedFd, RawFd};
use std::os::unix::net::UnixListener;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};

use interprocess::local_socket::tokio::Listener;

use crate::instance::InstanceError;

/// The passed descriptors belong to the process once; a second daemon run
/// in the same process (tests) binds its own socket instead.
static TAKEN: AtomicBool = AtomicBool::new(false);

/// The socket a service manager passed, with the path it listens on, or
/// `None` when nothing was passed (started by hand).
pub(crate) fn take_listener() -> Result<Option<(Listener, Option<PathBuf>)>, InstanceError> {
    let refused = |reason: String| InstanceError::Activation { reason };
    let mut fds = sd_notify::listen_fds()
        .map_err(|e| refused(format!("LISTEN_FDS or LISTEN_PID is malformed ({e})")))?;
    let count = fds.len();
    let Some(fd) = fds.next() else {
        return Ok(None);
    };
    if count > 1 {
        return Err(refused(format!(
            "it passed {count} sockets where wimsyd serves one; wimsyd.socket must have exactly one ListenStream="
        )));
    }
    if TAKEN.swap(true, Ordering::SeqCst) {
        return Ok(None);
    }
    let fd = own(fd);
    let stream =
        rustix::net::sockopt::socket_type(&fd).is_ok_and(|t| t == rustix::net::SocketType::STREAM);
    let listening = rustix::net::sockopt::socket_acceptconn(&fd).unwrap_or(false);
    if !stream || !listening {
        return Err(refused(
            "the descriptor it passed is not a listening stream socket; wimsyd.socket must use ListenStream=".to_owned(),
        ));
    }
    let std = UnixListener::from(fd);
    // std refuses an address that is not AF_UNIX: a TCP ListenStream= is
    // not ours to serve (the peer-uid check needs a local socket).
    let path = std
        .local_addr()
        .map_err(|_| {
            refused(
                "the socket it passed is not a local (Unix) socket; ListenStream= must name a path"
                    .to_owned(),
            )
        })?
        .as_pathname()
        .map(std::path::Path::to_path_buf);
    std.set_nonblocking(true)
        .map_err(|e| refused(format!("cannot make the passed socket non-blocking ({e})")))?;
    let listener =
        interprocess::os::unix::uds_local_socket::tokio::Listener::try_from(OwnedFd::from(std))
            .map_err(|e| refused(format!("cannot listen on the passed socket ({e})")))?;
    Ok(Some((Listener::from(listener), path)))
}

/// Take ownership of a descriptor the service manager passed.
#[allow(unsafe_code)]
fn own(fd: RawFd) -> OwnedFd {
    // SAFETY: `fd` is one of the descriptors systemd passed to this very
    // process (sd_notify checked LISTEN_PID against our pid); nothing else
    // in wimsyd knows of it, and `TAKEN` makes sure it is owned only once.
    unsafe { OwnedFd::from_raw_fd(fd) }
}

/// Tell the service manager (if any) that clients are served now.
pub(crate) fn ready(status: &str) {
    notify(&[
        sd_notify::NotifyState::Ready,
        sd_notify::NotifyState::Status(status),
    ]);
}

/// Tell the service manager (if any) that the files are being read again;
/// [`ready`] follows when that is done.
pub(crate) fn reloading() {
    notify(&[sd_notify::NotifyState::Reloading]);
}

/// Tell the service manager (if any) that wimsyd is stopping on purpose.
pub(crate) fn stopping() {
    notify(&[
        sd_notify::NotifyState::Stopping,
        sd_notify::NotifyState::Status("stopping: closing the sessions"),
    ]);
}

fn notify(states: &[sd_notify::NotifyState<'_>]) {
    // Without NOTIFY_SOCKET this does nothing; a failure only costs systemd
    // its view of our state, so it is logged and the daemon goes on.
    if let Err(e) = sd_notify::notify(states) {
        tracing::warn!("could not tell the service manager our state: {e}");
    }
}
