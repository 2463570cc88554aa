//! The archive's newest entry, asked for after many of our own messages
//! went out with nothing received after them (an outbox drained after a
//! time offline). Without it the position stays before them, and the next
//! catch-up fetches every one of them back only to drop it as known.
//!
//! Moving the position to the newest entry skips nothing: while a stream is
//! live and caught up, the server writes every message it archives for us
//! to this stream before it answers a later query, so everything archived
//! before the answer has already arrived (and is stored before the move,
//! which comes in the same event as that entry, after them). Live messages
//! rely on the same order when they move the position.

use minidom::Element;
use xmpp_parsers::iq::Iq;
use xmpp_parsers::mam::{Query, QueryId};
use xmpp_parsers::rsm::SetQuery;

use crate::error::SessionError;
use crate::events::{ReceivedMessage, SessionEvent};
use crate::mam;

use super::*;

/// Our own messages acknowledged since the position last moved before the
/// archive's newest entry is asked for. Fewer than this cost less to fetch
/// again at the next catch-up than a query now; a conversation moves the
/// position anyway with each message received.
pub(super) const TIP_AFTER: u32 = 20;

/// A query for the archive's newest entry, under way.
#[derive(Debug)]
pub(super) struct Tip {
    queryid: String,
    newest: Option<ReceivedMessage>,
}

impl Worker {
    /// Ask for the archive's newest entry when our own messages are all
    /// acknowledged, enough of them wait behind the position, and nothing
    /// else reads the archive.
    pub(super) async fn maybe_ask_tip(&mut self, live: &mut Live) -> Result<(), SessionError> {
        let idle = self.unacked.is_empty() && self.queued.is_empty();
        let archive_idle = live.catch_up.is_none() && live.doubts.is_none() && live.tip.is_none();
        if !idle || !archive_idle || self.catch_up_due || self.sent_since_position < TIP_AFTER {
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
            newest: None,
        });
        let id = live.iq_id(IqPurpose::ArchiveTip);
        self.write_stanza(live, &Iq::from_set(id, query)).await
    }

    /// An archive result: `true` when it answered the query for the
    /// newest entry.
    pub(super) fn on_tip_result(
        &mut self,
        live: &mut Live,
        queryid: Option<&str>,
        message: &ReceivedMessage,
    ) -> bool {
        match &mut live.tip {
            Some(tip) if queryid == Some(tip.queryid.as_str()) => {
                tip.newest = Some(message.clone());
                true
            }
            _ => false,
        }
    }

    /// The answer ended: the position moves to the newest entry, reported
    /// with it (a message the host already has is dropped as known).
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
        let newest = tip.newest.map(|m| ReceivedMessage {
            archived: true,
            ..m
        });
        tracing::info!(
            account = %self.account.jid,
            sent = self.sent_since_position,
            "archive position moved past our own messages"
        );
        let step = self.step_to(last);
        self.emit(SessionEvent::Messages {
            messages: newest.into_iter().collect(),
            archive_position: Some(step),
        });
    }

    /// The query failed: the position stays, and the next catch-up
    /// fetches what lies after it.
    pub(super) fn tip_failed(&mut self, live: &mut Live) {
        live.tip = None;
        tracing::debug!("the archive refused the query for its newest entry");
    }
}
