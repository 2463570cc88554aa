//! Read state on a live stream: our displayed markers (XEP-0333) and our
//! synchronization node (XEP-0490), what the server asks of our
//! capabilities, and the node's items fetched after a catch-up.

use minidom::Element;
use xmpp_parsers::iq::Iq;
use xmpp_parsers::jid::Jid;

use crate::error::SessionError;
use crate::events::{MarkDisplayed, SessionEvent};
use crate::markers::NodeOptions;
use crate::{caps, markers};

use super::*;

impl Worker {
    /// Tell the peers and our other devices what the user read since the
    /// last time.
    pub(super) async fn send_displayed(&mut self, live: &mut Live) -> Result<(), SessionError> {
        while let Some((peer, read)) = self.displayed.pop_first() {
            if let Some(id) = &read.marker_id {
                let written = self
                    .write_stanza(live, &markers::marker_message(&peer, id))
                    .await;
                if let Err(e) = written {
                    // Sent again on the next stream.
                    self.displayed.insert(peer, read);
                    return Err(e);
                }
            }
            if let (Some(_), Some(options)) = (&read.stanza_id, self.read_node_options) {
                self.publish_read(live, read, options).await?;
            }
        }
        Ok(())
    }

    /// Publish `read` to our synchronization node.
    async fn publish_read(
        &mut self,
        live: &mut Live,
        read: MarkDisplayed,
        options: NodeOptions,
    ) -> Result<(), SessionError> {
        let Some(stanza_id) = &read.stanza_id else {
            return Ok(());
        };
        let publish = markers::publish(&live.jid.to_bare(), &read.peer, stanza_id, options);
        let id = live.iq_id(IqPurpose::ReadPublish { read, options });
        self.write_stanza(live, &Iq::from_set(id, publish)).await
    }

    /// The server refused a publish: once more with fewer options if it
    /// had them all, else it has no synchronization to offer and this
    /// stream publishes no more (said once).
    pub(super) async fn read_publish_refused(
        &mut self,
        live: &mut Live,
        read: MarkDisplayed,
        options: NodeOptions,
        reason: &str,
    ) -> Result<(), SessionError> {
        if options == NodeOptions::Full {
            tracing::debug!(
                "the server refused the synchronization node's options ({reason}); \
                 asking only for a persistent, private node"
            );
            if self.read_node_options.is_some() {
                self.read_node_options = Some(NodeOptions::Private);
            }
            return self.publish_read(live, read, NodeOptions::Private).await;
        }
        if self.read_node_options.take().is_some() {
            tracing::info!(
                account = %self.account.jid,
                "the server does not keep what was read for the user's other devices (no \
                 message displayed synchronization there); they learn it from read markers \
                 only: {reason}"
            );
        }
        Ok(())
    }

    /// Ask our node for what our other devices read, at the end of a
    /// catch-up that fetched `fetched` messages.
    pub(super) async fn fetch_read_state(
        &mut self,
        live: &mut Live,
        fetched: u32,
    ) -> Result<(), SessionError> {
        let id = live.iq_id(IqPurpose::ReadFetch { fetched });
        let own = Jid::from(live.jid.to_bare());
        let query = Iq::from_get(id, markers::items_query()).with_to(own);
        self.write_stanza(live, &query).await
    }

    /// The node's items (none when the server refused, had none or did
    /// not answer): each chat read up to its item, then the catch-up is
    /// done.
    pub(super) fn on_read_state(&mut self, live: &Live, payload: Option<Element>, fetched: u32) {
        for read in markers::from_items(payload, &live.jid.to_bare()) {
            self.emit(SessionEvent::Displayed(read));
        }
        self.emit(SessionEvent::CatchUpDone { fetched });
    }

    /// Answer a service discovery request with what we can do.
    pub(super) async fn answer_disco(
        &mut self,
        live: &mut Live,
        id: String,
        from: Option<Jid>,
        node: Option<String>,
    ) -> Result<(), SessionError> {
        let mut answer = Iq::from_result(id, Some(caps::disco_info(node)));
        if let Some(from) = from {
            answer = answer.with_to(from);
        }
        self.write_stanza(live, &answer).await
    }
}
