//! Tests against real SQLite files in temporary directories.

mod batch;
mod chats;
mod crash;
mod history;
mod messages;
mod mutes;
mod open;
mod order;
mod plans;
mod read;
mod requeue;
mod roster;

use std::path::PathBuf;

use tempfile::TempDir;

use crate::{Delivery, Direction, NewMessage, Store};

pub(crate) const ME: &str = "me@example.org";

/// A store in a fresh directory; keep the `TempDir` alive while using it.
pub(crate) fn temp_store() -> (TempDir, PathBuf, Store) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("wimsy.sqlite3");
    let store = Store::open(&path).unwrap();
    (dir, path, store)
}

pub(crate) fn incoming<'a>(peer: &'a str, body: &'a str, timestamp_ms: i64) -> NewMessage<'a> {
    NewMessage {
        account: ME,
        peer,
        direction: Direction::In,
        body,
        timestamp_ms,
        origin_id: None,
        stanza_id: None,
        delivery: Delivery::Received,
        marker_id: None,
        archived: false,
    }
}

pub(crate) fn outgoing<'a>(peer: &'a str, body: &'a str, timestamp_ms: i64) -> NewMessage<'a> {
    NewMessage {
        direction: Direction::Out,
        delivery: Delivery::Queued,
        ..incoming(peer, body, timestamp_ms)
    }
}

/// Moves `account`'s archive position to `to` from wherever it is, with
/// no messages.
pub(crate) fn set_position(store: &mut Store, account: &str, to: &str) {
    let from = store.archive_position(account).unwrap();
    let batch = store
        .insert_batch(
            &[],
            Some(crate::ArchiveMove {
                account,
                from: from.as_deref(),
                to,
            }),
        )
        .unwrap();
    assert!(batch.position_moved);
}
