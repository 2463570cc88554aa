//! Sending a failed message again, when the user asks.

use rusqlite::{OptionalExtension, TransactionBehavior, params};

use crate::Store;
use crate::error::StoreError;
use crate::kinds::{Delivery, Direction};
use crate::messages::{StoredMessage, from_row, message};

/// What [`Store::requeue_failed`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Requeue {
    /// The message was `failed`; it is `queued` again, its failure reason
    /// cleared, ready to go through the outbox.
    Requeued(StoredMessage),
    /// The account has no message with that id.
    NotFound,
    /// The message was received, not sent: there is nothing to send.
    NotOutgoing(StoredMessage),
    /// The message is outgoing but not `failed` (queued, sent or acked):
    /// it is already on its way, and sending it again would duplicate it.
    NotFailed(StoredMessage),
}

impl Store {
    /// Moves `account`'s message `id` from `failed` back to `queued`, the
    /// one step back [`Store::advance_delivery`] never takes (a bounce is
    /// final until the user asks to try again). It keeps its origin-id, so
    /// the server's archive and the peer see one message, and its place in
    /// history until it is written again ([`Store::place_last`]).
    pub fn requeue_failed(&mut self, account: &str, id: i64) -> Result<Requeue, StoreError> {
        let fail = || {
            self.db
                .fail_with(move || format!("queueing message {id} again"))
        };
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(fail())?;
        let requeued = tx
            .prepare_cached(concat!(
                "UPDATE messages SET delivery = ?3, failure_reason = NULL \
                 WHERE id = ?1 AND account = ?2 AND direction = ?4 AND delivery = ?5 \
                 RETURNING ",
                message_columns!("")
            ))
            .and_then(|mut stmt| {
                stmt.query_row(
                    params![
                        id,
                        account,
                        Delivery::Queued,
                        Direction::Out,
                        Delivery::Failed
                    ],
                    from_row,
                )
                .optional()
            })
            .map_err(fail())?;
        let outcome = match requeued {
            Some(message) => Requeue::Requeued(message),
            None => match message(&tx, id).map_err(fail())? {
                Some(m) if m.account != account => Requeue::NotFound,
                None => Requeue::NotFound,
                Some(m) if m.direction != Direction::Out => Requeue::NotOutgoing(m),
                Some(m) => Requeue::NotFailed(m),
            },
        };
        tx.commit().map_err(fail())?;
        Ok(outcome)
    }
}
