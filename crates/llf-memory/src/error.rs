use std::path::PathBuf;

/// Errors of `llf-memory`.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MemoryError {
    /// The database refused or failed an operation.
    #[error("memory database error while {action}: {source}")]
    Database {
        /// What LLF was doing, e.g. "adding a memory".
        action: &'static str,
        /// The underlying error.
        #[source]
        source: sqlx::Error,
    },
    /// The database schema could not be brought up to date.
    #[error(
        "cannot prepare the memory database {path}: {source}; if it was written by a newer LLF, use that version"
    )]
    Migrate {
        /// The database file.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: sqlx::migrate::MigrateError,
    },
    /// A file could not be read or written.
    #[error("{action} {path}: {source}")]
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
        move |source| Self::Database { action, source }
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
