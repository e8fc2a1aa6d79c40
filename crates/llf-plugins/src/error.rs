//! The crate's error.

use std::path::PathBuf;
use std::time::Duration;

use crate::plugin::{Hook, HookError};

/// How a plugin's hook went wrong.
#[derive(Debug, thiserror::Error)]
pub enum Fault {
    /// The hook returned an error.
    #[error("it failed")]
    Failed(#[source] HookError),
    /// The hook panicked.
    #[error("it panicked: {0}")]
    Panicked(String),
    /// The hook did not answer within its time budget.
    #[error("it did not answer within {0:?}")]
    TimedOut(Duration),
}

/// Errors of plugins and of the plugin directory.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PluginError {
    /// A plugin stopped the turn.
    #[error("plugin `{plugin}` stopped the turn at {hook}: {reason}")]
    Stopped {
        /// The plugin.
        plugin: String,
        /// The hook it stopped at.
        hook: Hook,
        /// The reason it gave.
        reason: String,
    },
    /// A plugin marked `required` failed, so the turn cannot go on.
    #[error("required plugin `{plugin}` failed at {hook}: {fault}")]
    RequiredFailed {
        /// The plugin.
        plugin: String,
        /// The hook.
        hook: Hook,
        /// What went wrong.
        #[source]
        fault: Fault,
    },
    /// A file or directory could not be read or written.
    #[error("cannot {action} {path}")]
    Io {
        /// What was being done.
        action: &'static str,
        /// The path.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// A `plugin.json` that is not valid.
    #[error("{path} is not a valid plugin.json")]
    Manifest {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: serde_json::Error,
    },
    /// A directory without a `plugin.json`.
    #[error("{0} has no plugin.json")]
    NoManifest(PathBuf),
    /// A plugin directory with nothing to run: no `plugin.py` and no `command`.
    #[error("{0} has neither a plugin.py nor a `command` in its plugin.json")]
    NoProgram(PathBuf),
    /// A plugin name that cannot be a directory name.
    #[error("`{0}` is not a valid plugin name (letters, digits, `-`, `_` and `.`)")]
    BadName(String),
    /// No installed plugin has this name.
    #[error("no plugin named `{0}` is installed")]
    NotFound(String),
    /// A plugin with this name is installed already.
    #[error("a plugin named `{0}` is installed already (remove it first)")]
    Exists(String),
    /// An external plugin's process did not start or broke its protocol.
    #[error("plugin `{plugin}`: {problem}")]
    Process {
        /// The plugin.
        plugin: String,
        /// What went wrong.
        problem: ProcessProblem,
    },
    /// Writing a file atomically failed.
    #[error(transparent)]
    Core(#[from] llf_core::Error),
}

/// What went wrong with an external plugin's process.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ProcessProblem {
    /// It could not be started.
    #[error("cannot start its process")]
    Spawn(#[source] std::io::Error),
    /// It did not say it was ready in time.
    #[error("its process did not get ready within {0:?}")]
    NotReady(Duration),
    /// It said it could not load.
    #[error("it did not load: {0}")]
    LoadFailed(String),
    /// It exited (or closed its output).
    #[error("its process exited")]
    Exited,
    /// It is waiting to be restarted after exiting.
    #[error("its process exited; restarting in {0:?}")]
    Restarting(Duration),
    /// A line that is not the protocol's JSON.
    #[error("it sent a line that is not the protocol's JSON")]
    BadLine(#[source] serde_json::Error),
    /// Reading or writing its pipes failed.
    #[error("talking to its process failed")]
    Pipe(#[source] std::io::Error),
    /// It answered with an error.
    #[error("{0}")]
    HookFailed(String),
}

/// Results of this crate.
pub type Result<T, E = PluginError> = std::result::Result<T, E>;

impl PluginError {
    pub(crate) fn io(action: &'static str, path: &std::path::Path, source: std::io::Error) -> Self {
        PluginError::Io {
            action,
            path: path.to_owned(),
            source,
        }
    }
}
