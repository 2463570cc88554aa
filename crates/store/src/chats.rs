//! The chat list, read markers and unread counts.

use std::collections::BTreeMap;

use rusqlite::{Connection, OptionalExtension, params};

use crate::Store;
use crate::error::StoreError;
use crate::messages::{StoredMessage, from_row};

/// One conversation in the chat list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChatRow {
    /// The other side's bare JID.
    pub peer: String,
    /// The newest message: the last in history order (`seq`).
    pub last: StoredMessage,
    /// Incoming messages after the read marker.
    pub unread: u32,
}

// chat_state.last_id saves scanning history for each chat's newest message;
// unread counts walk the partial messages_incoming index from the marker
// on, so their cost is the number of unread messages.
/// Each chat's newest message and unread count, then `$tail`.
macro_rules! chats_query {
    ($tail:literal) => {
        concat!(
            "SELECT ",
            message_columns!("m."),
            ", (SELECT count(*) FROM messages AS u \
                WHERE u.account = c.account AND u.peer = c.peer AND u.direction = 'in' \
                  AND u.id > c.read_up_to_id) \
             FROM chat_state AS c JOIN messages AS m ON m.id = c.last_id ",
            $tail
        )
    };
}

pub(crate) const CHATS: &str = chats_query!("WHERE c.account = ?1 ORDER BY m.seq DESC");

/// [`CHATS`] for every account at once, by account.
pub(crate) const ALL_CHATS: &str = chats_query!("ORDER BY c.account, m.seq DESC");

pub(crate) const UNREAD: &str = "SELECT count(*) FROM messages AS u \
     WHERE u.account = ?1 AND u.peer = ?2 AND u.direction = 'in' \
       AND u.id > coalesce((SELECT read_up_to_id FROM chat_state \
                            WHERE account = ?1 AND peer = ?2), 0)";

impl Store {
    /// The conversations of `account` that have messages, newest first.
    pub fn chats(&self, account: &str) -> Result<Vec<ChatRow>, StoreError> {
        self.conn
            .prepare_cached(CHATS)
            .and_then(|mut stmt| {
                stmt.query_map([account], |row| {
                    let last = from_row(row)?;
                    Ok(ChatRow {
                        peer: last.peer.clone(),
                        last,
                        unread: row.get(12)?,
                    })
                })?
                .collect()
            })
            .map_err(self.db.fail("listing chats"))
    }

    /// Every account's conversations, newest first, by account: one query
    /// for a snapshot of all accounts.
    pub fn all_chats(&self) -> Result<BTreeMap<String, Vec<ChatRow>>, StoreError> {
        self.conn
            .prepare_cached(ALL_CHATS)
            .and_then(|mut stmt| {
                let mut by_account: BTreeMap<String, Vec<ChatRow>> = BTreeMap::new();
                let mut rows = stmt.query([])?;
                while let Some(row) = rows.next()? {
                    let last = from_row(row)?;
                    let chat = ChatRow {
                        peer: last.peer.clone(),
                        unread: row.get(12)?,
                        last,
                    };
                    by_account
                        .entry(chat.last.account.clone())
                        .or_default()
                        .push(chat);
                }
                Ok(by_account)
            })
            .map_err(self.db.fail("listing chats"))
    }

    /// Marks every message in the chat with `peer` as read. `true` when
    /// the read marker moved (there was something unread).
    pub fn mark_read(&mut self, account: &str, peer: &str) -> Result<bool, StoreError> {
        mark_read(&self.conn, account, peer).map_err(self.db.fail("marking a chat read"))
    }

    /// Incoming messages in the chat with `peer` after its read marker.
    pub fn unread_count(&self, account: &str, peer: &str) -> Result<u32, StoreError> {
        self.conn
            .prepare_cached(UNREAD)
            .and_then(|mut stmt| stmt.query_row([account, peer], |row| row.get(0)))
            .map_err(self.db.fail("counting unread messages"))
    }
}

fn mark_read(conn: &Connection, account: &str, peer: &str) -> rusqlite::Result<bool> {
    // Only incoming messages count as unread, so the newest incoming id is
    // as good a marker as the newest of all, and the partial index finds it
    // without touching history. Ids, not timestamps: a message fetched late
    // from the archive carries an old timestamp but is still unread.
    let newest: Option<i64> = conn
        .prepare_cached(
            "SELECT max(id) FROM messages WHERE account = ?1 AND peer = ?2 AND direction = 'in'",
        )?
        .query_row([account, peer], |row| row.get(0))?;
    let Some(newest) = newest else {
        return Ok(false);
    };
    move_marker(conn, account, peer, newest)
}

/// Moves the chat's read marker forward to `to` (never back, whatever a
/// caller races with); `true` when it moved.
pub(crate) fn move_marker(
    conn: &Connection,
    account: &str,
    peer: &str,
    to: i64,
) -> rusqlite::Result<bool> {
    let before: Option<i64> = conn
        .prepare_cached("SELECT read_up_to_id FROM chat_state WHERE account = ?1 AND peer = ?2")?
        .query_row([account, peer], |row| row.get(0))
        .optional()?;
    if before.is_some_and(|b| b >= to) {
        return Ok(false);
    }
    conn.prepare_cached(
        "INSERT INTO chat_state (account, peer, read_up_to_id) VALUES (?1, ?2, ?3) \
         ON CONFLICT (account, peer) DO UPDATE \
         SET read_up_to_id = max(read_up_to_id, excluded.read_up_to_id)",
    )?
    .execute(params![account, peer, to])?;
    Ok(true)
}

/// Makes message `id` the chat's last one. Part of the transaction that
/// gave it the account's highest `seq`, which makes it the chat's last.
pub(crate) fn note_last(
    conn: &Connection,
    account: &str,
    peer: &str,
    id: i64,
) -> rusqlite::Result<()> {
    conn.prepare_cached(
        "INSERT INTO chat_state (account, peer, last_id) VALUES (?1, ?2, ?3) \
         ON CONFLICT (account, peer) DO UPDATE SET last_id = excluded.last_id",
    )?
    .execute(params![account, peer, id])?;
    Ok(())
}
