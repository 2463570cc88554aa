//! Per-account positions that are not messages.

use rusqlite::OptionalExtension;

use crate::Store;
use crate::error::StoreError;

impl Store {
    /// The stanza-id of the newest archived message of `account` that has
    /// been caught up on (XEP-0313), if any: every archived message up to
    /// it is stored. Only [`Store::insert_batch`] moves it, in the
    /// transaction that stores the messages it covers.
    pub fn archive_position(&self, account: &str) -> Result<Option<String>, StoreError> {
        self.conn
            .prepare_cached("SELECT archive_position FROM account_state WHERE account = ?1")
            .and_then(|mut stmt| stmt.query_row([account], |row| row.get(0)).optional())
            .map(Option::flatten)
            .map_err(self.db.fail("reading the archive position"))
    }
}
