//! What a session tells its host, and what the host can tell it.

use std::time::Duration;

use tokio::sync::oneshot;
use xmpp_parsers::jid::{BareJid, FullJid, Jid};

use crate::error::FailureKind;

/// The session's connection state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SessionState {
    /// Not connected because the host asked.
    Offline,
    /// Dialling or logging in (`retry_in` is `None`), or waiting `retry_in`
    /// before attempt number `attempt`.
    Connecting {
        /// Attempts since the last success, this one included.
        attempt: u32,
        /// Waiting this long before the attempt.
        retry_in: Option<Duration>,
        /// Why the previous attempt failed.
        last_error: Option<String>,
    },
    /// Logged in and bound, on a live transport.
    Connected {
        /// Our full JID on this stream.
        jid: FullJid,
        /// The previous session was resumed (XEP-0198): nothing was lost
        /// and nothing needs fetching again.
        resumed: bool,
    },
    /// Not trying: there is no network route, or the retry window is
    /// spent. A network change, a wake or `Connect` tries again.
    WaitingForNetwork {
        /// Why it waits.
        reason: String,
    },
    /// Stopped on a failure only the user can fix; `Connect` tries again.
    Failed {
        /// Which kind.
        kind: FailureKind,
        /// What happened and what to do.
        reason: String,
        /// For a refused certificate: the fingerprint of the one offered
        /// (`SHA256:AB:...`), which the user may check and then trust.
        fingerprint: Option<String>,
    },
}

/// A roster entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RosterItem {
    /// Bare JID.
    pub jid: String,
    /// The name the user gave.
    pub name: Option<String>,
    /// `none`, `to`, `from`, `both`, or `remove` in a push.
    pub subscription: String,
    /// Groups.
    pub groups: Vec<String>,
}

/// The user's own availability, as contacts see it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Availability {
    /// Online, no `<show/>`.
    #[default]
    Available,
    /// `<show>away</show>`.
    Away,
    /// `<show>dnd</show>`.
    DoNotDisturb,
}

/// The presence the session sends now (when online) and at every login.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OwnPresence {
    /// Available, away or do not disturb.
    pub availability: Availability,
    /// Status text shown beside it.
    pub status: Option<String>,
}

/// A presence subscription stanza (RFC 6121 §3), either way.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SubscriptionKind {
    /// Asks to see the other's presence.
    Subscribe,
    /// Lets the other see ours (approves a request).
    Subscribed,
    /// Stops seeing the other's presence, or withdraws a request.
    Unsubscribe,
    /// Stops the other seeing ours, or refuses a request.
    Unsubscribed,
}

/// A roster entry to write (RFC 6121 §2.4): added, or replaced whole.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RosterEdit {
    /// The contact.
    pub jid: BareJid,
    /// The name the user gives; `None` for none.
    pub name: Option<String>,
    /// Groups.
    pub groups: Vec<String>,
}

/// Why a request to the server (a roster change, a subscription answer)
/// did not happen. The words say what to do.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RequestError {
    /// Not online: the request is not kept for later.
    #[error("the account is not connected; try again once it is")]
    NotConnected,
    /// The server answered with an error.
    #[error("the server refused: {0}")]
    Refused(String),
    /// The server did not answer within the request timeout.
    #[error("the server did not answer in time; the change may still happen")]
    NoAnswer,
    /// The stream ended before the server answered.
    #[error("the connection was lost before the server answered; try again once connected")]
    ConnectionLost,
    /// The session is gone (shutting down, or the account was removed).
    #[error("the session has shut down")]
    SessionGone,
}

/// Where the worker answers a request with a reply.
pub type Reply = oneshot::Sender<Result<(), RequestError>>;

/// Which way a received message went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MessageDirection {
    /// From the peer to us.
    Incoming,
    /// From another of our devices to the peer (a carbon copy).
    SentElsewhere,
}

/// A chat message seen on the stream. Its `Debug` leaves out the body.
#[derive(Clone, PartialEq, Eq)]
pub struct ReceivedMessage {
    /// The other party.
    pub peer: BareJid,
    /// In, or out from another device.
    pub direction: MessageDirection,
    /// Text.
    pub body: String,
    /// Sender's time if the message carries one (XEP-0203), else now.
    pub timestamp_ms: i64,
    /// XEP-0359 origin-id.
    pub origin_id: Option<String>,
    /// XEP-0359 stanza-id assigned by our own server.
    pub stanza_id: Option<String>,
    /// The sender asked to be told when it is read (XEP-0333
    /// `<markable/>`): the id a displayed marker for it must name (the
    /// stanza's `id`). `None` for a message that did not ask, or that has
    /// no id.
    pub marker_id: Option<String>,
    /// Part of a catch-up from the server's archive (XEP-0313), reported in
    /// the archive's order: the host should lay it after everything it
    /// has, even if it has it already, so history follows the server's
    /// order. Also set on copies of messages that arrived live during a
    /// catch-up and that the catch-up did not return (they came after it).
    pub archived: bool,
}

impl std::fmt::Debug for ReceivedMessage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReceivedMessage")
            .field("peer", &self.peer)
            .field("direction", &self.direction)
            .field("body_len", &self.body.len())
            .field("timestamp_ms", &self.timestamp_ms)
            .field("origin_id", &self.origin_id)
            .field("stanza_id", &self.stanza_id)
            .field("marker_id", &self.marker_id)
            .field("archived", &self.archived)
            .finish()
    }
}

/// A move of the archive position (XEP-0313), reported with the messages
/// it covers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArchiveStep {
    /// The position this step starts from: the previous step's `to`, or
    /// [`Stored::archive_position`] or the last rewind. A host that stored
    /// another position must not take the step: a batch between them was
    /// not stored, and taking the step would skip it.
    pub from: Option<String>,
    /// The archive id of the newest message covered; pass it back in
    /// [`Stored::archive_position`] at the next start.
    pub to: String,
}

/// Names one [`SessionEvent::Messages`] event, for the host to confirm it
/// stored with [`SessionHandle::stored`](crate::SessionHandle::stored).
/// Unique within one session's life; the host passes it back as it came.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Batch(pub u64);

/// A contact's presence change on one resource.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PresenceUpdate {
    /// The full (or bare) JID it came from.
    pub from: Jid,
    /// Online or gone.
    pub available: bool,
    /// `chat`, `away`, `xa` or `dnd`.
    pub show: Option<String>,
    /// Status text.
    pub status: Option<String>,
}

/// How a "displayed" report names the message read up to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MessageRef {
    /// The `id` of the message's stanza: how a chat marker names it
    /// (XEP-0333), the [`ReceivedMessage::marker_id`] of an incoming one,
    /// the origin-id of one sent from here.
    MarkerId(String),
    /// The stanza-id our own server gave it ([`ReceivedMessage::stanza_id`]):
    /// how message displayed synchronization names it (XEP-0490).
    StanzaId(String),
}

/// A chat was read up to a message, everything before it included.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Displayed {
    /// The other party of the chat.
    pub peer: BareJid,
    /// The newest message read.
    pub up_to: MessageRef,
    /// Read on another device of this account (our own marker, copied to
    /// us by carbons, or our own synchronization node, XEP-0490): the
    /// messages named are ones the peer sent us. `false`: the peer read
    /// what we sent.
    pub by_own_device: bool,
}

/// Where an outgoing message is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeliveryStage {
    /// Written to the stream.
    Sent,
    /// The server acknowledged it (XEP-0198).
    Acked,
    /// The server returned an error for it.
    Failed(String),
}

/// What the session reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SessionEvent {
    /// The connection state changed.
    State(SessionState),
    /// The whole roster, as fetched after login.
    RosterReplaced {
        /// Its version (XEP-0237), to pass back next time.
        ver: Option<String>,
        /// Every entry.
        items: Vec<RosterItem>,
    },
    /// The roster has not changed since the version we gave.
    RosterUnchanged,
    /// The server pushed one roster change.
    RosterPushed {
        /// The new version.
        ver: Option<String>,
        /// The entry (`subscription == "remove"` to delete it).
        item: RosterItem,
    },
    /// A contact's presence.
    Presence(PresenceUpdate),
    /// A subscription stanza from someone: `Subscribe` is a request to see
    /// our presence (servers deliver pending ones again at each login, RFC
    /// 6121 §3.1.3, so the host need not keep them), `Unsubscribe`
    /// withdraws it (or ends theirs); `Subscribed`/`Unsubscribed` answer
    /// ours (the roster push that follows says the same).
    Subscription {
        /// Bare JID of the sender.
        from: BareJid,
        /// Which stanza.
        kind: SubscriptionKind,
    },
    /// Chat messages (incoming, or carbons of ones sent elsewhere): store
    /// them together and then, in the same transaction, move the archive
    /// position as `archive_position` says (when `Some`), so the position
    /// never gets ahead of what is stored. Live messages that arrive
    /// together (already readable from the stream, up to 500) come as one
    /// event, ended early by anything else that arrives, so events keep
    /// the stream's order; a catch-up reports each archive page as one
    /// event at the page's end (possibly with no messages, when only the
    /// position moves).
    ///
    /// Once they are stored, a host that set
    /// [`SessionConfig::confirm_stored`](crate::SessionConfig::confirm_stored)
    /// calls [`SessionHandle::stored`](crate::SessionHandle::stored) with
    /// `batch`: until then the server is not told we have them. If the
    /// host cannot store them, it must not confirm, and must call
    /// [`SessionHandle::rewind_archive`](crate::SessionHandle::rewind_archive)
    /// with the position it has, so the next catch-up fetches them again.
    Messages {
        /// In the order they arrived (a catch-up's in archive order).
        messages: Vec<ReceivedMessage>,
        /// How the archive position moves once they are stored.
        archive_position: Option<ArchiveStep>,
        /// Names this event for [`SessionHandle::stored`](crate::SessionHandle::stored).
        batch: Batch,
    },
    /// Catching up from the archive began: the messages that follow,
    /// live ones included, arrive while the archive is being read (after a
    /// time offline, many may come at once).
    CatchUpStarted,
    /// A catch-up ended without reading the whole archive: the server
    /// refused it, did not answer in time, or answered what does not
    /// parse. The next fresh session tries again from the stored position.
    CatchUpStopped,
    /// Catching up from the archive finished, and what our other devices
    /// read meanwhile (our synchronization node, XEP-0490) was reported
    /// before it as [`SessionEvent::Displayed`].
    CatchUpDone {
        /// Messages fetched (duplicates of known ones included).
        fetched: u32,
    },
    /// A chat was read up to a message, here or by the peer (XEP-0333
    /// displayed markers, XEP-0490 synchronization). Markers that arrive
    /// during a catch-up may name a message the host has not stored yet.
    Displayed(Displayed),
    /// An outgoing message moved on.
    Delivery {
        /// The host's token from [`OutgoingMessage::token`].
        token: i64,
        /// Where it is now.
        stage: DeliveryStage,
    },
}

/// A message the host wants sent. Its `Debug` leaves out the body.
#[derive(Clone, PartialEq, Eq)]
pub struct OutgoingMessage {
    /// The host's id for it, echoed in [`SessionEvent::Delivery`].
    pub token: i64,
    /// Recipient.
    pub to: Jid,
    /// Text.
    pub body: String,
    /// XEP-0359 origin-id; also the stanza id, so errors can be matched and
    /// a resend is recognised as the same message.
    pub origin_id: String,
    /// Set when the message may already have reached the server: it was
    /// written to a stream that ended before the server acknowledged it
    /// (the host sets it for messages a previous run wrote, the session for
    /// its own). Before resending such a message the session looks for it
    /// (by origin-id) among our own messages in the server's archive from
    /// this time on (ms since the epoch, by our clock), and does not send
    /// it again if it is there.
    pub in_doubt_since_ms: Option<i64>,
}

impl std::fmt::Debug for OutgoingMessage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OutgoingMessage")
            .field("token", &self.token)
            .field("to", &self.to)
            .field("body_len", &self.body.len())
            .field("origin_id", &self.origin_id)
            .field("in_doubt_since_ms", &self.in_doubt_since_ms)
            .finish()
    }
}

/// What the host can ask of a session.
#[derive(Debug)]
pub enum Command {
    /// Go online (and retry until online or failed).
    Connect,
    /// Go offline and stay there.
    Disconnect,
    /// Send a message now or as soon as online.
    Send(OutgoingMessage),
    /// The network may have changed or the machine woke up: probe the
    /// stream now (and drop it if it does not answer in time), or retry at
    /// once if not connected.
    CheckNow,
    /// Tell the server whether the user is looking (XEP-0352).
    SetActive(bool),
    /// Whether the machine has a network route. Without one the session
    /// waits instead of burning attempts; when one returns it retries at
    /// once.
    NetworkAvailable(bool),
    /// Add or replace a roster entry; answered when the server has.
    SetRosterItem {
        /// The entry.
        item: RosterEdit,
        /// The outcome.
        reply: Reply,
    },
    /// Remove a roster entry (the server also ends both subscriptions);
    /// answered when the server has.
    RemoveRosterItem {
        /// The contact.
        jid: BareJid,
        /// The outcome.
        reply: Reply,
    },
    /// Send a subscription stanza; answered once it is written.
    SendSubscription {
        /// The contact.
        to: BareJid,
        /// Which stanza.
        kind: SubscriptionKind,
        /// The outcome.
        reply: Reply,
    },
    /// Our presence from now on: sent at once when online, and at every
    /// login.
    SetPresence(OwnPresence),
    /// The user read the chat with `peer`: tell the peer and our other
    /// devices. Sent at once when online; else the newest per peer waits
    /// for the next login.
    MarkDisplayed(MarkDisplayed),
    /// The host stored this [`SessionEvent::Messages`] batch: the count
    /// of stanzas we report handled (XEP-0198) may now include it.
    Stored(Batch),
    /// The host could not store what came with an archive step: the
    /// position is this one, and the next catch-up starts from it.
    RewindArchive(Option<String>),
    /// Close everything and end the worker; answered when done.
    Shutdown(oneshot::Sender<()>),
}

/// What to send when the user has read a chat.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MarkDisplayed {
    /// The other party.
    pub peer: BareJid,
    /// Send the peer a displayed marker (XEP-0333) naming this id (the
    /// [`ReceivedMessage::marker_id`] of the newest message read that asked
    /// for one). Carbons and the archive copy it to our other devices.
    pub marker_id: Option<String>,
    /// Publish this stanza-id (of the newest message read) to our own
    /// synchronization node (XEP-0490), which only our devices can read.
    pub stanza_id: Option<String>,
}

/// What the host kept from earlier runs.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Stored {
    /// The roster version (XEP-0237).
    pub roster_ver: Option<String>,
    /// The last archive position the host stored (an [`ArchiveStep::to`]).
    pub archive_position: Option<String>,
}
