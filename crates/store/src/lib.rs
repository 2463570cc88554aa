//! Wimsy's message store: messages, chats and read markers, the roster,
//! per-account archive positions and settings, in one SQLite file.
//!
//! The API is synchronous on purpose: wimsyd owns the only [`Store`] and
//! calls it from its own loop, and SQLite calls on a local file are short.
//! JIDs are plain strings (bare JIDs, already normalised by the caller), so
//! this crate does not depend on any XMPP library.
//!
//! Message bodies never appear in `Debug` output or in errors.
//!
//! # History is in the server's order
//!
//! Each message has a per-account sequence number, `seq`, and history is
//! shown in `seq` order; timestamps are only displayed. Timestamps cannot
//! order history: a live message carries the local receive time, an
//! archived one the server's (whole seconds on some servers), so sorting
//! by them interleaves a catch-up's messages with the live ones.
//!
//! The rule: a message stored live (received, or sent from here) takes the
//! next `seq` of its account, and so does every message of an archive
//! catch-up ([`NewMessage::archived`]), in archive order, *even when it is
//! already stored* (it arrived live before, or it is our own sent message).
//! Why that gives the server's order: live messages arrive in the order the
//! server routes them, and a catch-up after position P returns every
//! archived message after P in the server's order, those we already have
//! included; laying all of them again at the end reproduces the server's
//! order for everything after P, and what was before P was already in it.
//! A message sent from here is placed again when it is written to the
//! server ([`Store::place_last`]), since that is when the server orders it;
//! the session writes nothing while a catch-up runs, so that place comes
//! after everything the catch-up laid.
//! Pages are keyset ranges on `seq`, so they stay stable while messages
//! arrive and across restarts.

/// The `messages` columns [`messages::from_row`] reads, in its order, each
/// prefixed with the given table alias (`""` or `"m."`). A macro so queries
/// stay `&'static str` constants that tests can EXPLAIN.
#[rustfmt::skip]
macro_rules! message_columns {
    ($p:literal) => {
        concat!(
            $p, "id, ", $p, "account, ", $p, "peer, ", $p, "direction, ", $p, "body, ",
            $p, "timestamp_ms, ", $p, "received_ms, ", $p, "origin_id, ", $p, "stanza_id, ",
            $p, "delivery, ", $p, "failure_reason, ", $p, "seq"
        )
    };
}

mod account;
mod batch;
mod chats;
mod cursor;
mod error;
mod history;
mod kinds;
mod messages;
mod migrations;
mod mutes;
mod read;
mod requeue;
mod roster;
mod settings;

#[cfg(test)]
mod tests;

use std::fmt;
use std::path::Path;
use std::time::Duration;

use rusqlite::Connection;

pub use batch::{ArchiveMove, StoredBatch};
pub use chats::ChatRow;
pub use cursor::Cursor;
pub use error::{InvalidCursor, StoreError, UnknownValue};
pub use history::HistoryPage;
pub use kinds::{Delivery, Direction};
pub use messages::{Inserted, NewMessage, StoredMessage};
pub use migrations::SCHEMA_VERSION;
pub use mutes::MuteRow;
pub use read::{ReadMarks, ReadOutcome, ReadUpTo};
pub use requeue::Requeue;
pub use roster::RosterItem;

use error::DbName;

/// How long a statement waits for another connection's lock before failing.
/// Only wimsyd writes, so this only matters when a second process (a backup,
/// `sqlite3` by hand) briefly holds the file.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// An open message store.
pub struct Store {
    conn: Connection,
    db: DbName,
}

impl fmt::Debug for Store {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Store").field("path", &self.db.0).finish()
    }
}

impl Store {
    /// Opens (creating if needed) the store at `path` and migrates it to
    /// the current schema.
    pub fn open(path: &Path) -> Result<Store, StoreError> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            create_private_dir(dir).map_err(|source| StoreError::CreateDir {
                dir: dir.to_owned(),
                source,
            })?;
        }
        create_private_file(path).map_err(|source| StoreError::CreateFile {
            path: path.to_owned(),
            source,
        })?;
        let name = path.display().to_string();
        let conn = Connection::open(path).map_err(|source| StoreError::Open {
            path: name.clone(),
            source,
        })?;
        Self::setup(conn, name, true)
    }

    /// Opens a fresh store that lives only as long as the value.
    pub fn open_in_memory() -> Result<Store, StoreError> {
        let name = ":memory:".to_owned();
        let conn = Connection::open_in_memory().map_err(|source| StoreError::Open {
            path: name.clone(),
            source,
        })?;
        Self::setup(conn, name, false)
    }

    fn setup(mut conn: Connection, name: String, on_disk: bool) -> Result<Store, StoreError> {
        let configure = |pragma: &'static str| {
            let path = name.clone();
            move |source| StoreError::Configure {
                path,
                pragma,
                source,
            }
        };
        // First, so the pragmas below already wait for a lock instead of
        // failing while another process holds the file.
        conn.busy_timeout(BUSY_TIMEOUT)
            .map_err(configure("busy_timeout"))?;
        // WAL with synchronous=NORMAL: a commit is in the WAL file before
        // the call returns, so it survives the process being killed; only
        // an OS crash or power loss can drop the last transactions, which
        // is an acceptable trade for not fsyncing every message.
        let mode: String = conn
            .pragma_update_and_check(None, "journal_mode", "WAL", |row| row.get(0))
            .map_err(configure("journal_mode"))?;
        if on_disk && !mode.eq_ignore_ascii_case("wal") {
            return Err(StoreError::NotWal { path: name, mode });
        }
        conn.pragma_update(None, "synchronous", "NORMAL")
            .map_err(configure("synchronous"))?;
        // Per connection and off by default; the roster's group rows rely
        // on ON DELETE CASCADE.
        conn.pragma_update(None, "foreign_keys", "ON")
            .map_err(configure("foreign_keys"))?;
        migrations::migrate(&mut conn, &name)?;
        Ok(Store {
            conn,
            db: DbName(name),
        })
    }
}

/// Creates `dir` and its missing parents, readable only by the user on
/// Unix: the store holds private conversations.
fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder.create(dir)
}

/// Creates the database file, if missing, as readable only by the user on
/// Unix. SQLite gives its -wal and -shm files the main file's permissions,
/// so this covers those too. An existing file's permissions are left alone.
fn create_private_file(path: &Path) -> std::io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(false);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options.open(path).map(drop)
}

/// Local wall-clock time in milliseconds since the Unix epoch.
fn now_ms() -> i64 {
    match std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_millis()).unwrap_or(i64::MAX),
        // A clock before 1970 is broken; store 0 rather than fail a message.
        Err(_) => 0,
    }
}
