use std::path::PathBuf;

/// One problem found in a configuration, with the key it concerns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Issue {
    /// Key path such as `local_llm_servers[1].port`.
    pub path: String,
    /// What was expected and what was found.
    pub message: String,
}

impl std::fmt::Display for Issue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.path, self.message)
    }
}

/// Errors of `llf-config`.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The config file could not be read.
    #[error("cannot read config {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The file is not JSON.
    #[error("{path} is not valid JSON: {source}")]
    Syntax {
        /// The file.
        path: PathBuf,
        /// The parse error, with line and column.
        #[source]
        source: serde_json::Error,
    },
    /// The file is JSON but some values are wrong.
    #[error("invalid config {path}:\n{}", issues.iter().map(|i| format!("  {i}")).collect::<Vec<_>>().join("\n"))]
    Invalid {
        /// The file (or `<memory>`).
        path: PathBuf,
        /// Every problem found.
        issues: Vec<Issue>,
    },
    /// A key given to `get`/`set` does not exist or cannot be parsed.
    #[error("{0}")]
    Key(String),
    /// The config file already exists and `init` was not told to replace it.
    #[error(
        "{0} already exists; pass --force to replace it (the old file is kept as config.json.bak)"
    )]
    AlreadyExists(PathBuf),
    /// No home directory could be found for the default paths.
    #[error("cannot find a home directory for LLF's files; set LLF_HOME to a directory")]
    NoHome,
    /// Saving failed.
    #[error(transparent)]
    Save(#[from] llf_core::Error),
}

/// `Result` with [`ConfigError`].
pub type Result<T> = std::result::Result<T, ConfigError>;
