//! What decides whether the user is interrupted: muted chats and the state
//! of the desktop's notification server.

use serde::{Deserialize, Serialize};

/// A muted chat: its messages are stored and counted as unread, but never
/// bring up a notification.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Mute {
    /// The other party's bare JID.
    pub peer: String,
    /// When the mute ends by itself (ms since the epoch); absent: until
    /// the user unmutes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub until_ms: Option<i64>,
}

/// Whether the daemon can show desktop notifications, and what that means
/// for the user.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NotifierStatus {
    /// The short answer.
    pub state: NotifierState,
    /// What it means and what to do, in words to show as they are.
    pub detail: String,
}

/// How well notifications work on this desktop.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NotifierState {
    /// Notifications show, and clicking one opens its chat.
    Ready,
    /// Notifications show, but the server offers no actions: clicking one
    /// cannot open its chat.
    NoActions,
    /// No notification server answers: none are shown (messages are still
    /// received and stored).
    Missing,
    /// Not asked yet (no notification was needed so far).
    Unchecked,
    /// A state this version does not know (a newer daemon's); show
    /// `detail`.
    #[serde(other)]
    Unknown,
}
