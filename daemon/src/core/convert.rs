//! Translations between the session's and store's types and the wire's.

use wimsy_ipc as ipc;
use wimsy_session::{FailureKind, SessionState};
use wimsy_store as store;

pub(crate) fn status(state: &SessionState) -> ipc::ConnectionStatus {
    use ipc::{ConnectionState, ConnectionStatus};
    match state {
        SessionState::Offline => ConnectionStatus::new(ConnectionState::Offline, "not connected"),
        SessionState::Connecting {
            attempt,
            retry_in,
            last_error,
        } => {
            // The reason says why; the attempt and wait travel in their own
            // fields, so frontends do not show them twice.
            let reason = last_error
                .clone()
                .unwrap_or_else(|| "connecting".to_owned());
            ConnectionStatus {
                attempt: Some(*attempt),
                retry_in_ms: retry_in.map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX)),
                ..ConnectionStatus::new(ConnectionState::Connecting, reason)
            }
        }
        SessionState::Connected { jid, resumed } => ConnectionStatus::new(
            ConnectionState::Connected,
            if *resumed {
                format!("connected as {jid} (session resumed)")
            } else {
                format!("connected as {jid}")
            },
        ),
        SessionState::WaitingForNetwork { reason } => {
            ConnectionStatus::new(ConnectionState::WaitingForNetwork, reason.clone())
        }
        SessionState::Failed {
            kind,
            reason,
            fingerprint,
        } => ConnectionStatus {
            error: Some(match kind {
                FailureKind::Authentication => ipc::ConnectionError::Authentication,
                FailureKind::Certificate => ipc::ConnectionError::Certificate,
                FailureKind::Network => ipc::ConnectionError::Network,
                FailureKind::Stream => ipc::ConnectionError::Stream,
                FailureKind::Protocol | FailureKind::Config => ipc::ConnectionError::Protocol,
            }),
            fingerprint: fingerprint.clone(),
            ..ConnectionStatus::new(ConnectionState::Error, reason.clone())
        },
    }
}

pub(crate) fn message(m: &store::StoredMessage) -> ipc::ChatMessage {
    ipc::ChatMessage {
        id: m.id,
        peer: m.peer.clone(),
        direction: match m.direction {
            store::Direction::In => ipc::Direction::In,
            store::Direction::Out => ipc::Direction::Out,
        },
        body: m.body.clone(),
        timestamp_ms: m.timestamp_ms,
        origin_id: m.origin_id.clone(),
        stanza_id: m.stanza_id.clone(),
        delivery: delivery(m.delivery),
    }
}

pub(crate) fn delivery(d: store::Delivery) -> ipc::Delivery {
    match d {
        store::Delivery::Received => ipc::Delivery::Received,
        store::Delivery::Queued => ipc::Delivery::Queued,
        store::Delivery::Sent => ipc::Delivery::Sent,
        store::Delivery::Acked => ipc::Delivery::Acked,
        store::Delivery::Failed => ipc::Delivery::Failed,
    }
}

/// Groups sorted and without duplicates, as the store reads them back, so
/// the roster kept in memory equals what a restart reads from the store.
pub(crate) fn roster_item(item: &wimsy_session::RosterItem) -> store::RosterItem {
    let mut groups = item.groups.clone();
    groups.sort_unstable();
    groups.dedup();
    store::RosterItem {
        jid: item.jid.clone(),
        name: item.name.clone(),
        subscription: item.subscription.clone(),
        groups,
    }
}

pub(crate) fn contact(item: &store::RosterItem, presence: ipc::PresenceView) -> ipc::Contact {
    ipc::Contact {
        jid: item.jid.clone(),
        name: item.name.clone(),
        subscription: item.subscription.clone(),
        groups: item.groups.clone(),
        presence,
    }
}
