//! Live changes and the snapshot they follow.

use super::*;

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
