//! What arrives on a live stream: stanzas, acks, stream errors.

use minidom::Element;
use xmpp_parsers::iq::Iq;
use xmpp_parsers::jid::Jid;
use xmpp_parsers::ns;
use xmpp_parsers::roster::Roster;
use xmpp_parsers::sm;
use xmpp_parsers::stanza_error::{DefinedCondition, ErrorType, StanzaError};

use crate::error::SessionError;
use crate::events::{DeliveryStage, SessionEvent};
use crate::inbound::{self, Inbound};

use super::*;

impl Worker {
    pub(super) async fn on_element(
        &mut self,
        live: &mut Live,
        el: Element,
    ) -> Result<(), SessionError> {
        if inbound::is_stanza(&el) {
            if let Some(counters) = &mut live.sm {
                counters.handled = counters.handled.wrapping_add(1);
            }
            let own = live.jid.to_bare();
            let now_ms = chrono::Utc::now().timestamp_millis();
            let inbound = inbound::classify(el, &own, now_ms);
            // Events keep the stream's order: the live messages before
            // this stanza are reported before whatever it brings.
            if !matches!(inbound, Inbound::Message(_)) {
                self.report_gathered(live);
            }
            return self.on_stanza(live, inbound).await;
        }
        self.report_gathered(live);
        if el.ns() == ns::SM {
            return match sm::Nonza::try_from(el) {
                Ok(sm::Nonza::Req(_)) => {
                    if let Some(counters) = &mut live.sm {
                        counters.owed = true;
                    }
                    self.send_ack(live).await
                }
                Ok(sm::Nonza::Ack(ack)) => {
                    self.on_ack(ack.h);
                    self.ack_answered(live);
                    self.maybe_ask_tip(live, false).await
                }
                Ok(_) => {
                    tracing::debug!("ignoring a stream-management element on a live stream");
                    Ok(())
                }
                Err(e) => {
                    tracing::debug!("unreadable stream-management element: {e}");
                    Err(SessionError::Protocol(
                        "it sent a stream-management element Wimsy cannot read".to_owned(),
                    ))
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

    pub(super) fn on_ack(&mut self, h: u32) {
        // Sequence numbers wrap at 2^32: "acknowledged" means at most half
        // the number space behind h.
        while let Some(front) = self.unacked.front() {
            if h.wrapping_sub(front.seq) >= u32::MAX / 2 {
                break;
            }
            if let Some(entry) = self.unacked.pop_front() {
                // A bounce already said where it stands: the ack only
                // means the server handled it.
                if !entry.bounced {
                    self.sent_since_position = self.sent_since_position.saturating_add(1);
                    self.emit(SessionEvent::Delivery {
                        token: entry.message.token,
                        stage: DeliveryStage::Acked,
                    });
                }
            }
        }
    }

    pub(super) async fn on_stanza(
        &mut self,
        live: &mut Live,
        inbound: Inbound,
    ) -> Result<(), SessionError> {
        match inbound {
            Inbound::Message(message) => self.on_live_message(live, message),
            Inbound::Archived { queryid, message }
                if self.on_doubt_result(live, queryid.as_deref(), &message) => {}
            Inbound::Archived { queryid, .. } if self.on_tip_result(live, queryid.as_deref()) => {}
            Inbound::Archived { queryid, message } => self.on_archived(live, queryid, message),
            Inbound::MessageError { id, reason } => {
                if let Some(entry) = self
                    .unacked
                    .iter_mut()
                    .find(|entry| entry.message.origin_id == id)
                {
                    entry.bounced = true;
                }
                if let Some((_, token)) = self.recent.iter().find(|(origin, _)| *origin == id) {
                    self.emit(SessionEvent::Delivery {
                        token: *token,
                        stage: DeliveryStage::Failed(reason),
                    });
                }
            }
            Inbound::Displayed(reads) => {
                for read in reads {
                    self.emit(SessionEvent::Displayed(read));
                }
            }
            Inbound::DiscoInfo { id, from, node } => {
                self.answer_disco(live, id, from, node).await?;
            }
            Inbound::Presence(update) => self.emit(SessionEvent::Presence(update)),
            Inbound::Subscription { from, kind } => {
                self.emit(SessionEvent::Subscription { from, kind });
            }
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
                Some(IqPurpose::RosterSet(reply)) => {
                    // The host may have stopped waiting.
                    let _ = reply.send(Ok(()));
                }
                Some(IqPurpose::CarbonsEnable) => tracing::debug!("carbons enabled"),
                Some(IqPurpose::ReadPublish { .. }) => tracing::debug!("read state published"),
                Some(IqPurpose::ReadFetch { fetched }) => {
                    self.on_read_state(live, payload, fetched);
                }
                Some(IqPurpose::ArchivePage { after }) => {
                    self.on_archive_page(live, after, payload).await?;
                }
                Some(IqPurpose::DoubtPage { peer, start_ms }) => {
                    self.on_doubt_page(live, peer, start_ms, payload).await?;
                }
                Some(IqPurpose::ArchiveTip) => self.on_tip(live, payload),
                // The answer to a probe on a stream without stream
                // management.
                Some(IqPurpose::Ping) => live.probe_deadline = None,
                None => {}
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
                Some(IqPurpose::DoubtPage { peer, .. }) => {
                    tracing::warn!(
                        %peer,
                        "the server's archive could not be searched ({reason}); \
                         resending messages that may then arrive twice"
                    );
                    self.doubt_search_ended(live).await?;
                }
                Some(IqPurpose::ArchivePage { after: None }) => {
                    tracing::warn!("the server refused archive catch-up: {reason}");
                    let batch = live.catch_up.take().and_then(|c| c.batch);
                    self.release(live, batch);
                    self.emit(SessionEvent::CatchUpStopped);
                    self.flush_queue(live).await?;
                }
                Some(IqPurpose::RosterSet(reply)) => {
                    tracing::info!("the server refused a roster change: {reason}");
                    let _ = reply.send(Err(RequestError::Refused(reason)));
                }
                // Refused, but answered: the stream lives.
                Some(IqPurpose::Ping) => live.probe_deadline = None,
                Some(IqPurpose::ArchiveTip) => self.tip_failed(live),
                // No node yet: nothing was read elsewhere.
                Some(IqPurpose::ReadFetch { fetched }) => {
                    tracing::debug!("no read state on the server: {reason}");
                    self.on_read_state(live, None, fetched);
                }
                Some(IqPurpose::ReadPublish { read, options }) => {
                    self.read_publish_refused(live, read, options, &reason)
                        .await?;
                }
                Some(purpose) => {
                    tracing::warn!(
                        purpose = purpose.name(),
                        "the server refused our request: {reason}"
                    )
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

    pub(super) fn on_roster(&mut self, payload: Option<Element>) {
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
}
