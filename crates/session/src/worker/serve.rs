//! Serving a live stream: the select loop, session start, sends, probes,
//! CSI, closing, writes.

use futures::{SinkExt, StreamExt};
use minidom::Element;
use tokio_xmpp::xmlstream::ReadError;
use xmpp_parsers::carbons;
use xmpp_parsers::displayed_markers::Markable;
use xmpp_parsers::iq::Iq;
use xmpp_parsers::jid::Jid;
use xmpp_parsers::message::{Id as MessageId, Lang, Message};
use xmpp_parsers::ping::Ping;
use xmpp_parsers::presence::{Presence, Type as PresenceType};
use xmpp_parsers::roster::Roster;
use xmpp_parsers::sm;
use xmpp_parsers::stanza_id::OriginId;
use xso::AsXml;

use crate::connect;
use crate::error::SessionError;
use crate::events::{DeliveryStage, OutgoingMessage, SessionEvent, SessionState};

use super::*;

impl Worker {
    pub(super) async fn serve(
        &mut self,
        live: &mut Live,
        early: Vec<Element>,
        resumed: bool,
    ) -> End {
        self.set_state(SessionState::Connected {
            jid: live.jid.clone(),
            resumed,
        });
        for el in early {
            if let Err(e) = self.on_element(live, el).await {
                self.report_gathered(live);
                return End::Lost(e);
            }
        }
        self.report_gathered(live);
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
                    let mut result = self.on_item(live, item).await;
                    if result.is_ok() {
                        result = self.read_ahead(live).await;
                    }
                    // What was read before a failure is reported too: it
                    // was counted as handled.
                    self.report_gathered(live);
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
                    let mut effects = vec![self.on_command(command)];
                    // Take every command already waiting, so a burst of
                    // sends costs one ack request instead of one each.
                    while let Ok(next) = self.commands.try_recv() {
                        effects.push(self.on_command(Some(next)));
                    }
                    let mut flush = false;
                    for effect in effects {
                        let result = match effect {
                            Effect::Flush => {
                                flush = true;
                                Ok(())
                            }
                            // Either way the path may have changed, or the
                            // user wonders: find out now whether the stream
                            // lives.
                            Effect::Probe | Effect::UserRetry | Effect::NetworkDown => {
                                self.probe(live).await
                            }
                            Effect::Csi => self.send_csi(live).await,
                            Effect::Online(request) => self.on_online_request(live, request).await,
                            Effect::Presence => self.send_presence(live).await,
                            Effect::Displayed => self.send_displayed(live).await,
                            Effect::Stored(batch) => self.on_stored(live, batch).await,
                            Effect::Nothing => Ok(()),
                            Effect::Stop(interrupt) => return self.close(live, interrupt).await,
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
    pub(super) async fn expire_iqs(&mut self, live: &mut Live) -> Result<(), SessionError> {
        let now = tokio::time::Instant::now();
        let expired: Vec<String> = live
            .pending_iqs
            .iter()
            .filter(|(_, (_, at))| *at <= now)
            .map(|(id, _)| id.clone())
            .collect();
        for id in expired {
            if let Some((purpose, _)) = live.pending_iqs.remove(&id) {
                tracing::warn!(account = %self.account.jid, purpose = purpose.name(), "the server did not answer in time");
                match purpose {
                    // The next fresh session catches up from the stored
                    // position again; nothing is skipped.
                    IqPurpose::ArchivePage { .. } => {
                        // Its results are dropped; the archive keeps them.
                        let batch = live.catch_up.take().and_then(|c| c.batch);
                        self.release(live, batch);
                        self.emit(SessionEvent::CatchUpStopped);
                        self.flush_queue(live).await?;
                    }
                    IqPurpose::DoubtPage { .. } => self.doubt_search_ended(live).await?,
                    IqPurpose::ArchiveTip => self.tip_failed(live),
                    IqPurpose::ReadFetch { fetched } => self.on_read_state(live, None, fetched),
                    IqPurpose::RosterSet(reply) => {
                        let _ = reply.send(Err(RequestError::NoAnswer));
                    }
                    _ => {}
                }
            }
        }
        self.probe(live).await
    }

    /// A fresh session: roster by version, carbons, presence, then what
    /// waited to be sent, then catch-up from the archive.
    pub(super) async fn start_session(&mut self, live: &mut Live) -> Result<(), SessionError> {
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
        // The presence the host chose, not plain "available": contacts
        // never see us online without the user's away or busy.
        self.send_presence(live).await?;
        // What was read while offline; a new stream may be a server that
        // has gained the synchronization node.
        self.read_node_options = Some(crate::markers::NodeOptions::Full);
        self.send_displayed(live).await?;
        // Messages a broken stream may have delivered are looked up in the
        // archive first; the queue waits behind them to keep its order.
        self.check_doubts(live).await?;
        let after = self.archive_position.clone();
        self.request_archive_page(live, after).await?;
        self.flush_queue(live).await
    }

    pub(super) async fn after_resume(&mut self, live: &mut Live) -> Result<(), SessionError> {
        self.send_csi(live).await?;
        // The server kept the stream's presence; only a change made while
        // it was broken must go out.
        if self.presence_unsent {
            self.send_presence(live).await?;
        }
        self.send_displayed(live).await?;
        // As on a fresh session: what the old connection may have delivered
        // past the server's `h` is looked up first (`establish.rs`).
        self.check_doubts(live).await?;
        self.flush_queue(live).await?;
        // Nothing was lost with the stream, but an unfinished catch-up or
        // a rewind still leaves a gap behind the position.
        if self.catch_up_due {
            let after = self.archive_position.clone();
            self.request_archive_page(live, after).await?;
        }
        Ok(())
    }

    pub(super) async fn send_csi(&mut self, live: &mut Live) -> Result<(), SessionError> {
        if !live.csi {
            return Ok(());
        }
        if self.active {
            self.write_nonza(live, &xmpp_parsers::csi::Active).await
        } else {
            self.write_nonza(live, &xmpp_parsers::csi::Inactive).await
        }
    }

    /// Write every queued message, then ask for one ack covering them,
    /// with the same answer deadline as a probe: a server that froze while
    /// messages wait for their ack is noticed as soon as an idle one would
    /// be.
    pub(super) async fn flush_queue(&mut self, live: &mut Live) -> Result<(), SessionError> {
        // Held while messages in doubt are looked up (they go first) and
        // while a catch-up runs: a message takes its place in the
        // conversation when it is written, so it must come after
        // everything the catch-up lays in the server's order.
        if self.queued.is_empty() || live.doubts.is_some() || live.catch_up.is_some() {
            return Ok(());
        }
        while let Some(message) = self.queued.pop_front() {
            // Markable (XEP-0333): the peer's displayed marker will name
            // the origin-id, which is also the stanza's id.
            let stanza = Message::chat(Some(message.to.clone()))
                .with_body(Lang::default(), message.body.clone())
                .with_payload(OriginId {
                    id: message.origin_id.clone(),
                })
                .with_payload(Markable);
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
                self.unacked.push_back(Unacked {
                    seq: counters.sent,
                    written_ms: chrono::Utc::now().timestamp_millis(),
                    bounced: false,
                    message,
                });
            }
        }
        if live.sm.is_some() {
            self.request_ack(live).await?;
        }
        Ok(())
    }

    /// `<r/>` with an answer deadline (kept if one is already running).
    pub(super) async fn request_ack(&mut self, live: &mut Live) -> Result<(), SessionError> {
        live.probe_deadline
            .get_or_insert_with(|| tokio::time::Instant::now() + self.config.timeouts.probe_answer);
        self.write_nonza(live, &sm::R).await
    }

    /// An `<a/>` came: the server answered, the stream lives. (Servers
    /// need not answer every `<r/>` on its own, so no count is kept of
    /// them.)
    pub(super) fn ack_answered(&self, live: &mut Live) {
        live.probe_deadline = None;
    }

    pub(super) fn remember(&mut self, message: &OutgoingMessage) {
        if self.recent.len() == RECENT_LIMIT {
            self.recent.pop_front();
        }
        self.recent
            .push_back((message.origin_id.clone(), message.token));
    }

    /// Ask the server for a sign of life; the stream is dead if none comes
    /// within the probe timeout.
    pub(super) async fn probe(&mut self, live: &mut Live) -> Result<(), SessionError> {
        tracing::debug!(account = %self.account.jid, "probing the stream");
        if live.sm.is_some() {
            self.request_ack(live).await
        } else {
            let id = live.iq_id(IqPurpose::Ping);
            let ping = Iq::from_get(id, Ping).with_to(Jid::from(live.jid.domain().to_owned()));
            live.probe_deadline.get_or_insert_with(|| {
                tokio::time::Instant::now() + self.config.timeouts.probe_answer
            });
            self.write_stanza(live, &ping).await
        }
    }

    /// Close cleanly: unavailable presence, wait for outstanding acks, then
    /// the stream footer.
    pub(super) async fn close(&mut self, live: &mut Live, interrupt: Interrupt) -> End {
        let goodbye = async {
            self.write_stanza(live, &Presence::new(PresenceType::Unavailable))
                .await?;
            if live.sm.is_some() && !self.unacked.is_empty() {
                self.write_nonza(live, &sm::R).await?;
                let deadline = tokio::time::Instant::now() + self.config.timeouts.close;
                while !self.unacked.is_empty() {
                    match tokio::time::timeout_at(deadline, live.stream.next()).await {
                        Ok(Some(Ok(el))) => {
                            let handled = self.on_element(live, el).await;
                            self.report_gathered(live);
                            handled?;
                        }
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

    pub(super) async fn write_stanza<T: AsXml>(
        &self,
        live: &mut Live,
        item: &T,
    ) -> Result<(), SessionError> {
        self.write(live, item).await?;
        if let Some(counters) = &mut live.sm {
            counters.sent = counters.sent.wrapping_add(1);
        }
        Ok(())
    }

    pub(super) async fn write_nonza<T: AsXml>(
        &self,
        live: &mut Live,
        item: &T,
    ) -> Result<(), SessionError> {
        self.write(live, item).await
    }

    pub(super) async fn write<T: AsXml>(
        &self,
        live: &mut Live,
        item: &T,
    ) -> Result<(), SessionError> {
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
