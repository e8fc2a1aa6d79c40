use std::path::{Path, PathBuf};

use llf_core::{BoxError, FlatError};

/// Errors of `llf-history`.
///
/// Database failures carry the backend's error as their `source()`, never in their message, so
/// a printed chain names each cause once.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum HistoryError {
    /// The database file could not be opened or created.
    #[error("cannot open the history database {path}")]
    Open {
        /// The database file.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: BoxError,
    },
    /// The file is damaged or is not an SQLite database at all. LLF has not written to it.
    #[error(
        "{path} is not a usable history database (damaged, or not an SQLite file); LLF has not changed it: move it aside to start an empty history, or restore it from a backup"
    )]
    NotADatabase {
        /// The database file.
        path: PathBuf,
        /// What SQLite reported.
        #[source]
        source: BoxError,
    },
    /// The schema could not be brought up to date.
    #[error(
        "cannot update the schema of the history database {path}; if a newer LLF wrote it, use that version"
    )]
    Migrate {
        /// The database file.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: BoxError,
    },
    /// A query failed.
    #[error("the history database failed")]
    Database(#[source] BoxError),
    /// No conversation has this id (or id prefix).
    #[error("no conversation `{0}` (see `llf conversation list`)")]
    ConversationNotFound(String),
    /// An id prefix matches several conversations.
    #[error("`{0}` matches several conversations; give more characters of the id")]
    AmbiguousId(String),
    /// No message has this id in the conversation.
    #[error(
        "no message {id} in conversation {conversation} (see `llf conversation show {conversation} --tree`)"
    )]
    MessageNotFound {
        /// The conversation searched.
        conversation: String,
        /// The missing message id.
        id: i64,
    },
    /// The conversation is in the trash.
    #[error("conversation {0} is deleted; restore it first with `llf conversation restore {0}`")]
    Deleted(String),
    /// The conversation is not deleted, so there is nothing to restore.
    #[error("conversation {0} is not deleted")]
    NotDeleted(String),
    /// The message is not the root of a regeneration: it has no parent to hang a sibling on.
    #[error("message {0} is the first of its conversation; a sibling needs a shared parent")]
    NoParent(i64),
    /// A search query has no words.
    #[error("the search query is empty; give at least one word")]
    EmptyQuery,
    /// A conversation title is empty or only whitespace.
    #[error("a conversation title needs some text; the title given is empty")]
    EmptyTitle,
    /// A conversation title is longer than [`crate::MAX_TITLE_CHARS`].
    #[error("a conversation title has at most {max} characters; this one has {chars}, shorten it")]
    TitleTooLong {
        /// Characters in the title given (after trimming).
        chars: usize,
        /// The limit.
        max: usize,
    },
    /// A tree handed to [`crate::History::insert_tree`] is inconsistent.
    #[error("invalid conversation tree: {0}")]
    InvalidTree(String),
    /// A stored value could not be decoded.
    #[error("damaged history row: {0}")]
    Corrupt(String),
}

/// `Result` with [`HistoryError`].
pub type Result<T> = std::result::Result<T, HistoryError>;

impl From<sqlx::Error> for HistoryError {
    fn from(e: sqlx::Error) -> Self {
        Self::Database(FlatError::boxed(e))
    }
}

impl HistoryError {
    /// Opening the database at `path` failed: [`Self::NotADatabase`] when SQLite says the file
    /// is damaged or foreign, else [`Self::Open`].
    pub(crate) fn open_failed(path: &Path, e: sqlx::Error) -> Self {
        let path = path.to_owned();
        if is_not_a_database(&e) {
            Self::NotADatabase {
                path,
                source: FlatError::boxed(e),
            }
        } else {
            Self::Open {
                path,
                source: FlatError::boxed(e),
            }
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
}

/// Whether SQLite reported the file as damaged (`SQLITE_CORRUPT`) or foreign (`SQLITE_NOTADB`).
pub(crate) fn is_not_a_database(e: &sqlx::Error) -> bool {
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
