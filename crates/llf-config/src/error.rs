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
    /// `set` named a key the configuration does not have (outside the sections that take free-form
    /// keys, such as `server_params`).
    #[error(
        "unknown key `{key}`: `{unknown}` is not a configuration key, nothing was changed (see `llf config show` for the keys)"
    )]
    UnknownKey {
        /// The key as given.
        key: String,
        /// The part of it the configuration does not know.
        unknown: String,
    },
    /// The config file named with `--config` or `LLF_CONFIG` does not exist.
    #[error(
        "config file {0} does not exist; check the path, or create it with `llf --config {0} config init`"
    )]
    Missing(PathBuf),
    /// A component given to `config init` does not exist.
    #[error("the {what} {path} does not exist; give the path of an installed file")]
    ComponentMissing {
        /// Which component (`llama-server`, `model`, …).
        what: &'static str,
        /// The path given.
        path: PathBuf,
    },
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
