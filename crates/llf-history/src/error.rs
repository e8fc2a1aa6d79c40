use std::path::PathBuf;

/// Errors of `llf-history`.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum HistoryError {
    /// The database file could not be opened or created.
    #[error("cannot open the history database {path}: {source}")]
    Open {
        /// The database file.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: sqlx::Error,
    },
    /// The schema could not be brought up to date.
    #[error("cannot migrate the history database: {0}; is it from a newer LLF?")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// A query failed.
    #[error("history database error: {0}")]
    Database(#[from] sqlx::Error),
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
    /// A tree handed to [`crate::History::insert_tree`] is inconsistent.
    #[error("invalid conversation tree: {0}")]
    InvalidTree(String),
    /// A stored value could not be decoded.
    #[error("damaged history row: {0}")]
    Corrupt(String),
}

/// `Result` with [`HistoryError`].
pub type Result<T> = std::result::Result<T, HistoryError>;
