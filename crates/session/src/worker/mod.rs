//! The session's worker: the one owner of the account's connection state.
//! Commands and stream input are drained by one `select!`; every retry wait
//! comes from [`crate::policy`].

use std::collections::VecDeque;
use std::future::Future;
use std::time::Duration;

use tokio::sync::{mpsc, oneshot};
use xmpp_parsers::jid::FullJid;

use crate::config::{AccountConfig, ServerOverride, SessionConfig};
use crate::error::SessionError;
use crate::events::{
    Batch, Command, OutgoingMessage, OwnPresence, Reply, RequestError, RosterEdit, SessionEvent,
    SessionState, Stored, SubscriptionKind,
};
use crate::policy;

mod catch_up;
mod dispatch;
mod doubt;
mod establish;
mod ingest;
mod markers;
mod roster;
mod serve;
mod stream;
mod tip;

use establish::connect_once;
use stream::{CatchUp, IqPurpose, Live, StreamCounters, Unacked};

/// Why the worker stopped what it was doing.
enum Interrupt {
    Disconnect,
    Shutdown(Option<oneshot::Sender<()>>),
    /// Stop waiting and try now (a wake or a network change).
    RetryNow,
    /// The network went away: stop trying until it returns.
    NetworkDown,
}

/// What a stream that ended leaves for resuming it (XEP-0198).
#[derive(Debug, Clone)]
struct ResumeState {
    id: String,
    location: Option<ServerOverride>,
    /// Stanzas we had handled on it.
    handled: u32,
}

/// How a connected period ended.
enum End {
    Interrupted(Interrupt),
    Lost(SessionError),
}

/// A host request that needs a live stream, with its answer.
#[derive(Debug)]
enum OnlineRequest {
    SetRosterItem(RosterEdit, Reply),
    RemoveRosterItem(xmpp_parsers::jid::BareJid, Reply),
    Subscription(xmpp_parsers::jid::BareJid, SubscriptionKind, Reply),
}

impl OnlineRequest {
    fn refuse(self, error: RequestError) {
        let reply = match self {
            Self::SetRosterItem(_, reply)
            | Self::RemoveRosterItem(_, reply)
            | Self::Subscription(_, _, reply) => reply,
        };
        // The host may have stopped waiting; nothing to tell then.
        let _ = reply.send(Err(error));
    }
}

/// What a command asks of whatever the worker is doing at the time.
enum Effect {
    Nothing,
    /// Something to do on the live stream (only while connected).
    Online(OnlineRequest),
    /// Our presence changed: send it.
    Presence,
    /// The user read a chat: send what `Worker::displayed` holds.
    Displayed,
    /// The host stored a batch: acknowledge it if the server is waiting.
    Stored(Batch),
    /// A message was queued: write what the queue holds.
    Flush,
    /// The user's visibility changed (XEP-0352).
    Csi,
    /// Something changed (a wake, a network change): check the stream, or
    /// stop waiting and try now.
    Probe,
    /// The user asked to connect: try now, whatever the backoff said.
    UserRetry,
    /// The network went away.
    NetworkDown,
    Stop(Interrupt),
}

/// Whether the worker goes on.
enum Flow {
    Continue,
    End,
}

pub(crate) struct Worker {
    account: AccountConfig,
    config: SessionConfig,
    commands: mpsc::UnboundedReceiver<Command>,
    events: mpsc::UnboundedSender<SessionEvent>,
    want_online: bool,
    roster_ver: Option<String>,
    archive_position: Option<String>,
    /// No catch-up from `archive_position` has completed since the start,
    /// an aborted catch-up or a rewind: live messages must not move the
    /// position, and a resumed stream catches up too.
    catch_up_due: bool,
    /// Rewinds the host asked for (`Command::RewindArchive`).
    rewinds: u32,
    /// Our own messages acknowledged since the position last moved
    /// (`tip.rs`).
    sent_since_position: u32,
    /// Messages waiting for a stream, in send order.
    queued: VecDeque<OutgoingMessage>,
    /// Messages written on a managed stream and not yet acknowledged; they
    /// outlive the stream until a resume acks or resends them, or a fresh
    /// session resends them.
    unacked: VecDeque<Unacked>,
    resumable: Option<ResumeState>,
    /// The user is looking (XEP-0352).
    active: bool,
    /// The machine has a network route.
    network_up: bool,
    /// The retry window is spent; waiting for a change.
    gave_up: Option<String>,
    /// The user asked to connect while there was no route: one attempt.
    try_anyway: bool,
    policy: policy::Reconnect,
    rng: rand::rngs::StdRng,
    /// The wait before the next attempt.
    wait: Option<Duration>,
    /// Why the last attempt failed or the last stream broke.
    last_error: Option<String>,
    jid: Option<FullJid>,
    /// Recently written messages by origin-id, so a bounce can be matched
    /// even after the server acknowledged the message.
    recent: VecDeque<(String, i64)>,
    /// The presence the host chose, sent at every login.
    presence: OwnPresence,
    /// `presence` changed since the stream it was last sent on: a resumed
    /// stream must send it (a fresh one always does).
    presence_unsent: bool,
    /// Chats read that the peer and our devices were not told of yet: the
    /// newest per peer, sent when a stream is live.
    displayed: std::collections::BTreeMap<xmpp_parsers::jid::BareJid, crate::events::MarkDisplayed>,
    /// The options our synchronization node is published with: all of
    /// XEP-0490's until the server refuses them; `None` once it refused
    /// even fewer (it has no node for us), until the next fresh stream.
    read_node_options: Option<crate::markers::NodeOptions>,
    /// The last [`Batch`] number given out.
    batches: u64,
    state: SessionState,
}

const RECENT_LIMIT: usize = 512;

impl Worker {
    pub(crate) fn new(
        account: AccountConfig,
        config: SessionConfig,
        stored: Stored,
        commands: mpsc::UnboundedReceiver<Command>,
        events: mpsc::UnboundedSender<SessionEvent>,
    ) -> Self {
        Self {
            account,
            config,
            commands,
            events,
            want_online: false,
            roster_ver: stored.roster_ver,
            archive_position: stored.archive_position,
            catch_up_due: true,
            rewinds: 0,
            sent_since_position: 0,
            queued: VecDeque::new(),
            unacked: VecDeque::new(),
            resumable: None,
            active: true,
            network_up: true,
            gave_up: None,
            try_anyway: false,
            policy: policy::Reconnect::new(config.backoff),
            rng: <rand::rngs::StdRng as rand::SeedableRng>::from_rng(&mut rand::rng()),
            wait: None,
            last_error: None,
            jid: None,
            recent: VecDeque::new(),
            presence: OwnPresence::default(),
            presence_unsent: false,
            displayed: std::collections::BTreeMap::new(),
            read_node_options: Some(crate::markers::NodeOptions::Full),
            batches: 0,
            state: SessionState::Offline,
        }
    }

    fn emit(&self, event: SessionEvent) {
        // The host dropping its receiver means it is going away; the
        // shutdown command will follow, so there is nothing to do here.
        if self.events.send(event).is_err() {
            tracing::trace!("session event dropped: host receiver closed");
        }
    }

    fn set_state(&mut self, state: SessionState) {
        if self.state != state {
            tracing::info!(account = %self.account.jid, state = ?state, "session state");
            self.state = state.clone();
            self.emit(SessionEvent::State(state));
        }
    }

    /// The one place commands are interpreted. It updates what the worker
    /// knows and says what the command asks; each phase (offline, waiting,
    /// dialling, live) then acts on the [`Effect`] in its own way.
    fn on_command(&mut self, command: Option<Command>) -> Effect {
        let Some(command) = command else {
            return Effect::Stop(Interrupt::Shutdown(None));
        };
        match command {
            Command::Connect => {
                self.want_online = true;
                self.renew();
                Effect::UserRetry
            }
            Command::Disconnect => Effect::Stop(Interrupt::Disconnect),
            Command::Send(message) => {
                self.queued.push_back(message);
                Effect::Flush
            }
            Command::CheckNow => {
                // A wake or a change of addresses: a new situation, so a
                // new retry window.
                self.renew();
                Effect::Probe
            }
            Command::SetActive(active) => {
                self.active = active;
                Effect::Csi
            }
            Command::NetworkAvailable(up) => {
                self.network_up = up;
                if up {
                    self.renew();
                    Effect::Probe
                } else {
                    Effect::NetworkDown
                }
            }
            Command::SetRosterItem { item, reply } => {
                self.online(OnlineRequest::SetRosterItem(item, reply))
            }
            Command::RemoveRosterItem { jid, reply } => {
                self.online(OnlineRequest::RemoveRosterItem(jid, reply))
            }
            Command::SendSubscription { to, kind, reply } => {
                self.online(OnlineRequest::Subscription(to, kind, reply))
            }
            Command::SetPresence(presence) => {
                self.presence = presence;
                self.presence_unsent = true;
                Effect::Presence
            }
            Command::MarkDisplayed(displayed) => {
                self.displayed.insert(displayed.peer.clone(), displayed);
                Effect::Displayed
            }
            Command::Stored(batch) => Effect::Stored(batch),
            Command::RewindArchive(position) => {
                self.rewind_archive(position);
                Effect::Nothing
            }
            Command::Shutdown(done) => Effect::Stop(Interrupt::Shutdown(Some(done))),
        }
    }

    /// A request for the live stream: refused at once when there is none
    /// (it is not kept: the user is told and can try again), else handed
    /// to the serving loop.
    fn online(&self, request: OnlineRequest) -> Effect {
        if matches!(self.state, SessionState::Connected { .. }) {
            Effect::Online(request)
        } else {
            request.refuse(RequestError::NotConnected);
            Effect::Nothing
        }
    }

    /// Forget the backoff and the spent window: the next attempt is now.
    fn renew(&mut self) {
        self.gave_up = None;
        self.policy.reset();
        self.wait = None;
    }

    pub(crate) async fn run(mut self) {
        self.emit(SessionEvent::State(SessionState::Offline));
        loop {
            let flow = if !self.want_online {
                self.stay_offline().await
            } else if (!self.network_up && !self.try_anyway) || self.gave_up.is_some() {
                self.wait_for_network().await
            } else {
                self.attempt().await
            };
            if let Flow::End = flow {
                return;
            }
        }
    }

    /// Offline by the host's choice (or stopped on a terminal failure):
    /// nothing happens until a command.
    async fn stay_offline(&mut self) -> Flow {
        if !matches!(self.state, SessionState::Failed { .. }) {
            self.set_state(SessionState::Offline);
        }
        let command = self.commands.recv().await;
        match self.on_command(command) {
            Effect::Stop(interrupt) => self.interrupted(interrupt),
            _ => Flow::Continue,
        }
    }

    /// No route, or the retry window is spent: no attempts are made or
    /// counted until something changes.
    async fn wait_for_network(&mut self) -> Flow {
        let reason = self
            .gave_up
            .clone()
            .unwrap_or_else(|| "there is no network connection; waiting for one".to_owned());
        self.set_state(SessionState::WaitingForNetwork { reason });
        let command = self.commands.recv().await;
        match self.on_command(command) {
            // The user asked: one attempt, route or not.
            Effect::UserRetry => self.try_anyway = true,
            Effect::Stop(interrupt) => return self.interrupted(interrupt),
            _ => {}
        }
        Flow::Continue
    }

    /// Wait as the policy says, then one connection attempt and, if it
    /// works, the live stream until it ends.
    async fn attempt(&mut self) -> Flow {
        self.try_anyway = false;
        if let Some(pause) = self.wait.take().filter(|p| !p.is_zero()) {
            self.set_state(SessionState::Connecting {
                attempt: self.policy.attempts() + 1,
                retry_in: Some(pause),
                last_error: self.last_error.clone(),
            });
            match self.race(tokio::time::sleep(pause), true).await {
                Ok(()) | Err(Interrupt::RetryNow) => {}
                Err(interrupt) => return self.interrupted(interrupt),
            }
        }
        self.set_state(SessionState::Connecting {
            attempt: self.policy.attempts() + 1,
            retry_in: None,
            last_error: self.last_error.clone(),
        });
        let work = connect_once(
            self.account.clone(),
            self.config.timeouts,
            self.resumable.clone(),
            self.jid.clone(),
        );
        let outcome = match self.race(work, false).await {
            Ok(outcome) => outcome,
            Err(interrupt) => return self.interrupted(interrupt),
        };
        let failure = match outcome {
            Ok(established) => {
                self.policy.connected(tokio::time::Instant::now());
                self.last_error = None;
                match self.run_connected(established).await {
                    End::Interrupted(interrupt) => return self.interrupted(interrupt),
                    End::Lost(error) if !error.is_terminal() => {
                        tracing::info!(account = %self.account.jid, "connection lost: {error}");
                        let now = tokio::time::Instant::now();
                        self.policy.lost(now);
                        // After a connection that worked: resume at once;
                        // after a flapping one: back off.
                        self.wait = Some(self.policy.after_loss(now, &mut self.rng));
                        self.last_error = Some(error.to_string());
                        return Flow::Continue;
                    }
                    End::Lost(error) => error,
                }
            }
            Err(error) => error,
        };
        if failure.is_terminal() {
            tracing::warn!(account = %self.account.jid, "stopping: {failure}");
            self.want_online = false;
            self.forget_stream();
            self.set_state(SessionState::Failed {
                kind: failure.kind(),
                reason: failure.to_string(),
                fingerprint: failure.fingerprint().map(str::to_owned),
            });
            return Flow::Continue;
        }
        tracing::info!(account = %self.account.jid, attempt = self.policy.attempts() + 1, "connection attempt failed: {failure}");
        self.last_error = Some(failure.to_string());
        match self
            .policy
            .failed(tokio::time::Instant::now(), &mut self.rng)
        {
            policy::Decision::RetryIn { wait: pause, .. } => self.wait = Some(pause),
            policy::Decision::GiveUp { attempts } => {
                let minutes = self.config.backoff.retry_window.as_secs().div_ceil(60);
                self.gave_up = Some(format!(
                    "gave up after {attempts} attempts in {minutes} min without a connection \
                     (last: {failure}); trying again when the network changes or when asked to connect"
                ));
            }
        }
        Flow::Continue
    }

    /// The stream will not be resumed: what it left unacknowledged goes out
    /// again on the next one, with the same origin-ids, once the server's
    /// archive has been asked whether it already has them.
    fn forget_stream(&mut self) {
        self.resumable = None;
        self.requeue_unacked(true);
    }

    /// Unacknowledged messages go back to the front of the queue, in order.
    /// `in_doubt`: the server may have handled them without telling us (no
    /// `h` from a resume), so they are checked against the archive before
    /// they are resent.
    fn requeue_unacked(&mut self, in_doubt: bool) {
        while let Some(entry) = self.unacked.pop_back() {
            let mut message = entry.message;
            if in_doubt && message.in_doubt_since_ms.is_none() {
                message.in_doubt_since_ms = Some(entry.written_ms);
            }
            if entry.bounced {
                // The server answered it with an error: it is not resent.
                continue;
            }
            self.queued.push_front(message);
        }
    }

    /// Apply an interrupt.
    fn interrupted(&mut self, interrupt: Interrupt) -> Flow {
        match interrupt {
            Interrupt::Disconnect => {
                self.want_online = false;
                self.forget_stream();
                self.set_state(SessionState::Offline);
                Flow::Continue
            }
            Interrupt::Shutdown(done) => {
                self.forget_stream();
                self.set_state(SessionState::Offline);
                if let Some(done) = done {
                    let _ = done.send(());
                }
                Flow::End
            }
            Interrupt::RetryNow | Interrupt::NetworkDown => Flow::Continue,
        }
    }

    /// Run `work` while still taking commands: sends are queued, a
    /// disconnect, a shutdown or a lost network abandons `work`; a wake, a
    /// network change or the user asking abandons it too when it is only a
    /// wait.
    async fn race<F: Future>(&mut self, work: F, is_wait: bool) -> Result<F::Output, Interrupt> {
        tokio::pin!(work);
        loop {
            tokio::select! {
                out = &mut work => return Ok(out),
                command = self.commands.recv() => match self.on_command(command) {
                    Effect::Stop(interrupt) => return Err(interrupt),
                    Effect::NetworkDown => return Err(Interrupt::NetworkDown),
                    Effect::Probe | Effect::UserRetry if is_wait => return Err(Interrupt::RetryNow),
                    Effect::Online(request) => request.refuse(RequestError::NotConnected),
                    Effect::Probe
                    | Effect::UserRetry
                    | Effect::Flush
                    | Effect::Csi
                    | Effect::Presence
                    | Effect::Displayed
                    // Its stream is gone: what a resume reports comes
                    // from the holds that stream ended with.
                    | Effect::Stored(_)
                    | Effect::Nothing => {}
                },
            }
        }
    }
}

/// Sleep until `deadline`, or forever without one.
async fn sleep_until_some(deadline: Option<tokio::time::Instant>) {
    match deadline {
        Some(deadline) => tokio::time::sleep_until(deadline).await,
        None => std::future::pending().await,
    }
}
