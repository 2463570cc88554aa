//! Catch-up from the server archive (XEP-0313), one page at a time, and
//! the archive position that goes with the messages.
//!
//! The position may only move in the event that carries the messages it
//! covers ([`SessionEvent::Messages`]), so the host stores both in one
//! transaction. A page's results are held until its `<fin/>` and reported
//! as one batch with the page's last id. Live messages move the position
//! too, but only once a catch-up has completed: before that, the archive
//! may hold messages between the position and them.
//!
//! History order: a catch-up returns the archive after the position in the
//! server's order, live messages we already have included, and the host
//! lays them all again in that order. A message that arrives live during
//! the catch-up but is archived after the last page was asked for is not
//! returned; a copy of it is reported again, marked archived, at the end,
//! since it came after everything the catch-up returned.

use minidom::Element;
use xmpp_parsers::iq::Iq;

use crate::error::SessionError;
use crate::events::{ArchiveStep, ReceivedMessage, SessionEvent};
use crate::mam;

use super::*;

/// Live messages remembered during one catch-up; past this, later ones are
/// not laid again (their order may then be off, nothing is lost).
const LIVE_LIMIT: usize = 1_000;

impl CatchUp {
    /// Keep an archive result for the end of its page. A server that sends
    /// far more than a page's worth gets the excess reported early, without
    /// a position, so memory stays bounded.
    fn add_result(&mut self, message: ReceivedMessage) -> Option<Vec<ReceivedMessage>> {
        if let Some(sid) = &message.stanza_id {
            self.live.retain(|m| m.stanza_id.as_ref() != Some(sid));
        }
        self.page.push(message);
        (self.page.len() >= 2 * mam::PAGE).then(|| std::mem::take(&mut self.page))
    }

    /// Remember a live message that a later page may or may not return.
    fn note_live(&mut self, message: &ReceivedMessage) {
        // Without a stanza-id it is not in the archive, and laying it again
        // could not be recognised as the same message.
        if message.stanza_id.is_some() && self.live.len() < LIVE_LIMIT {
            self.live.push(ReceivedMessage {
                archived: true,
                ..message.clone()
            });
        }
    }
}

impl Worker {
    /// Report one live message; it moves the position when nothing lies
    /// between the position and it.
    pub(super) fn on_live_message(&mut self, live: &mut Live, message: ReceivedMessage) {
        let step = match &mut live.catch_up {
            Some(catch_up) => {
                catch_up.note_live(&message);
                None
            }
            None if self.catch_up_due => None,
            None => message.stanza_id.clone().map(|to| self.step_to(to)),
        };
        self.gather_live(live, message, step);
    }

    /// Hold one archive result of our catch-up for the end of its page.
    pub(super) fn on_archived(
        &mut self,
        live: &mut Live,
        queryid: Option<String>,
        message: ReceivedMessage,
    ) {
        let ours = |c: &CatchUp| Some(&c.queryid) == queryid.as_ref();
        if live
            .catch_up
            .as_ref()
            .is_some_and(|c| ours(c) && c.batch.is_none())
        {
            // The page is reported at its end; it holds `h` from here.
            let batch = self.open_batch(live);
            if let Some(catch_up) = &mut live.catch_up {
                catch_up.batch = Some(batch);
            }
        }
        match &mut live.catch_up {
            Some(catch_up) if ours(catch_up) => {
                catch_up.fetched += 1;
                if let Some(early) = catch_up.add_result(message) {
                    tracing::debug!("oversized archive page; reporting part of it early");
                    let batch = catch_up.batch.take();
                    let batch = batch.unwrap_or_else(|| self.next_batch());
                    self.emit(SessionEvent::Messages {
                        messages: early,
                        archive_position: None,
                        batch,
                    });
                }
            }
            _ => tracing::debug!("archive result for a query we did not make"),
        }
    }

    /// The host could not store a batch: its position is `position`.
    pub(super) fn rewind_archive(&mut self, position: Option<String>) {
        tracing::info!(account = %self.account.jid, ?position, "archive position rewound by the host");
        self.archive_position = position;
        self.catch_up_due = true;
        self.rewinds = self.rewinds.wrapping_add(1);
    }

    pub(super) fn step_to(&mut self, to: String) -> ArchiveStep {
        self.sent_since_position = 0;
        ArchiveStep {
            from: self.archive_position.replace(to.clone()),
            to,
        }
    }

    pub(super) async fn request_archive_page(
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
                page: Vec::new(),
                live: Vec::new(),
                rewinds: self.rewinds,
                batch: None,
            });
            self.emit(SessionEvent::CatchUpStarted);
        }
        let query = mam::page_query(&queryid, after.as_deref());
        let id = live.iq_id(IqPurpose::ArchivePage { after });
        self.write_stanza(live, &Iq::from_set(id, query)).await
    }

    pub(super) async fn on_archive_page(
        &mut self,
        live: &mut Live,
        after: Option<String>,
        payload: Option<Element>,
    ) -> Result<(), SessionError> {
        let Some(catch_up) = live.catch_up.as_mut() else {
            return Ok(());
        };
        let mut messages = std::mem::take(&mut catch_up.page);
        let batch = catch_up.batch.take();
        let rewound = catch_up.rewinds != self.rewinds;
        let Some((complete, last)) = mam::page_end(payload) else {
            tracing::warn!("the server's archive answer does not parse; catch-up stopped");
            live.catch_up = None;
            if messages.is_empty() {
                self.release(live, batch);
            } else {
                let batch = batch.unwrap_or_else(|| self.next_batch());
                self.emit(SessionEvent::Messages {
                    messages,
                    archive_position: None,
                    batch,
                });
            }
            self.emit(SessionEvent::CatchUpStopped);
            return self.flush_queue(live).await;
        };
        let done = complete || last.is_none() || last == after;
        if done {
            messages.append(&mut catch_up.live);
        }
        // After a rewind the position waits for the next catch-up: moving
        // it from the rewound one would skip what the host lost.
        let step = last
            .clone()
            .filter(|l| !rewound && self.archive_position.as_ref() != Some(l))
            .map(|l| self.step_to(l));
        if !messages.is_empty() || step.is_some() {
            let batch = batch.unwrap_or_else(|| self.next_batch());
            self.emit(SessionEvent::Messages {
                messages,
                archive_position: step,
                batch,
            });
        } else {
            self.release(live, batch);
        }
        if done {
            let fetched = live.catch_up.take().map(|c| c.fetched).unwrap_or(0);
            if !rewound {
                self.catch_up_due = false;
            }
            tracing::info!(account = %self.account.jid, fetched, "caught up from the archive");
            // What our other devices read meanwhile names messages now
            // stored; the catch-up is done once it is known, so what was
            // read elsewhere is not news (`markers.rs`).
            self.fetch_read_state(live, fetched).await?;
            // What waited for the catch-up goes out now, after it.
            return self.flush_queue(live).await;
        }
        self.request_archive_page(live, last).await
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::events::MessageDirection;

    fn message(body: &str, stanza_id: Option<&str>) -> ReceivedMessage {
        ReceivedMessage {
            peer: xmpp_parsers::jid::BareJid::new("juliet@example.net").unwrap(),
            direction: MessageDirection::Incoming,
            body: body.to_owned(),
            timestamp_ms: 0,
            origin_id: None,
            stanza_id: stanza_id.map(str::to_owned),
            marker_id: None,
            archived: false,
        }
    }

    fn catch_up() -> CatchUp {
        CatchUp {
            queryid: "q".into(),
            fetched: 0,
            page: Vec::new(),
            live: Vec::new(),
            rewinds: 0,
            batch: None,
        }
    }

    #[test]
    fn live_messages_a_page_returns_are_not_laid_again() {
        let mut c = catch_up();
        c.note_live(&message("a", Some("s-a")));
        c.note_live(&message("b", Some("s-b")));
        // Not in the archive, and not recognisable again: left alone.
        c.note_live(&message("c", None));
        assert_eq!(c.live.len(), 2);
        assert!(c.live.iter().all(|m| m.archived), "laid again as archived");
        assert!(c.add_result(message("a", Some("s-a"))).is_none());
        let left: Vec<&str> = c.live.iter().map(|m| m.body.as_str()).collect();
        assert_eq!(left, ["b"]);
        assert_eq!(c.page.len(), 1);
    }

    #[test]
    fn an_oversized_page_is_reported_early() {
        let mut c = catch_up();
        for i in 0..2 * mam::PAGE - 1 {
            assert!(c.add_result(message(&i.to_string(), None)).is_none());
        }
        let early = c.add_result(message("last", None)).unwrap();
        assert_eq!(early.len(), 2 * mam::PAGE);
        assert!(c.page.is_empty());
    }
}
