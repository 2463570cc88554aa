//! Platforms without a keyring backend here: the probe says so and the
//! daemon keeps passwords in the fallback files.

use super::KeyringError;

/// Never built: [`Keyring::probe`] always fails.
#[derive(Debug)]
pub(super) struct Keyring;

/// What is missing, for the fallback warning.
pub(super) const MISSING: &str = "no OS keyring is supported on this platform";

/// Where passwords would go, for messages.
pub(super) fn describe() -> String {
    "no keyring".to_owned()
}

impl Keyring {
    pub(super) async fn probe() -> Result<Self, String> {
        Err("none is built in for it".to_owned())
    }

    pub(super) async fn get(&self, _jid: &str) -> Result<Option<String>, KeyringError> {
        Ok(None)
    }

    pub(super) async fn set(&self, _jid: &str, _password: &str) -> Result<(), KeyringError> {
        Err(KeyringError::Failed(MISSING.to_owned()))
    }

    pub(super) async fn delete(&self, _jid: &str) -> Result<bool, KeyringError> {
        Ok(false)
    }
}
