//! Where every file of LLF lives: the one place that turns the configured directories into file
//! paths, so every frontend (and every embedder) reads and writes the same files.

use std::path::PathBuf;
use std::time::Duration;

use llf_config::{Config, Paths};

/// The files LLF keeps, derived from the configured directories ([`Paths`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Locations {
    paths: Paths,
    retention: Duration,
}

impl Locations {
    /// The locations of `config`'s directories.
    pub fn new(config: &Config, paths: &Paths) -> Self {
        Self {
            paths: paths.clone(),
            retention: Duration::from_secs(config.trash.retention_days.saturating_mul(24 * 3600)),
        }
    }

    /// The configured directories.
    pub fn paths(&self) -> &Paths {
        &self.paths
    }

    /// How long deleted items are kept before they are purged (`trash.retention_days`).
    pub fn retention(&self) -> Duration {
        self.retention
    }

    /// The conversation history database.
    pub fn history_db(&self) -> PathBuf {
        self.paths.state.join("history.db")
    }

    /// The usage analytics database.
    pub fn analytics_db(&self) -> PathBuf {
        self.paths.state.join("analytics.db")
    }

    /// The long-term memory database.
    #[cfg(feature = "memory")]
    pub fn memory_db(&self) -> PathBuf {
        self.paths
            .memory
            .join(llf_memory::MemoryStore::DATABASE_FILE)
    }

    /// The directory of the data stores.
    pub fn data_stores(&self) -> PathBuf {
        self.paths.data_stores.clone()
    }

    /// The persisted retrieval caches.
    #[cfg(feature = "rag")]
    pub fn rag_cache(&self) -> PathBuf {
        self.paths.cache.join(llf_rag::cache::CACHE_FILE)
    }

    /// The tool audit log (rotated copies beside it).
    pub fn audit_log(&self) -> PathBuf {
        self.paths.logs.join("audit.jsonl")
    }

    /// The HTTP API's keys (hashes only).
    pub fn api_keys(&self) -> PathBuf {
        self.paths.state.join("api_keys.json")
    }

    /// Remembered "always" tool approvals.
    pub fn tool_approvals(&self) -> PathBuf {
        self.paths.state.join("tool_approvals.json")
    }

    /// Per-run working directories of sandboxed tools.
    pub fn tool_runs(&self) -> PathBuf {
        self.paths.cache.join("tool-runs")
    }

    /// Where the built-in tools shipped inside LLF are unpacked.
    pub fn builtin_tools(&self) -> PathBuf {
        self.paths.cache.join("builtin-tools")
    }

    /// A new debug log file, named for the current local time.
    pub fn debug_log(&self) -> PathBuf {
        self.paths.logs.join(format!(
            "llf-debug-{}.log",
            chrono::Local::now().format("%Y%m%d-%H%M%S")
        ))
    }

    /// The line history of the interactive chat.
    pub fn chat_line_history(&self) -> PathBuf {
        self.paths.state.join("chat_history.txt")
    }

    /// The trash directory (files, directories).
    pub fn trash(&self) -> PathBuf {
        self.paths.trash.clone()
    }

    /// User prompt templates.
    pub fn templates(&self) -> PathBuf {
        self.paths.templates.clone()
    }

    /// User tools.
    pub fn tools(&self) -> PathBuf {
        self.paths.tools.clone()
    }

    /// Installed plugins, one directory each.
    pub fn plugins(&self) -> PathBuf {
        self.paths.plugins.clone()
    }

    /// The home directory of plugin `name`'s process (`HOME`), where it keeps its files.
    pub fn plugin_home(&self, name: &str) -> PathBuf {
        self.plugin_homes().join(name)
    }

    /// The directory of the plugins' home directories.
    pub fn plugin_homes(&self) -> PathBuf {
        self.paths.state.join("plugin-homes")
    }

    /// Logs (debug logs, server logs).
    pub fn logs(&self) -> PathBuf {
        self.paths.logs.clone()
    }
}
