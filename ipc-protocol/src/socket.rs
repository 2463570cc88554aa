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

/// The command that starts a daemon listening on `socket`, as a person
/// would type it: `wimsyd` for the default socket, `wimsyd --socket PATH`
/// for any other, so that advice next to a missing daemon starts the one
/// this frontend is looking for rather than one it would not see.
pub fn start_command(socket: &Path) -> String {
    if socket == default_socket_path() {
        "wimsyd".to_owned()
    } else {
        format!("wimsyd --socket {}", shell_word(&socket.to_string_lossy()))
    }
}

/// `word` as one word for a POSIX shell: as it is when it holds nothing
/// the shell would act on, else in single quotes.
fn shell_word(word: &str) -> String {
    let plain = !word.is_empty()
        && word
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "/._-+:@%,=\\".contains(c));
    if plain {
        word.to_owned()
    } else {
        format!("'{}'", word.replace('\'', r"'\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn start_command_names_a_socket_other_than_the_default() {
        assert_eq!(start_command(&default_socket_path()), "wimsyd");
        assert_eq!(
            start_command(Path::new("/tmp/wimsy-demo-7/alice.sock")),
            "wimsyd --socket /tmp/wimsy-demo-7/alice.sock"
        );
        assert_eq!(
            start_command(Path::new("/tmp/my dir/it's.sock")),
            r"wimsyd --socket '/tmp/my dir/it'\''s.sock'"
        );
    }
}
