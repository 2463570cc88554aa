//! Platforms without a notification backend yet (macOS, Windows): the
//! orders are logged, so what would have been shown can be followed.

use tokio::sync::mpsc;

use super::{Batch, Order, Report};

pub(super) async fn run(
    mut orders: mpsc::UnboundedReceiver<Order>,
    reports: mpsc::UnboundedSender<Report>,
) {
    tracing::info!("desktop notifications are not supported on this platform yet");
    let _ = reports.send(Report::Status(wimsy_ipc::NotifierStatus {
        state: wimsy_ipc::NotifierState::Missing,
        detail: "Wimsy cannot show notifications on this system yet. Messages are still \
                 received and counted as unread."
            .to_owned(),
    }));
    while let Some(Batch {
        close_all,
        close_accounts,
        chats,
    }) = super::next_orders(&mut orders).await
    {
        if close_all {
            tracing::debug!("every notification would be withdrawn");
        }
        for account in close_accounts {
            tracing::debug!(%account, "the account's notifications would be withdrawn");
        }
        for (chat, content) in chats {
            match content {
                Some(_) => {
                    tracing::debug!(account = %chat.account, peer = %chat.peer, "a notification would be shown")
                }
                None => {
                    tracing::debug!(account = %chat.account, peer = %chat.peer, "a notification would be withdrawn")
                }
            }
        }
    }
}
