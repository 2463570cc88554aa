//! What the daemon answers: frames, answers and errors.

use super::*;

/// One frame from the daemon to a frontend.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ServerFrame {
    /// The answer to the request with the same id.
    Response {
        /// The request's id.
        id: u64,
        /// The answer.
        result: Response,
    },
    /// A request failed, or (with no id) the connection itself did.
    Error {
        /// The failed request's id; absent for frame-level errors.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        id: Option<u64>,
        /// What went wrong.
        error: ErrorBody,
    },
    /// A live change, sent to subscribed connections in `seq` order.
    Event {
        /// Daemon-wide event number, one more than the previous event's.
        seq: u64,
        /// The change.
        event: Event,
    },
    /// A frame `type` this version does not know (a newer daemon's): skip it.
    #[serde(other)]
    Unknown,
}

/// Successful answers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Response {
    /// The answer to [`Request::Hello`].
    Hello {
        /// The daemon's [`crate::PROTOCOL_VERSION`].
        protocol: u32,
        /// The daemon's name and version.
        daemon: String,
    },
    /// The request was carried out; nothing to report.
    Done,
    /// The answer to [`Request::Status`].
    Status {
        /// Every account.
        accounts: Vec<AccountStatus>,
        /// Whether desktop notifications can be shown; absent from a
        /// daemon that does not show them.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        notifier: Option<NotifierStatus>,
    },
    /// The answer to [`Request::AccountList`].
    Accounts {
        /// Every configured account.
        accounts: Vec<AccountInfo>,
    },
    /// The answer to [`Request::Roster`].
    Roster {
        /// The account.
        account: String,
        /// Its contacts.
        contacts: Vec<Contact>,
        /// Bare JIDs asking to see our presence, not answered yet.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        subscription_requests: Vec<String>,
    },
    /// The answer to [`Request::Send`]: the message as stored.
    Sent {
        /// The account.
        account: String,
        /// The stored message, with its id and delivery state.
        message: ChatMessage,
    },
    /// The answer to [`Request::History`].
    History {
        /// The account.
        account: String,
        /// The other party.
        peer: String,
        /// Newest first.
        messages: Vec<ChatMessage>,
        /// Pass as `before` to get the next (older) page; absent at the start
        /// of the conversation.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        next_before: Option<String>,
    },
    /// The answer to [`Request::Subscribe`]; events follow.
    Subscribed {
        /// The state as of event number `snapshot.seq`.
        snapshot: Snapshot,
    },
    /// The answer to [`Request::SettingsGet`] and [`Request::SettingsSet`].
    Settings {
        /// Every setting asked for (for `settings_set`, the changed one).
        settings: Vec<Setting>,
    },
    /// An answer `kind` this version does not know (a newer daemon's). The
    /// request was carried out; what the answer said cannot be read.
    #[serde(other)]
    Unknown,
}

/// A typed error: match on `code`, show `message`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    /// Machine-readable kind.
    pub code: ErrorCode,
    /// Human-readable: what failed and what the user can do.
    pub message: String,
}

impl ErrorBody {
    /// Build an error body.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
        }
    }
}

impl fmt::Display for ErrorBody {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

/// Error kinds. New codes may appear; unknown ones read as `unknown`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// Not a JSON object, not UTF-8, or missing `id`/`op`.
    BadFrame,
    /// A frame longer than [`crate::MAX_FRAME_BYTES`]; the connection closes.
    FrameTooLarge,
    /// A request before `hello`.
    HandshakeRequired,
    /// Client and daemon speak different protocol versions.
    ProtocolMismatch,
    /// An `op` this daemon does not know.
    UnknownRequest,
    /// A field is missing or has the wrong shape.
    InvalidArgument,
    /// A JID that is not valid.
    InvalidJid,
    /// No such account.
    UnknownAccount,
    /// The account is already configured.
    AccountExists,
    /// `account` left out while several accounts exist.
    AccountRequired,
    /// The message store failed.
    Storage,
    /// The daemon failed in a way it did not expect.
    Internal,
    /// The answer to [`Request::Fail`].
    TestFailure,
    /// The daemon is stopping.
    ShuttingDown,
    /// This connection fell too far behind the event stream and is closed;
    /// reconnect and subscribe again.
    Lagged,
    /// The request needs the account online (a roster change, a
    /// subscription answer) and it is not.
    NotConnected,
    /// The XMPP server refused the request or did not answer it.
    ServerError,
    /// [`Request::SettingsGet`] or [`Request::SettingsSet`] named a key
    /// this daemon does not have; the message lists the keys it has.
    UnknownSetting,
    /// A code this version does not know.
    #[serde(other)]
    Unknown,
}
