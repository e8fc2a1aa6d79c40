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
    /// A role name is not one of the four chat roles.
    #[error("unknown role `{input}`; expected system, user, assistant or tool")]
    UnknownRole {
        /// The text given.
        input: String,
    },
    /// A date given by the user is in no format LLF reads.
    #[error(
        "invalid date `{input}`; use YYYY-MM-DD, YYYY-MM-DDTHH:MM:SS (UTC) or an RFC 3339 time like 2025-01-31T12:00:00Z"
    )]
    InvalidDate {
        /// The text given.
        input: String,
    },
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

/// An error from a library that writes its causes into its own message (sqlx does:
/// `error returned from database: (code: 5) database is locked`, and then returns the same
/// cause from `source()`). Shown as that message with no `source()`, so a printed error chain
/// shows each cause once. Crates keep backend errors out of their public variants by storing
/// them as [`FlatError::boxed`] sources.
#[derive(Debug)]
pub struct FlatError(crate::BoxError);

impl FlatError {
    /// `error` as a boxed source that ends the chain.
    pub fn boxed(error: impl Into<crate::BoxError>) -> crate::BoxError {
        Box::new(Self(error.into()))
    }

    /// The wrapped error, for callers that want to inspect (downcast) it.
    pub fn inner(&self) -> &(dyn std::error::Error + Send + Sync + 'static) {
        self.0.as_ref()
    }
}

impl std::fmt::Display for FlatError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Display::fmt(&self.0, f)
    }
}

impl std::error::Error for FlatError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("outer: {0}")]
    struct SaysItsCause(#[source] std::io::Error);

    #[test]
    fn flat_error_keeps_the_message_and_ends_the_chain() {
        let io = std::io::Error::other("disk on fire");
        let flat = FlatError::boxed(SaysItsCause(io));
        assert_eq!(flat.to_string(), "outer: disk on fire");
        assert!(flat.source().is_none());
        let inner = flat.downcast_ref::<FlatError>().unwrap().inner();
        assert!(inner.downcast_ref::<SaysItsCause>().is_some());
    }
}
