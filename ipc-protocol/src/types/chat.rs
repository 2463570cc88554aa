//! Contacts, presence and messages.

use super::*;

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
