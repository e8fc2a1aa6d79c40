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
    /// A Python FAISS index cannot be imported.
    #[error("cannot import {path}: {problem}")]
    ImportIndex {
        /// The index file given.
        path: PathBuf,
        /// What is wrong with it.
        problem: ImportProblem,
    },
    /// The vector index library failed.
    #[error("the vector index failed while {action}")]
    Index {
        /// What was being done.
        action: &'static str,
        /// The library's message.
        #[source]
        source: BackendError,
    },
    /// The metadata database failed.
    #[error("the metadata database of a data store failed")]
    Database {
        /// The database's message.
        #[source]
        source: BackendError,
    },
    /// A file operation failed.
    #[error("{context}")]
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

/// Why a Python FAISS index cannot be imported.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ImportProblem {
    /// The file does not exist.
    Missing,
    /// The file is not an index FAISS can read.
    NotAnIndex,
    /// FAISS reads it, but it is not a flat index.
    NotFlat,
    /// Its vectors are not the loaded model's size.
    Dimension {
        /// Dimension of the index.
        index: usize,
        /// The loaded model.
        model: String,
        /// The model's dimension.
        model_dimension: usize,
    },
}

impl std::fmt::Display for ImportProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Missing => f.write_str("no such file; check the path given to --index"),
            Self::NotAnIndex => f.write_str(
                "it is not a FAISS index written by `faiss.write_index`; --index must name the index file of the Python store (the texts go to --texts)",
            ),
            Self::NotFlat => f.write_str(
                "only IndexFlatIP and IndexFlatL2 indexes can be imported; re-create the store from its documents with `llf datastore create`",
            ),
            Self::Dimension {
                index,
                model,
                model_dimension,
            } => write!(
                f,
                "its vectors have {index} dimensions but model `{model}` makes {model_dimension}; set `rag.embedding_model_dir` to the model the index was built with"
            ),
        }
    }
}

/// A message from a backend library (FAISS, SQLite), kept as text so no backend type becomes
/// part of this crate's API.
#[derive(Debug)]
pub struct BackendError(String);

impl BackendError {
    /// FAISS reports C++ exceptions as `Error in <function> at <source file>:<line>: <message>`;
    /// only the message means anything to a user.
    pub(crate) fn faiss(e: &faiss::error::Error) -> Self {
        let text = e.to_string();
        let message = text
            .split_once(" at ")
            .and_then(|(_, rest)| rest.split_once(": "))
            .map_or(text.as_str(), |(_, message)| message);
        Self(message.trim().to_owned())
    }
}

impl std::fmt::Display for BackendError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for BackendError {}

impl From<sqlx::Error> for RagError {
    fn from(e: sqlx::Error) -> Self {
        Self::Database {
            source: BackendError(e.to_string()),
        }
    }
}

impl RagError {
    /// A FAISS failure while doing `action` ("searching", "writing the index"…).
    pub(crate) fn index(action: &'static str, e: &faiss::error::Error) -> Self {
        Self::Index {
            action,
            source: BackendError::faiss(e),
        }
    }

    pub(crate) fn io(context: impl Into<String>, source: std::io::Error) -> Self {
        Self::Io {
            context: context.into(),
            source,
        }
    }
}

/// Result with [`RagError`].
pub type Result<T, E = RagError> = std::result::Result<T, E>;
