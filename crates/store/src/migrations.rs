//! Schema migrations, driven by `PRAGMA user_version`.
//!
//! `MIGRATIONS[n]` takes the schema from version `n` to `n + 1`. Steps are
//! only ever appended: a released step is never edited, because databases
//! out there already ran it.

use rusqlite::{Connection, TransactionBehavior};

use crate::error::StoreError;

/// The schema version this code writes and understands.
pub const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

const MIGRATIONS: &[&str] = &[V1, V2, V3, V4];

pub(crate) const V1: &str = r#"
-- AUTOINCREMENT so ids are never reused: read markers ("unread = incoming
-- with id above the marker") and the outbox's send order rely on ids only
-- ever growing, even if the newest row is someday deleted.
CREATE TABLE messages (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    account        TEXT    NOT NULL,
    peer           TEXT    NOT NULL,
    direction      TEXT    NOT NULL CHECK (direction IN ('in', 'out')),
    body           TEXT    NOT NULL,
    timestamp_ms   INTEGER NOT NULL,
    received_ms    INTEGER NOT NULL,
    origin_id      TEXT,
    stanza_id      TEXT,
    delivery       TEXT    NOT NULL
        CHECK (delivery IN ('received', 'queued', 'sent', 'acked', 'failed')),
    failure_reason TEXT
);

-- The server's stanza-id is unique within the account's archive.
CREATE UNIQUE INDEX messages_stanza_id
    ON messages (account, stanza_id) WHERE stanza_id IS NOT NULL;

-- origin-id is chosen by the sender, so it is only unique per peer and
-- direction. origin_id comes second so this one index also serves
-- looking up an outgoing message by origin-id alone (receipts, errors).
CREATE UNIQUE INDEX messages_origin_id
    ON messages (account, origin_id, direction, peer) WHERE origin_id IS NOT NULL;

-- History pages: keyset ranges on (timestamp_ms, id) within one chat.
CREATE INDEX messages_history
    ON messages (account, peer, timestamp_ms, id);

-- Unread counts and read markers: incoming ids of one chat.
CREATE INDEX messages_incoming
    ON messages (account, peer, id) WHERE direction = 'in';

-- The outbox stays tiny, so its index does too.
CREATE INDEX messages_outbox
    ON messages (account, id) WHERE direction = 'out' AND delivery IN ('queued', 'sent');

-- One row per conversation. last_id points at the newest message by
-- (timestamp_ms, id) so listing chats does not scan history;
-- read_up_to_id is the read marker (0: nothing read).
CREATE TABLE chat_state (
    account       TEXT    NOT NULL,
    peer          TEXT    NOT NULL,
    read_up_to_id INTEGER NOT NULL DEFAULT 0,
    last_id       INTEGER,
    PRIMARY KEY (account, peer)
) WITHOUT ROWID;

CREATE TABLE roster_items (
    account      TEXT NOT NULL,
    jid          TEXT NOT NULL,
    name         TEXT,
    subscription TEXT NOT NULL,
    PRIMARY KEY (account, jid)
) WITHOUT ROWID;

CREATE TABLE roster_groups (
    account    TEXT NOT NULL,
    jid        TEXT NOT NULL,
    group_name TEXT NOT NULL,
    PRIMARY KEY (account, jid, group_name),
    FOREIGN KEY (account, jid) REFERENCES roster_items (account, jid) ON DELETE CASCADE
) WITHOUT ROWID;

-- Per-account bookmarks that are not messages: the roster version
-- (RFC 6121 roster versioning) and the MAM catch-up position.
CREATE TABLE account_state (
    account          TEXT PRIMARY KEY,
    roster_ver       TEXT,
    archive_position TEXT
) WITHOUT ROWID;

CREATE TABLE settings (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
) WITHOUT ROWID;
"#;

// History in the server's order (see `Store::insert_batch` for the rule
// that keeps it so). Existing rows are numbered by their old order,
// (timestamp_ms, id), so upgrading shows every conversation as before.
pub(crate) const V2: &str = r#"
ALTER TABLE messages ADD COLUMN seq INTEGER NOT NULL DEFAULT 0;

UPDATE messages SET seq = ranked.n
  FROM (SELECT id, row_number() OVER (PARTITION BY account ORDER BY timestamp_ms, id) AS n
          FROM messages) AS ranked
 WHERE ranked.id = messages.id;

-- One place per message in its account's history; also how the next seq
-- (max + 1) is found without a scan.
CREATE UNIQUE INDEX messages_seq ON messages (account, seq);

-- History pages: keyset ranges on seq within one chat.
DROP INDEX messages_history;
CREATE INDEX messages_history ON messages (account, peer, seq);

-- chat_state.last_id now means the chat's message with the highest seq;
-- with seq numbered as above that is the same row, set again for clarity.
UPDATE chat_state SET last_id =
    (SELECT m.id FROM messages AS m
      WHERE m.account = chat_state.account AND m.peer = chat_state.peer
      ORDER BY m.seq DESC LIMIT 1);
"#;

// Muted chats. A row per muted chat, whether or not it has messages yet;
// until_ms NULL: muted until the user unmutes.
pub(crate) const V3: &str = r#"
CREATE TABLE mutes (
    account  TEXT NOT NULL,
    peer     TEXT NOT NULL,
    until_ms INTEGER,
    PRIMARY KEY (account, peer)
) WITHOUT ROWID;
"#;

// Read markers across devices (XEP-0333): the id a displayed marker names
// an incoming message by, kept only for messages that asked for markers.
// Messages stored before keep none: no marker is sent for them.
pub(crate) const V4: &str = r#"
ALTER TABLE messages ADD COLUMN marker_id TEXT;

-- A marker from another of the user's devices names a message of one chat.
CREATE INDEX messages_marker_id
    ON messages (account, peer, marker_id, seq) WHERE marker_id IS NOT NULL;
"#;

/// Brings the schema up to [`SCHEMA_VERSION`], one step per transaction.
///
/// Each step re-reads the version inside an IMMEDIATE transaction, so two
/// processes opening the same fresh file cannot both run a step.
pub(crate) fn migrate(conn: &mut Connection, path: &str) -> Result<(), StoreError> {
    loop {
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(|source| StoreError::Migrate {
                path: path.to_owned(),
                version: SCHEMA_VERSION,
                source,
            })?;
        let found: i64 = tx
            .pragma_query_value(None, "user_version", |row| row.get(0))
            .map_err(|source| StoreError::Open {
                path: path.to_owned(),
                source,
            })?;
        if found > SCHEMA_VERSION {
            return Err(StoreError::TooNew {
                path: path.to_owned(),
                found,
                known: SCHEMA_VERSION,
            });
        }
        let Ok(index) = usize::try_from(found) else {
            return Err(StoreError::UnknownSchema {
                path: path.to_owned(),
                found,
            });
        };
        let Some(step) = MIGRATIONS.get(index) else {
            return Ok(());
        };
        let version = found + 1;
        let fail = |source| StoreError::Migrate {
            path: path.to_owned(),
            version,
            source,
        };
        tx.execute_batch(step).map_err(fail)?;
        tx.pragma_update(None, "user_version", version)
            .map_err(fail)?;
        tx.commit().map_err(fail)?;
    }
}
