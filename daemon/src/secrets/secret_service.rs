//! The freedesktop Secret Service (gnome-keyring, KWallet, KeePassXC) on
//! the session bus, through the `secret-service` crate: async and on the
//! same zbus 5 as the rest of the daemon, so nothing here blocks the
//! runtime and no libdbus is linked. Secrets cross the bus encrypted (the
//! spec's Diffie-Hellman session), so a bus monitor does not see them.
//!
//! An entry is an item in the default collection with the attributes
//! `service` = [`SERVICE`](super::SERVICE) and `username` = the bare JID,
//! the names the `keyring` crates (Rust and Python) use, so
//! `secret-tool lookup service wimsy username JID` finds it.
//!
//! Each operation opens its own bus connection and session and drops them
//! after: the service frees a session when its client disconnects, and a
//! keyring daemon restarted meanwhile is simply found again.

use std::collections::HashMap;

use secret_service::{EncryptionType, Error, SecretService};

use super::{KeyringError, SERVICE};

const ATTRIBUTE_SERVICE: &str = "service";
const ATTRIBUTE_USER: &str = "username";

/// The Secret Service of the session bus, known to answer.
#[derive(Debug)]
pub(super) struct Keyring;

/// What is missing when the probe fails, for the fallback warning.
pub(super) const MISSING: &str = "no usable Secret Service on the session bus";

/// Where passwords go, for messages.
pub(super) fn describe() -> String {
    format!("the Secret Service keyring ({ATTRIBUTE_SERVICE}={SERVICE}, {ATTRIBUTE_USER}=JID)")
}

fn attributes(jid: &str) -> HashMap<&str, &str> {
    HashMap::from([(ATTRIBUTE_SERVICE, SERVICE), (ATTRIBUTE_USER, jid)])
}

fn failed(e: Error) -> KeyringError {
    KeyringError::Failed(match e {
        // Headless, gnome-keyring cannot show its unlock prompt and says
        // it was dismissed: say what the user can do.
        Error::Prompt | Error::PromptDisconnected | Error::Locked => format!(
            "the keyring is locked and was not unlocked ({e}); unlock it (at login, or \
             with `gnome-keyring-daemon --unlock`) and try again"
        ),
        e => e.to_string(),
    })
}

/// A session with the service; the bus connection lives as long as it.
async fn connect() -> Result<SecretService<'static>, Error> {
    // Honours DBUS_SESSION_BUS_ADDRESS, else $XDG_RUNTIME_DIR/bus.
    let conn = zbus::Connection::session().await.map_err(Error::Zbus)?;
    SecretService::connect_with_existing(EncryptionType::Dh, conn).await
}

impl Keyring {
    /// Whether a Secret Service answers on the session bus with a default
    /// collection to keep passwords in; what is missing, when not. A
    /// locked collection is fine: it is unlocked (with a prompt on a
    /// desktop) when a password is first needed.
    pub(super) async fn probe() -> Result<Self, String> {
        let conn = zbus::Connection::session()
            .await
            .map_err(|e| format!("no session bus: {e}"))?;
        let service = SecretService::connect_with_existing(EncryptionType::Dh, conn)
            .await
            .map_err(|e| format!("no answer from org.freedesktop.secrets: {e}"))?;
        service
            .get_default_collection()
            .await
            .map_err(|e| format!("the Secret Service has no default collection: {e}"))?;
        Ok(Self)
    }

    /// The password of `jid`, or `None` when the keyring has none.
    pub(super) async fn get(&self, jid: &str) -> Result<Option<String>, KeyringError> {
        let service = connect().await.map_err(failed)?;
        let found = service
            .search_items(attributes(jid))
            .await
            .map_err(failed)?;
        let item = match (found.unlocked.first(), found.locked.first()) {
            (Some(item), _) => item,
            (None, Some(item)) => {
                item.unlock().await.map_err(failed)?;
                item
            }
            (None, None) => return Ok(None),
        };
        let secret = item.get_secret().await.map_err(failed)?;
        String::from_utf8(secret)
            .map(Some)
            .map_err(|_| KeyringError::Failed(format!("the entry for {jid} is not UTF-8")))
    }

    /// Store `password` for `jid`, replacing what was there.
    pub(super) async fn set(&self, jid: &str, password: &str) -> Result<(), KeyringError> {
        let service = connect().await.map_err(failed)?;
        let collection = service.get_default_collection().await.map_err(failed)?;
        if collection.is_locked().await.map_err(failed)? {
            collection.unlock().await.map_err(failed)?;
        }
        collection
            .create_item(
                &format!("XMPP password for {jid} (Wimsy)"),
                attributes(jid),
                password.as_bytes(),
                true,
                "text/plain",
            )
            .await
            .map_err(failed)?;
        Ok(())
    }

    /// Remove every entry of `jid`; `true` when there was one.
    pub(super) async fn delete(&self, jid: &str) -> Result<bool, KeyringError> {
        let service = connect().await.map_err(failed)?;
        let found = service
            .search_items(attributes(jid))
            .await
            .map_err(failed)?;
        for item in &found.locked {
            item.unlock().await.map_err(failed)?;
        }
        let mut deleted = false;
        for item in found.unlocked.iter().chain(&found.locked) {
            item.delete().await.map_err(failed)?;
            deleted = true;
        }
        Ok(deleted)
    }
}
