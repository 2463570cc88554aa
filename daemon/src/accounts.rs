//! The accounts file (`accounts.toml` in the config dir). Passwords are
//! never in it: they are in the keyring or the fallback files (`secrets`).

use std::fs;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::private_fs::{FileError, create_private_dir, write_atomically};

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
    #[error(transparent)]
    Io(#[from] FileError),
    /// The accounts file is not valid TOML of the expected shape.
    #[error("{path} is not a valid accounts file: {detail}; fix or remove it")]
    Parse {
        /// Which file.
        path: PathBuf,
        /// What the parser said.
        detail: String,
    },
}

/// A parse error on one line (a log line, a journal entry): where, and
/// what the parser expected, without its drawing of the spot.
pub(crate) fn one_line(text: &str, error: &toml::de::Error) -> String {
    let message = error.message().trim().replace('\n', "; ");
    match error.span() {
        Some(span) => {
            let before = &text[..span.start.min(text.len())];
            let line = before.matches('\n').count() + 1;
            let column = before
                .rsplit('\n')
                .next()
                .unwrap_or_default()
                .chars()
                .count()
                + 1;
            format!("line {line}, column {column}: {message}")
        }
        None => message,
    }
}

/// The accounts file in one config directory.
#[derive(Debug, Clone)]
pub struct AccountStore {
    dir: PathBuf,
}

impl AccountStore {
    /// The accounts file under `config_dir`.
    pub fn new(config_dir: &Path) -> Self {
        Self {
            dir: config_dir.to_path_buf(),
        }
    }

    fn accounts_path(&self) -> PathBuf {
        self.dir.join("accounts.toml")
    }

    /// Every configured account; none when there is no file yet.
    pub fn load(&self) -> Result<Vec<AccountEntry>, AccountsError> {
        let path = self.accounts_path();
        let text = match fs::read_to_string(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(crate::private_fs::io_error("read", &path)(e).into()),
        };
        let file: AccountsFile = toml::from_str(&text).map_err(|e| AccountsError::Parse {
            path: path.clone(),
            detail: one_line(&text, &e),
        })?;
        Ok(file.accounts)
    }

    /// Replace the accounts file (atomically, readable by the user only).
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
        Ok(write_atomically(&path, text.as_bytes())?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_parse_error_is_told_on_one_line() {
        let text = "[[account]]\njid = \"a@b\"\n[[account]\njid = ";
        let error = toml::from_str::<AccountsFile>(text).unwrap_err();
        let told = one_line(text, &error);
        assert!(!told.contains('\n'), "{told}");
        assert!(told.starts_with("line 3, column 11: "), "{told}");
        assert!(told.contains("expected `]`"), "{told}");
    }

    #[test]
    fn accounts_round_trip_in_a_private_file() {
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
        assert_eq!(store.load().unwrap(), vec![entry]);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = |p: PathBuf| fs::metadata(p).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode(store.accounts_path()), 0o600);
            assert_eq!(mode(dir.path().join("cfg")), 0o700);
        }
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
