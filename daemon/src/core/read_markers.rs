//! Read anywhere means read everywhere: a chat read here is told to the
//! peer (a displayed marker, XEP-0333, when `privacy.send_read_markers` is
//! on) and to the user's other devices (the marker reaches them through
//! carbons and the archive; message displayed synchronization, XEP-0490,
//! whatever the setting, since only the user's own devices can read it);
//! a chat read on another device is read here too, as if `mark_read` came
//! from a frontend.

use wimsy_session::{BareJid, Displayed, MarkDisplayed, MessageRef};
use wimsy_store::{ReadOutcome, ReadUpTo};

use super::Core;
use crate::settings::PRIVACY_SEND_READ_MARKERS;

impl Core {
    /// The user read the chat with `peer` here (and something was unread):
    /// tell the peer and the user's other devices up to which message.
    pub(super) fn tell_read(&mut self, account: &str, peer: &str) {
        let marks = match self.store.read_marks(account, peer) {
            Ok(marks) => marks,
            Err(e) => {
                tracing::error!(%account, "could not read what to mark as displayed: {e}");
                return;
            }
        };
        let marker_id = marks
            .marker_id
            .filter(|_| self.settings.bool(PRIVACY_SEND_READ_MARKERS));
        if marker_id.is_none() && marks.stanza_id.is_none() {
            return;
        }
        let (Some(runtime), Ok(peer)) = (self.accounts.get(account), BareJid::new(peer)) else {
            return;
        };
        let displayed = MarkDisplayed {
            peer,
            marker_id,
            stanza_id: marks.stanza_id,
        };
        if runtime.session.mark_displayed(displayed).is_err() {
            tracing::warn!(%account, "the session has ended; the chat's read state is not sent");
        }
    }

    /// A chat was read up to a message: on another device of the user
    /// (read here too), or by the peer.
    pub(super) fn on_displayed(&mut self, account: &str, displayed: &Displayed) {
        let peer = displayed.peer.to_string();
        if !displayed.by_own_device {
            // Shown nowhere yet: a "seen" delivery state would need the
            // store's delivery states widened.
            tracing::debug!(%account, %peer, "the contact read our messages");
            return;
        }
        let up_to = match &displayed.up_to {
            MessageRef::MarkerId(id) => ReadUpTo::MarkerId(id),
            MessageRef::StanzaId(id) => ReadUpTo::StanzaId(id),
        };
        match self.store.read_up_to(account, &peer, up_to) {
            Ok(ReadOutcome::Moved) => {
                tracing::debug!(%account, %peer, "chat read on another device");
                self.publish_unread(account, &peer);
                // Read to its end: its notification goes, as after a
                // `mark_read` here. Messages after the one read keep it.
                if matches!(self.store.unread_count(account, &peer), Ok(0)) {
                    self.withdraw_notification(account, &peer);
                }
            }
            Ok(ReadOutcome::Unchanged) => {}
            Ok(ReadOutcome::NotFound) => tracing::debug!(
                %account,
                %peer,
                "read on another device up to a message not stored here"
            ),
            Err(e) => tracing::error!(%account, "could not mark a chat read: {e}"),
        }
    }
}
