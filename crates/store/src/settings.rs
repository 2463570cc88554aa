//! Key/value settings that belong with the data rather than in the config
//! file (things wimsyd learns or the user toggles at run time).

use rusqlite::{OptionalExtension, params};

use crate::Store;
use crate::error::StoreError;

impl Store {
    /// The value stored under `key`.
    pub fn setting(&self, key: &str) -> Result<Option<String>, StoreError> {
        self.conn
            .prepare_cached("SELECT value FROM settings WHERE key = ?1")
            .and_then(|mut stmt| stmt.query_row([key], |row| row.get(0)).optional())
            .map_err(self.db.fail_with(|| format!("reading setting {key:?}")))
    }

    /// Stores `value` under `key`, replacing any previous value.
    pub fn set_setting(&mut self, key: &str, value: &str) -> Result<(), StoreError> {
        self.conn
            .prepare_cached(
                "INSERT INTO settings (key, value) VALUES (?1, ?2) \
                 ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            )
            .and_then(|mut stmt| stmt.execute(params![key, value]))
            .map(drop)
            .map_err(self.db.fail_with(|| format!("saving setting {key:?}")))
    }
}
