//! What a frontend sends: requests and their frames.

use super::*;

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
