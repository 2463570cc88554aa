//! What the core does with each session event: store first, then tell
//! subscribers, so nothing is announced that a restart would lose.

use wimsy_ipc::{ConnectionState, Event};
use wimsy_session::{
    ArchiveStep, Batch, DeliveryStage, MessageDirection, OutgoingMessage, ReceivedMessage,
    SessionEvent, SessionHandle, SessionState,
};
use wimsy_store::{ArchiveMove, Delivery, Direction, Inserted, NewMessage, StoredMessage};

use super::{Core, TaggedEvent, convert};

#[cfg(test)]
pub(super) mod tests;

/// Who wrote an outgoing message before, as far as the daemon knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Handover {
    /// Just stored: no session has had it.
    New,
    /// Left pending by an earlier session (an earlier run, or this run
    /// before a restart of the account's session). It may have been
    /// written without the store hearing of it: the session writes first
    /// and reports `sent` after, so a crash in between leaves it `queued`.
    Earlier,
}

/// Hand a stored outgoing message to its session.
pub(crate) fn resend(session: &SessionHandle, message: &StoredMessage, handover: Handover) {
    let Some(origin_id) = message.origin_id.clone() else {
        return;
    };
    let Ok(to) = wimsy_session::Jid::new(&message.peer) else {
        tracing::warn!(
            id = message.id,
            "stored message has an invalid peer; not resending"
        );
        return;
    };
    let outgoing = OutgoingMessage {
        token: message.id,
        to,
        body: message.body.clone(),
        origin_id,
        // Possibly written by a session that ended before the server
        // acknowledged it: the session checks the archive before sending
        // it again.
        in_doubt_since_ms: (handover == Handover::Earlier).then_some(message.timestamp_ms),
    };
    if session.send(outgoing).is_err() {
        tracing::warn!(id = message.id, "session gone; message stays queued");
    }
}

impl Core {
    pub(crate) fn on_session_event(&mut self, tagged: TaggedEvent) {
        let TaggedEvent {
            account,
            generation,
            event,
        } = tagged;
        match self.accounts.get(&account) {
            Some(runtime) if runtime.generation == generation => {}
            _ => return,
        }
        match event {
            SessionEvent::State(state) => self.on_state(&account, &state),
            SessionEvent::RosterReplaced { ver, items } => {
                let items: Vec<_> = items.iter().map(convert::roster_item).collect();
                // When storing fails the version is not stored either, so
                // the next login fetches the whole roster again; the book
                // follows the server, as frontends are told.
                if let Err(e) = self.store.save_roster(&account, ver.as_deref(), &items) {
                    tracing::error!(%account, "could not store the roster: {e}");
                }
                let Some(runtime) = self.accounts.get_mut(&account) else {
                    return;
                };
                let old = runtime.contacts.replace(items.clone());
                let gone: Vec<String> = old
                    .keys()
                    .filter(|jid| runtime.contacts.get(jid).is_none())
                    .cloned()
                    .collect();
                let changed: Vec<_> = runtime
                    .contacts
                    .iter()
                    .filter(|n| old.get(&n.jid) != Some(*n))
                    .cloned()
                    .collect();
                for jid in gone {
                    self.publish(Event::ContactRemoved {
                        account: account.clone(),
                        jid,
                    });
                }
                for item in &changed {
                    self.publish_contact(&account, item);
                }
                for item in &items {
                    self.on_roster_entry(&account, item);
                }
            }
            SessionEvent::RosterUnchanged => {}
            SessionEvent::CatchUpStarted => self.catch_up_started(&account),
            SessionEvent::CatchUpStopped => {
                tracing::info!(%account, "archive catch-up stopped before its end");
                self.notify_caught_up(&account);
            }
            SessionEvent::CatchUpDone { fetched } => {
                tracing::info!(%account, fetched, "archive catch-up done");
                self.catch_up_done(&account);
            }
            SessionEvent::RosterPushed { ver, item } => {
                let item = convert::roster_item(&item);
                if let Err(e) = self
                    .store
                    .apply_roster_push(&account, ver.as_deref(), &item)
                {
                    tracing::error!(%account, "could not store a roster change: {e}");
                }
                // Applied even when storing failed, as frontends are told:
                // the stored version did not move either, so the next login
                // brings this change again.
                if let Some(runtime) = self.accounts.get_mut(&account) {
                    runtime.contacts.apply(&item);
                }
                if item.subscription == "remove" {
                    self.publish(Event::ContactRemoved {
                        account: account.clone(),
                        jid: item.jid,
                    });
                } else {
                    self.publish_contact(&account, &item);
                    self.on_roster_entry(&account, &item);
                }
            }
            SessionEvent::Subscription { from, kind } => {
                self.on_subscription(&account, &from, kind);
            }
            SessionEvent::Presence(update) => {
                let Some(runtime) = self.accounts.get_mut(&account) else {
                    return;
                };
                let bare = runtime.presence.update(update);
                if let Some(item) = runtime.contacts.get(&bare).cloned() {
                    self.publish_contact(&account, &item);
                }
            }
            SessionEvent::Messages {
                messages,
                archive_position,
                batch,
            } => self.on_messages(&account, &messages, archive_position.as_ref(), batch),
            SessionEvent::Displayed(displayed) => self.on_displayed(&account, &displayed),
            SessionEvent::Delivery { token, stage } => {
                let written = stage == DeliveryStage::Sent;
                let (delivery, reason) = match stage {
                    DeliveryStage::Sent => (Delivery::Sent, None),
                    DeliveryStage::Acked => (Delivery::Acked, None),
                    DeliveryStage::Failed(reason) => (Delivery::Failed, Some(reason)),
                };
                if written && let Err(e) = self.store.place_last(token) {
                    tracing::error!(%account, "could not place a sent message in its history: {e}");
                }
                // Only forward: a resend's "sent" must not undo "acked",
                // and a bounce is final whatever the server acked before
                // or after it (an ack means "taken", not "delivered").
                match self
                    .store
                    .advance_delivery(token, delivery, reason.as_deref())
                {
                    Ok(Some(_)) => self.publish(Event::Delivery {
                        account,
                        message_id: token,
                        delivery: convert::delivery(delivery),
                        reason,
                    }),
                    Ok(None) => {}
                    Err(e) => tracing::error!(%account, "could not store a delivery state: {e}"),
                }
            }
        }
    }

    /// Store a batch and the archive position it moves to in one
    /// transaction, confirm it to the session (which may then acknowledge
    /// it to the server), then announce what was new. When the batch or
    /// the position cannot be stored, it is not confirmed, and the session
    /// is told the stored position, so its next catch-up fetches the batch
    /// again instead of skipping it.
    fn on_messages(
        &mut self,
        account: &str,
        received: &[ReceivedMessage],
        step: Option<&ArchiveStep>,
        batch: Batch,
    ) {
        let peers: Vec<String> = received.iter().map(|m| m.peer.to_string()).collect();
        let rows: Vec<NewMessage<'_>> = received
            .iter()
            .zip(&peers)
            .map(|(m, peer)| {
                let direction = match m.direction {
                    MessageDirection::Incoming => Direction::In,
                    MessageDirection::SentElsewhere => Direction::Out,
                };
                NewMessage {
                    account,
                    peer,
                    direction,
                    body: &m.body,
                    timestamp_ms: m.timestamp_ms,
                    origin_id: m.origin_id.as_deref(),
                    stanza_id: m.stanza_id.as_deref(),
                    marker_id: m.marker_id.as_deref(),
                    delivery: match direction {
                        Direction::In => Delivery::Received,
                        Direction::Out => Delivery::Acked,
                    },
                    archived: m.archived,
                }
            })
            .collect();
        let archive = step.map(|s| ArchiveMove {
            account,
            from: s.from.as_deref(),
            to: &s.to,
        });
        let stored = match self.store.insert_batch(&rows, archive) {
            Ok(stored) => stored,
            Err(e) => {
                tracing::error!(
                    %account,
                    messages = rows.len(),
                    "could not store messages; they will be fetched again from the archive: {e}"
                );
                self.rewind_archive(account);
                return;
            }
        };
        if let (Some(step), true) = (step, stored.position_moved) {
            tracing::debug!(%account, position = %step.to, "archive position stored");
        }
        tracing::debug!(
            %account,
            messages = rows.len(),
            new = stored.inserted.iter().filter(|i| matches!(i, Inserted::New(_))).count(),
            "messages stored together"
        );
        if let Some(runtime) = self.accounts.get(account)
            && runtime.session.stored(batch).is_err()
        {
            tracing::debug!(%account, "the session has ended");
        }
        if !stored.position_moved {
            tracing::warn!(
                %account,
                "the archive position did not move: an earlier batch was not stored; rewinding the session to the stored position"
            );
            self.rewind_archive(account);
        }
        let mut unread_peers: Vec<&str> = Vec::new();
        for inserted in &stored.inserted {
            match inserted {
                Inserted::New(message) => {
                    tracing::debug!(%account, id = message.id, "message stored");
                    tracing::trace!(%account, id = message.id, body = %message.body, "message body");
                    self.publish(Event::Message {
                        account: account.to_owned(),
                        message: convert::message(message),
                    });
                    if message.direction == Direction::In && !unread_peers.contains(&&*message.peer)
                    {
                        unread_peers.push(&message.peer);
                    }
                }
                Inserted::Duplicate(message) => {
                    tracing::debug!(%account, id = message.id, "duplicate message dropped");
                }
            }
        }
        for peer in unread_peers {
            self.publish_unread(account, peer);
        }
        self.notify_stored(account, received, &stored.inserted);
    }

    /// Tell `account`'s session the archive position the store has.
    fn rewind_archive(&mut self, account: &str) {
        // If even that cannot be read, fetching the whole archive again
        // is slow but skips nothing; duplicates are dropped.
        let position = self.store.archive_position(account).unwrap_or_else(|e| {
            tracing::error!(%account, "could not read the archive position: {e}");
            None
        });
        if let Some(runtime) = self.accounts.get(account)
            && runtime.session.rewind_archive(position).is_err()
        {
            tracing::warn!(%account, "the session has ended");
        }
    }

    fn on_state(&mut self, account: &str, state: &SessionState) {
        let status = convert::status(state);
        let went_offline = status.state != ConnectionState::Connected;
        if went_offline {
            // A catch-up the connection took with it: what it brought is
            // told now; the next one starts afresh.
            self.notify_caught_up(account);
        }
        let Some(runtime) = self.accounts.get_mut(account) else {
            return;
        };
        if runtime.status == status {
            return;
        }
        if status.fingerprint.is_some() {
            runtime.offered_fingerprint.clone_from(&status.fingerprint);
        }
        runtime.status = status.clone();
        let was_online = if went_offline {
            runtime.presence.clear()
        } else {
            Vec::new()
        };
        // In JID order, as the roster lists them.
        let mut went: Vec<_> = was_online
            .iter()
            .filter_map(|jid| runtime.contacts.get(jid).cloned())
            .collect();
        went.sort_by(|a, b| a.jid.cmp(&b.jid));
        self.publish(Event::Connection {
            account: account.to_owned(),
            status,
        });
        for item in &went {
            self.publish_contact(account, item);
        }
    }

    pub(super) fn publish_contact(&mut self, account: &str, item: &wimsy_store::RosterItem) {
        let presence = self
            .accounts
            .get(account)
            .map(|a| a.presence.view(&item.jid))
            .unwrap_or_default();
        self.publish(Event::Contact {
            account: account.to_owned(),
            contact: convert::contact(item, presence),
        });
    }

    pub(crate) fn publish_unread(&mut self, account: &str, peer: &str) {
        match self.store.unread_count(account, peer) {
            Ok(count) => self.publish(Event::Unread {
                account: account.to_owned(),
                peer: peer.to_owned(),
                count,
            }),
            Err(e) => tracing::error!(%account, "could not count unread messages: {e}"),
        }
    }
}
