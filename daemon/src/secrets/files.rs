//! The fallback store: one 0600 file per account, named by its bare JID,
//! in a 0700 `passwords/` directory under the config dir. Used where no OS
//! keyring answers; also read once where one does, to move what an earlier
//! run left here into the keyring.

use std::fs;
use std::path::{Path, PathBuf};

use crate::private_fs::{FileError, create_private_dir, io_error, write_atomically};

/// Password files under one directory.
#[derive(Debug, Clone)]
pub(crate) struct FileStore {
    dir: PathBuf,
}

impl FileStore {
    /// The password files of the config dir `config_dir`.
    pub(crate) fn new(config_dir: &Path) -> Self {
        Self {
            dir: config_dir.join("passwords"),
        }
    }

    /// The directory, for messages that say where passwords are.
    pub(crate) fn dir(&self) -> &Path {
        &self.dir
    }

    /// The file of `jid`. Callers pass bare JIDs checked by the JID parser,
    /// which refuses `/`, so the name cannot leave the directory.
    pub(crate) fn path(&self, jid: &str) -> PathBuf {
        self.dir.join(jid)
    }

    /// The password of `jid`, or `None` when there is no file.
    pub(crate) fn get(&self, jid: &str) -> Result<Option<String>, FileError> {
        let path = self.path(jid);
        match fs::read_to_string(&path) {
            // A file written by hand may end with a newline.
            Ok(p) => Ok(Some(p.trim_end_matches(['\n', '\r']).to_owned())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(io_error("read the password file", &path)(e)),
        }
    }

    /// Store the password of `jid` in a 0600 file.
    pub(crate) fn set(&self, jid: &str, password: &str) -> Result<(), FileError> {
        create_private_dir(&self.dir)?;
        write_atomically(&self.path(jid), password.as_bytes())
    }

    /// Forget the password of `jid`; `true` when there was a file.
    pub(crate) fn delete(&self, jid: &str) -> Result<bool, FileError> {
        let path = self.path(jid);
        match fs::remove_file(&path) {
            Ok(()) => Ok(true),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
            Err(e) => Err(io_error("remove", &path)(e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_round_trip_in_private_files() {
        let dir = tempfile::tempdir().unwrap();
        let store = FileStore::new(&dir.path().join("cfg"));
        assert_eq!(store.get("a@example.org").unwrap(), None);
        store.set("a@example.org", "pw").unwrap();
        assert_eq!(store.get("a@example.org").unwrap().as_deref(), Some("pw"));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = |p: &Path| fs::metadata(p).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode(&store.path("a@example.org")), 0o600);
            assert_eq!(mode(store.dir()), 0o700);
        }
        assert!(store.delete("a@example.org").unwrap());
        assert!(!store.delete("a@example.org").unwrap());
        assert_eq!(store.get("a@example.org").unwrap(), None);
    }
}
