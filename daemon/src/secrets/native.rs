//! The macOS Keychain and the Windows Credential Manager, through the
//! `keyring` crate (v3). Its calls block, so each runs on the blocking
//! pool: the daemon's one runtime thread keeps serving.
//!
//! An entry is a generic password with service [`SERVICE`](super::SERVICE)
//! and account the bare JID on macOS, and the generic credential
//! `JID.wimsy` on Windows (the crate's naming).

use super::{KeyringError, SERVICE};

/// The platform's credential store, known to answer.
#[derive(Debug)]
pub(super) struct Keyring;

/// What is missing when the probe fails, for the fallback warning.
pub(super) const MISSING: &str = "the OS keyring did not answer";

/// Where passwords go, for messages.
pub(super) fn describe() -> String {
    if cfg!(target_os = "macos") {
        format!("the login Keychain (service {SERVICE}, account JID)")
    } else {
        format!("the Windows Credential Manager (JID.{SERVICE})")
    }
}

fn failed(e: keyring::Error) -> KeyringError {
    KeyringError::Failed(e.to_string())
}

/// Run `op` on the entry of `jid` off the runtime thread.
async fn on_entry<T: Send + 'static>(
    jid: &str,
    op: impl FnOnce(keyring::Entry) -> Result<T, keyring::Error> + Send + 'static,
) -> Result<T, KeyringError> {
    let jid = jid.to_owned();
    tokio::task::spawn_blocking(move || keyring::Entry::new(SERVICE, &jid).and_then(op))
        .await
        .map_err(|e| KeyringError::Failed(format!("the keyring call did not finish: {e}")))?
        .map_err(failed)
}

impl Keyring {
    /// Whether the store answers: looking up an entry nobody stores
    /// succeeds with "no entry" where it does.
    pub(super) async fn probe() -> Result<Self, String> {
        on_entry("probe@wimsy.invalid", |entry| match entry.get_password() {
            Ok(_) | Err(keyring::Error::NoEntry) => Ok(()),
            Err(e) => Err(e),
        })
        .await
        .map(|()| Self)
        .map_err(|e| e.to_string())
    }

    /// The password of `jid`, or `None` when the store has none.
    pub(super) async fn get(&self, jid: &str) -> Result<Option<String>, KeyringError> {
        on_entry(jid, |entry| match entry.get_password() {
            Ok(password) => Ok(Some(password)),
            Err(keyring::Error::NoEntry) => Ok(None),
            Err(e) => Err(e),
        })
        .await
    }

    /// Store `password` for `jid`, replacing what was there.
    pub(super) async fn set(&self, jid: &str, password: &str) -> Result<(), KeyringError> {
        let password = password.to_owned();
        on_entry(jid, move |entry| entry.set_password(&password)).await
    }

    /// Remove the entry of `jid`; `true` when there was one.
    pub(super) async fn delete(&self, jid: &str) -> Result<bool, KeyringError> {
        on_entry(jid, |entry| match entry.delete_credential() {
            Ok(()) => Ok(true),
            Err(keyring::Error::NoEntry) => Ok(false),
            Err(e) => Err(e),
        })
        .await
    }
}
