//! The crate's error type.

use std::path::PathBuf;

/// Everything that can go wrong in `llf-rag`.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RagError {
    /// The embedding model or ONNX Runtime could not be loaded.
    #[error(
        "cannot load the embedding model from {dir}: {reason} (check `rag.embedding_model_dir` and `rag.onnxruntime_path`, or run scripts/setup.sh)"
    )]
    ModelLoad {
        /// The model directory.
        dir: PathBuf,
        /// What failed.
        reason: String,
    },
    /// A required setting is missing.
    #[error("`{key}` is not set: {hint}")]
    MissingSetting {
        /// The config key.
        key: &'static str,
        /// What to do.
        hint: &'static str,
    },
    /// Embedding failed.
    #[error("embedding failed: {0}")]
    Embed(String),
    /// A store was built with another embedding model than the one loaded.
    #[error(
        "data store `{store}` was built with model `{store_model}` ({store_dim} dimensions) but the loaded model is `{model}` ({dim} dimensions); set `rag.embedding_model_dir` to that model or rebuild the store"
    )]
    ModelMismatch {
        /// The store.
        store: String,
        /// Model recorded in the store's manifest.
        store_model: String,
        /// Dimension recorded in the store's manifest.
        store_dim: usize,
        /// The loaded model.
        model: String,
        /// The loaded model's dimension.
        dim: usize,
    },
    /// No store of that name.
    #[error("no data store named `{0}` (see `llf datastore list`)")]
    StoreNotFound(String),
    /// A store of that name exists already.
    #[error("a data store named `{0}` exists already (use `llf datastore add` to add files to it)")]
    StoreExists(String),
    /// Another process is changing the store.
    #[error("data store `{0}` is being changed by another process; try again when it has finished")]
    Busy(String),
    /// The store changed on disk after it was opened here.
    #[error("data store `{0}` was changed by another process since it was opened; open it again")]
    Stale(String),
    /// The name cannot be used as a store name.
    #[error(
        "invalid data store name `{0}`: use letters, digits, `-`, `_` and `.`, not starting with `.`"
    )]
    InvalidName(String),
    /// A store file is missing.
    #[error(
        "data store `{store}` is missing {what} at {path}; restore it from the trash or recreate the store"
    )]
    MissingFile {
        /// The store.
        store: String,
        /// Which file.
        what: &'static str,
        /// Where it should be.
        path: PathBuf,
    },
    /// A store file cannot be read.
    #[error(
        "data store `{store}` has a corrupt {what} at {path}: {reason}; recreate the store (`llf datastore delete` then `create`)"
    )]
    Corrupt {
        /// The store.
        store: String,
        /// Which file.
        what: &'static str,
        /// Where it is.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// An input file or directory cannot be ingested.
    #[error("cannot read {path}: {reason}")]
    Input {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// Invalid input from the caller.
    #[error("{0}")]
    Invalid(String),
    /// FAISS reported an error.
    #[error("faiss: {0}")]
    Faiss(#[from] faiss::error::Error),
    /// The metadata database failed.
    #[error("metadata database: {0}")]
    Database(#[from] sqlx::Error),
    /// A file operation failed.
    #[error("{context}: {source}")]
    Io {
        /// What was being done.
        context: String,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// Trash or atomic-write failure from `llf-core`.
    #[error(transparent)]
    Core(#[from] llf_core::Error),
    /// A background task failed.
    #[error("background task failed: {0}")]
    Task(String),
}

impl RagError {
    pub(crate) fn io(context: impl Into<String>, source: std::io::Error) -> Self {
        Self::Io {
            context: context.into(),
            source,
        }
    }
}

/// Result with [`RagError`].
pub type Result<T, E = RagError> = std::result::Result<T, E>;
