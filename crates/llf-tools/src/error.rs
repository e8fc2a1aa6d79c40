//! The crate's error type.

use std::path::PathBuf;

/// Everything that can go wrong while loading, managing or auditing tools. Failures of a single
/// tool call are not errors: they come back as a failed `ToolOutcome` the model can read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ToolError {
    /// A file could not be read or written.
    #[error("{action} {}: {source}", path.display())]
    Io {
        /// What LLF was doing.
        action: &'static str,
        /// The file or directory.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// A tool directory is malformed.
    #[error("tool at {}: {message}", path.display())]
    Manifest {
        /// The tool directory.
        path: PathBuf,
        /// What is wrong and how to fix it.
        message: String,
    },
    /// No tool has this name.
    #[error("no tool named `{0}` (see `llf tool list`)")]
    NotFound(String),
    /// A tool with this name already exists.
    #[error("a tool named `{0}` already exists; remove it first or pick another name")]
    Exists(String),
    /// The operation is not allowed on this tool.
    #[error("{0}")]
    Refused(String),
    /// The audit log is broken or was tampered with.
    #[error("audit log {}: {message}", path.display())]
    Audit {
        /// The log file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// JSON (de)serialisation failed.
    #[error("invalid json in {}: {source}", path.display())]
    Json {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: serde_json::Error,
    },
    /// A file operation of llf-core failed: moving a tool to the trash, or a locked update of a
    /// state file (its message names the file).
    #[error(transparent)]
    Trash(#[from] llf_core::Error),
}

/// The crate's result type.
pub type Result<T> = std::result::Result<T, ToolError>;

impl ToolError {
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
