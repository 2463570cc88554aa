//! One daemon per user: a locked file in the data dir, and a socket that is
//! only replaced when nothing answers on it.

use std::fs::{self, File};
use std::path::{Path, PathBuf};

use interprocess::local_socket::ListenerOptions;
use interprocess::local_socket::tokio::Listener;

/// Starting as the only instance failed.
#[derive(Debug, thiserror::Error)]
pub enum InstanceError {
    /// Another daemon holds the lock.
    #[error(
        "another wimsyd is already running for this user (lock {path} is held): use that one, or quit it before starting another"
    )]
    AlreadyRunning {
        /// The lock file.
        path: PathBuf,
    },
    /// Another daemon answers on the socket.
    #[error(
        "another wimsyd is already listening on {path}: quit it first, or start this one with another --socket"
    )]
    SocketInUse {
        /// The socket.
        path: PathBuf,
    },
    /// The socket's directory could be entered or changed by someone else.
    #[error(
        "refusing to use {path} for the socket: {reason}; it must be a directory only you can enter (chmod 700, owned by you), or pick another --socket"
    )]
    UnsafeSocketDir {
        /// The directory.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// The service manager passed a socket wimsyd cannot serve.
    #[error("cannot use the socket the service manager passed: {reason}")]
    Activation {
        /// What is wrong with it, and what to change.
        reason: String,
    },
    /// A file operation failed.
    #[error("could not {action} {path}: {source}")]
    Io {
        /// What was being done.
        action: &'static str,
        /// On which path.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
}

fn io(action: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> InstanceError {
    let path = path.to_path_buf();
    move |source| InstanceError::Io {
        action,
        path,
        source,
    }
}

/// Held for the daemon's lifetime; the OS releases the lock if we die.
#[derive(Debug)]
pub struct InstanceLock {
    _file: File,
}

/// Take the per-user lock in `data_dir`, creating the directory 0700 when
/// it is new: it holds the message store, which is nobody else's to read.
pub fn lock(data_dir: &Path) -> Result<InstanceLock, InstanceError> {
    crate::private_fs::create_private_dir(data_dir).map_err(|e| InstanceError::Io {
        action: e.action,
        path: e.path,
        source: e.source,
    })?;
    #[cfg(unix)]
    warn_if_open(data_dir);
    let path = data_dir.join("wimsyd.lock");
    let file = File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(io("open", &path))?;
    match file.try_lock() {
        Ok(()) => Ok(InstanceLock { _file: file }),
        Err(fs::TryLockError::WouldBlock) => Err(InstanceError::AlreadyRunning { path }),
        Err(fs::TryLockError::Error(e)) => Err(io("lock", &path)(e)),
    }
}

/// A data directory made by an older version, or by hand, may be open to
/// other users; changing a directory we did not create is the user's call,
/// so say how.
#[cfg(unix)]
fn warn_if_open(dir: &Path) {
    use std::os::unix::fs::PermissionsExt;
    if let Ok(meta) = fs::metadata(dir) {
        let mode = meta.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            tracing::warn!(
                "the data directory {} holds your messages but other users may enter it (mode {mode:o}); `chmod 700 {}` closes it",
                dir.display(),
                dir.display()
            );
        }
    }
}

/// Where the daemon listens.
#[derive(Debug)]
pub struct Listening {
    /// The listener.
    pub listener: Listener,
    /// Where clients reach it.
    pub path: PathBuf,
    /// The service manager made it and keeps it: it outlives this daemon
    /// (the next connection starts a new one), so it is not removed on exit.
    pub activated: bool,
}

/// The socket a service manager passed (socket activation), else our own
/// bound at `path` as [`bind_socket`] does.
pub async fn listen(path: &Path) -> Result<Listening, InstanceError> {
    #[cfg(unix)]
    if let Some((listener, passed)) = crate::activation::take_listener()? {
        let passed = passed.unwrap_or_else(|| path.to_path_buf());
        if passed != path {
            tracing::warn!(
                "the service manager's socket is {}, not {}: clients looking at the latter will not find this daemon",
                passed.display(),
                path.display()
            );
        }
        return Ok(Listening {
            listener,
            path: passed,
            activated: true,
        });
    }
    Ok(Listening {
        listener: bind_socket(path).await?,
        path: path.to_path_buf(),
        activated: false,
    })
}

/// Bind the IPC socket at `path`: the directory is created 0700 when
/// missing, a socket file nobody answers on (left by a crash) is removed, and
/// a live one is refused.
pub async fn bind_socket(path: &Path) -> Result<Listener, InstanceError> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        if !dir.exists() {
            let mut builder = fs::DirBuilder::new();
            builder.recursive(true);
            #[cfg(unix)]
            std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
            builder.create(dir).map_err(io("create", dir))?;
        }
        #[cfg(unix)]
        check_private_dir(dir)?;
    }
    if path.exists() {
        if wimsy_ipc::connect_stream(path).await.is_ok() {
            return Err(InstanceError::SocketInUse {
                path: path.to_path_buf(),
            });
        }
        tracing::info!(socket = %path.display(), "removing a stale socket left by an earlier daemon");
        fs::remove_file(path).map_err(io("remove the stale socket", path))?;
    }
    let listener = listener_options(path)?
        .create_tokio()
        .map_err(io("listen on", path))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(path, fs::Permissions::from_mode(0o600))
            .map_err(io("set permissions of", path))?;
    }
    Ok(listener)
}

#[cfg(unix)]
fn listener_options(path: &Path) -> Result<ListenerOptions<'_>, InstanceError> {
    use interprocess::local_socket::{GenericFilePath, ToFsName};
    let name = path
        .to_fs_name::<GenericFilePath>()
        .map_err(io("name the socket", path))?;
    Ok(ListenerOptions::new().name(name).reclaim_name(true))
}

#[cfg(windows)]
fn listener_options(path: &Path) -> Result<ListenerOptions<'static>, InstanceError> {
    use interprocess::local_socket::{GenericNamespaced, ToNsName};
    let pipe = path.to_string_lossy();
    let pipe = pipe.trim_start_matches(r"\\.\pipe\").to_owned();
    let name = pipe
        .to_ns_name::<GenericNamespaced>()
        .map_err(io("name the pipe", path))?;
    Ok(ListenerOptions::new().name(name))
}

/// Whoever can enter the socket's directory could replace the socket, so
/// it must be ours and closed to everyone else.
#[cfg(unix)]
fn check_private_dir(dir: &Path) -> Result<(), InstanceError> {
    use std::os::unix::fs::MetadataExt;
    let meta = fs::symlink_metadata(dir).map_err(io("inspect", dir))?;
    let unsafe_dir = |reason: String| InstanceError::UnsafeSocketDir {
        path: dir.to_path_buf(),
        reason,
    };
    if !meta.is_dir() {
        return Err(unsafe_dir(
            "it is not a directory (or is a symbolic link)".to_owned(),
        ));
    }
    let me = rustix::process::geteuid().as_raw();
    if meta.uid() != me {
        return Err(unsafe_dir(format!(
            "it belongs to uid {}, not to you (uid {me})",
            meta.uid()
        )));
    }
    let mode = meta.mode() & 0o777;
    if mode & 0o077 != 0 {
        return Err(unsafe_dir(format!(
            "its permissions are {mode:o}, open to other users"
        )));
    }
    Ok(())
}

/// The peer of a new connection runs as our own user.
#[cfg(unix)]
pub(crate) fn peer_is_us(stream: &interprocess::local_socket::tokio::Stream) -> Result<(), String> {
    use interprocess::local_socket::traits::StreamCommon as _;
    let creds = stream
        .peer_creds()
        .map_err(|e| format!("cannot read the peer's credentials: {e}"))?;
    let me = rustix::process::geteuid().as_raw();
    match creds.euid() {
        Some(uid) if uid == me => Ok(()),
        Some(uid) => Err(format!("peer runs as uid {uid}, not as our uid {me}")),
        None => Err("the peer's uid is unknown".to_owned()),
    }
}

#[cfg(all(test, unix))]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::os::unix::fs::PermissionsExt;

    use super::*;

    #[test]
    fn a_new_data_dir_is_private() {
        let temp = tempfile::tempdir().unwrap();
        let data = temp.path().join("share/wimsy");
        let _lock = lock(&data).unwrap();
        let mode = fs::metadata(&data).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o700);
        assert!(data.join("wimsyd.lock").exists());
    }
}
