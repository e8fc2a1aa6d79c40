//! State files: one JSON file per running server under `<state>/servers/`, so that any later `llf`
//! process can see, use and stop a server another process started.

use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::{Result, RuntimeError};

/// What LLF records about a server it started.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServerState {
    /// Configured name.
    pub name: String,
    /// Process id.
    pub pid: u32,
    /// Bound host.
    pub host: String,
    /// Bound port.
    pub port: u16,
    /// The model file.
    pub model: PathBuf,
    /// When it started.
    pub started_at: DateTime<Utc>,
    /// Its log file.
    pub log_file: PathBuf,
    /// Where this start's output begins in the log file (earlier starts wrote what precedes it).
    #[serde(default)]
    pub log_offset: u64,
}

impl ServerState {
    /// Whether the recorded pid is still this server: alive, not a zombie, and its command line
    /// names our model (a recycled pid would not).
    pub fn is_alive(&self) -> bool {
        super::process::is_alive(self.pid, &self.model.display().to_string())
    }

    /// The last `n` lines this server wrote to its log since it started.
    pub fn log_tail(&self, n: usize) -> String {
        super::process::tail(&self.log_file, self.log_offset, n)
    }

    /// `http://host:port`.
    pub fn root_url(&self) -> String {
        let host = if self.host.contains(':') {
            format!("[{}]", self.host)
        } else {
            self.host.clone()
        };
        format!("http://{host}:{}", self.port)
    }
}

/// The lock held while a server starts, so only one process starts it (`<state>/servers/<name>.start.lock`).
pub(super) fn start_lock(state_dir: &Path, name: &str) -> PathBuf {
    dir(state_dir).join(format!("{name}.start.lock"))
}

pub(super) fn dir(state_dir: &Path) -> PathBuf {
    state_dir.join("servers")
}

pub(super) fn path(state_dir: &Path, name: &str) -> PathBuf {
    dir(state_dir).join(format!("{name}.json"))
}

pub(super) fn read(state_dir: &Path, name: &str) -> Result<Option<ServerState>> {
    let p = path(state_dir, name);
    match std::fs::read(&p) {
        Ok(bytes) => match serde_json::from_slice(&bytes) {
            Ok(s) => Ok(Some(s)),
            Err(e) => {
                // A torn or foreign file says nothing reliable about a process: drop it.
                tracing::warn!(file = %p.display(), error = %e, "ignoring unreadable server state file");
                let _ = std::fs::remove_file(&p);
                Ok(None)
            }
        },
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(RuntimeError::io("reading", p, e)),
    }
}

pub(super) fn write(state_dir: &Path, state: &ServerState) -> Result<()> {
    let bytes =
        serde_json::to_vec_pretty(state).map_err(|e| RuntimeError::Invalid(e.to_string()))?;
    llf_core::fs::atomic_write(&path(state_dir, &state.name), &bytes, llf_core::fs::PRIVATE)?;
    Ok(())
}

pub(super) fn remove(state_dir: &Path, name: &str) -> Result<()> {
    match std::fs::remove_file(path(state_dir, name)) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
            Err(RuntimeError::io("removing", path(state_dir, name), e))
        }
        _ => Ok(()),
    }
}
