//! Approval of tools marked `requires_approval`: the user answers once, for the session, or
//! always (remembered on disk and revocable). The question itself is a trait so the CLI can ask
//! on a terminal and a non-interactive run can deny (or approve with `--yes`).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::{Result, ToolError};

/// The user's answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ApprovalDecision {
    /// Do not run it.
    Deny,
    /// Run it this time.
    Once,
    /// Run it without asking until LLF exits.
    Session,
    /// Run it without asking from now on (until revoked).
    Always,
}

/// What the user is asked about.
#[derive(Debug, Clone, PartialEq)]
pub struct ApprovalRequest {
    /// The tool.
    pub tool: String,
    /// Its description.
    pub description: String,
    /// The arguments, secrets redacted.
    pub arguments: Value,
}

/// Asks the user whether a tool may run.
#[async_trait::async_trait]
pub trait ApprovalPrompt: Send + Sync {
    /// The user's decision for this call.
    async fn ask(&self, request: &ApprovalRequest) -> ApprovalDecision;
}

/// A fixed answer: denial for non-interactive runs, `Once` for `--yes`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FixedApproval(pub ApprovalDecision);

#[async_trait::async_trait]
impl ApprovalPrompt for FixedApproval {
    async fn ask(&self, _request: &ApprovalRequest) -> ApprovalDecision {
        self.0
    }
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct Stored {
    always: BTreeSet<String>,
}

/// Remembered approvals: `always` on disk, `session` in memory.
#[derive(Debug)]
pub struct ApprovalStore {
    path: PathBuf,
    always: Mutex<BTreeSet<String>>,
    session: Mutex<BTreeSet<String>>,
}

impl ApprovalStore {
    /// Loads the approvals file (missing: none approved).
    pub fn load(path: impl Into<PathBuf>) -> Result<Self> {
        let path = path.into();
        let stored: Stored = if path.exists() {
            crate::manifest::read_json(&path)?
        } else {
            Stored::default()
        };
        Ok(Self {
            path,
            always: Mutex::new(stored.always),
            session: Mutex::new(BTreeSet::new()),
        })
    }

    /// The file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Whether `tool` is approved for this session or always.
    pub fn is_approved(&self, tool: &str) -> bool {
        lock(&self.always).contains(tool) || lock(&self.session).contains(tool)
    }

    /// Tools approved always.
    pub fn always(&self) -> Vec<String> {
        lock(&self.always).iter().cloned().collect()
    }

    /// Records a decision (`Session` in memory, `Always` on disk).
    pub fn remember(&self, tool: &str, decision: ApprovalDecision) -> Result<()> {
        match decision {
            ApprovalDecision::Session => {
                lock(&self.session).insert(tool.to_owned());
                Ok(())
            }
            ApprovalDecision::Always => {
                lock(&self.always).insert(tool.to_owned());
                self.update_file(|always| {
                    always.insert(tool.to_owned());
                })
            }
            ApprovalDecision::Deny | ApprovalDecision::Once => Ok(()),
        }
    }

    /// Forgets every approval of `tool`; returns whether there was one.
    pub fn revoke(&self, tool: &str) -> Result<bool> {
        let had = lock(&self.always).remove(tool);
        let had_session = lock(&self.session).remove(tool);
        let mut on_disk = false;
        self.update_file(|always| on_disk = always.remove(tool))?;
        Ok(had || had_session || on_disk)
    }

    /// Applies `change` to the approvals on disk under the file's lock, so approvals another
    /// process remembered meanwhile are kept, and takes the result as this store's own.
    fn update_file(&self, change: impl FnOnce(&mut BTreeSet<String>)) -> Result<()> {
        let mut merged = None;
        llf_core::fs::update_locked(&self.path, 0o600, |old| {
            let mut stored: Stored = match old {
                Some(bytes) => serde_json::from_slice(bytes).map_err(|source| ToolError::Json {
                    path: self.path.clone(),
                    source,
                })?,
                None => Stored::default(),
            };
            change(&mut stored.always);
            let bytes = serde_json::to_vec_pretty(&stored).map_err(|source| ToolError::Json {
                path: self.path.clone(),
                source,
            })?;
            merged = Some(stored.always);
            Ok::<_, ToolError>(bytes)
        })?;
        if let Some(always) = merged {
            *lock(&self.always) = always;
        }
        Ok(())
    }
}

fn lock(m: &Mutex<BTreeSet<String>>) -> std::sync::MutexGuard<'_, BTreeSet<String>> {
    // A poisoned set is still a valid set: keep going with it.
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}
