//! One XMPP account's session, on tokio-xmpp's connect, xmlstream and login
//! layers with a stream-management worker of our own.
//!
//! The host (the daemon, a test, some day an Android service) spawns a
//! session, sends it [`Command`]s through a [`SessionHandle`] and receives
//! [`SessionEvent`]s. This crate knows nothing of IPC, storage or desktops.

mod caps;
mod config;
mod connect;
mod error;
mod events;
mod fingerprint;
mod inbound;
mod login;
mod mam;
mod markers;
mod names;
pub mod policy;
mod tls;
mod worker;

pub use config::{AccountConfig, Backoff, Password, ServerOverride, SessionConfig, Timeouts};
pub use error::{FailureKind, LoginRefusal, SessionError};
pub use events::{
    ArchiveStep, Availability, Batch, Command, DeliveryStage, Displayed, MarkDisplayed,
    MessageDirection, MessageRef, OutgoingMessage, OwnPresence, PresenceUpdate, ReceivedMessage,
    Reply, RequestError, RosterEdit, RosterItem, SessionEvent, SessionState, Stored,
    SubscriptionKind,
};
pub use fingerprint::{Fingerprint, FingerprintError};
pub use xmpp_parsers::jid::{BareJid, FullJid, Jid};

use tokio::sync::{mpsc, oneshot};

/// The session's worker is gone (it shut down).
#[derive(Debug, Clone, Copy, thiserror::Error)]
#[error("the session has shut down")]
pub struct SessionGone;

/// Commands into a running session.
#[derive(Debug, Clone)]
pub struct SessionHandle {
    commands: mpsc::UnboundedSender<Command>,
}

impl SessionHandle {
    /// Go online, retrying per the policy until online or failed.
    pub fn connect(&self) -> Result<(), SessionGone> {
        self.command(Command::Connect)
    }

    /// Go offline until told to connect.
    pub fn disconnect(&self) -> Result<(), SessionGone> {
        self.command(Command::Disconnect)
    }

    /// Send a message now, or once online.
    pub fn send(&self, message: OutgoingMessage) -> Result<(), SessionGone> {
        self.command(Command::Send(message))
    }

    /// Probe the stream now (after a wake or a network change), or retry
    /// at once when not connected.
    pub fn check_now(&self) -> Result<(), SessionGone> {
        self.command(Command::CheckNow)
    }

    /// Tell the session whether the machine has a network route.
    pub fn network_available(&self, available: bool) -> Result<(), SessionGone> {
        self.command(Command::NetworkAvailable(available))
    }

    /// Tell the server whether the user is looking (XEP-0352).
    pub fn set_active(&self, active: bool) -> Result<(), SessionGone> {
        self.command(Command::SetActive(active))
    }

    /// Our presence from now on: sent at once when online, and at every
    /// login (replacing plain "available").
    pub fn set_presence(&self, presence: OwnPresence) -> Result<(), SessionGone> {
        self.command(Command::SetPresence(presence))
    }

    /// The user read a chat: send a displayed marker to the peer and
    /// publish it to our other devices, as `displayed` says. Sent at once
    /// when online, else at the next login (only the newest per peer).
    pub fn mark_displayed(&self, displayed: MarkDisplayed) -> Result<(), SessionGone> {
        self.command(Command::MarkDisplayed(displayed))
    }

    /// Add or replace a roster entry (RFC 6121 §2.4), waiting for the
    /// server's answer. Refused at once when not online.
    pub async fn set_roster_item(&self, item: RosterEdit) -> Result<(), RequestError> {
        self.ask(|reply| Command::SetRosterItem { item, reply })
            .await
    }

    /// Remove a roster entry (RFC 6121 §2.5), waiting for the server's
    /// answer. Refused at once when not online.
    pub async fn remove_roster_item(&self, jid: BareJid) -> Result<(), RequestError> {
        self.ask(|reply| Command::RemoveRosterItem { jid, reply })
            .await
    }

    /// Send a subscription stanza (RFC 6121 §3) to `to`; done once it is
    /// written. Refused at once when not online.
    pub async fn send_subscription(
        &self,
        to: BareJid,
        kind: SubscriptionKind,
    ) -> Result<(), RequestError> {
        self.ask(|reply| Command::SendSubscription { to, kind, reply })
            .await
    }

    async fn ask(&self, command: impl FnOnce(Reply) -> Command) -> Result<(), RequestError> {
        let (reply, answer) = oneshot::channel();
        self.command(command(reply))
            .map_err(|SessionGone| RequestError::SessionGone)?;
        // The worker drops the reply when the stream ends first.
        answer.await.unwrap_or(Err(RequestError::ConnectionLost))
    }

    /// The host stored (committed) a [`SessionEvent::Messages`] batch.
    /// With [`SessionConfig::confirm_stored`], the stanzas it came in are
    /// counted as handled (XEP-0198) only from now on; when the server has
    /// asked meanwhile, it is told at once.
    pub fn stored(&self, batch: Batch) -> Result<(), SessionGone> {
        self.command(Command::Stored(batch))
    }

    /// The host could not store a [`SessionEvent::Messages`] batch: its
    /// archive position is `position`. Positions stop moving until a
    /// catch-up from there (on the next connection, or resumption) has
    /// fetched what was lost again.
    pub fn rewind_archive(&self, position: Option<String>) -> Result<(), SessionGone> {
        self.command(Command::RewindArchive(position))
    }

    /// Close the stream cleanly (unavailable presence, acks collected,
    /// stream closed) and end the worker.
    pub async fn shutdown(&self) -> Result<(), SessionGone> {
        let (done, wait) = oneshot::channel();
        self.command(Command::Shutdown(done))?;
        wait.await.map_err(|_| SessionGone)
    }

    fn command(&self, command: Command) -> Result<(), SessionGone> {
        self.commands.send(command).map_err(|_| SessionGone)
    }

    /// A handle with no worker behind it: its commands arrive in the
    /// receiver. For hosts' tests; not an API.
    #[doc(hidden)]
    pub fn detached() -> (SessionHandle, mpsc::UnboundedReceiver<Command>) {
        let (commands, received) = mpsc::unbounded_channel();
        (SessionHandle { commands }, received)
    }
}

/// Start a session's worker. It begins offline; call
/// [`SessionHandle::connect`]. `stored` is what the host kept: the roster
/// version, so an unchanged roster is not downloaded again, and the archive
/// position catch-up starts from.
pub fn spawn(
    account: AccountConfig,
    config: SessionConfig,
    stored: Stored,
) -> (SessionHandle, mpsc::UnboundedReceiver<SessionEvent>) {
    let (commands_tx, commands_rx) = mpsc::unbounded_channel();
    let (events_tx, events_rx) = mpsc::unbounded_channel();
    let worker = worker::Worker::new(account, config, stored, commands_rx, events_tx);
    tokio::spawn(worker.run());
    (
        SessionHandle {
            commands: commands_tx,
        },
        events_rx,
    )
}
