//! The archive's newest entry, asked for when our own messages went out
//! with nothing received after them: at once after many (an outbox drained
//! after a time offline), after a few once the stream has been idle for the
//! idle-probe time. Without it the position stays before them, and the next
//! catch-up fetches every one of them back only to drop it as known.
//!
//! Moving the position to the newest entry skips nothing: while a stream is
//! live and caught up, the server writes every message it archives for us
//! to this stream before it answers a later query, so everything archived
//! before the answer has already arrived, and was reported before the
//! move. Live messages rely on the same order when they move the position.
//! The entry itself is not reported: the host has it, and a catch-up's copy
//! of a known message lays it again at the end of its conversation.

use minidom::Element;
use xmpp_parsers::iq::Iq;
use xmpp_parsers::mam::{Query, QueryId};
use xmpp_parsers::rsm::SetQuery;

use crate::error::SessionError;
use crate::events::SessionEvent;
use crate::mam;

use super::*;

/// Our own messages acknowledged since the position last moved before the
/// archive's newest entry is asked for at once. A conversation moves the
/// position with each message received, so fewer wait for the stream to
/// idle: a query per message sent would cost more than it saves.
pub(super) const TIP_AFTER: u32 = 20;

/// A query for the archive's newest entry, under way.
#[derive(Debug)]
pub(super) struct Tip {
    queryid: String,
    /// `sent_since_position` when asked: what the answer covers.
    covers: u32,
}

impl Worker {
    /// Ask for the archive's newest entry when our own messages are all
    /// acknowledged, enough of them wait behind the position (any, when
    /// `stream_idle`), and nothing else reads the archive.
    pub(super) async fn maybe_ask_tip(
        &mut self,
        live: &mut Live,
        stream_idle: bool,
    ) -> Result<(), SessionError> {
        let all_acked = self.unacked.is_empty() && self.queued.is_empty();
        let archive_idle = live.catch_up.is_none() && live.doubts.is_none() && live.tip.is_none();
        let enough = if stream_idle { 1 } else { TIP_AFTER };
        if !all_acked || !archive_idle || self.catch_up_due || self.sent_since_position < enough {
            return Ok(());
        }
        let queryid = uuid::Uuid::new_v4().simple().to_string();
        tracing::debug!(
            account = %self.account.jid,
            sent = self.sent_since_position,
            "asking the archive for its newest entry"
        );
        let query = Query {
            queryid: Some(QueryId(queryid.clone())),
            node: None,
            form: None,
            // An empty `before`: the last page (XEP-0059 §2.5).
            set: Some(SetQuery {
                max: Some(1),
                after: None,
                before: Some(String::new()),
                index: None,
            }),
            flip_page: false,
        };
        live.tip = Some(Tip {
            queryid,
            covers: self.sent_since_position,
        });
        let id = live.iq_id(IqPurpose::ArchiveTip);
        self.write_stanza(live, &Iq::from_set(id, query)).await
    }

    /// An archive result: `true` when it answered the query for the
    /// newest entry (the entry itself is not needed, only its id).
    pub(super) fn on_tip_result(&self, live: &Live, queryid: Option<&str>) -> bool {
        live.tip
            .as_ref()
            .is_some_and(|tip| queryid == Some(tip.queryid.as_str()))
    }

    /// The answer ended: the position moves to the newest entry.
    pub(super) fn on_tip(&mut self, live: &mut Live, payload: Option<Element>) {
        let Some(tip) = live.tip.take() else {
            return;
        };
        // A catch-up that began meanwhile (a rewind) owns the position.
        if self.catch_up_due || live.catch_up.is_some() {
            return;
        }
        let Some((_, Some(last))) = mam::page_end(payload) else {
            tracing::debug!("the archive did not name its newest entry");
            return;
        };
        if self.archive_position.as_ref() == Some(&last) {
            return;
        }
        tracing::info!(
            account = %self.account.jid,
            sent = tip.covers,
            "archive position moved past our own messages"
        );
        // What was acknowledged after the question was written after it too,
        // so it lies past the newest entry named in the answer.
        let later = self.sent_since_position.saturating_sub(tip.covers);
        let step = self.step_to(last);
        self.sent_since_position = later;
        // No stanza is held back for it, so its confirmation frees none.
        let batch = self.next_batch();
        self.emit(SessionEvent::Messages {
            messages: Vec::new(),
            archive_position: Some(step),
            batch,
        });
    }

    /// The query failed: the position stays, and the next catch-up
    /// fetches what lies after it.
    pub(super) fn tip_failed(&mut self, live: &mut Live) {
        live.tip = None;
        tracing::debug!("the archive refused the query for its newest entry");
    }
}
