//! Error types. Every message names the database and the action so a log
//! line alone is enough to tell what broke; none of them carries a message
//! body.

use std::path::PathBuf;

/// Why a store operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The directory meant to hold the database could not be created.
    #[error("could not create directory {} for the database: {source}", dir.display())]
    CreateDir {
        /// The directory.
        dir: PathBuf,
        /// What the filesystem said.
        source: std::io::Error,
    },
    /// The database file could not be created.
    #[error("could not create database file {}: {source}", path.display())]
    CreateFile {
        /// The file.
        path: PathBuf,
        /// What the filesystem said.
        source: std::io::Error,
    },
    /// SQLite could not open the database.
    #[error("could not open database at {path}: {source}")]
    Open {
        /// The database.
        path: String,
        /// What SQLite said.
        source: rusqlite::Error,
    },
    /// A connection setting could not be applied.
    #[error("could not set {pragma} on database at {path}: {source}")]
    Configure {
        /// The database.
        path: String,
        /// The pragma being set.
        pragma: &'static str,
        /// What SQLite said.
        source: rusqlite::Error,
    },
    /// SQLite kept another journal mode, so the durability promise of WAL
    /// with `synchronous=NORMAL` would not hold.
    #[error("database at {path} stayed in journal mode {mode:?} instead of switching to wal")]
    NotWal {
        /// The database.
        path: String,
        /// The journal mode SQLite reported.
        mode: String,
    },
    /// The database was written by a newer wimsyd.
    #[error(
        "database at {path} has schema version {found}, newer than this wimsyd understands ({known}); upgrade wimsyd"
    )]
    TooNew {
        /// The database.
        path: String,
        /// The version found in the file.
        found: i64,
        /// The newest version this code knows.
        known: i64,
    },
    /// The file carries a schema version no wimsyd ever wrote.
    #[error("database at {path} has schema version {found}, which no wimsyd writes")]
    UnknownSchema {
        /// The database.
        path: String,
        /// The version found in the file.
        found: i64,
    },
    /// A schema migration failed; the database stays at the previous version.
    #[error("could not migrate database at {path} to schema version {version}: {source}")]
    Migrate {
        /// The database.
        path: String,
        /// The version being migrated to.
        version: i64,
        /// What SQLite said.
        source: rusqlite::Error,
    },
    /// A query or update failed.
    #[error("{action} in database at {path} failed: {source}")]
    Query {
        /// The database.
        path: String,
        /// What was being done.
        action: String,
        /// What SQLite said.
        source: rusqlite::Error,
    },
    /// An empty stanza id would make every other empty one a "duplicate".
    #[error("refusing to store an empty stanza id for message {id}")]
    EmptyStanzaId {
        /// The message.
        id: i64,
    },
}

/// A string is not one of the values a stored enum can take.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown {kind} {value:?} (expected one of {expected})")]
pub struct UnknownValue {
    /// Which enum was being parsed.
    pub kind: &'static str,
    /// The rejected input.
    pub value: String,
    /// The accepted values, for the message.
    pub expected: &'static str,
}

/// A history cursor string could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid history cursor {input:?} (expected a cursor as handed out with a history page)")]
pub struct InvalidCursor {
    /// The rejected input, cut short so a hostile frontend cannot flood logs.
    pub input: String,
}

/// Where errors point to: the database path, or `:memory:`.
#[derive(Debug, Clone)]
pub(crate) struct DbName(pub(crate) String);

impl DbName {
    /// Wraps a SQLite error with this database and `action`, as a closure for
    /// `map_err`.
    pub(crate) fn fail(&self, action: &'static str) -> impl FnOnce(rusqlite::Error) -> StoreError {
        self.fail_with(move || action.to_owned())
    }

    /// Like [`DbName::fail`], for an action text that needs formatting; it
    /// is only built on failure.
    pub(crate) fn fail_with<F: FnOnce() -> String>(
        &self,
        action: F,
    ) -> impl FnOnce(rusqlite::Error) -> StoreError {
        move |source| StoreError::Query {
            path: self.0.clone(),
            action: action(),
            source,
        }
    }
}
