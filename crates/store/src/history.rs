//! Paged conversation history.

use rusqlite::{Connection, params};

use crate::Store;
use crate::cursor::Cursor;
use crate::error::StoreError;
use crate::messages::{StoredMessage, from_row};

/// One page of a conversation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistoryPage {
    /// Newest first.
    pub messages: Vec<StoredMessage>,
    /// Where the next (older) page starts; `None` when this page reaches
    /// the start of the conversation.
    pub next_before: Option<Cursor>,
}

pub(crate) const NEWEST: &str = concat!(
    "SELECT ",
    message_columns!(""),
    " FROM messages WHERE account = ?1 AND peer = ?2 \
     ORDER BY seq DESC LIMIT ?3"
);

// A range on messages_history (account, peer, seq): the cursor is a seek
// into the index, so a page costs the same at any depth.
pub(crate) const BEFORE: &str = concat!(
    "SELECT ",
    message_columns!(""),
    " FROM messages WHERE account = ?1 AND peer = ?2 AND seq < ?4 \
     ORDER BY seq DESC LIMIT ?3"
);

impl Store {
    /// Up to `limit` messages of the chat with `peer` that come before
    /// `before` in history order (from the newest when `None`), newest
    /// first. History order is the server's (see the crate docs).
    ///
    /// A `limit` of 0 is taken as 1, so every page makes progress and a
    /// `next_before` of `None` always means the start was reached.
    pub fn history(
        &self,
        account: &str,
        peer: &str,
        before: Option<Cursor>,
        limit: u32,
    ) -> Result<HistoryPage, StoreError> {
        history(&self.conn, account, peer, before, limit.max(1))
            .map_err(self.db.fail("reading history"))
    }
}

fn history(
    conn: &Connection,
    account: &str,
    peer: &str,
    before: Option<Cursor>,
    limit: u32,
) -> rusqlite::Result<HistoryPage> {
    // One extra row tells whether an older page exists, so the last page
    // says so itself instead of the caller finding an empty page next.
    let fetch = i64::from(limit) + 1;
    let mut messages: Vec<StoredMessage> = match before {
        None => conn
            .prepare_cached(NEWEST)?
            .query_map(params![account, peer, fetch], from_row)?
            .collect::<rusqlite::Result<_>>()?,
        Some(c) => conn
            .prepare_cached(BEFORE)?
            .query_map(params![account, peer, fetch, c.seq], from_row)?
            .collect::<rusqlite::Result<_>>()?,
    };
    let more = messages.len() > limit as usize;
    messages.truncate(limit as usize);
    let next_before = if more {
        messages.last().map(|m| Cursor { seq: m.seq })
    } else {
        None
    };
    Ok(HistoryPage {
        messages,
        next_before,
    })
}
