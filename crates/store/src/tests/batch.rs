//! Batches: messages and the archive position commit together or not at
//! all; a position moves only from where the sender believed it was.

use super::{ME, incoming, set_position, temp_store};
use crate::{ArchiveMove, NewMessage, Store, StoreError};

const JULIET: &str = "juliet@example.net";

fn archived<'a>(body: &'a str, stanza_id: &'a str) -> NewMessage<'a> {
    NewMessage {
        stanza_id: Some(stanza_id),
        archived: true,
        ..incoming(JULIET, body, 1_000)
    }
}

/// Makes every insert of a message with this body fail, as a full disk or
/// a broken file would, somewhere inside a batch.
fn poison(store: &Store, body: &str) {
    store
        .conn
        .execute_batch(&format!(
            "CREATE TEMP TRIGGER poison BEFORE INSERT ON messages \
             WHEN NEW.body = '{body}' BEGIN SELECT RAISE(ABORT, 'poisoned'); END;"
        ))
        .unwrap();
}

fn count(store: &Store) -> usize {
    store.history(ME, JULIET, None, 500).unwrap().messages.len()
}

#[test]
fn messages_and_position_commit_together() {
    let (_dir, _path, mut store) = temp_store();
    let batch = store
        .insert_batch(
            &[archived("1", "s1"), archived("2", "s2")],
            Some(ArchiveMove {
                account: ME,
                from: None,
                to: "s2",
            }),
        )
        .unwrap();
    assert!(batch.position_moved);
    assert_eq!(batch.inserted.len(), 2);
    assert!(batch.inserted.iter().all(|i| i.is_new()));
    assert_eq!(store.archive_position(ME).unwrap().as_deref(), Some("s2"));
    assert_eq!(count(&store), 2);
}

#[test]
fn a_failure_inside_the_batch_stores_neither_messages_nor_position() {
    let (_dir, path, mut store) = temp_store();
    set_position(&mut store, ME, "s0");
    poison(&store, "3");
    let err = store
        .insert_batch(
            &[
                archived("1", "s1"),
                archived("2", "s2"),
                archived("3", "s3"),
            ],
            Some(ArchiveMove {
                account: ME,
                from: Some("s0"),
                to: "s3",
            }),
        )
        .unwrap_err();
    assert!(matches!(err, StoreError::Query { .. }), "{err}");
    assert!(err.to_string().contains("poisoned"), "{err}");
    assert_eq!(count(&store), 0, "the messages before the failure stayed");
    assert_eq!(store.archive_position(ME).unwrap().as_deref(), Some("s0"));
    assert!(store.chats(ME).unwrap().is_empty());

    // The same after a reopen: nothing half-done reached the file.
    drop(store);
    let mut store = Store::open(&path).unwrap();
    assert_eq!(count(&store), 0);
    assert_eq!(store.archive_position(ME).unwrap().as_deref(), Some("s0"));

    // Retried from the stored position, the batch goes in whole.
    let batch = store
        .insert_batch(
            &[
                archived("1", "s1"),
                archived("2", "s2"),
                archived("3", "s3"),
            ],
            Some(ArchiveMove {
                account: ME,
                from: Some("s0"),
                to: "s3",
            }),
        )
        .unwrap();
    assert!(batch.position_moved);
    assert_eq!(count(&store), 3);
    assert_eq!(store.archive_position(ME).unwrap().as_deref(), Some("s3"));
}

#[test]
fn a_position_moves_only_from_the_stored_one() {
    let (_dir, _path, mut store) = temp_store();
    set_position(&mut store, ME, "s0");
    // A batch sent on while an earlier one failed believes the position is
    // further on: its messages are stored, the position stays, since the
    // failed batch's messages lie between.
    let batch = store
        .insert_batch(
            &[archived("5", "s5")],
            Some(ArchiveMove {
                account: ME,
                from: Some("s4"),
                to: "s5",
            }),
        )
        .unwrap();
    assert!(!batch.position_moved);
    assert_eq!(count(&store), 1);
    assert_eq!(store.archive_position(ME).unwrap().as_deref(), Some("s0"));

    // A move to where the position already is counts as done.
    let batch = store
        .insert_batch(
            &[],
            Some(ArchiveMove {
                account: ME,
                from: Some("elsewhere"),
                to: "s0",
            }),
        )
        .unwrap();
    assert!(batch.position_moved);

    // "No position yet" is a position too.
    let batch = store
        .insert_batch(
            &[],
            Some(ArchiveMove {
                account: "other@example.org",
                from: Some("s9"),
                to: "s10",
            }),
        )
        .unwrap();
    assert!(!batch.position_moved);
    assert_eq!(store.archive_position("other@example.org").unwrap(), None);
    let batch = store
        .insert_batch(
            &[],
            Some(ArchiveMove {
                account: "other@example.org",
                from: None,
                to: "s10",
            }),
        )
        .unwrap();
    assert!(batch.position_moved);
    assert_eq!(
        store
            .archive_position("other@example.org")
            .unwrap()
            .as_deref(),
        Some("s10")
    );
    assert_eq!(store.archive_position(ME).unwrap().as_deref(), Some("s0"));
}

#[test]
fn a_batch_without_a_position_leaves_it_alone() {
    let (_dir, _path, mut store) = temp_store();
    set_position(&mut store, ME, "s0");
    let batch = store
        .insert_batch(&[archived("1", "s1"), archived("1", "s1")], None)
        .unwrap();
    assert!(batch.position_moved);
    assert!(batch.inserted[0].is_new());
    assert!(!batch.inserted[1].is_new(), "deduplicated within the batch");
    assert_eq!(count(&store), 1);
    assert_eq!(store.archive_position(ME).unwrap().as_deref(), Some("s0"));
}
