//! Every message that crosses the socket, as Rust types.
//!
//! Compatibility rules (see docs/ipc-protocol.md): names are never renamed;
//! a new field always has a serde default so older peers keep parsing; a
//! change that breaks either rule bumps [`crate::PROTOCOL_VERSION`].

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::attention::{Mute, NotifierStatus};
use crate::settings::{Setting, SettingValue};

/// One frame from a frontend to the daemon: a request with the id its
/// answer will carry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClientFrame {
    /// Chosen by the client; echoed in the response or error.
    pub id: u64,
    /// What is asked.
    #[serde(flatten)]
    pub request: Request,
}

/// What a frontend can ask of the daemon. `account` fields may be left out
/// when the daemon has exactly one account.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum Request {
    /// Must be the first frame on a connection.
    Hello {
        /// The client's [`crate::PROTOCOL_VERSION`].
        protocol: u32,
        /// What kind of frontend this is.
        role: Role,
        /// Free-form client name and version, for logs.
        #[serde(default)]
        client: String,
    },
    /// Every account with its connection state.
    Status,
    /// Add an account and connect it.
    AccountAdd {
        /// Bare JID, `user@domain`.
        jid: String,
        /// Kept by the daemon; never sent back.
        password: Secret,
        /// `host` or `host:port` to dial instead of the JID's domain.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        server: Option<String>,
        /// A PEM file of extra CA certificates trusted for this account only.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        ca_file: Option<String>,
    },
    /// The configured accounts.
    AccountList,
    /// Disconnect and forget an account (its history stays on disk).
    AccountRemove {
        /// Bare JID of the account.
        jid: String,
    },
    /// Trust the server certificate with this fingerprint for this account
    /// from now on (and no other), then reconnect it. Meant for a server
    /// with a self-signed certificate, after the user has checked the
    /// fingerprint a `certificate` error reported.
    AccountTrust {
        /// Bare JID of the account.
        jid: String,
        /// SHA-256 of the certificate: `SHA256:AB:CD:...` as reported, or
        /// bare hex, any case.
        fingerprint: String,
    },
    /// Replace an account's password and log in again with it. The
    /// account keeps its settings, pinned certificate and history. An
    /// account that could not start because its password was unreadable
    /// starts now.
    AccountPassword {
        /// Bare JID of the account.
        jid: String,
        /// The new password; kept by the daemon, never sent back.
        password: Secret,
    },
    /// Go online (one account, or all).
    Connect {
        /// Bare JID; all accounts when absent.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        account: Option<String>,
    },
    /// Go offline (one account, or all) until told to connect again.
    Disconnect {
        /// Bare JID; all accounts when absent.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        account: Option<String>,
    },
    /// The account's roster with presence.
    Roster {
        /// Bare JID of the account.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        account: Option<String>,
    },
    // Roster and own presence: the answers come once the server has
    // taken the change (the daemon waits for it).
    /// Add a contact: a roster entry, and a request to see their presence
    /// (subscribe).
    RosterAdd {
        /// Bare JID of the account.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        account: Option<String>,
        /// The contact's bare JID.
        jid: String,
        /// The name to show for them.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        name: Option<String>,
    },
    /// Give a contact another name (an empty one removes it); the
    /// groups stay.
    RosterRename {
        /// Bare JID of the account.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        account: Option<String>,
        /// The contact's bare JID.
        jid: String,
        /// The new name.
        name: String,
    },
    /// Remove a contact; the server ends the subscriptions both ways.
    RosterRemove {
        /// Bare JID of the account.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        account: Option<String>,
        /// The contact's bare JID.
        jid: String,
    },
    /// Answer a request to see our presence. Accepting approves it and,
    /// if we do not see theirs yet, asks to see theirs; denying refuses it.
    SubscriptionAnswer {
        /// Bare JID of the account.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        account: Option<String>,
        /// Who asked.
        jid: String,
        /// `true` to accept, `false` to deny.
        accept: bool,
    },
    /// The user's own presence, kept by the daemon (across restarts) and
    /// sent at every login.
    SetPresence {
        /// Bare JID of the account; every account when absent.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        account: Option<String>,
        /// Available, away or do not disturb.
        show: Show,
        /// Status text shown beside it.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        status: Option<String>,
    },
    /// Send a 1:1 chat message. It is stored before it is sent.
    Send {
        /// Bare JID of the account.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        account: Option<String>,
        /// Recipient JID.
        to: String,
        /// Message text.
        body: String,
    },
    /// One page of a conversation, newest first.
    History {
        /// Bare JID of the account.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        account: Option<String>,
        /// The other party's bare JID.
        peer: String,
        /// Page size (default 50, at most [`crate::MAX_HISTORY_PAGE`]).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        limit: Option<u32>,
        /// A `next_before` cursor from a previous page.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        before: Option<String>,
    },
    /// The user has read a chat: its unread count goes to zero.
    MarkRead {
        /// Bare JID of the account.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        account: Option<String>,
        /// The other party's bare JID.
        peer: String,
    },
    /// Receive a [`Snapshot`] now and every [`Event`] after it.
    Subscribe,
    /// Whether this frontend shows a window the user can see. While no
    /// connection says `true`, the daemon tells servers the user is not
    /// looking (XEP-0352), which saves battery and bandwidth. It holds for
    /// the life of the connection. The same as [`Request::SetView`] with
    /// `focused: false` and no chat.
    SetVisibility {
        /// A window of this frontend is visible.
        visible: bool,
    },
    // Settings, the window's view and retrying a failed message.
    /// The settings the daemon offers (all, or the one named), answered
    /// with [`Response::Settings`].
    SettingsGet {
        /// One setting's key; every setting when absent.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        key: Option<String>,
    },
    /// Change a setting; answered with [`Response::Settings`] holding the
    /// changed one, and every subscriber gets [`Event::Setting`]. A bool
    /// setting also takes the strings `true`/`false`, `yes`/`no`,
    /// `on`/`off`.
    SettingsSet {
        /// The setting's key.
        key: String,
        /// Its new value.
        value: SettingValue,
    },
    /// What this frontend shows: whether a window is visible, whether it
    /// has the focus, and which chat is open in it. Replaces what an
    /// earlier `set_view` or `set_visibility` on the same connection said,
    /// and holds until the connection closes. While no connection is
    /// visible the daemon tells servers the user is not looking
    /// (XEP-0352); a focused window on a chat is not notified about it.
    SetView {
        /// A window of this frontend is visible.
        visible: bool,
        /// That window has the keyboard focus.
        #[serde(default)]
        focused: bool,
        /// The chat open in it, if any.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        chat: Option<ChatRef>,
    },
    /// Send a `failed` outgoing message again: it goes back to `queued`
    /// and out as any send ([`Event::Delivery`] follows each step).
    /// Answered with [`Response::Sent`].
    Retry {
        /// Bare JID of the account.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        account: Option<String>,
        /// [`ChatMessage::id`] of the failed message.
        message_id: i64,
    },
    /// Mute a chat: its messages no longer bring up notifications (they
    /// are still stored and counted as unread). Replaces an earlier mute of
    /// the same chat; every subscriber gets [`Event::Muted`].
    Mute {
        /// Bare JID of the account.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        account: Option<String>,
        /// The other party's bare JID.
        peer: String,
        /// When the mute ends by itself (ms since the epoch, in the
        /// future); absent: until [`Request::Unmute`].
        #[serde(default, skip_serializing_if = "Option::is_none")]
        until_ms: Option<i64>,
    },
    /// End a chat's mute; every subscriber gets [`Event::Unmuted`]. A chat
    /// that is not muted is left as it is, and the answer is still `done`.
    Unmute {
        /// Bare JID of the account.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        account: Option<String>,
        /// The other party's bare JID.
        peer: String,
    },
    /// Bring a chat window to the user: an attached one is told to come
    /// forward ([`Event::ShowWindow`]); with none attached, the daemon
    /// starts one. What a tray's click asks.
    ShowWindow,
    /// Stop the daemon cleanly (every session closed, store flushed).
    Quit,
    /// Always answered with the error `test_failure`, so that frontends can
    /// test their error paths.
    Fail,
}

/// A chat of an account, as [`Request::SetView`] names it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ChatRef {
    /// Bare JID of the account.
    pub account: String,
    /// The other party's bare JID.
    pub peer: String,
}

/// The kind of frontend, told in [`Request::Hello`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// The `wimsy` window.
    Gui,
    /// The `wimsy-tray` icon.
    Tray,
    /// `wimsyctl` or a script.
    Cli,
    /// Anything this version does not know.
    #[serde(other)]
    Other,
}

/// A password travelling to the daemon; its `Debug` never shows it.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    /// Wrap a password.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }
    /// The password itself; call only where it is needed.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

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

/// A roster entry with its presence.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Contact {
    /// Bare JID.
    pub jid: String,
    /// Name the user gave, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// `none`, `to`, `from` or `both`.
    pub subscription: String,
    /// Roster groups.
    #[serde(default)]
    pub groups: Vec<String>,
    /// Best presence over the contact's resources.
    #[serde(default)]
    pub presence: PresenceView,
}

/// A contact's presence as shown to the user.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PresenceView {
    /// At least one resource is online.
    pub available: bool,
    /// `chat`, `away`, `xa` or `dnd`; absent for plain online.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub show: Option<String>,
    /// Free-form status text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
}

/// The user's own availability (see [`OwnPresence`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Show {
    /// Online.
    #[default]
    Available,
    /// Away.
    Away,
    /// Do not disturb.
    Dnd,
    /// A value this version does not know (a newer peer's): show it as
    /// available; the daemon refuses it in a request.
    #[serde(other)]
    Unknown,
}

impl Show {
    /// The word used in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Available => "available",
            Self::Away => "away",
            Self::Dnd => "dnd",
            Self::Unknown => "unknown",
        }
    }
}

/// The presence the user chose for an account, as contacts see it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct OwnPresence {
    /// Available, away or do not disturb.
    #[serde(default)]
    pub show: Show,
    /// Status text shown beside it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
}

impl OwnPresence {
    /// Available with no status: what an account has until the user
    /// chooses (and what an absent `presence` means).
    pub fn is_default(&self) -> bool {
        *self == Self::default()
    }
}

/// Which way a message went.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    /// From the peer to us.
    In,
    /// From us (this or another of our devices) to the peer.
    Out,
    /// A direction this version does not know (a newer daemon's).
    #[serde(other)]
    Unknown,
}

/// Where a message is on its way.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Delivery {
    /// Incoming, stored.
    Received,
    /// Outgoing, stored, not yet written to a live stream.
    Queued,
    /// Written to the stream, not yet acknowledged by the server.
    Sent,
    /// The server acknowledged it (XEP-0198).
    Acked,
    /// The server rejected it; see the event's reason.
    Failed,
    /// A stage this version does not know (a newer daemon's): keep showing
    /// the last known one.
    #[serde(other)]
    Unknown,
}

/// A stored chat message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChatMessage {
    /// The store's id, stable for the life of the message.
    pub id: i64,
    /// The other party's bare JID.
    pub peer: String,
    /// In or out.
    pub direction: Direction,
    /// Text.
    pub body: String,
    /// When it was sent, by the sender's or server's clock (ms since the epoch).
    pub timestamp_ms: i64,
    /// XEP-0359 origin-id, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub origin_id: Option<String>,
    /// XEP-0359 stanza-id assigned by our server, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stanza_id: Option<String>,
    /// Delivery state.
    pub delivery: Delivery,
}

/// A live change.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Event {
    /// An account was added.
    AccountAdded {
        /// Bare JID.
        account: String,
        /// Its status at once.
        status: ConnectionStatus,
    },
    /// An account was removed.
    AccountRemoved {
        /// Bare JID.
        account: String,
    },
    /// An account's connection state changed.
    Connection {
        /// Bare JID.
        account: String,
        /// The new status.
        status: ConnectionStatus,
    },
    /// A message was stored (incoming, or outgoing from any frontend).
    Message {
        /// Bare JID.
        account: String,
        /// The stored message.
        message: ChatMessage,
    },
    /// An outgoing message moved on its way.
    Delivery {
        /// Bare JID.
        account: String,
        /// [`ChatMessage::id`].
        message_id: i64,
        /// The new state.
        delivery: Delivery,
        /// For `failed`: why.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reason: Option<String>,
    },
    /// A roster entry was added or changed (presence included).
    Contact {
        /// Bare JID.
        account: String,
        /// The entry as it is now.
        contact: Contact,
    },
    /// A roster entry was removed.
    ContactRemoved {
        /// Bare JID.
        account: String,
        /// The contact's bare JID.
        jid: String,
    },
    /// Someone asks to see the account's presence; answer with
    /// [`Request::SubscriptionAnswer`]. A request still pending is told
    /// again after each login.
    SubscriptionRequest {
        /// Bare JID.
        account: String,
        /// Who asks.
        jid: String,
    },
    /// A request is no longer pending: answered here or on another device,
    /// or withdrawn.
    SubscriptionRequestGone {
        /// Bare JID.
        account: String,
        /// Who had asked.
        jid: String,
    },
    /// The account's own presence changed (by any frontend).
    OwnPresence {
        /// Bare JID.
        account: String,
        /// The presence now.
        presence: OwnPresence,
    },
    /// A chat's unread count changed.
    Unread {
        /// Bare JID.
        account: String,
        /// The other party.
        peer: String,
        /// The new count.
        count: u32,
    },
    /// A setting changed.
    Setting {
        /// The setting's key.
        key: String,
        /// Its new value.
        value: SettingValue,
    },
    /// A chat was muted (or its mute changed).
    Muted {
        /// Bare JID.
        account: String,
        /// The mute as it is now.
        mute: Mute,
    },
    /// A chat's mute ended: unmuted by the user, or its time ran out.
    Unmuted {
        /// Bare JID.
        account: String,
        /// The other party.
        peer: String,
    },
    /// The user asked to see this chat (clicked its notification, say). A
    /// frontend with a chat window opens the chat there and raises the
    /// window; others ignore it.
    OpenChat {
        /// Bare JID.
        account: String,
        /// The other party.
        peer: String,
    },
    /// The user asked to see the window (the tray was clicked): a
    /// frontend with a window brings it forward; others ignore it.
    ShowWindow,
    /// Whether desktop notifications can be shown changed.
    Notifier {
        /// The state now.
        status: NotifierStatus,
    },
    /// The daemon is stopping; the connection will close.
    ShuttingDown,
    /// An event `kind` this version does not know (a newer daemon's): its
    /// number counts, nothing else changes.
    #[serde(other)]
    Unknown,
}

/// Everything a frontend needs to draw, as of event number `seq`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Snapshot {
    /// Events with a higher number follow.
    pub seq: u64,
    /// Every account.
    pub accounts: Vec<AccountSnapshot>,
    /// Every setting the daemon offers, in the order to show them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub settings: Vec<Setting>,
    /// Whether desktop notifications can be shown; absent from a daemon
    /// that does not show them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notifier: Option<NotifierStatus>,
}

/// One account's part of a [`Snapshot`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AccountSnapshot {
    /// Bare JID.
    pub jid: String,
    /// Connection state.
    pub status: ConnectionStatus,
    /// Roster with presence.
    #[serde(default)]
    pub contacts: Vec<Contact>,
    /// Chats with their newest message, newest first.
    #[serde(default)]
    pub chats: Vec<ChatSummary>,
    /// Bare JIDs asking to see our presence, not answered yet.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub subscription_requests: Vec<String>,
    /// The presence the user chose; absent means available with no
    /// status.
    #[serde(default, skip_serializing_if = "OwnPresence::is_default")]
    pub presence: OwnPresence,
    /// Muted chats.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub mutes: Vec<Mute>,
}

/// A chat in the chat list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChatSummary {
    /// The other party.
    pub peer: String,
    /// Its newest message.
    pub last: ChatMessage,
    /// Unread messages in it.
    pub unread: u32,
}

/// All unread counts of an account, peer to count.
pub type UnreadCounts = BTreeMap<String, u32>;
