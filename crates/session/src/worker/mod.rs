//! The session's worker: the one owner of the account's connection state.
//! Commands and stream input are drained by one `select!`; every retry wait
//! comes from [`crate::policy`].

use std::collections::{HashMap, VecDeque};
use std::future::Future;
use std::time::Duration;

use tokio::sync::{mpsc, oneshot};
use xmpp_parsers::jid::FullJid;

use crate::config::{AccountConfig, ServerOverride, SessionConfig};
use crate::connect::Xml;
use crate::error::SessionError;
use crate::events::{Command, OutgoingMessage, SessionEvent, SessionState, Stored};
use crate::policy;

mod catch_up;
mod dispatch;
mod establish;
mod serve;

use establish::connect_once;

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

#[derive(Debug, Clone)]
enum IqPurpose {
    RosterGet,
    CarbonsEnable,
    Ping,
    /// A page of archive catch-up; `after` is where it started.
    ArchivePage {
        after: Option<String>,
    },
}

/// An archive catch-up under way (see `catch_up.rs`).
#[derive(Debug)]
struct CatchUp {
    queryid: String,
    fetched: u32,
    /// The current page's results, reported together at its end.
    page: Vec<crate::events::ReceivedMessage>,
    /// Messages that arrived live meanwhile and that no page returned yet.
    live: Vec<crate::events::ReceivedMessage>,
    /// `Worker::rewinds` when it started: a rewind since then means its
    /// pages must not move the position.
    rewinds: u32,
}

/// XEP-0198 counters of one stream.
#[derive(Debug, Default)]
struct StreamCounters {
    /// Stanzas received since enable (what we acknowledge).
    handled: u32,
    /// Stanzas sent since enable (what the server acknowledges).
    sent: u32,
}

/// One live, bound stream.
struct Live {
    stream: Xml,
    jid: FullJid,
    /// `None` when the server has no stream management.
    sm: Option<StreamCounters>,
    /// How to resume this stream if it breaks.
    resume: Option<(String, Option<ServerOverride>)>,
    csi: bool,
    /// Requests we sent, with the time by which they must be answered.
    pending_iqs: HashMap<String, (IqPurpose, tokio::time::Instant)>,
    iq_timeout: Duration,
    next_iq: u64,
    /// A probe is out: the stream is dead if nothing arrives by then.
    probe_deadline: Option<tokio::time::Instant>,
    catch_up: Option<CatchUp>,
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
    /// Messages waiting for a stream, in send order.
    queued: VecDeque<OutgoingMessage>,
    /// Messages written on a managed stream and not yet acknowledged, with
    /// their stanza number; they outlive the stream until a resume acks or
    /// resends them, or a fresh session resends them.
    unacked: VecDeque<(u32, OutgoingMessage)>,
    resumable: Option<ResumeState>,
    /// The user is looking (XEP-0352).
    active: bool,
    /// The machine has a network route.
    network_up: bool,
    /// The retry window is spent; waiting for a change.
    gave_up: Option<String>,
    jid: Option<FullJid>,
    /// Recently written messages by origin-id, so a bounce can be matched
    /// even after the server acknowledged the message.
    recent: VecDeque<(String, i64)>,
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
            queued: VecDeque::new(),
            unacked: VecDeque::new(),
            resumable: None,
            active: true,
            network_up: true,
            gave_up: None,
            jid: None,
            recent: VecDeque::new(),
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

    pub(crate) async fn run(mut self) {
        self.emit(SessionEvent::State(SessionState::Offline));
        let mut policy = policy::Reconnect::new(self.config.backoff);
        let mut last_error: Option<String> = None;
        let mut wait: Option<Duration> = None;
        let mut try_anyway = false;
        let mut rng = <rand::rngs::StdRng as rand::SeedableRng>::from_rng(&mut rand::rng());
        loop {
            if !self.want_online {
                if !matches!(self.state, SessionState::Failed { .. }) {
                    self.set_state(SessionState::Offline);
                }
                match self.commands.recv().await {
                    None => return,
                    Some(Command::Connect) => {
                        self.want_online = true;
                        self.gave_up = None;
                        policy.reset();
                        last_error = None;
                        wait = None;
                    }
                    Some(Command::Disconnect) => self.set_state(SessionState::Offline),
                    Some(Command::Send(message)) => self.queued.push_back(message),
                    Some(Command::SetActive(active)) => self.active = active,
                    Some(Command::NetworkAvailable(up)) => self.network_up = up,
                    Some(Command::CheckNow) => {}
                    Some(Command::RewindArchive(position)) => self.rewind_archive(position),
                    Some(Command::Shutdown(done)) => {
                        let _ = done.send(());
                        return;
                    }
                }
                continue;
            }

            if (!self.network_up && !try_anyway) || self.gave_up.is_some() {
                let reason = self
                    .gave_up
                    .clone()
                    .unwrap_or_else(|| "no network route; waiting for one".to_owned());
                self.set_state(SessionState::WaitingForNetwork { reason });
                // No attempts are made or counted until something changes.
                match self.commands.recv().await {
                    None => return,
                    Some(Command::NetworkAvailable(up)) => {
                        self.network_up = up;
                        if up {
                            self.gave_up = None;
                            policy.reset();
                            wait = None;
                        }
                    }
                    // A wake or a change of addresses renews the retry
                    // window, but without a route there is nothing to try.
                    Some(Command::CheckNow) => {
                        self.gave_up = None;
                        policy.reset();
                        wait = None;
                    }
                    // The user asked: one attempt, route or not.
                    Some(Command::Connect) => {
                        self.gave_up = None;
                        try_anyway = true;
                        policy.reset();
                        wait = None;
                    }
                    Some(Command::Disconnect) => {
                        self.want_online = false;
                        self.forget_stream();
                    }
                    Some(Command::Send(message)) => self.queued.push_back(message),
                    Some(Command::SetActive(active)) => self.active = active,
                    Some(Command::RewindArchive(position)) => self.rewind_archive(position),
                    Some(Command::Shutdown(done)) => {
                        self.forget_stream();
                        self.set_state(SessionState::Offline);
                        let _ = done.send(());
                        return;
                    }
                }
                continue;
            }
            try_anyway = false;

            if let Some(pause) = wait.take().filter(|p| !p.is_zero()) {
                self.set_state(SessionState::Connecting {
                    attempt: policy.attempts() + 1,
                    retry_in: Some(pause),
                    last_error: last_error.clone(),
                });
                match self.race(tokio::time::sleep(pause), true).await {
                    Ok(()) | Err(Interrupt::RetryNow) => {}
                    Err(interrupt) => {
                        if self.interrupted(interrupt) {
                            return;
                        }
                        continue;
                    }
                }
            }
            self.set_state(SessionState::Connecting {
                attempt: policy.attempts() + 1,
                retry_in: None,
                last_error: last_error.clone(),
            });
            let work = connect_once(
                self.account.clone(),
                self.config.timeouts,
                self.resumable.clone(),
                self.jid.clone(),
            );
            let outcome = match self.race(work, false).await {
                Ok(outcome) => outcome,
                Err(interrupt) => {
                    if self.interrupted(interrupt) {
                        return;
                    }
                    continue;
                }
            };
            let failure = match outcome {
                Ok(established) => {
                    policy.connected(tokio::time::Instant::now());
                    last_error = None;
                    match self.run_connected(established).await {
                        End::Interrupted(interrupt) => {
                            if self.interrupted(interrupt) {
                                return;
                            }
                            continue;
                        }
                        End::Lost(error) if !error.is_terminal() => {
                            tracing::info!(account = %self.account.jid, "connection lost: {error}");
                            policy.lost(tokio::time::Instant::now());
                            // After a stable connection: resume at once;
                            // after a flapping one: back off.
                            wait = Some(policy.after_loss(&mut rng));
                            last_error = Some(error.to_string());
                            continue;
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
                continue;
            }
            tracing::info!(account = %self.account.jid, attempt = policy.attempts() + 1, "connection attempt failed: {failure}");
            last_error = Some(failure.to_string());
            match policy.failed(tokio::time::Instant::now(), &mut rng) {
                policy::Decision::RetryIn { wait: pause, .. } => wait = Some(pause),
                policy::Decision::GiveUp { attempts } => {
                    self.gave_up = Some(format!(
                        "gave up after {attempts} attempts ({failure}); waiting for a network change or `wimsyctl connect`"
                    ));
                }
            }
        }
    }

    /// The stream will not be resumed: what it left unacknowledged goes out
    /// again on the next one, with the same origin-ids.
    fn forget_stream(&mut self) {
        self.resumable = None;
        self.requeue_unacked();
    }

    /// Unacknowledged messages go back to the front of the queue, in order.
    fn requeue_unacked(&mut self) {
        while let Some((_, message)) = self.unacked.pop_back() {
            self.queued.push_front(message);
        }
    }

    /// Apply an interrupt; `true` when the worker must end.
    fn interrupted(&mut self, interrupt: Interrupt) -> bool {
        match interrupt {
            Interrupt::Disconnect => {
                self.want_online = false;
                self.forget_stream();
                self.set_state(SessionState::Offline);
                false
            }
            Interrupt::Shutdown(done) => {
                self.forget_stream();
                self.set_state(SessionState::Offline);
                if let Some(done) = done {
                    let _ = done.send(());
                }
                true
            }
            Interrupt::RetryNow | Interrupt::NetworkDown => false,
        }
    }

    /// Run `work` while still taking commands: sends are queued, a
    /// disconnect, a shutdown or a lost network abandons `work`; a wake or a
    /// network change abandons it too when it is only a wait.
    async fn race<F: Future>(&mut self, work: F, is_wait: bool) -> Result<F::Output, Interrupt> {
        tokio::pin!(work);
        loop {
            tokio::select! {
                out = &mut work => return Ok(out),
                command = self.commands.recv() => match command {
                    None => return Err(Interrupt::Shutdown(None)),
                    Some(Command::Connect) => {}
                    Some(Command::NetworkAvailable(false)) => {
                        self.network_up = false;
                        return Err(Interrupt::NetworkDown);
                    }
                    Some(Command::NetworkAvailable(true)) => {
                        self.network_up = true;
                        if is_wait {
                            return Err(Interrupt::RetryNow);
                        }
                    }
                    Some(Command::CheckNow) => {
                        if is_wait {
                            return Err(Interrupt::RetryNow);
                        }
                    }
                    Some(Command::SetActive(active)) => self.active = active,
                    Some(Command::Send(message)) => self.queued.push_back(message),
                    Some(Command::RewindArchive(position)) => self.rewind_archive(position),
                    Some(Command::Disconnect) => return Err(Interrupt::Disconnect),
                    Some(Command::Shutdown(done)) => return Err(Interrupt::Shutdown(Some(done))),
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

impl Live {
    fn new(
        stream: Xml,
        jid: FullJid,
        sm: Option<StreamCounters>,
        resume: Option<(String, Option<ServerOverride>)>,
        csi: bool,
        iq_timeout: Duration,
    ) -> Self {
        Self {
            stream,
            jid,
            sm,
            resume,
            csi,
            pending_iqs: HashMap::new(),
            iq_timeout,
            next_iq: 0,
            probe_deadline: None,
            catch_up: None,
        }
    }

    fn iq_id(&mut self, purpose: IqPurpose) -> String {
        self.next_iq += 1;
        let id = format!("w{}", self.next_iq);
        let deadline = tokio::time::Instant::now() + self.iq_timeout;
        self.pending_iqs.insert(id.clone(), (purpose, deadline));
        id
    }
}
