//! `retry`: a failed outgoing message goes back to `queued` and through
//! its account's outbox again, as a new send would.

use wimsy_ipc::{ErrorCode, Event, Response};
use wimsy_store::{Delivery, Requeue};

use super::requests::{Answer, fail, storage};
use super::{Core, convert, sessions};

impl Core {
    pub(super) fn retry(&mut self, account: Option<&str>, message_id: i64) -> Answer {
        let account = self.one_account(account)?;
        let stored = match self
            .store
            .requeue_failed(&account, message_id)
            .map_err(storage)?
        {
            Requeue::Requeued(message) => message,
            Requeue::NotFound => {
                return Err(fail(
                    ErrorCode::InvalidArgument,
                    format!("{account} has no message {message_id}"),
                ));
            }
            Requeue::NotOutgoing(_) => {
                return Err(fail(
                    ErrorCode::InvalidArgument,
                    format!(
                        "message {message_id} was received, not sent: there is nothing to send again"
                    ),
                ));
            }
            Requeue::NotFailed(message) => {
                return Err(fail(
                    ErrorCode::InvalidArgument,
                    format!(
                        "message {message_id} has not failed ({}): only a failed message is sent again",
                        on_its_way(message.delivery)
                    ),
                ));
            }
        };
        tracing::info!(%account, id = message_id, "failed message queued again");
        self.publish(Event::Delivery {
            account: account.clone(),
            message_id,
            delivery: convert::delivery(stored.delivery),
            reason: None,
        });
        // The bounce said the server did not take it: not in doubt, so no
        // archive lookup before it goes out. It keeps its origin-id.
        if let Some(runtime) = self.accounts.get(&account) {
            sessions::resend(&runtime.session, &stored, sessions::Handover::New);
        }
        Ok(Response::Sent {
            account,
            message: convert::message(&stored),
        })
    }
}

/// Where a message that has not failed is, in words.
fn on_its_way(delivery: Delivery) -> &'static str {
    match delivery {
        Delivery::Queued => "it is waiting to be sent",
        Delivery::Sent => "it is sent and waiting for the server to confirm",
        Delivery::Acked => "the server has taken it",
        Delivery::Received | Delivery::Failed => "its state just changed",
    }
}
