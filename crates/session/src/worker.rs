//! The session's worker: the one owner of the account's connection state.
//! Commands and stream input are drained by one `select!`; every retry wait
//! comes from [`crate::policy`].

use std::collections::{HashMap, VecDeque};
use std::future::Future;

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

use crate::config::{AccountConfig, SessionConfig};
use crate::connect::{self, LoggedIn, Xml};
use crate::error::SessionError;
use crate::events::{Command, DeliveryStage, OutgoingMessage, SessionEvent, SessionState};
use crate::inbound::{self, Inbound};
use crate::policy;

/// Why the worker stopped what it was doing.
enum Interrupt {
    Disconnect,
    Shutdown(Option<oneshot::Sender<()>>),
}

/// How a connected period ended.
enum End {
    Interrupted(Interrupt),
    Lost(SessionError),
}

#[derive(Debug, Clone, Copy)]
enum IqPurpose {
    RosterGet,
    CarbonsEnable,
    Ping,
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
    /// Messages written but not yet acknowledged, with their stanza number.
    inflight: VecDeque<(u32, OutgoingMessage)>,
    pending_iqs: HashMap<String, IqPurpose>,
    next_iq: u64,
}

pub(crate) struct Worker {
    account: AccountConfig,
    config: SessionConfig,
    commands: mpsc::UnboundedReceiver<Command>,
    events: mpsc::UnboundedSender<SessionEvent>,
    want_online: bool,
    roster_ver: Option<String>,
    /// Messages waiting for a stream, in send order.
    queued: VecDeque<OutgoingMessage>,
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
        roster_ver: Option<String>,
        commands: mpsc::UnboundedReceiver<Command>,
        events: mpsc::UnboundedSender<SessionEvent>,
    ) -> Self {
        Self {
            account,
            config,
            commands,
            events,
            want_online: false,
            roster_ver,
            queued: VecDeque::new(),
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
        let mut attempt: u32 = 0;
        let mut last_error: Option<String> = None;
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
                        attempt = 0;
                        last_error = None;
                    }
                    Some(Command::Disconnect) => {
                        self.set_state(SessionState::Offline);
                    }
                    Some(Command::Send(message)) => self.queued.push_back(message),
                    Some(Command::Shutdown(done)) => {
                        let _ = done.send(());
                        return;
                    }
                }
                continue;
            }

            attempt = attempt.saturating_add(1);
            self.set_state(SessionState::Connecting {
                attempt,
                retry_in: None,
                last_error: last_error.clone(),
            });
            let account = self.account.clone();
            let timeouts = self.config.timeouts;
            let outcome = match self
                .race(connect::connect_and_login(&account, &timeouts))
                .await
            {
                Ok(outcome) => outcome,
                Err(interrupt) => {
                    if self.interrupted(interrupt) {
                        return;
                    }
                    continue;
                }
            };
            let failure = match outcome {
                Ok(logged_in) => {
                    attempt = 0;
                    last_error = None;
                    match self.run_connected(logged_in).await {
                        End::Interrupted(interrupt) => {
                            if self.interrupted(interrupt) {
                                return;
                            }
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
                self.set_state(SessionState::Failed {
                    kind: failure.kind(),
                    reason: failure.to_string(),
                });
                continue;
            }
            tracing::info!(account = %self.account.jid, attempt, "connection failed: {failure}");
            let reason = failure.to_string();
            let wait = policy::delay(&self.config.backoff, attempt.max(1), &mut rng);
            self.set_state(SessionState::Connecting {
                attempt: attempt + 1,
                retry_in: Some(wait),
                last_error: Some(reason.clone()),
            });
            last_error = Some(reason);
            if let Err(interrupt) = self.race(tokio::time::sleep(wait)).await
                && self.interrupted(interrupt)
            {
                return;
            }
        }
    }

    /// Apply an interrupt; `true` when the worker must end.
    fn interrupted(&mut self, interrupt: Interrupt) -> bool {
        match interrupt {
            Interrupt::Disconnect => {
                self.want_online = false;
                self.set_state(SessionState::Offline);
                false
            }
            Interrupt::Shutdown(done) => {
                self.set_state(SessionState::Offline);
                if let Some(done) = done {
                    let _ = done.send(());
                }
                true
            }
        }
    }

    /// Run `work` while still taking commands: sends are queued, a
    /// disconnect or shutdown abandons `work`.
    async fn race<F: Future>(&mut self, work: F) -> Result<F::Output, Interrupt> {
        tokio::pin!(work);
        loop {
            tokio::select! {
                out = &mut work => return Ok(out),
                command = self.commands.recv() => match command {
                    None => return Err(Interrupt::Shutdown(None)),
                    Some(Command::Connect) => {}
                    Some(Command::Send(message)) => self.queued.push_back(message),
                    Some(Command::Disconnect) => return Err(Interrupt::Disconnect),
                    Some(Command::Shutdown(done)) => return Err(Interrupt::Shutdown(Some(done))),
                },
            }
        }
    }

    async fn run_connected(&mut self, logged_in: LoggedIn) -> End {
        let LoggedIn {
            stream,
            jid,
            sm,
            early,
        } = logged_in;
        if let Some(enabled) = &sm {
            tracing::debug!(
                account = %self.account.jid,
                id = ?enabled.id,
                location = ?enabled.location,
                resumable = enabled.resume,
                "stream management enabled"
            );
        }
        let mut live = Live {
            stream,
            jid: jid.clone(),
            sm: sm.map(|_| StreamCounters::default()),
            inflight: VecDeque::new(),
            pending_iqs: HashMap::new(),
            next_iq: 0,
        };
        let end = self.serve(&mut live, early).await;
        // Anything not acknowledged goes out again, with the same origin-id,
        // on the next stream; receivers recognise it by that id.
        while let Some((_, message)) = live.inflight.pop_back() {
            self.queued.push_front(message);
        }
        end
    }

    async fn serve(&mut self, live: &mut Live, early: Vec<Element>) -> End {
        self.set_state(SessionState::Connected {
            jid: live.jid.clone(),
        });
        for el in early {
            if let Err(e) = self.on_element(live, el).await {
                return End::Lost(e);
            }
        }
        if let Err(e) = self.start_session(live).await {
            return End::Lost(e);
        }
        loop {
            tokio::select! {
                item = live.stream.next() => {
                    let result = match item {
                        Some(Ok(el)) => self.on_element(live, el).await,
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
                command = self.commands.recv() => {
                    let result = match command {
                        None => return self.close(live, Interrupt::Shutdown(None)).await,
                        Some(Command::Connect) => Ok(()),
                        Some(Command::Send(message)) => {
                            self.queued.push_back(message);
                            // Take every send already waiting, so a burst
                            // costs one ack request instead of one each.
                            while let Ok(next) = self.commands.try_recv() {
                                match next {
                                    Command::Send(message) => self.queued.push_back(message),
                                    Command::Connect => {}
                                    Command::Disconnect => {
                                        return self.close(live, Interrupt::Disconnect).await;
                                    }
                                    Command::Shutdown(done) => {
                                        return self.close(live, Interrupt::Shutdown(Some(done))).await;
                                    }
                                }
                            }
                            self.flush_queue(live).await
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
            }
        }
    }

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
        self.write_stanza(live, &Presence::available()).await?;
        self.flush_queue(live).await
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
                live.inflight.push_back((counters.sent, message));
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

    async fn probe(&mut self, live: &mut Live) -> Result<(), SessionError> {
        tracing::debug!(account = %self.account.jid, "stream idle; probing it");
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
                    self.on_ack(live, h);
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

    fn on_ack(&mut self, live: &mut Live, h: u32) {
        // Sequence numbers wrap at 2^32: "acknowledged" means at most half
        // the number space behind h.
        while let Some((seq, _)) = live.inflight.front() {
            if h.wrapping_sub(*seq) >= u32::MAX / 2 {
                break;
            }
            if let Some((_, message)) = live.inflight.pop_front() {
                self.emit(SessionEvent::Delivery {
                    token: message.token,
                    stage: DeliveryStage::Acked,
                });
            }
        }
    }

    async fn on_stanza(&mut self, live: &mut Live, inbound: Inbound) -> Result<(), SessionError> {
        match inbound {
            Inbound::Message(message) => self.emit(SessionEvent::Message(message)),
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
            Inbound::IqResult { id, payload } => match live.pending_iqs.remove(&id) {
                Some(IqPurpose::RosterGet) => self.on_roster(payload),
                Some(IqPurpose::CarbonsEnable) => tracing::debug!("carbons enabled"),
                Some(IqPurpose::Ping) | None => {}
            },
            Inbound::IqError { id, reason } => match live.pending_iqs.remove(&id) {
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
            if live.sm.is_some() && !live.inflight.is_empty() {
                self.write_nonza(live, &sm::R).await?;
                let deadline = tokio::time::Instant::now() + self.config.timeouts.close;
                while !live.inflight.is_empty() {
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

impl Live {
    fn iq_id(&mut self, purpose: IqPurpose) -> String {
        self.next_iq += 1;
        let id = format!("w{}", self.next_iq);
        self.pending_iqs.insert(id.clone(), purpose);
        id
    }
}
