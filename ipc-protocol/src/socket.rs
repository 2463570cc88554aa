//! Where the daemon's socket lives.
//!
//! Precedence: a `--socket` flag, then `WIMSY_SOCKET`, then the default:
//! `$XDG_RUNTIME_DIR/wimsy/wimsyd.sock`, or `/tmp/wimsy-$UID/wimsyd.sock`
//! (a 0700 directory the daemon creates) where there is no runtime dir. On
//! Windows the default is the named pipe `\\.\pipe\wimsyd-$USERNAME`.

use std::path::{Path, PathBuf};

/// The variable that overrides the socket location.
pub const SOCKET_ENV: &str = "WIMSY_SOCKET";

/// The socket's file name inside its directory.
pub const SOCKET_FILE_NAME: &str = "wimsyd.sock";

/// The socket to use: `flag` if given, else `WIMSY_SOCKET`, else the default.
pub fn resolve_socket_path(flag: Option<&Path>) -> PathBuf {
    if let Some(path) = flag {
        return path.to_path_buf();
    }
    match std::env::var_os(SOCKET_ENV) {
        Some(value) if !value.is_empty() => PathBuf::from(value),
        _ => default_socket_path(),
    }
}

/// The default socket location for this user.
#[cfg(unix)]
pub fn default_socket_path() -> PathBuf {
    let dir = match std::env::var_os("XDG_RUNTIME_DIR") {
        Some(runtime) if !runtime.is_empty() => PathBuf::from(runtime).join("wimsy"),
        _ => std::env::temp_dir().join(format!("wimsy-{}", rustix::process::getuid().as_raw())),
    };
    dir.join(SOCKET_FILE_NAME)
}

/// The default socket location for this user.
#[cfg(windows)]
pub fn default_socket_path() -> PathBuf {
    let user = std::env::var("USERNAME").unwrap_or_else(|_| "user".to_owned());
    PathBuf::from(format!(r"\\.\pipe\wimsyd-{user}"))
}
