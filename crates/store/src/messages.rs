//! Messages: inserting with deduplication, delivery state, the outbox.

use std::fmt;

use rusqlite::{Connection, OptionalExtension, Row, TransactionBehavior, params};

use crate::error::StoreError;
use crate::kinds::{Delivery, Direction};
use crate::{Store, now_ms};

/// A message to store.
#[derive(Clone, Copy)]
pub struct NewMessage<'a> {
    /// The account's bare JID.
    pub account: &'a str,
    /// The other side's bare JID.
    pub peer: &'a str,
    /// Which way it went.
    pub direction: Direction,
    /// The text.
    pub body: &'a str,
    /// When it was sent, by the sender's or the server's clock (delay stamp).
    pub timestamp_ms: i64,
    /// XEP-0359 origin-id chosen by the sending client.
    pub origin_id: Option<&'a str>,
    /// XEP-0359 stanza-id assigned by the account's own server. Only pass
    /// one whose `by` is the account: the (account, stanza_id) uniqueness
    /// spans all peers, so a forged one could hide another chat's message.
    pub stanza_id: Option<&'a str>,
    /// Its initial delivery state.
    pub delivery: Delivery,
    /// For an incoming message that asked to be told when it is read
    /// (XEP-0333 `<markable/>`): the id a displayed marker names it by.
    pub marker_id: Option<&'a str>,
    /// Part of an archive catch-up (XEP-0313), handed over in archive
    /// order: it takes the next place in history even when it is already
    /// stored (see "History is in the server's order" in the crate docs).
    /// `false` for a live message, which keeps its place if stored before.
    pub archived: bool,
}

impl fmt::Debug for NewMessage<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NewMessage")
            .field("account", &self.account)
            .field("peer", &self.peer)
            .field("direction", &self.direction)
            .field("body_len", &self.body.len())
            .field("timestamp_ms", &self.timestamp_ms)
            .field("origin_id", &self.origin_id)
            .field("stanza_id", &self.stanza_id)
            .field("delivery", &self.delivery)
            .field("marker_id", &self.marker_id)
            .field("archived", &self.archived)
            .finish()
    }
}

/// A message as stored.
#[derive(Clone, PartialEq, Eq)]
pub struct StoredMessage {
    /// Row id; grows with every insert and is never reused.
    pub id: i64,
    /// The account's bare JID.
    pub account: String,
    /// The other side's bare JID.
    pub peer: String,
    /// Which way it went.
    pub direction: Direction,
    /// The text.
    pub body: String,
    /// When it was sent, by the sender's or the server's clock.
    pub timestamp_ms: i64,
    /// When this store first saw it, by the local clock.
    pub received_ms: i64,
    /// XEP-0359 origin-id.
    pub origin_id: Option<String>,
    /// XEP-0359 stanza-id from the account's server.
    pub stanza_id: Option<String>,
    /// Its delivery state.
    pub delivery: Delivery,
    /// Why it failed, when it did.
    pub failure_reason: Option<String>,
    /// Its place in the account's history (see "History is in the server's
    /// order" in the crate docs). Unique per account; a catch-up may move a
    /// message to a later place, never an earlier one.
    pub seq: i64,
}

// Hand-written so a body can never end up in a log line via `{:?}`.
impl fmt::Debug for StoredMessage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StoredMessage")
            .field("id", &self.id)
            .field("account", &self.account)
            .field("peer", &self.peer)
            .field("direction", &self.direction)
            .field("body_len", &self.body.len())
            .field("timestamp_ms", &self.timestamp_ms)
            .field("received_ms", &self.received_ms)
            .field("origin_id", &self.origin_id)
            .field("stanza_id", &self.stanza_id)
            .field("delivery", &self.delivery)
            .field("failure_reason", &self.failure_reason)
            .field("seq", &self.seq)
            .finish()
    }
}

/// What [`Store::insert_message`] did with one message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Inserted {
    /// The message was new and is now stored.
    New(StoredMessage),
    /// The message was already stored; this is the stored row, after filling
    /// in what it lacked.
    Duplicate(StoredMessage),
}

impl Inserted {
    /// The stored row, either way.
    pub fn message(&self) -> &StoredMessage {
        match self {
            Self::New(m) | Self::Duplicate(m) => m,
        }
    }

    /// The stored row, either way.
    pub fn into_message(self) -> StoredMessage {
        match self {
            Self::New(m) | Self::Duplicate(m) => m,
        }
    }

    /// Whether the message was new.
    pub fn is_new(&self) -> bool {
        matches!(self, Self::New(_))
    }
}

/// Reads a row selected with `message_columns!`.
pub(crate) fn from_row(row: &Row<'_>) -> rusqlite::Result<StoredMessage> {
    Ok(StoredMessage {
        id: row.get(0)?,
        account: row.get(1)?,
        peer: row.get(2)?,
        direction: row.get(3)?,
        body: row.get(4)?,
        timestamp_ms: row.get(5)?,
        received_ms: row.get(6)?,
        origin_id: row.get(7)?,
        stanza_id: row.get(8)?,
        delivery: row.get(9)?,
        failure_reason: row.get(10)?,
        seq: row.get(11)?,
    })
}

/// An empty id is treated as no id: a buggy client sending `id=""` on every
/// message must not have all but its first message dropped as duplicates.
fn non_empty(s: Option<&str>) -> Option<&str> {
    s.filter(|s| !s.is_empty())
}

impl Store {
    /// Stores `m` unless it is already stored.
    ///
    /// A message is already stored when a row has the same account and
    /// stanza-id, or the same account, peer, direction and origin-id. Then
    /// the stored row gets what it lacked (stanza-id, origin-id) and its
    /// delivery state moves forward along queued → sent → acked if `m` is
    /// further along; body and timestamp stay as first stored. Its place in
    /// history moves to the end only when `m` is [`NewMessage::archived`].
    ///
    /// [`Store::insert_batch`] stores several at once, with the archive
    /// position.
    pub fn insert_message(&mut self, m: &NewMessage<'_>) -> Result<Inserted, StoreError> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(self.db.fail("storing a message"))?;
        let inserted = insert_in(&tx, m).map_err(self.db.fail("storing a message"))?;
        tx.commit().map_err(self.db.fail("storing a message"))?;
        Ok(inserted)
    }

    /// Moves message `id` to `delivery` if that is a step forward, and
    /// returns the updated row; `None` when there is no message `id` or the
    /// step would go back.
    ///
    /// Forward is queued → sent → acked, and from any of those to failed.
    /// `failed` is final: a bounce means the message did not reach the
    /// peer, whatever the server acknowledged (an XEP-0198 ack only means
    /// the server took the stanza), so a later "sent" or "acked" for it,
    /// in whatever order they arrive, leaves it failed. Only
    /// [`Store::requeue_failed`] (a resend the user asked for) undoes it.
    pub fn advance_delivery(
        &mut self,
        id: i64,
        delivery: Delivery,
        reason: Option<&str>,
    ) -> Result<Option<StoredMessage>, StoreError> {
        // Ranks along the path; a row moves only to a higher rank. Failed
        // ranks above every other state and has none itself, so nothing
        // moves it.
        let rank = match delivery {
            Delivery::Received | Delivery::Queued => return Ok(None),
            Delivery::Sent => 1,
            Delivery::Acked => 2,
            Delivery::Failed => 3,
        };
        self.conn
            .prepare_cached(concat!(
                "UPDATE messages SET delivery = ?2, failure_reason = ?3 \
                 WHERE id = ?1 \
                   AND CASE delivery WHEN 'queued' THEN 0 WHEN 'sent' THEN 1 \
                                     WHEN 'acked' THEN 2 END < ?4 \
                 RETURNING ",
                message_columns!("")
            ))
            .and_then(|mut stmt| stmt.query_row(params![id, delivery, reason, rank], from_row))
            .optional()
            .map_err(
                self.db
                    .fail_with(|| format!("moving message {id} on to {delivery}")),
            )
    }

    /// Sets a message's delivery state and failure reason (cleared when
    /// `reason` is `None`), whatever it was. Returns the updated row, `None`
    /// if there is no message `id`. Progress reported by a session goes
    /// through [`Store::advance_delivery`] instead.
    pub fn set_delivery(
        &mut self,
        id: i64,
        delivery: Delivery,
        reason: Option<&str>,
    ) -> Result<Option<StoredMessage>, StoreError> {
        self.conn
            .prepare_cached(concat!(
                "UPDATE messages SET delivery = ?2, failure_reason = ?3 WHERE id = ?1 RETURNING ",
                message_columns!("")
            ))
            .and_then(|mut stmt| stmt.query_row(params![id, delivery, reason], from_row))
            .optional()
            .map_err(
                self.db
                    .fail_with(|| format!("setting the delivery state of message {id}")),
            )
    }

    /// Moves message `id` to the end of its account's history: an outgoing
    /// message takes its place when it is written to the server, which is
    /// when the server orders it (a message queued while offline goes out
    /// after what a catch-up brought in meanwhile). Returns the updated
    /// row, `None` if there is no message `id`.
    pub fn place_last(&mut self, id: i64) -> Result<Option<StoredMessage>, StoreError> {
        place_last(&mut self.conn, id).map_err(
            self.db
                .fail_with(|| format!("placing message {id} at the end of its history")),
        )
    }

    /// Records the stanza-id the account's server assigned to message `id`.
    /// Returns the updated row, `None` if there is no message `id`.
    ///
    /// Fails if another message already has that stanza-id: then the same
    /// message is stored twice, which the caller should know about.
    pub fn set_stanza_id(
        &mut self,
        id: i64,
        stanza_id: &str,
    ) -> Result<Option<StoredMessage>, StoreError> {
        if stanza_id.is_empty() {
            return Err(StoreError::EmptyStanzaId { id });
        }
        self.conn
            .prepare_cached(concat!(
                "UPDATE messages SET stanza_id = ?2 WHERE id = ?1 RETURNING ",
                message_columns!("")
            ))
            .and_then(|mut stmt| stmt.query_row(params![id, stanza_id], from_row))
            .optional()
            .map_err(
                self.db
                    .fail_with(|| format!("setting the stanza id of message {id}")),
            )
    }

    /// The message with row id `id`.
    pub fn message(&self, id: i64) -> Result<Option<StoredMessage>, StoreError> {
        message(&self.conn, id).map_err(self.db.fail_with(|| format!("reading message {id}")))
    }

    /// The newest outgoing message of `account` with this origin-id, e.g.
    /// to apply a receipt or an error bounce that refers to it.
    pub fn message_by_origin_id(
        &self,
        account: &str,
        origin_id: &str,
    ) -> Result<Option<StoredMessage>, StoreError> {
        self.conn
            .prepare_cached(BY_ORIGIN_ID)
            .and_then(|mut stmt| stmt.query_row(params![account, origin_id], from_row))
            .optional()
            .map_err(self.db.fail("looking up a message by origin id"))
    }

    /// The outbox: outgoing messages of `account` that are queued or sent
    /// but not acknowledged, oldest first (the order to send them in).
    pub fn pending_outgoing(&self, account: &str) -> Result<Vec<StoredMessage>, StoreError> {
        self.conn
            .prepare_cached(PENDING_OUTGOING)
            .and_then(|mut stmt| stmt.query_map([account], from_row)?.collect())
            .map_err(self.db.fail("reading the outbox"))
    }
}

pub(crate) const PENDING_OUTGOING: &str = concat!(
    "SELECT ",
    message_columns!(""),
    " FROM messages \
     WHERE account = ?1 AND direction = 'out' AND delivery IN ('queued', 'sent') \
     ORDER BY id"
);

pub(crate) const BY_ORIGIN_ID: &str = concat!(
    "SELECT ",
    message_columns!(""),
    " FROM messages \
     WHERE account = ?1 AND origin_id = ?2 AND direction = 'out' \
     ORDER BY id DESC LIMIT 1"
);

pub(crate) fn message(conn: &Connection, id: i64) -> rusqlite::Result<Option<StoredMessage>> {
    conn.prepare_cached(concat!(
        "SELECT ",
        message_columns!(""),
        " FROM messages WHERE id = ?1"
    ))?
    .query_row([id], from_row)
    .optional()
}

// max() on the messages_seq index is one seek, not a scan.
pub(crate) const NEXT_SEQ: &str =
    "SELECT coalesce(max(seq), 0) + 1 FROM messages WHERE account = ?1";

fn place_last(conn: &mut Connection, id: i64) -> rusqlite::Result<Option<StoredMessage>> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let Some(mut stored) = message(&tx, id)? else {
        return Ok(None);
    };
    let seq = next_seq(&tx, &stored.account)?;
    if stored.seq + 1 != seq {
        tx.prepare_cached("UPDATE messages SET seq = ?2 WHERE id = ?1")?
            .execute(params![id, seq])?;
        stored.seq = seq;
        crate::chats::note_last(&tx, &stored.account, &stored.peer, id)?;
    }
    tx.commit()?;
    Ok(Some(stored))
}

/// The next free place in `account`'s history.
fn next_seq(conn: &Connection, account: &str) -> rusqlite::Result<i64> {
    conn.prepare_cached(NEXT_SEQ)?
        .query_row([account], |r| r.get(0))
}

/// Stores `m` inside the caller's transaction, which must be IMMEDIATE:
/// the lookup and the write must see the same state, and taking the write
/// lock up front avoids failing with SQLITE_BUSY when a deferred
/// transaction upgrades from reading to writing.
pub(crate) fn insert_in(tx: &Connection, m: &NewMessage<'_>) -> rusqlite::Result<Inserted> {
    let origin_id = non_empty(m.origin_id);
    let stanza_id = non_empty(m.stanza_id);
    let marker_id = non_empty(m.marker_id);

    let by_stanza: Option<i64> = match stanza_id {
        Some(sid) => tx
            .prepare_cached("SELECT id FROM messages WHERE account = ?1 AND stanza_id = ?2")?
            .query_row(params![m.account, sid], |r| r.get(0))
            .optional()?,
        None => None,
    };
    let by_origin: Option<i64> = match (by_stanza, origin_id) {
        (None, Some(oid)) => tx
            .prepare_cached(
                "SELECT id FROM messages \
                 WHERE account = ?1 AND origin_id = ?2 AND direction = ?3 AND peer = ?4",
            )?
            .query_row(params![m.account, oid, m.direction, m.peer], |r| r.get(0))
            .optional()?,
        _ => None,
    };

    let Some(existing_id) = by_stanza.or(by_origin) else {
        let received_ms = now_ms();
        let seq = next_seq(tx, m.account)?;
        tx.prepare_cached(
            "INSERT INTO messages (account, peer, direction, body, timestamp_ms, received_ms, \
                                   origin_id, stanza_id, delivery, seq, marker_id) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
        )?
        .execute(params![
            m.account,
            m.peer,
            m.direction,
            m.body,
            m.timestamp_ms,
            received_ms,
            origin_id,
            stanza_id,
            m.delivery,
            seq,
            marker_id,
        ])?;
        let id = tx.last_insert_rowid();
        crate::chats::note_last(tx, m.account, m.peer, id)?;
        return Ok(Inserted::New(StoredMessage {
            id,
            account: m.account.to_owned(),
            peer: m.peer.to_owned(),
            direction: m.direction,
            body: m.body.to_owned(),
            timestamp_ms: m.timestamp_ms,
            received_ms,
            origin_id: origin_id.map(str::to_owned),
            stanza_id: stanza_id.map(str::to_owned),
            delivery: m.delivery,
            failure_reason: None,
            seq,
        }));
    };

    // OR IGNORE: if the id to fill in already belongs to yet another row,
    // the store already holds this message twice; leave both rows alone
    // rather than fail the insert.
    if let Some(sid) = stanza_id {
        tx.prepare_cached(
            "UPDATE OR IGNORE messages SET stanza_id = ?2 WHERE id = ?1 AND stanza_id IS NULL",
        )?
        .execute(params![existing_id, sid])?;
    }
    if let Some(oid) = origin_id {
        tx.prepare_cached(
            "UPDATE OR IGNORE messages SET origin_id = ?2 WHERE id = ?1 AND origin_id IS NULL",
        )?
        .execute(params![existing_id, oid])?;
    }
    if let Some(marker) = marker_id {
        tx.prepare_cached(
            "UPDATE messages SET marker_id = ?2 WHERE id = ?1 AND marker_id IS NULL",
        )?
        .execute(params![existing_id, marker])?;
    }
    let mut stored = message(tx, existing_id)?.ok_or(rusqlite::Error::QueryReturnedNoRows)?;
    if let (Some(old), Some(new)) = (stored.delivery.progress(), m.delivery.progress())
        && new > old
    {
        tx.prepare_cached("UPDATE messages SET delivery = ?2 WHERE id = ?1")?
            .execute(params![existing_id, m.delivery])?;
        stored.delivery = m.delivery;
    }
    if m.archived {
        // The catch-up replays the archive in order: this message goes
        // after everything stored before it, as on the server.
        let seq = next_seq(tx, &stored.account)?;
        tx.prepare_cached("UPDATE messages SET seq = ?2 WHERE id = ?1")?
            .execute(params![existing_id, seq])?;
        stored.seq = seq;
        crate::chats::note_last(tx, &stored.account, &stored.peer, existing_id)?;
    }
    Ok(Inserted::Duplicate(stored))
}
