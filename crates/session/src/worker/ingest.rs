//! Messages in batches, and acknowledging only what the host stored.
//!
//! Live messages that are already readable from the stream when the first
//! of them is read are reported as one [`SessionEvent::Messages`], so the
//! host stores them in one transaction: a burst of thousands costs a few
//! commits, not one each. Anything else that arrives (presence, an iq, an
//! ack) first ends the batch, so events keep the stream's order; so does
//! the end of what is readable, and [`BATCH_CAP`].
//!
//! With [`crate::SessionConfig::confirm_stored`], every batch holds back
//! the XEP-0198 count we report (`h`, in `<a/>` and when resuming) at the
//! stanza before its first message, until the host confirms it stored
//! ([`crate::SessionHandle::stored`]). A server told `h` forgets those
//! stanzas; one not told keeps them and sends them again on a resumed
//! stream. An archive page's results are held from the first one on, since
//! they are reported together at the page's end. A batch the host could not
//! store is never confirmed: `h` stays behind it on that stream, so a
//! resume gets it again (and the host's rewind makes the next catch-up
//! fetch it from the archive).

use minidom::Element;
use tokio_xmpp::xmlstream::ReadError;
use xmpp_parsers::sm;

use crate::error::SessionError;
use crate::events::{ArchiveStep, Batch, ReceivedMessage, SessionEvent};

use super::*;

/// At most this many live messages in one batch, so the host's
/// transaction, and the time before they are announced, stay short.
pub(super) const BATCH_CAP: usize = 500;

/// Live messages read together and not reported yet.
#[derive(Debug, Default)]
pub(super) struct Gathered {
    messages: Vec<ReceivedMessage>,
    /// The archive position moves to the newest of them that moves it.
    step: Option<ArchiveStep>,
    batch: Option<Batch>,
}

impl StreamCounters {
    /// What we may tell the server we handled: everything, up to the first
    /// stanza of the oldest batch the host has not confirmed.
    pub(super) fn acknowledgeable(&self) -> u32 {
        self.holds
            .front()
            .map_or(self.handled, |(_, before)| *before)
    }
}

impl Worker {
    /// A name for the next batch.
    pub(super) fn next_batch(&mut self) -> Batch {
        self.batches = self.batches.wrapping_add(1);
        Batch(self.batches)
    }

    /// A batch that starts with the stanza just counted; with
    /// `confirm_stored`, `h` stops before that stanza until it is
    /// confirmed.
    pub(super) fn open_batch(&mut self, live: &mut Live) -> Batch {
        let batch = self.next_batch();
        if self.config.confirm_stored
            && let Some(counters) = &mut live.sm
        {
            let before = counters.handled.wrapping_sub(1);
            counters.holds.push_back((batch, before));
        }
        batch
    }

    /// Add a live message to the batch being gathered.
    pub(super) fn gather_live(
        &mut self,
        live: &mut Live,
        message: ReceivedMessage,
        step: Option<ArchiveStep>,
    ) {
        if live.gathered.batch.is_none() {
            live.gathered.batch = Some(self.open_batch(live));
        }
        let gathered = &mut live.gathered;
        gathered.messages.push(message);
        if let Some(step) = step {
            // Steps chain: the batch's starts where its first one did.
            match &mut gathered.step {
                Some(whole) => whole.to = step.to,
                None => gathered.step = Some(step),
            }
        }
        if gathered.messages.len() >= BATCH_CAP {
            self.report_gathered(live);
        }
    }

    /// Report the live messages gathered so far, if any.
    pub(super) fn report_gathered(&mut self, live: &mut Live) {
        let Some(batch) = live.gathered.batch.take() else {
            return;
        };
        let messages = std::mem::take(&mut live.gathered.messages);
        let archive_position = live.gathered.step.take();
        tracing::trace!(account = %self.account.jid, messages = messages.len(), "live messages reported together");
        self.emit(SessionEvent::Messages {
            messages,
            archive_position,
            batch,
        });
    }

    /// Read on while elements are already waiting, so messages that
    /// arrived together are reported together; then report them.
    pub(super) async fn read_ahead(&mut self, live: &mut Live) -> Result<(), SessionError> {
        use futures::{FutureExt, StreamExt};
        let mut result = Ok(());
        // Bounded so that commands are not kept waiting by a server that
        // sends without pause.
        for _ in 1..BATCH_CAP {
            let Some(item) = live.stream.next().now_or_never() else {
                break;
            };
            result = self.on_item(live, item).await;
            if result.is_err() {
                break;
            }
        }
        self.report_gathered(live);
        result
    }

    /// The host stored `batch`: drop its hold, and tell a server that
    /// asked what we can acknowledge now.
    pub(super) async fn on_stored(
        &mut self,
        live: &mut Live,
        batch: Batch,
    ) -> Result<(), SessionError> {
        let Some(counters) = &mut live.sm else {
            return Ok(());
        };
        let Some(at) = counters.holds.iter().position(|(b, _)| *b == batch) else {
            // From an earlier stream, or of a host without confirm_stored.
            return Ok(());
        };
        counters.holds.remove(at);
        if counters.owed && counters.acknowledgeable() != counters.reported {
            // XEP-0198 §4: an <a/> may be sent at any time.
            self.send_ack(live).await?;
        }
        Ok(())
    }

    /// `<a h/>` with what we may acknowledge.
    pub(super) async fn send_ack(&mut self, live: &mut Live) -> Result<(), SessionError> {
        let Some(counters) = &mut live.sm else {
            return Ok(());
        };
        let h = counters.acknowledgeable();
        counters.reported = h;
        counters.owed = h != counters.handled;
        self.write_nonza(live, &sm::A::new(h)).await
    }

    /// Stop holding a batch whose messages will not be reported (a
    /// catch-up abandoned: the archive still has them).
    pub(super) fn release(&mut self, live: &mut Live, batch: Option<Batch>) {
        if let (Some(batch), Some(counters)) = (batch, &mut live.sm) {
            counters.holds.retain(|(b, _)| *b != batch);
        }
    }

    /// One item from the stream.
    pub(super) async fn on_item(
        &mut self,
        live: &mut Live,
        item: Option<Result<Element, ReadError>>,
    ) -> Result<(), SessionError> {
        match item {
            Some(Ok(el)) => {
                // Only an answer ends a probe (`ack_answered`), but while
                // the server is still sending, it has the probe time from
                // its latest element: a long page ahead of the answer is
                // not a dead stream, and what was on its way before a
                // freeze runs out.
                if live.probe_deadline.is_some() {
                    live.probe_deadline =
                        Some(tokio::time::Instant::now() + self.config.timeouts.probe_answer);
                }
                self.on_element(live, el).await
            }
            Some(Err(ReadError::SoftTimeout)) => {
                self.report_gathered(live);
                match self.probe(live).await {
                    Ok(()) => self.maybe_ask_tip(live, true).await,
                    Err(e) => Err(e),
                }
            }
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
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn h_stops_before_the_oldest_batch_not_confirmed_whatever_order_confirmations_come_in() {
        let mut counters = StreamCounters {
            handled: 10,
            ..StreamCounters::default()
        };
        assert_eq!(counters.acknowledgeable(), 10, "nothing held: everything");
        // A page held from stanza 4 on, live batches from 7 and from 9.
        counters.holds.push_back((Batch(1), 3));
        counters.holds.push_back((Batch(2), 6));
        counters.holds.push_back((Batch(3), 8));
        assert_eq!(counters.acknowledgeable(), 3);
        // A later batch stored first moves nothing.
        counters.holds.retain(|(b, _)| *b != Batch(2));
        assert_eq!(counters.acknowledgeable(), 3);
        counters.holds.retain(|(b, _)| *b != Batch(1));
        assert_eq!(counters.acknowledgeable(), 8);
        counters.holds.retain(|(b, _)| *b != Batch(3));
        assert_eq!(counters.acknowledgeable(), 10);
    }
}
