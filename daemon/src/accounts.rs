//! The accounts file (`accounts.toml` in the config dir) and the password
//! files beside it. Passwords live in 0600 files under a 0700 directory,
//! never in the accounts file, argv or logs.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// One account as configured.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountEntry {
    /// Bare JID.
    pub jid: String,
    /// `host[:port]` to dial instead of the domain.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server: Option<String>,
    /// Extra CA file for this account.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca_file: Option<String>,
    /// The server certificate the user trusts for this account
    /// (`SHA256:AB:...`); with it, no other certificate is accepted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pinned_sha256: Option<String>,
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct AccountsFile {
    #[serde(default, rename = "account")]
    accounts: Vec<AccountEntry>,
}

/// Reading or writing account files failed.
#[derive(Debug, thiserror::Error)]
pub enum AccountsError {
    /// A file could not be read or written.
    #[error("could not {action} {path}: {source}")]
    Io {
        /// What was being done.
        action: &'static str,
        /// Which file.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// The accounts file is not valid TOML of the expected shape.
    #[error("{path} is not a valid accounts file: {detail}; fix or remove it")]
    Parse {
        /// Which file.
        path: PathBuf,
        /// What the parser said.
        detail: String,
    },
}

fn io_error(action: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> AccountsError {
    let path = path.to_path_buf();
    move |source| AccountsError::Io {
        action,
        path,
        source,
    }
}

/// The account files in one config directory.
#[derive(Debug, Clone)]
pub struct AccountStore {
    dir: PathBuf,
}

impl AccountStore {
    /// Account files under `config_dir`.
    pub fn new(config_dir: &Path) -> Self {
        Self {
            dir: config_dir.to_path_buf(),
        }
    }

    fn accounts_path(&self) -> PathBuf {
        self.dir.join("accounts.toml")
    }

    fn secrets_dir(&self) -> PathBuf {
        self.dir.join("passwords")
    }

    fn password_path(&self, jid: &str) -> PathBuf {
        self.secrets_dir().join(jid)
    }

    /// Every configured account; none when there is no file yet.
    pub fn load(&self) -> Result<Vec<AccountEntry>, AccountsError> {
        let path = self.accounts_path();
        let text = match fs::read_to_string(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(io_error("read", &path)(e)),
        };
        let file: AccountsFile = toml::from_str(&text).map_err(|e| AccountsError::Parse {
            path: path.clone(),
            detail: e.to_string(),
        })?;
        Ok(file.accounts)
    }

    /// Replace the accounts file (written to a temporary file, then renamed,
    /// so a crash never leaves half a file).
    pub fn save(&self, accounts: &[AccountEntry]) -> Result<(), AccountsError> {
        create_private_dir(&self.dir)?;
        let path = self.accounts_path();
        let text = toml::to_string(&AccountsFile {
            accounts: accounts.to_vec(),
        })
        .map_err(|e| AccountsError::Parse {
            path: path.clone(),
            detail: e.to_string(),
        })?;
        write_atomically(&path, text.as_bytes())
    }

    /// The stored password of `jid`.
    pub fn password(&self, jid: &str) -> Result<String, AccountsError> {
        let path = self.password_path(jid);
        fs::read_to_string(&path)
            .map(|p| p.trim_end_matches('\n').to_owned())
            .map_err(io_error("read the password file", &path))
    }

    /// Store the password of `jid` in a 0600 file.
    pub fn set_password(&self, jid: &str, password: &str) -> Result<(), AccountsError> {
        create_private_dir(&self.secrets_dir())?;
        write_atomically(&self.password_path(jid), password.as_bytes())
    }

    /// Forget the password of `jid`.
    pub fn remove_password(&self, jid: &str) -> Result<(), AccountsError> {
        let path = self.password_path(jid);
        match fs::remove_file(&path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(io_error("remove", &path)(e)),
            _ => Ok(()),
        }
    }
}

fn create_private_dir(dir: &Path) -> Result<(), AccountsError> {
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir).map_err(io_error("create", dir))
}

fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), AccountsError> {
    let tmp = path.with_extension("tmp");
    let mut options = fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(&tmp).map_err(io_error("write", &tmp))?;
    file.write_all(bytes).map_err(io_error("write", &tmp))?;
    file.sync_all().map_err(io_error("sync", &tmp))?;
    fs::rename(&tmp, path).map_err(io_error("replace", path))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accounts_and_passwords_round_trip_with_private_modes() {
        let dir = tempfile::tempdir().unwrap();
        let store = AccountStore::new(&dir.path().join("cfg"));
        assert!(store.load().unwrap().is_empty());
        let entry = AccountEntry {
            jid: "a@example.org".into(),
            server: Some("127.0.0.1:5222".into()),
            ca_file: None,
            pinned_sha256: Some("SHA256:AB:CD".into()),
        };
        store.save(std::slice::from_ref(&entry)).unwrap();
        store.set_password("a@example.org", "pw").unwrap();
        assert_eq!(store.load().unwrap(), vec![entry]);
        assert_eq!(store.password("a@example.org").unwrap(), "pw");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = |p: PathBuf| fs::metadata(p).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode(store.password_path("a@example.org")), 0o600);
            assert_eq!(mode(store.secrets_dir()), 0o700);
        }
        store.remove_password("a@example.org").unwrap();
        assert!(store.password("a@example.org").is_err());
    }

    #[test]
    fn a_broken_accounts_file_says_where_it_is() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("accounts.toml"), "[[account]]\njid = 5\n").unwrap();
        let err = AccountStore::new(dir.path())
            .load()
            .unwrap_err()
            .to_string();
        assert!(err.contains("accounts.toml"), "{err}");
    }
}
