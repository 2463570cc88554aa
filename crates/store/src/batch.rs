//! Storing several messages and the archive position they cover in one
//! transaction, so the position can never run ahead of the messages.

use rusqlite::{OptionalExtension, TransactionBehavior, params};

use crate::Store;
use crate::error::StoreError;
use crate::messages::{Inserted, NewMessage, insert_in};

/// A move of an account's archive position (XEP-0313 catch-up), stored
/// with the messages it covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ArchiveMove<'a> {
    /// The account's bare JID.
    pub account: &'a str,
    /// The position the sender of the batch believed stored (`None`: no
    /// position yet). The move only happens from there.
    pub from: Option<&'a str>,
    /// The stanza-id of the newest archived message the batch covers.
    pub to: &'a str,
}

/// What [`Store::insert_batch`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredBatch {
    /// One entry per message, in the order given.
    pub inserted: Vec<Inserted>,
    /// The archive position is now the move's `to` (always `true` without
    /// a move). `false` when the stored position was not the move's
    /// `from`: then the messages are stored but the position stayed, as
    /// moving it could skip messages that an earlier batch failed to store.
    pub position_moved: bool,
}

impl Store {
    /// Stores `messages` as [`Store::insert_message`] would, in order, and
    /// then moves the archive position per `archive`, all in one
    /// transaction: if anything fails, none of the messages and not the
    /// position are stored, so a retry from the old position finds them
    /// all again.
    pub fn insert_batch(
        &mut self,
        messages: &[NewMessage<'_>],
        archive: Option<ArchiveMove<'_>>,
    ) -> Result<StoredBatch, StoreError> {
        insert_batch(&mut self.conn, messages, archive)
            .map_err(self.db.fail("storing messages with the archive position"))
    }
}

fn insert_batch(
    conn: &mut rusqlite::Connection,
    messages: &[NewMessage<'_>],
    archive: Option<ArchiveMove<'_>>,
) -> rusqlite::Result<StoredBatch> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let inserted = messages
        .iter()
        .map(|m| insert_in(&tx, m))
        .collect::<rusqlite::Result<Vec<_>>>()?;
    let position_moved = match archive {
        Some(archive) => move_position(&tx, archive)?,
        None => true,
    };
    // Dropping `tx` on an error above rolls everything back.
    tx.commit()?;
    Ok(StoredBatch {
        inserted,
        position_moved,
    })
}

fn move_position(tx: &rusqlite::Connection, archive: ArchiveMove<'_>) -> rusqlite::Result<bool> {
    let stored: Option<String> = tx
        .prepare_cached("SELECT archive_position FROM account_state WHERE account = ?1")?
        .query_row([archive.account], |row| row.get(0))
        .optional()?
        .flatten();
    if stored.as_deref() == Some(archive.to) {
        return Ok(true);
    }
    if stored.as_deref() != archive.from {
        return Ok(false);
    }
    tx.prepare_cached(
        "INSERT INTO account_state (account, archive_position) VALUES (?1, ?2) \
         ON CONFLICT (account) DO UPDATE SET archive_position = excluded.archive_position",
    )?
    .execute(params![archive.account, archive.to])?;
    Ok(true)
}
