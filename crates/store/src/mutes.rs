//! Muted chats: which chats never notify, and until when.

use std::collections::BTreeMap;

use rusqlite::params;

use crate::Store;
use crate::error::StoreError;

/// One muted chat.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MuteRow {
    /// The other party's bare JID.
    pub peer: String,
    /// When the mute ends (ms since the epoch); `None`: until unmuted.
    pub until_ms: Option<i64>,
}

impl Store {
    /// Mute the chat, replacing an earlier mute of it.
    pub fn set_mute(
        &mut self,
        account: &str,
        peer: &str,
        until_ms: Option<i64>,
    ) -> Result<(), StoreError> {
        self.conn
            .prepare_cached(
                "INSERT INTO mutes (account, peer, until_ms) VALUES (?1, ?2, ?3) \
                 ON CONFLICT (account, peer) DO UPDATE SET until_ms = excluded.until_ms",
            )
            .and_then(|mut stmt| stmt.execute(params![account, peer, until_ms]))
            .map(drop)
            .map_err(self.db.fail("saving a mute"))
    }

    /// End the chat's mute. Whether it was muted.
    pub fn remove_mute(&mut self, account: &str, peer: &str) -> Result<bool, StoreError> {
        self.conn
            .prepare_cached("DELETE FROM mutes WHERE account = ?1 AND peer = ?2")
            .and_then(|mut stmt| stmt.execute(params![account, peer]))
            .map(|n| n > 0)
            .map_err(self.db.fail("removing a mute"))
    }

    /// Every muted chat of the account, by peer.
    pub fn mutes(&self, account: &str) -> Result<Vec<MuteRow>, StoreError> {
        self.conn
            .prepare_cached("SELECT peer, until_ms FROM mutes WHERE account = ?1 ORDER BY peer")
            .and_then(|mut stmt| {
                stmt.query_map([account], |row| {
                    Ok(MuteRow {
                        peer: row.get(0)?,
                        until_ms: row.get(1)?,
                    })
                })?
                .collect()
            })
            .map_err(self.db.fail("reading mutes"))
    }

    /// Every account's muted chats, by account and peer: one query for a
    /// snapshot of all accounts.
    pub fn all_mutes(&self) -> Result<BTreeMap<String, Vec<MuteRow>>, StoreError> {
        self.conn
            .prepare_cached("SELECT account, peer, until_ms FROM mutes ORDER BY account, peer")
            .and_then(|mut stmt| {
                let mut by_account: BTreeMap<String, Vec<MuteRow>> = BTreeMap::new();
                let mut rows = stmt.query([])?;
                while let Some(row) = rows.next()? {
                    by_account.entry(row.get(0)?).or_default().push(MuteRow {
                        peer: row.get(1)?,
                        until_ms: row.get(2)?,
                    });
                }
                Ok(by_account)
            })
            .map_err(self.db.fail("reading mutes"))
    }

    /// When the next timed mute of any account ends.
    pub fn next_mute_end(&self) -> Result<Option<i64>, StoreError> {
        self.conn
            .prepare_cached("SELECT min(until_ms) FROM mutes")
            .and_then(|mut stmt| stmt.query_row([], |row| row.get(0)))
            .map_err(self.db.fail("reading mutes"))
    }

    /// Remove every mute that ended by `now_ms`; the chats they muted, as
    /// (account, peer).
    pub fn end_mutes(&mut self, now_ms: i64) -> Result<Vec<(String, String)>, StoreError> {
        self.conn
            .prepare_cached("DELETE FROM mutes WHERE until_ms <= ?1 RETURNING account, peer")
            .and_then(|mut stmt| {
                stmt.query_map([now_ms], |row| Ok((row.get(0)?, row.get(1)?)))?
                    .collect()
            })
            .map_err(self.db.fail("ending mutes"))
    }
}
