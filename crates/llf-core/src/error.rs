use std::path::PathBuf;

/// Errors of `llf-core`.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A file-system operation failed on `path`.
    #[error("{action} {path}: {source}")]
    Io {
        /// What LLF was doing, e.g. "writing".
        action: &'static str,
        /// The path involved.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// The trash registry is not valid JSON.
    #[error("the trash registry {path} is damaged: {source}; move it aside to start a new one")]
    CorruptRegistry {
        /// Path of the registry file.
        path: PathBuf,
        /// The parse error.
        #[source]
        source: serde_json::Error,
    },
    /// No trashed item has this id.
    #[error("no item with id `{0}` in the trash (see `llf trash list`)")]
    NotInTrash(String),
    /// Restoring would replace something that now lives at the original path.
    #[error(
        "cannot restore `{name}`: {path} already exists; move or delete it first, the trash never overwrites"
    )]
    WouldOverwrite {
        /// Name of the trashed item.
        name: String,
        /// The occupied original path.
        path: PathBuf,
    },
    /// The thing to delete does not exist.
    #[error("nothing to delete at {0}")]
    NothingToDelete(PathBuf),
    /// An unknown trash item type was named.
    #[error("unknown item type `{0}`; expected one of: {types}", types = crate::trash::ItemType::NAMES.join(", "))]
    UnknownItemType(String),
    /// A blocking task was cancelled or panicked.
    #[error("background task failed: {0}")]
    Task(#[from] tokio::task::JoinError),
}

/// `Result` with [`Error`].
pub type Result<T> = std::result::Result<T, Error>;

impl Error {
    pub(crate) fn io(
        action: &'static str,
        path: impl Into<PathBuf>,
        source: std::io::Error,
    ) -> Self {
        Self::Io {
            action,
            path: path.into(),
            source,
        }
    }
}

impl From<std::io::Error> for Error {
    fn from(source: std::io::Error) -> Self {
        Self::Io {
            action: "accessing",
            path: PathBuf::new(),
            source,
        }
    }
}
