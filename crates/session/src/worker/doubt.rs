//! Messages in doubt: written to a stream that ended before the server
//! acknowledged them, with no word from the server on how far it got (a
//! killed daemon, a server that forgot the session). Resending them blindly
//! delivers some twice; dropping them loses some. So before the queue goes
//! out on a fresh session, the server's archive (XEP-0313) is asked for our
//! own messages to each of those peers since the messages were written;
//! those it holds (matched by origin-id, XEP-0359) are acknowledged, the
//! rest are resent.

use std::collections::HashSet;

use minidom::Element;
use xmpp_parsers::iq::Iq;
use xmpp_parsers::jid::BareJid;

use crate::error::SessionError;
use crate::events::{DeliveryStage, MessageDirection, ReceivedMessage, SessionEvent};
use crate::mam;

use super::*;

/// How far our clock may be ahead of the server's: the archive is searched
/// from this long before a message was written.
const CLOCK_SKEW: i64 = 10 * 60 * 1000;

/// An archive search for messages in doubt, under way.
#[derive(Debug)]
pub(super) struct Doubts {
    queryid: String,
    /// Peers whose search has not finished.
    pending: usize,
    /// Origin-ids of our own messages found in the archive.
    found: HashSet<String>,
}

impl Worker {
    /// Start searching the archive for the queued messages in doubt, one
    /// search per peer; the queue is held until every search has ended.
    pub(super) async fn check_doubts(&mut self, live: &mut Live) -> Result<(), SessionError> {
        let mut since_by_peer: Vec<(BareJid, i64)> = Vec::new();
        for message in &self.queued {
            let Some(since) = message.in_doubt_since_ms else {
                continue;
            };
            let peer = message.to.to_bare();
            match since_by_peer.iter_mut().find(|(p, _)| *p == peer) {
                Some((_, earliest)) => *earliest = (*earliest).min(since),
                None => since_by_peer.push((peer, since)),
            }
        }
        if since_by_peer.is_empty() {
            return Ok(());
        }
        let queryid = uuid::Uuid::new_v4().simple().to_string();
        tracing::info!(
            account = %self.account.jid,
            peers = since_by_peer.len(),
            "looking in the archive for messages a broken stream may have delivered"
        );
        live.doubts = Some(Doubts {
            queryid: queryid.clone(),
            pending: since_by_peer.len(),
            found: HashSet::new(),
        });
        for (peer, since) in since_by_peer {
            let start_ms = since.saturating_sub(CLOCK_SKEW);
            self.request_doubt_page(live, &queryid, peer, start_ms, None)
                .await?;
        }
        Ok(())
    }

    async fn request_doubt_page(
        &mut self,
        live: &mut Live,
        queryid: &str,
        peer: BareJid,
        start_ms: i64,
        after: Option<String>,
    ) -> Result<(), SessionError> {
        let query = mam::sent_to_query(queryid, &peer, start_ms, after.as_deref());
        let id = live.iq_id(IqPurpose::DoubtPage { peer, start_ms });
        self.write_stanza(live, &Iq::from_set(id, query)).await
    }

    /// An archive result: `true` when it answered the search for messages
    /// in doubt (and so is not a catch-up result).
    pub(super) fn on_doubt_result(
        &mut self,
        live: &mut Live,
        queryid: Option<&str>,
        message: &ReceivedMessage,
    ) -> bool {
        let Some(doubts) = &mut live.doubts else {
            return false;
        };
        if queryid != Some(doubts.queryid.as_str()) {
            return false;
        }
        if message.direction == MessageDirection::SentElsewhere
            && let Some(origin_id) = &message.origin_id
        {
            doubts.found.insert(origin_id.clone());
        }
        true
    }

    /// The end of one page of a peer's search: the next page, or that
    /// peer is done.
    pub(super) async fn on_doubt_page(
        &mut self,
        live: &mut Live,
        peer: BareJid,
        start_ms: i64,
        payload: Option<Element>,
    ) -> Result<(), SessionError> {
        match mam::page_end(payload) {
            Some((false, Some(last))) => {
                let Some(queryid) = live.doubts.as_ref().map(|d| d.queryid.clone()) else {
                    return Ok(());
                };
                self.request_doubt_page(live, &queryid, peer, start_ms, Some(last))
                    .await
            }
            Some(_) => self.doubt_search_ended(live).await,
            None => {
                tracing::warn!(%peer, "the server's archive answer does not parse");
                self.doubt_search_ended(live).await
            }
        }
    }

    /// A peer's search ended (found everything it could, or failed: then
    /// what was not found is resent, which at worst delivers it twice).
    pub(super) async fn doubt_search_ended(&mut self, live: &mut Live) -> Result<(), SessionError> {
        let Some(doubts) = &mut live.doubts else {
            return Ok(());
        };
        doubts.pending = doubts.pending.saturating_sub(1);
        if doubts.pending > 0 {
            return Ok(());
        }
        let found = live.doubts.take().map(|d| d.found).unwrap_or_default();
        let mut delivered = 0usize;
        let mut keep = VecDeque::with_capacity(self.queued.len());
        while let Some(message) = self.queued.pop_front() {
            if message.in_doubt_since_ms.is_some() && found.contains(&message.origin_id) {
                delivered += 1;
                self.remember(&message);
                self.emit(SessionEvent::Delivery {
                    token: message.token,
                    stage: DeliveryStage::Acked,
                });
            } else {
                keep.push_back(message);
            }
        }
        self.queued = keep;
        tracing::info!(
            account = %self.account.jid,
            delivered,
            resending = self.queued.iter().filter(|m| m.in_doubt_since_ms.is_some()).count(),
            "messages in doubt checked against the archive"
        );
        self.flush_queue(live).await
    }
}
