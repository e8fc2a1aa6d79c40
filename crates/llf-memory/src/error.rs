use std::path::{Path, PathBuf};

use llf_core::{BoxError, FlatError};

/// Errors of `llf-memory`.
///
/// Wrapped failures are the `source()` of a variant, never part of its message, so a printed
/// chain names each cause once.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MemoryError {
    /// The database refused or failed an operation.
    #[error("the memory database failed while {action}")]
    Database {
        /// What LLF was doing, e.g. "adding a memory".
        action: &'static str,
        /// The underlying error.
        #[source]
        source: BoxError,
    },
    /// The database file is damaged or is not an SQLite database at all. LLF has not written
    /// to it.
    #[error(
        "{path} is not a usable memory database (damaged, or not an SQLite file); LLF has not changed it: move it aside to start with no memories, or restore it from a backup"
    )]
    NotADatabase {
        /// The database file.
        path: PathBuf,
        /// What SQLite reported.
        #[source]
        source: BoxError,
    },
    /// The database schema could not be brought up to date.
    #[error(
        "cannot prepare the memory database {path}; if it was written by a newer LLF, use that version"
    )]
    Migrate {
        /// The database file.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: BoxError,
    },
    /// A file could not be read or written.
    #[error("{action} {path}")]
    Io {
        /// What LLF was doing, e.g. "reading".
        action: &'static str,
        /// The file involved.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// No store has this name.
    #[error(
        "no memory store named `{0}`; create it with `llf memory create {0}` (see `llf memory list`)"
    )]
    UnknownStore(String),
    /// A store with this name exists already.
    #[error("a memory store named `{0}` already exists")]
    StoreExists(String),
    /// The store name is not usable.
    #[error("invalid memory store name `{0}`: use 1 to 64 letters, digits, `-` or `_`")]
    InvalidStoreName(String),
    /// No memory has this id.
    #[error("no memory with id `{0}` (see `llf memory search`)")]
    NotFound(String),
    /// The memory is soft-deleted.
    #[error("memory `{0}` is deleted; restore it first with `llf memory restore {0}`")]
    Deleted(String),
    /// `restore` was asked for a memory that is not deleted.
    #[error("memory `{0}` is not deleted; nothing to restore")]
    NotDeleted(String),
    /// The content is empty or only whitespace.
    #[error("a memory needs some content; got empty text")]
    EmptyContent,
    /// Importance must lie in 0.0..=1.0.
    #[error("importance must be between 0.0 and 1.0, got {0}")]
    InvalidImportance(f64),
    /// The search text holds nothing to look for.
    #[error(
        "the search text `{0}` has no words to look for; use letters or digits (quotes, operators and symbols are ignored)"
    )]
    EmptyQuery(String),
    /// The date range is empty.
    #[error("the date range is empty: `since` must be before `until`")]
    InvalidDateRange,
    /// The metadata is not a JSON object.
    #[error("memory metadata must be a JSON object")]
    InvalidMetadata,
    /// A Python-era memory directory is not usable.
    #[error("cannot migrate from {path}: {reason}")]
    MigrationSource {
        /// The file or directory involved.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
}

/// `Result` with [`MemoryError`].
pub type Result<T> = std::result::Result<T, MemoryError>;

impl MemoryError {
    pub(crate) fn db(action: &'static str) -> impl FnOnce(sqlx::Error) -> Self {
        move |e| Self::Database {
            action,
            source: FlatError::boxed(e),
        }
    }

    /// Opening the database at `path` failed: [`Self::NotADatabase`] when SQLite says the file
    /// is damaged or foreign, else a [`Self::Database`] error while `action`.
    pub(crate) fn open_failed(path: &Path, action: &'static str, e: sqlx::Error) -> Self {
        if is_not_a_database(&e) {
            Self::NotADatabase {
                path: path.to_owned(),
                source: FlatError::boxed(e),
            }
        } else {
            Self::db(action)(e)
        }
    }

    /// Bringing the schema of `path` up to date failed; like [`Self::open_failed`].
    pub(crate) fn migrate_failed(path: &Path, e: sqlx::migrate::MigrateError) -> Self {
        use sqlx::migrate::MigrateError;
        let path = path.to_owned();
        match &e {
            MigrateError::Execute(inner) | MigrateError::ExecuteMigration(inner, _)
                if is_not_a_database(inner) =>
            {
                Self::NotADatabase {
                    path,
                    source: FlatError::boxed(e),
                }
            }
            _ => Self::Migrate {
                path,
                source: FlatError::boxed(e),
            },
        }
    }

    pub(crate) fn io(
        action: &'static str,
        path: impl Into<PathBuf>,
    ) -> impl FnOnce(std::io::Error) -> Self {
        let path = path.into();
        move |source| Self::Io {
            action,
            path,
            source,
        }
    }
}

/// Whether SQLite reported the file as damaged (`SQLITE_CORRUPT`) or foreign (`SQLITE_NOTADB`).
fn is_not_a_database(e: &sqlx::Error) -> bool {
    const SQLITE_CORRUPT: i64 = 11;
    const SQLITE_NOTADB: i64 = 26;
    match e {
        sqlx::Error::Database(db) => db
            .code()
            .and_then(|c| c.parse::<i64>().ok())
            // Extended result codes keep the primary code in the low byte.
            .is_some_and(|c| matches!(c & 0xff, SQLITE_CORRUPT | SQLITE_NOTADB)),
        _ => false,
    }
}
