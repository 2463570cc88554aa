//! Per-account positions that are not messages.

use rusqlite::{OptionalExtension, params};

use crate::Store;
use crate::error::StoreError;

impl Store {
    /// The stanza-id of the newest archived message of `account` that has
    /// been caught up on (XEP-0313), if any.
    pub fn archive_position(&self, account: &str) -> Result<Option<String>, StoreError> {
        self.conn
            .prepare_cached("SELECT archive_position FROM account_state WHERE account = ?1")
            .and_then(|mut stmt| stmt.query_row([account], |row| row.get(0)).optional())
            .map(Option::flatten)
            .map_err(self.db.fail("reading the archive position"))
    }

    /// Records how far the archive of `account` has been caught up on.
    pub fn set_archive_position(
        &mut self,
        account: &str,
        stanza_id: &str,
    ) -> Result<(), StoreError> {
        self.conn
            .prepare_cached(
                "INSERT INTO account_state (account, archive_position) VALUES (?1, ?2) \
                 ON CONFLICT (account) DO UPDATE SET archive_position = excluded.archive_position",
            )
            .and_then(|mut stmt| stmt.execute(params![account, stanza_id]))
            .map(drop)
            .map_err(self.db.fail("saving the archive position"))
    }
}
