//! Where the daemon keeps its files. A flag wins over a variable, which
//! wins over the directories-next default.

use std::path::{Path, PathBuf};

/// The daemon's three locations.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Paths {
    /// `~/.config/wimsy/`: the accounts file (and the password files where
    /// there is no OS keyring).
    pub config_dir: PathBuf,
    /// `~/.local/share/wimsy/`: the message store and the instance lock.
    pub data_dir: PathBuf,
    /// The IPC socket.
    pub socket: PathBuf,
}

/// A location could not be determined.
#[derive(Debug, thiserror::Error)]
#[error("cannot find a home directory for the {what} directory; pass --{what}-dir or set WIMSY_{upper}_DIR", upper = what.to_uppercase())]
pub struct NoHome {
    what: &'static str,
}

fn pick(flag: Option<&Path>, var: &str) -> Option<PathBuf> {
    flag.map(Path::to_path_buf).or_else(|| {
        std::env::var_os(var)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    })
}

impl Paths {
    /// Resolve from flags, then variables, then defaults.
    pub fn resolve(
        config_dir: Option<&Path>,
        data_dir: Option<&Path>,
        socket: Option<&Path>,
    ) -> Result<Self, NoHome> {
        let dirs = directories_next::ProjectDirs::from("", "", "wimsy");
        let config_dir = match pick(config_dir, "WIMSY_CONFIG_DIR") {
            Some(dir) => dir,
            None => dirs
                .as_ref()
                .map(|d| d.config_dir().to_path_buf())
                .ok_or(NoHome { what: "config" })?,
        };
        let data_dir = match pick(data_dir, "WIMSY_DATA_DIR") {
            Some(dir) => dir,
            None => dirs
                .as_ref()
                .map(|d| d.data_dir().to_path_buf())
                .ok_or(NoHome { what: "data" })?,
        };
        Ok(Self {
            config_dir,
            data_dir,
            socket: wimsy_ipc::resolve_socket_path(socket),
        })
    }

    /// The message store.
    pub fn store_file(&self) -> PathBuf {
        self.data_dir.join("wimsy.sqlite3")
    }
}
