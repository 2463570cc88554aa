use rusqlite::Connection;

use super::{ME, incoming, set_position, temp_store};
use crate::{SCHEMA_VERSION, Store, StoreError};

fn user_version(path: &std::path::Path) -> i64 {
    Connection::open(path)
        .unwrap()
        .pragma_query_value(None, "user_version", |r| r.get(0))
        .unwrap()
}

#[test]
fn migrations_apply_and_reopening_is_idempotent() {
    let (_dir, path, store) = temp_store();
    drop(store);
    assert_eq!(user_version(&path), SCHEMA_VERSION);
    for _ in 0..3 {
        let store = Store::open(&path).unwrap();
        drop(store);
    }
    assert_eq!(user_version(&path), SCHEMA_VERSION);
}

#[test]
fn connection_settings_are_applied() {
    let (_dir, _path, store) = temp_store();
    let get = |p: &str| -> String {
        store
            .conn
            .pragma_query_value(None, p, |r| r.get::<_, rusqlite::types::Value>(0))
            .map(|v| match v {
                rusqlite::types::Value::Integer(i) => i.to_string(),
                rusqlite::types::Value::Text(t) => t,
                other => format!("{other:?}"),
            })
            .unwrap()
    };
    assert_eq!(get("journal_mode"), "wal");
    assert_eq!(get("synchronous"), "1"); // NORMAL
    assert_eq!(get("foreign_keys"), "1");
    assert_eq!(get("busy_timeout"), "5000");
}

#[test]
fn creates_missing_parent_directories() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("a").join("b").join("store.db");
    let store = Store::open(&path).unwrap();
    drop(store);
    assert!(path.is_file());
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&path), 0o600);
        assert_eq!(mode(path.parent().unwrap()), 0o700);
    }
}

#[test]
fn too_new_schema_is_refused() {
    let (_dir, path, store) = temp_store();
    drop(store);
    Connection::open(&path)
        .unwrap()
        .pragma_update(None, "user_version", SCHEMA_VERSION + 5)
        .unwrap();
    let err = Store::open(&path).unwrap_err();
    assert!(matches!(err, StoreError::TooNew { found, known, .. }
        if found == SCHEMA_VERSION + 5 && known == SCHEMA_VERSION));
    assert_eq!(
        err.to_string(),
        format!(
            "database at {} has schema version {}, newer than this wimsyd understands ({}); upgrade wimsyd",
            path.display(),
            SCHEMA_VERSION + 5,
            SCHEMA_VERSION
        )
    );
    // Refusing must not have touched the file.
    assert_eq!(user_version(&path), SCHEMA_VERSION + 5);
}

#[test]
fn a_file_that_is_not_a_database_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("junk.db");
    std::fs::write(&path, vec![0x42; 8192]).unwrap();
    let err = Store::open(&path).unwrap_err().to_string();
    assert!(err.contains(&path.display().to_string()), "{err}");
    assert!(err.contains("not a database"), "{err}");
}

#[test]
fn data_survives_close_and_reopen() {
    let (_dir, path, mut store) = temp_store();
    let id = store
        .insert_message(&incoming("juliet@example.net", "hello", 1_000))
        .unwrap()
        .message()
        .id;
    store.set_setting("theme", "dark").unwrap();
    set_position(&mut store, ME, "arch-1");
    drop(store);

    let store = Store::open(&path).unwrap();
    let m = store.message(id).unwrap().unwrap();
    assert_eq!(m.body, "hello");
    assert_eq!(store.setting("theme").unwrap().as_deref(), Some("dark"));
    assert_eq!(
        store.archive_position(ME).unwrap().as_deref(),
        Some("arch-1")
    );
    assert_eq!(store.chats(ME).unwrap().len(), 1);
}

#[test]
fn settings_and_archive_position() {
    let (_dir, _path, mut store) = temp_store();
    assert_eq!(store.setting("k").unwrap(), None);
    store.set_setting("k", "1").unwrap();
    store.set_setting("k", "2").unwrap();
    assert_eq!(store.setting("k").unwrap().as_deref(), Some("2"));

    assert_eq!(store.archive_position(ME).unwrap(), None);
    set_position(&mut store, ME, "a");
    set_position(&mut store, ME, "b");
    set_position(&mut store, "other@example.org", "x");
    assert_eq!(store.archive_position(ME).unwrap().as_deref(), Some("b"));
    // The roster version shares the row; setting one must not clear the other.
    store.save_roster(ME, Some("v1"), &[]).unwrap();
    assert_eq!(store.archive_position(ME).unwrap().as_deref(), Some("b"));
    set_position(&mut store, ME, "c");
    assert_eq!(store.roster(ME).unwrap().0.as_deref(), Some("v1"));
}

#[test]
fn in_memory_store_works() {
    let mut store = Store::open_in_memory().unwrap();
    store
        .insert_message(&incoming("juliet@example.net", "hi", 1))
        .unwrap();
    assert_eq!(store.unread_count(ME, "juliet@example.net").unwrap(), 1);
    assert_eq!(format!("{store:?}"), r#"Store { path: ":memory:" }"#);
}

#[test]
fn upgrading_numbers_history_in_its_old_order() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("v1.sqlite3");
    {
        // A store as the first release left it.
        let conn = Connection::open(&path).unwrap();
        conn.execute_batch(crate::migrations::V1).unwrap();
        conn.pragma_update(None, "user_version", 1).unwrap();
        let insert = |account: &str, peer: &str, ts: i64| {
            conn.execute(
                "INSERT INTO messages (account, peer, direction, body, timestamp_ms, \
                                       received_ms, delivery) \
                 VALUES (?1, ?2, 'in', ?3, ?3, 0, 'received')",
                rusqlite::params![account, peer, ts],
            )
            .unwrap();
            let id = conn.last_insert_rowid();
            conn.execute(
                "INSERT INTO chat_state (account, peer, last_id) VALUES (?1, ?2, ?3) \
                 ON CONFLICT (account, peer) DO UPDATE SET last_id = excluded.last_id \
                 WHERE (SELECT timestamp_ms FROM messages WHERE id = chat_state.last_id) < ?4",
                rusqlite::params![account, peer, id, ts],
            )
            .unwrap();
        };
        // Ids do not follow timestamps (a late archive arrival), and two
        // share a timestamp.
        insert(ME, "juliet@example.net", 30);
        insert(ME, "juliet@example.net", 10);
        insert(ME, "romeo@example.net", 20);
        insert("other@example.org", "juliet@example.net", 5);
        insert(ME, "juliet@example.net", 30);
    }
    let mut store = Store::open(&path).unwrap();
    assert_eq!(user_version(&path), SCHEMA_VERSION);
    let page = store.history(ME, "juliet@example.net", None, 10).unwrap();
    let seen: Vec<(i64, i64, i64)> = page
        .messages
        .iter()
        .map(|m| (m.seq, m.timestamp_ms, m.id))
        .collect();
    // Newest first, by (timestamp_ms, id) as before; numbered per account.
    assert_eq!(seen, vec![(4, 30, 5), (3, 30, 1), (1, 10, 2)]);
    let other = store
        .history("other@example.org", "juliet@example.net", None, 10)
        .unwrap();
    assert_eq!(other.messages[0].seq, 1);
    let chats = store.chats(ME).unwrap();
    assert_eq!(chats[0].peer, "juliet@example.net");
    assert_eq!(chats[0].last.id, 5);
    // New messages go after the numbered ones.
    let m = store
        .insert_message(&incoming("romeo@example.net", "new", 0))
        .unwrap()
        .into_message();
    assert_eq!(m.seq, 5);
}
