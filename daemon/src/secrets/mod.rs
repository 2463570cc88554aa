//! Where account passwords live: the OS keyring where one answers (the
//! Secret Service on Linux, the Keychain on macOS, the Credential Manager
//! on Windows), else 0600 files under `passwords/` in the config dir. The
//! rest of the daemon sees one API, [`Secrets`]: get, set and delete the
//! password of a bare JID.
//!
//! The backend is chosen once, at start, by a short probe; the fallback
//! says so in one warning line with where the files are. Entries are
//! found by service [`SERVICE`] and the bare JID (each backend's module
//! says how exactly); these names are stable, so passwords survive
//! upgrades.
//!
//! Passwords come out as [`Password`], whose `Debug` is redacted, and go
//! nowhere but the session's login: not in logs, errors or IPC.

mod files;
#[cfg(any(target_os = "macos", target_os = "windows"))]
mod native;
#[cfg(target_os = "linux")]
mod secret_service;
#[cfg(not(any(target_os = "linux", target_os = "macos", target_os = "windows")))]
mod unsupported;

#[cfg(any(target_os = "macos", target_os = "windows"))]
use native as platform;
#[cfg(target_os = "linux")]
use secret_service as platform;
#[cfg(not(any(target_os = "linux", target_os = "macos", target_os = "windows")))]
use unsupported as platform;

use std::future::Future;
use std::path::Path;
use std::time::Duration;

use wimsy_session::Password;

use crate::private_fs::FileError;
use files::FileStore;

/// The service name every keyring entry is stored under.
pub(crate) const SERVICE: &str = "wimsy";

/// A keyring that does not answer this fast at start is treated as absent:
/// the daemon must come up without it.
const PROBE_TIMEOUT: Duration = Duration::from_secs(5);

/// A keyring call may wait for the user to unlock the keyring at a prompt,
/// but not for ever: the core answers nobody else meanwhile.
const CALL_TIMEOUT: Duration = Duration::from_secs(30);

/// A keyring backend failed; the message never holds a password.
#[derive(Debug, thiserror::Error)]
pub(crate) enum KeyringError {
    /// The platform store said no.
    #[error("{0}")]
    Failed(String),
}

/// A password could not be read, stored or forgotten.
#[derive(Debug, thiserror::Error)]
pub(crate) enum SecretsError {
    /// There is no password for the account.
    #[error("no password is stored for {jid} in {place}; remove the account and add it again")]
    Missing {
        /// The account.
        jid: String,
        /// Where it was looked for.
        place: String,
    },
    /// The keyring failed or did not answer.
    #[error("{place} failed for {jid}: {detail}")]
    Keyring {
        /// The account.
        jid: String,
        /// Which keyring.
        place: String,
        /// What it said.
        detail: String,
    },
    /// A password file could not be read or written.
    #[error(transparent)]
    File(#[from] FileError),
    /// Not a name a password can be stored under.
    #[error("{0:?} is not a bare JID with a user part")]
    BadName(String),
}

/// The password store the daemon chose at start.
#[derive(Debug)]
pub(crate) struct Secrets {
    files: FileStore,
    keyring: Option<platform::Keyring>,
}

impl Secrets {
    /// Probe the OS keyring and pick the backend, logging which.
    pub(crate) async fn open(config_dir: &Path) -> Self {
        let files = FileStore::new(config_dir);
        let keyring = match tokio::time::timeout(PROBE_TIMEOUT, platform::Keyring::probe()).await {
            Ok(Ok(keyring)) => {
                tracing::info!("passwords are kept in {}", platform::describe());
                Some(keyring)
            }
            Ok(Err(why)) => {
                Self::warn_fallback(&files, &why);
                None
            }
            Err(_) => {
                Self::warn_fallback(&files, &format!("no answer within {PROBE_TIMEOUT:?}"));
                None
            }
        };
        Self { files, keyring }
    }

    /// Only the files, whatever the machine has (unit tests, fuzzing).
    pub(crate) fn files_only(config_dir: &Path) -> Self {
        Self {
            files: FileStore::new(config_dir),
            keyring: None,
        }
    }

    fn warn_fallback(files: &FileStore, why: &str) {
        tracing::warn!(
            "{} ({why}); passwords are kept in 0600 files under {}",
            platform::MISSING,
            files.dir().display()
        );
    }

    /// The password of `jid`.
    pub(crate) async fn get(&self, jid: &str) -> Result<Password, SecretsError> {
        check(jid)?;
        let Some(keyring) = &self.keyring else {
            return match self.files.get(jid)? {
                Some(password) => Ok(Password::new(password)),
                None => Err(SecretsError::Missing {
                    jid: jid.to_owned(),
                    place: self.files.path(jid).display().to_string(),
                }),
            };
        };
        // Files are written only while the keyring does not answer, so a
        // file is newer than any keyring entry: it wins, and moves.
        if let Some(password) = self.files.get(jid)? {
            self.migrate(keyring, jid, &password).await;
            return Ok(Password::new(password));
        }
        match self.call(jid, keyring.get(jid)).await? {
            Some(password) => Ok(Password::new(password)),
            None => Err(SecretsError::Missing {
                jid: jid.to_owned(),
                place: platform::describe(),
            }),
        }
    }

    /// Store `password` for `jid`, replacing any earlier one.
    pub(crate) async fn set(&self, jid: &str, password: &str) -> Result<(), SecretsError> {
        check(jid)?;
        match &self.keyring {
            Some(keyring) => {
                self.call(jid, keyring.set(jid, password)).await?;
                // An older file would win over the keyring on the next read.
                self.files.delete(jid)?;
                Ok(())
            }
            None => Ok(self.files.set(jid, password)?),
        }
    }

    /// Forget the password of `jid`, wherever it is.
    pub(crate) async fn delete(&self, jid: &str) -> Result<(), SecretsError> {
        check(jid)?;
        if let Some(keyring) = &self.keyring {
            self.call(jid, keyring.delete(jid)).await?;
        }
        self.files.delete(jid)?;
        Ok(())
    }

    /// Move a password found in a file into the keyring; on failure it
    /// stays in the file and is tried again next time.
    async fn migrate(&self, keyring: &platform::Keyring, jid: &str, password: &str) {
        let file = self.files.path(jid);
        let moved = match self.call(jid, keyring.set(jid, password)).await {
            Ok(()) => self.files.delete(jid).map_err(SecretsError::from),
            Err(e) => Err(e),
        };
        match moved {
            Ok(_) => tracing::info!(
                account = %jid,
                "moved the password from {} into {}", file.display(), platform::describe()
            ),
            Err(e) => tracing::warn!(
                account = %jid,
                "could not move the password from {} into the keyring: {e}", file.display()
            ),
        }
    }

    /// Run a keyring call with the time limit.
    async fn call<T>(
        &self,
        jid: &str,
        call: impl Future<Output = Result<T, KeyringError>>,
    ) -> Result<T, SecretsError> {
        let failed = |detail: String| SecretsError::Keyring {
            jid: jid.to_owned(),
            place: platform::describe(),
            detail,
        };
        match tokio::time::timeout(CALL_TIMEOUT, call).await {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(e)) => Err(failed(e.to_string())),
            Err(_) => Err(failed(format!(
                "no answer within {CALL_TIMEOUT:?} (is it locked, waiting for its password?)"
            ))),
        }
    }
}

/// Refuse names that are not bare JIDs with a user part: they name files,
/// so a path separator must never get through, and every password file
/// holds an `@`, which temporary files never do.
fn check(jid: &str) -> Result<(), SecretsError> {
    if jid.contains('@') && !jid.contains(['/', '\\', '\0']) {
        Ok(())
    } else {
        Err(SecretsError::BadName(jid.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_file_store_round_trips_and_reports_a_missing_password() {
        let dir = tempfile::tempdir().unwrap();
        let secrets = Secrets::files_only(dir.path());
        secrets.set("a@example.org", "pw").await.unwrap();
        let password = secrets.get("a@example.org").await.unwrap();
        assert_eq!(format!("{password:?}"), "Password(<redacted>)");
        secrets.delete("a@example.org").await.unwrap();
        let err = secrets.get("a@example.org").await.unwrap_err().to_string();
        assert!(
            err.contains("no password is stored for a@example.org")
                && err.contains(&dir.path().join("passwords").display().to_string()),
            "{err}"
        );
    }

    #[tokio::test]
    async fn names_that_are_not_bare_jids_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let secrets = Secrets::files_only(dir.path());
        for name in ["../x@y", "example.org", "a@b/c", ""] {
            assert!(
                matches!(secrets.set(name, "pw").await, Err(SecretsError::BadName(_))),
                "{name}"
            );
        }
        assert!(!dir.path().join("x@y").exists());
    }
}
