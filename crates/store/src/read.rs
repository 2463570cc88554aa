//! Read markers across devices: what the newest message of a chat is
//! called by the markers that name it (XEP-0333 displayed markers, XEP-0490
//! synchronization), and reading a chat up to a message one of them names.

use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};

use crate::Store;
use crate::chats::move_marker;
use crate::error::StoreError;

/// How the newest messages of a chat are named, for telling the peer and
/// the user's other devices that the chat was read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReadMarks {
    /// The marker id of the newest incoming message that asked for
    /// markers: what a displayed marker to the peer names.
    pub marker_id: Option<String>,
    /// The stanza-id (from the account's server) of the newest message
    /// that has one: what the synchronization node names.
    pub stanza_id: Option<String>,
}

/// A message of a chat, as a read marker names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReadUpTo<'a> {
    /// By its marker id (an incoming message that asked for markers).
    MarkerId(&'a str),
    /// By the stanza-id the account's server gave it.
    StanzaId(&'a str),
}

/// What [`Store::read_up_to`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReadOutcome {
    /// The read marker moved forward: there were unread messages up to
    /// the one named.
    Moved,
    /// Everything up to that message was read already.
    Unchanged,
    /// No message of that chat has that id (not stored yet, or never).
    NotFound,
}

impl Store {
    /// How the newest messages of the chat with `peer` are named.
    pub fn read_marks(&self, account: &str, peer: &str) -> Result<ReadMarks, StoreError> {
        read_marks(&self.conn, account, peer).map_err(self.db.fail("reading a chat's read marks"))
    }

    /// Marks the chat with `peer` read up to the message `up_to` names,
    /// that message and everything before it in history included.
    pub fn read_up_to(
        &mut self,
        account: &str,
        peer: &str,
        up_to: ReadUpTo<'_>,
    ) -> Result<ReadOutcome, StoreError> {
        read_up_to(&mut self.conn, account, peer, up_to)
            .map_err(self.db.fail("marking a chat read up to a message"))
    }
}

pub(crate) const NEWEST_MARKER_ID: &str = "SELECT marker_id FROM messages \
     WHERE account = ?1 AND peer = ?2 AND direction = 'in' AND marker_id IS NOT NULL \
     ORDER BY seq DESC LIMIT 1";

pub(crate) const BY_MARKER_ID: &str = "SELECT max(seq) FROM messages \
     WHERE account = ?1 AND peer = ?2 AND marker_id = ?3 AND direction = 'in'";

fn read_marks(conn: &Connection, account: &str, peer: &str) -> rusqlite::Result<ReadMarks> {
    let marker_id = conn
        .prepare_cached(NEWEST_MARKER_ID)?
        .query_row([account, peer], |row| row.get(0))
        .optional()?;
    let stanza_id = conn
        .prepare_cached(
            "SELECT stanza_id FROM messages \
             WHERE account = ?1 AND peer = ?2 AND stanza_id IS NOT NULL \
             ORDER BY seq DESC LIMIT 1",
        )?
        .query_row([account, peer], |row| row.get(0))
        .optional()?;
    Ok(ReadMarks {
        marker_id,
        stanza_id,
    })
}

fn read_up_to(
    conn: &mut Connection,
    account: &str,
    peer: &str,
    up_to: ReadUpTo<'_>,
) -> rusqlite::Result<ReadOutcome> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let seq: Option<i64> = match up_to {
        ReadUpTo::MarkerId(id) => tx
            .prepare_cached(BY_MARKER_ID)?
            .query_row(params![account, peer, id], |row| row.get(0))?,
        ReadUpTo::StanzaId(id) => tx
            .prepare_cached(
                "SELECT seq FROM messages WHERE account = ?1 AND peer = ?2 AND stanza_id = ?3",
            )?
            .query_row(params![account, peer, id], |row| row.get(0))
            .optional()?,
    };
    let Some(seq) = seq else {
        return Ok(ReadOutcome::NotFound);
    };
    // Read markers count ids of incoming messages (see `chats.rs`): the
    // newest one at or before that place in history. Only those after the
    // marker can move it, so the walk costs the unread messages.
    let newest: Option<i64> = tx
        .prepare_cached(
            "SELECT max(id) FROM messages \
             WHERE account = ?1 AND peer = ?2 AND direction = 'in' AND seq <= ?3 \
               AND id > coalesce((SELECT read_up_to_id FROM chat_state \
                                  WHERE account = ?1 AND peer = ?2), 0)",
        )?
        .query_row(params![account, peer, seq], |row| row.get(0))?;
    let moved = match newest {
        Some(newest) => move_marker(&tx, account, peer, newest)?,
        None => false,
    };
    tx.commit()?;
    Ok(if moved {
        ReadOutcome::Moved
    } else {
        ReadOutcome::Unchanged
    })
}
