use rusqlite::Connection;

use super::{ME, incoming, temp_store};
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
    store.set_archive_position(ME, "arch-1").unwrap();
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
    store.set_archive_position(ME, "a").unwrap();
    store.set_archive_position(ME, "b").unwrap();
    store
        .set_archive_position("other@example.org", "x")
        .unwrap();
    assert_eq!(store.archive_position(ME).unwrap().as_deref(), Some("b"));
    // The roster version shares the row; setting one must not clear the other.
    store.save_roster(ME, Some("v1"), &[]).unwrap();
    assert_eq!(store.archive_position(ME).unwrap().as_deref(), Some("b"));
    store.set_archive_position(ME, "c").unwrap();
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
