//! Accounts and how their connections are.

use super::*;

/// How an account's connection is, with a human reason beside it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConnectionStatus {
    /// The state.
    pub state: ConnectionState,
    /// Human-readable detail ("authentication failed: not-authorized", ...).
    #[serde(default)]
    pub reason: String,
    /// For `error`: which kind, so a frontend can offer the right action.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<ConnectionError>,
    /// For `connecting`: the attempt number since the last success.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attempt: Option<u32>,
    /// For `connecting` while waiting: milliseconds until the next attempt.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_in_ms: Option<u64>,
    /// For `error` with `certificate`: the SHA-256 fingerprint of the
    /// certificate the server offered (`SHA256:AB:CD:...`), to check out of
    /// band and pass to [`Request::AccountTrust`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fingerprint: Option<String>,
}

impl ConnectionStatus {
    /// A status with only a state and a reason.
    pub fn new(state: ConnectionState, reason: impl Into<String>) -> Self {
        Self {
            state,
            reason: reason.into(),
            error: None,
            attempt: None,
            retry_in_ms: None,
            fingerprint: None,
        }
    }
}

/// The five connection states, spelled as users and scripts see them (and
/// [`ConnectionState::Unknown`] for one a newer daemon added).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ConnectionState {
    /// Logged in, stream open.
    Connected,
    /// Dialling, negotiating, or waiting for the next attempt.
    Connecting,
    /// No network route; waiting for one.
    WaitingForNetwork,
    /// Not connected because the user asked.
    Offline,
    /// Stopped on an error the user must act on.
    Error,
    /// A state this version does not know (a newer daemon's): show the
    /// status's `reason`, offer no action.
    #[serde(other)]
    Unknown,
}

impl ConnectionState {
    /// The word used in JSON and in human output.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Connected => "connected",
            Self::Connecting => "connecting",
            Self::WaitingForNetwork => "waiting_for_network",
            Self::Offline => "offline",
            Self::Error => "error",
            Self::Unknown => "unknown",
        }
    }
}

/// Why an account is in the `error` state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ConnectionError {
    /// Wrong password or account unknown to the server.
    Authentication,
    /// The server's certificate was not trusted.
    Certificate,
    /// The server could not be found or reached.
    Network,
    /// Another client took over this resource, or the server closed the
    /// stream with an error.
    Stream,
    /// The server spoke something we could not follow.
    Protocol,
    /// A kind this version does not know.
    #[serde(other)]
    Other,
}

/// One account in [`Response::Status`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountStatus {
    /// Bare JID.
    pub jid: String,
    /// Connection state.
    pub status: ConnectionStatus,
    /// Unread messages over all chats.
    #[serde(default)]
    pub unread: u32,
}

/// One account in [`Response::Accounts`]. The password is never included.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountInfo {
    /// Bare JID.
    pub jid: String,
    /// `host:port` override, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server: Option<String>,
    /// Extra CA file, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca_file: Option<String>,
    /// The SHA-256 fingerprint of the one server certificate this account
    /// accepts (`SHA256:AB:CD:...`), when the user pinned one with
    /// [`Request::AccountTrust`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pinned_fingerprint: Option<String>,
}
