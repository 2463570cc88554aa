//! SIGHUP asks for the files to be read again (systemd's `reload`).

use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::mpsc;

use super::SystemEvent;

/// Install the handler now (a SIGHUP must never kill a running daemon),
/// then turn each SIGHUP into [`SystemEvent::Reload`].
pub(crate) fn watch(events: mpsc::Sender<SystemEvent>) {
    let mut hangups = match signal(SignalKind::hangup()) {
        Ok(hangups) => hangups,
        Err(e) => {
            tracing::warn!("cannot watch SIGHUP, so it cannot reload the files: {e}");
            return;
        }
    };
    tokio::spawn(async move {
        while hangups.recv().await.is_some() {
            if events.send(SystemEvent::Reload).await.is_err() {
                break;
            }
        }
    });
}
