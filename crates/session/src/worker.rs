//! The session's worker: the one owner of the account's connection state.
//! Commands and stream input are drained by one `select!`; every retry wait
//! comes from [`crate::policy`].

use std::collections::{HashMap, VecDeque};
use std::future::Future;
use std::time::Duration;

use futures::{SinkExt, StreamExt};
use minidom::Element;
use tokio::sync::{mpsc, oneshot};
use tokio_xmpp::xmlstream::ReadError;
use xmpp_parsers::carbons;
use xmpp_parsers::iq::Iq;
use xmpp_parsers::jid::{FullJid, Jid};
use xmpp_parsers::message::{Id as MessageId, Lang, Message};
use xmpp_parsers::ns;
use xmpp_parsers::ping::Ping;
use xmpp_parsers::presence::{Presence, Type as PresenceType};
use xmpp_parsers::roster::Roster;
use xmpp_parsers::sm;
use xmpp_parsers::stanza_error::{DefinedCondition, ErrorType, StanzaError};
use xmpp_parsers::stanza_id::OriginId;
use xso::AsXml;

use crate::config::{AccountConfig, ServerOverride, SessionConfig, Timeouts};
use crate::connect::{self, LoggedIn, Resumption, Xml};
use crate::error::SessionError;
use crate::events::{Command, DeliveryStage, OutgoingMessage, SessionEvent, SessionState, Stored};
use crate::inbound::{self, Inbound};
use crate::{mam, policy};

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

/// A connection attempt's result.
enum Established {
    Fresh {
        logged_in: LoggedIn,
        /// From a failed resume: how many of our stanzas the old stream's
        /// server handled, so they are not sent twice.
        old_h: Option<u32>,
    },
    Resumed {
        stream: Xml,
        jid: FullJid,
        h: u32,
        csi: bool,
    },
}

async fn connect_once(
    account: AccountConfig,
    timeouts: Timeouts,
    resume: Option<ResumeState>,
    jid: Option<FullJid>,
) -> Result<Established, SessionError> {
    connect::within_login(&timeouts, async {
        let location = resume.as_ref().and_then(|r| r.location.clone());
        let authenticated = match connect::authenticate(&account, &timeouts, location.as_ref()).await {
            Ok(a) => a,
            // The location the server named may be gone; the usual address
            // still leads to the same server.
            Err(e) if location.is_some() && !e.is_terminal() => {
                tracing::debug!("resume location unreachable ({e}); using the usual address");
                connect::authenticate(&account, &timeouts, None).await?
            }
            Err(e) => return Err(e),
        };
        let (Some(resume), Some(jid)) = (resume, jid) else {
            let logged_in = connect::establish(authenticated, account.resource.clone()).await?;
            return Ok(Established::Fresh { logged_in, old_h: None });
        };
        match connect::resume(authenticated, &resume.id, resume.handled).await? {
            Resumption::Resumed { stream, h, csi } => Ok(Established::Resumed { stream, jid, h, csi }),
            Resumption::Failed {
                authenticated,
                h,
                condition,
            } => {
                tracing::info!(account = %account.jid, "resume refused ({condition}); starting a fresh session");
                let logged_in = connect::establish(authenticated, account.resource.clone()).await?;
                Ok(Established::Fresh { logged_in, old_h: h })
            }
        }
    })
    .await
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

/// An archive catch-up under way.
#[derive(Debug)]
struct CatchUp {
    queryid: String,
    fetched: u32,
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
                    Some(Command::Disconnect) => return Err(Interrupt::Disconnect),
                    Some(Command::Shutdown(done)) => return Err(Interrupt::Shutdown(Some(done))),
                },
            }
        }
    }

    async fn run_connected(&mut self, established: Established) -> End {
        let (mut live, resumed, early) = match established {
            Established::Fresh { logged_in, old_h } => {
                let LoggedIn {
                    stream,
                    jid,
                    sm,
                    csi,
                    early,
                } = logged_in;
                if let Some(h) = old_h {
                    self.on_ack(h);
                }
                self.forget_stream();
                if let Some(enabled) = &sm {
                    tracing::debug!(
                        account = %self.account.jid,
                        id = ?enabled.id,
                        location = ?enabled.location,
                        resumable = enabled.resume,
                        "stream management enabled"
                    );
                }
                let resume = sm.as_ref().filter(|e| e.resume).and_then(|e| {
                    let location = e
                        .location
                        .as_deref()
                        .and_then(|l| ServerOverride::parse(l).ok());
                    e.id.clone().map(|id| (id, location))
                });
                let live = Live {
                    stream,
                    jid,
                    sm: sm.map(|_| StreamCounters::default()),
                    resume,
                    csi,
                    pending_iqs: HashMap::new(),
                    iq_timeout: self.config.timeouts.iq,
                    next_iq: 0,
                    probe_deadline: None,
                    catch_up: None,
                };
                (live, false, early)
            }
            Established::Resumed {
                stream,
                jid,
                h,
                csi,
            } => {
                let Some(previous) = self.resumable.take() else {
                    return End::Lost(SessionError::Protocol(
                        "resumed without a stream to resume".into(),
                    ));
                };
                tracing::info!(account = %self.account.jid, "stream resumed");
                self.on_ack(h);
                // What the server had not handled goes out again on the
                // resumed stream; it was never delivered, so no duplicate.
                while let Some((_, message)) = self.unacked.pop_back() {
                    self.queued.push_front(message);
                }
                let live = Live {
                    stream,
                    jid,
                    sm: Some(StreamCounters {
                        handled: previous.handled,
                        sent: h,
                    }),
                    resume: Some((previous.id, previous.location)),
                    csi,
                    pending_iqs: HashMap::new(),
                    iq_timeout: self.config.timeouts.iq,
                    next_iq: 0,
                    probe_deadline: None,
                    catch_up: None,
                };
                (live, true, Vec::new())
            }
        };
        self.jid = Some(live.jid.clone());
        let end = self.serve(&mut live, early, resumed).await;
        if let End::Lost(_) = &end {
            match (&live.resume, &live.sm) {
                (Some((id, location)), Some(counters)) => {
                    self.resumable = Some(ResumeState {
                        id: id.clone(),
                        location: location.clone(),
                        handled: counters.handled,
                    });
                }
                _ => self.forget_stream(),
            }
        }
        end
    }

    async fn serve(&mut self, live: &mut Live, early: Vec<Element>, resumed: bool) -> End {
        self.set_state(SessionState::Connected {
            jid: live.jid.clone(),
            resumed,
        });
        for el in early {
            if let Err(e) = self.on_element(live, el).await {
                return End::Lost(e);
            }
        }
        let started = if resumed {
            self.after_resume(live).await
        } else {
            self.start_session(live).await
        };
        if let Err(e) = started {
            return End::Lost(e);
        }
        loop {
            let probe_deadline = live.probe_deadline;
            let iq_deadline = live.pending_iqs.values().map(|(_, at)| *at).min();
            tokio::select! {
                () = sleep_until_some(iq_deadline) => {
                    if let Err(e) = self.expire_iqs(live).await {
                        return End::Lost(e);
                    }
                }
                item = live.stream.next() => {
                    let result = match item {
                        Some(Ok(el)) => {
                            live.probe_deadline = None;
                            self.on_element(live, el).await
                        }
                        Some(Err(ReadError::SoftTimeout)) => self.probe(live).await,
                        Some(Err(ReadError::ParseError(e))) => {
                            tracing::debug!("skipping an element that does not parse: {e}");
                            Ok(())
                        }
                        Some(Err(ReadError::HardError(e))) => Err(match e.kind() {
                            std::io::ErrorKind::TimedOut => SessionError::Timeout {
                                step: "waiting for the server to answer a probe",
                                after: self.config.timeouts.probe_answer,
                            },
                            _ => SessionError::Io(e),
                        }),
                        Some(Err(ReadError::StreamFooterReceived)) | None => Err(SessionError::Closed),
                    };
                    if let Err(e) = result {
                        return End::Lost(e);
                    }
                }
                () = sleep_until_some(probe_deadline) => {
                    return End::Lost(SessionError::Timeout {
                        step: "waiting for the server to answer a probe",
                        after: self.config.timeouts.probe_answer,
                    });
                }
                command = self.commands.recv() => {
                    let mut commands = vec![command];
                    // Take every command already waiting, so a burst of
                    // sends costs one ack request instead of one each.
                    while let Ok(next) = self.commands.try_recv() {
                        commands.push(Some(next));
                    }
                    let mut flush = false;
                    for command in commands {
                        let result = match command {
                            None => return self.close(live, Interrupt::Shutdown(None)).await,
                            Some(Command::Connect) => Ok(()),
                            Some(Command::Send(message)) => {
                                self.queued.push_back(message);
                                flush = true;
                                Ok(())
                            }
                            Some(Command::CheckNow) => self.probe(live).await,
                            Some(Command::NetworkAvailable(up)) => {
                                // Either way the path may have changed:
                                // find out now whether the stream lives.
                                self.network_up = up;
                                self.probe(live).await
                            }
                            Some(Command::SetActive(active)) => {
                                self.active = active;
                                self.send_csi(live).await
                            }
                            Some(Command::Disconnect) => return self.close(live, Interrupt::Disconnect).await,
                            Some(Command::Shutdown(done)) => {
                                return self.close(live, Interrupt::Shutdown(Some(done))).await;
                            }
                        };
                        if let Err(e) = result {
                            return End::Lost(e);
                        }
                    }
                    if flush
                        && let Err(e) = self.flush_queue(live).await {
                            return End::Lost(e);
                        }
                }
            }
        }
    }

    /// Requests the server left unanswered: give up on them, and probe the
    /// stream, which may be what is dead.
    async fn expire_iqs(&mut self, live: &mut Live) -> Result<(), SessionError> {
        let now = tokio::time::Instant::now();
        let expired: Vec<String> = live
            .pending_iqs
            .iter()
            .filter(|(_, (_, at))| *at <= now)
            .map(|(id, _)| id.clone())
            .collect();
        for id in expired {
            if let Some((purpose, _)) = live.pending_iqs.remove(&id) {
                tracing::warn!(account = %self.account.jid, ?purpose, "the server did not answer in time");
                if let IqPurpose::ArchivePage { .. } = purpose {
                    // The next fresh session catches up from the stored
                    // position again; nothing is skipped.
                    live.catch_up = None;
                }
            }
        }
        self.probe(live).await
    }

    /// A fresh session: roster by version, carbons, presence, then what
    /// waited to be sent, then catch-up from the archive.
    async fn start_session(&mut self, live: &mut Live) -> Result<(), SessionError> {
        let roster = Roster {
            ver: Some(self.roster_ver.clone().unwrap_or_default()),
            items: vec![],
        };
        let id = live.iq_id(IqPurpose::RosterGet);
        self.write_stanza(live, &Iq::from_get(id, roster)).await?;
        let id = live.iq_id(IqPurpose::CarbonsEnable);
        self.write_stanza(live, &Iq::from_set(id, carbons::Enable))
            .await?;
        if !self.active {
            self.send_csi(live).await?;
        }
        self.write_stanza(live, &Presence::available()).await?;
        self.flush_queue(live).await?;
        let after = self.archive_position.clone();
        self.request_archive_page(live, after).await
    }

    async fn after_resume(&mut self, live: &mut Live) -> Result<(), SessionError> {
        self.send_csi(live).await?;
        self.flush_queue(live).await
    }

    async fn send_csi(&mut self, live: &mut Live) -> Result<(), SessionError> {
        if !live.csi {
            return Ok(());
        }
        if self.active {
            self.write_nonza(live, &xmpp_parsers::csi::Active).await
        } else {
            self.write_nonza(live, &xmpp_parsers::csi::Inactive).await
        }
    }

    async fn request_archive_page(
        &mut self,
        live: &mut Live,
        after: Option<String>,
    ) -> Result<(), SessionError> {
        let queryid = live
            .catch_up
            .as_ref()
            .map(|c| c.queryid.clone())
            .unwrap_or_else(|| uuid::Uuid::new_v4().simple().to_string());
        if live.catch_up.is_none() {
            tracing::debug!(account = %self.account.jid, after = ?after, "catching up from the archive");
            live.catch_up = Some(CatchUp {
                queryid: queryid.clone(),
                fetched: 0,
            });
        }
        let query = mam::page_query(&queryid, after.as_deref());
        let id = live.iq_id(IqPurpose::ArchivePage { after });
        self.write_stanza(live, &Iq::from_set(id, query)).await
    }

    async fn on_archive_page(
        &mut self,
        live: &mut Live,
        after: Option<String>,
        payload: Option<Element>,
    ) -> Result<(), SessionError> {
        let Some((complete, last)) = mam::page_end(payload) else {
            tracing::warn!("the server's archive answer does not parse; catch-up stopped");
            live.catch_up = None;
            return Ok(());
        };
        if let Some(last) = &last {
            self.archive_position = Some(last.clone());
            self.emit(SessionEvent::ArchivePosition(last.clone()));
        }
        if complete || last.is_none() || last == after {
            let fetched = live.catch_up.take().map(|c| c.fetched).unwrap_or(0);
            tracing::info!(account = %self.account.jid, fetched, "caught up from the archive");
            self.emit(SessionEvent::CatchUpDone { fetched });
            return Ok(());
        }
        self.request_archive_page(live, last).await
    }

    /// Write every queued message, then ask for one ack covering them.
    async fn flush_queue(&mut self, live: &mut Live) -> Result<(), SessionError> {
        if self.queued.is_empty() {
            return Ok(());
        }
        while let Some(message) = self.queued.pop_front() {
            let stanza = Message::chat(Some(message.to.clone()))
                .with_body(Lang::default(), message.body.clone())
                .with_payload(OriginId {
                    id: message.origin_id.clone(),
                });
            let stanza = Message {
                id: Some(MessageId(message.origin_id.clone())),
                ..stanza
            };
            if let Err(e) = self.write_stanza(live, &stanza).await {
                self.queued.push_front(message);
                return Err(e);
            }
            self.emit(SessionEvent::Delivery {
                token: message.token,
                stage: DeliveryStage::Sent,
            });
            self.remember(&message);
            if let Some(counters) = &live.sm {
                self.unacked.push_back((counters.sent, message));
            }
        }
        if live.sm.is_some() {
            self.write_nonza(live, &sm::R).await?;
        }
        Ok(())
    }

    fn remember(&mut self, message: &OutgoingMessage) {
        if self.recent.len() == RECENT_LIMIT {
            self.recent.pop_front();
        }
        self.recent
            .push_back((message.origin_id.clone(), message.token));
    }

    /// Ask the server for a sign of life; the stream is dead if none comes
    /// within the probe timeout.
    async fn probe(&mut self, live: &mut Live) -> Result<(), SessionError> {
        tracing::debug!(account = %self.account.jid, "probing the stream");
        if live.probe_deadline.is_none() {
            live.probe_deadline =
                Some(tokio::time::Instant::now() + self.config.timeouts.probe_answer);
        }
        if live.sm.is_some() {
            self.write_nonza(live, &sm::R).await
        } else {
            let id = live.iq_id(IqPurpose::Ping);
            let ping = Iq::from_get(id, Ping).with_to(Jid::from(live.jid.domain().to_owned()));
            self.write_stanza(live, &ping).await
        }
    }

    async fn on_element(&mut self, live: &mut Live, el: Element) -> Result<(), SessionError> {
        if inbound::is_stanza(&el) {
            if let Some(counters) = &mut live.sm {
                counters.handled = counters.handled.wrapping_add(1);
            }
            let own = live.jid.to_bare();
            let now_ms = chrono::Utc::now().timestamp_millis();
            return self
                .on_stanza(live, inbound::classify(el, &own, now_ms))
                .await;
        }
        if el.ns() == ns::SM {
            return match el.name() {
                "r" => {
                    let handled = live.sm.as_ref().map(|c| c.handled).unwrap_or(0);
                    self.write_nonza(live, &sm::A::new(handled)).await
                }
                "a" => {
                    let h = el
                        .attr("h")
                        .and_then(|h| h.parse::<u32>().ok())
                        .ok_or_else(|| SessionError::Protocol("<a/> without a valid h".into()))?;
                    self.on_ack(h);
                    Ok(())
                }
                other => {
                    tracing::debug!("ignoring stream-management element <{other}/>");
                    Ok(())
                }
            };
        }
        if el.is("error", ns::STREAM) {
            return Err(crate::names::stream_error_element(el));
        }
        tracing::debug!(
            name = el.name(),
            ns = el.ns(),
            "ignoring unknown top-level element"
        );
        Ok(())
    }

    fn on_ack(&mut self, h: u32) {
        // Sequence numbers wrap at 2^32: "acknowledged" means at most half
        // the number space behind h.
        while let Some((seq, _)) = self.unacked.front() {
            if h.wrapping_sub(*seq) >= u32::MAX / 2 {
                break;
            }
            if let Some((_, message)) = self.unacked.pop_front() {
                self.emit(SessionEvent::Delivery {
                    token: message.token,
                    stage: DeliveryStage::Acked,
                });
            }
        }
    }

    async fn on_stanza(&mut self, live: &mut Live, inbound: Inbound) -> Result<(), SessionError> {
        match inbound {
            Inbound::Message(message) => {
                // During catch-up the position only moves with archive
                // pages, so a restart mid-way cannot skip a gap.
                let position = message
                    .stanza_id
                    .clone()
                    .filter(|_| live.catch_up.is_none());
                self.emit(SessionEvent::Message(message));
                if let Some(id) = position {
                    self.archive_position = Some(id.clone());
                    self.emit(SessionEvent::ArchivePosition(id));
                }
            }
            Inbound::Archived { queryid, message } => match &mut live.catch_up {
                Some(catch_up) if Some(&catch_up.queryid) == queryid.as_ref() => {
                    catch_up.fetched += 1;
                    self.emit(SessionEvent::Message(message));
                }
                _ => tracing::debug!("archive result for a query we did not make"),
            },
            Inbound::MessageError { id, reason } => {
                if let Some((_, token)) = self.recent.iter().find(|(origin, _)| *origin == id) {
                    self.emit(SessionEvent::Delivery {
                        token: *token,
                        stage: DeliveryStage::Failed(reason),
                    });
                }
            }
            Inbound::Presence(update) => self.emit(SessionEvent::Presence(update)),
            Inbound::RosterPush { id, ver, items } => {
                let answer = Iq::empty_result(Jid::from(live.jid.to_bare()), id);
                self.write_stanza(live, &answer).await?;
                if ver.is_some() {
                    self.roster_ver.clone_from(&ver);
                }
                for item in items {
                    self.emit(SessionEvent::RosterPushed {
                        ver: ver.clone(),
                        item,
                    });
                }
            }
            Inbound::Ping { id, from } => {
                let to = from.unwrap_or_else(|| Jid::from(live.jid.domain().to_owned()));
                self.write_stanza(live, &Iq::empty_result(to, id)).await?;
            }
            Inbound::IqResult { id, payload } => match live.pending_iqs.remove(&id).map(|(p, _)| p)
            {
                Some(IqPurpose::RosterGet) => self.on_roster(payload),
                Some(IqPurpose::CarbonsEnable) => tracing::debug!("carbons enabled"),
                Some(IqPurpose::ArchivePage { after }) => {
                    self.on_archive_page(live, after, payload).await?;
                }
                Some(IqPurpose::Ping) | None => {}
            },
            Inbound::IqError { id, reason } => match live.pending_iqs.remove(&id).map(|(p, _)| p) {
                Some(IqPurpose::ArchivePage { after: Some(after) }) => {
                    // Our position fell out of the archive (or the archive
                    // was reset): fetch all of it; duplicates are dropped
                    // by the store.
                    tracing::warn!(
                        after,
                        "the archive refused our position ({reason}); fetching it all"
                    );
                    self.request_archive_page(live, None).await?;
                }
                Some(IqPurpose::ArchivePage { after: None }) => {
                    tracing::warn!("the server refused archive catch-up: {reason}");
                    live.catch_up = None;
                }
                Some(purpose) => {
                    tracing::warn!(?purpose, "the server refused our request: {reason}")
                }
                None => tracing::debug!("error answer to an unknown request: {reason}"),
            },
            Inbound::UnsupportedIq { id, from } => {
                let error = StanzaError::new(
                    ErrorType::Cancel,
                    DefinedCondition::ServiceUnavailable,
                    "en",
                    "not supported by this client",
                );
                let mut answer = Iq::from_error(id, error);
                if let Some(from) = from {
                    answer = answer.with_to(from);
                }
                self.write_stanza(live, &answer).await?;
            }
            Inbound::Ignored(why) => tracing::trace!("ignored stanza: {why}"),
        }
        Ok(())
    }

    fn on_roster(&mut self, payload: Option<Element>) {
        let Some(payload) = payload else {
            self.emit(SessionEvent::RosterUnchanged);
            return;
        };
        match Roster::try_from(payload) {
            Ok(roster) => {
                self.roster_ver.clone_from(&roster.ver);
                self.emit(SessionEvent::RosterReplaced {
                    ver: roster.ver,
                    items: roster.items.into_iter().map(inbound::roster_item).collect(),
                });
            }
            Err(e) => tracing::warn!("the server's roster does not parse: {e}"),
        }
    }

    /// Close cleanly: unavailable presence, wait for outstanding acks, then
    /// the stream footer.
    async fn close(&mut self, live: &mut Live, interrupt: Interrupt) -> End {
        let goodbye = async {
            self.write_stanza(live, &Presence::new(PresenceType::Unavailable))
                .await?;
            if live.sm.is_some() && !self.unacked.is_empty() {
                self.write_nonza(live, &sm::R).await?;
                let deadline = tokio::time::Instant::now() + self.config.timeouts.close;
                while !self.unacked.is_empty() {
                    match tokio::time::timeout_at(deadline, live.stream.next()).await {
                        Ok(Some(Ok(el))) => self.on_element(live, el).await?,
                        Ok(Some(Err(ReadError::SoftTimeout | ReadError::ParseError(_)))) => {}
                        Ok(_) | Err(_) => break,
                    }
                }
            }
            Ok::<(), SessionError>(())
        };
        if let Err(e) = goodbye.await {
            tracing::debug!("closing: {e}");
        }
        connect::close(&mut live.stream, self.config.timeouts.close).await;
        End::Interrupted(interrupt)
    }

    async fn write_stanza<T: AsXml>(&self, live: &mut Live, item: &T) -> Result<(), SessionError> {
        self.write(live, item).await?;
        if let Some(counters) = &mut live.sm {
            counters.sent = counters.sent.wrapping_add(1);
        }
        Ok(())
    }

    async fn write_nonza<T: AsXml>(&self, live: &mut Live, item: &T) -> Result<(), SessionError> {
        self.write(live, item).await
    }

    async fn write<T: AsXml>(&self, live: &mut Live, item: &T) -> Result<(), SessionError> {
        let limit = self.config.timeouts.probe_answer;
        match tokio::time::timeout(limit, live.stream.send(item)).await {
            Ok(result) => result.map_err(SessionError::Io),
            Err(_) => Err(SessionError::Timeout {
                step: "writing to the server",
                after: limit,
            }),
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
    fn iq_id(&mut self, purpose: IqPurpose) -> String {
        self.next_iq += 1;
        let id = format!("w{}", self.next_iq);
        let deadline = tokio::time::Instant::now() + self.iq_timeout;
        self.pending_iqs.insert(id.clone(), (purpose, deadline));
        id
    }
}
