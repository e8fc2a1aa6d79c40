//! The set of tools LLF knows: external tools from the user's tools directory and the repository's
//! built-in `tools/` directory (a user tool of the same name wins), plus in-process tools a Rust
//! program registers. Enabled/disabled choices live in `<tools dir>/.state.json` so built-in tools
//! can be switched without touching the repository.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use llf_core::tool::ToolSpec;
use llf_core::trash::{ItemType, Trash, TrashItem};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::{Result, ToolError};
use crate::manifest::{ToolManifest, is_valid_name};

/// A tool implemented in Rust and run in-process (no sandbox; validation, approval, rate limits
/// and audit still apply).
#[async_trait::async_trait]
pub trait NativeTool: Send + Sync {
    /// The definition the model sees.
    fn spec(&self) -> ToolSpec;
    /// Runs the tool on validated arguments; `Err` is a message for the model.
    async fn call(&self, arguments: Value) -> std::result::Result<Value, String>;
    /// Ask the user before each call.
    fn requires_approval(&self) -> bool {
        false
    }
    /// A token bucket for this tool.
    fn rate_limit(&self) -> Option<crate::manifest::RateLimitConfig> {
        None
    }
}

/// Where a tool comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ToolSource {
    /// The user's tools directory.
    User,
    /// The repository's `tools/` directory.
    Builtin,
    /// Registered in-process.
    Native,
}

/// How a tool is implemented.
#[derive(Clone)]
pub enum ToolKind {
    /// A directory with `config.json`, `tool_definition.json` and a program.
    External(Box<ToolManifest>),
    /// A Rust implementation.
    Native(Arc<dyn NativeTool>),
}

impl std::fmt::Debug for ToolKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::External(m) => f.debug_tuple("External").field(&m.dir).finish(),
            Self::Native(t) => f.debug_tuple("Native").field(&t.spec().name).finish(),
        }
    }
}

/// A known tool.
#[derive(Debug, Clone)]
pub struct ToolEntry {
    /// Its name.
    pub name: String,
    /// Where it comes from.
    pub source: ToolSource,
    /// Offered to the model.
    pub enabled: bool,
    /// The definition the model sees.
    pub spec: ToolSpec,
    /// Its implementation.
    pub kind: ToolKind,
}

impl ToolEntry {
    /// Whether each call needs the user's approval.
    pub fn needs_approval(&self) -> bool {
        match &self.kind {
            ToolKind::External(m) => m.config.needs_approval(),
            ToolKind::Native(t) => t.requires_approval(),
        }
    }

    /// The tool's rate limit, if any.
    pub fn rate_limit(&self) -> Option<crate::manifest::RateLimitConfig> {
        match &self.kind {
            ToolKind::External(m) => m.config.rate_limit.clone(),
            ToolKind::Native(t) => t.rate_limit(),
        }
    }

    /// The manifest of an external tool.
    pub fn manifest(&self) -> Option<&ToolManifest> {
        match &self.kind {
            ToolKind::External(m) => Some(m),
            ToolKind::Native(_) => None,
        }
    }
}

/// Enable/disable choices, in the user's tools directory.
const STATE_FILE: &str = ".state.json";

#[derive(Debug, Default, Serialize, Deserialize)]
struct State {
    enabled: BTreeMap<String, bool>,
}

/// Tool directories that could not be loaded (reported, not fatal).
#[derive(Debug, Clone, PartialEq)]
pub struct LoadProblem {
    /// The directory.
    pub dir: PathBuf,
    /// Why.
    pub message: String,
}

/// The tools LLF knows.
#[derive(Debug, Clone)]
pub struct ToolSet {
    user_dir: PathBuf,
    tools: BTreeMap<String, ToolEntry>,
    problems: Vec<LoadProblem>,
}

impl ToolSet {
    /// Loads the built-in directory (if any) and then the user's directory.
    pub fn load(user_dir: &Path, builtin_dir: Option<&Path>) -> Result<Self> {
        let state = read_state(user_dir)?;
        let mut set = Self {
            user_dir: user_dir.to_owned(),
            tools: BTreeMap::new(),
            problems: Vec::new(),
        };
        if let Some(b) = builtin_dir {
            set.scan(b, ToolSource::Builtin)?;
        }
        set.scan(user_dir, ToolSource::User)?;
        for (name, on) in state.enabled {
            if let Some(t) = set.tools.get_mut(&name) {
                t.enabled = on;
            }
        }
        Ok(set)
    }

    fn scan(&mut self, dir: &Path, source: ToolSource) -> Result<()> {
        let entries = match std::fs::read_dir(dir) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(ToolError::io("listing", dir, e)),
        };
        let mut dirs: Vec<PathBuf> = entries
            .filter_map(std::result::Result::ok)
            .map(|e| e.path())
            .filter(|p| p.join("config.json").is_file())
            .collect();
        dirs.sort();
        for d in dirs {
            match ToolManifest::load(&d) {
                Ok(m) => {
                    let entry = ToolEntry {
                        name: m.config.name.clone(),
                        source,
                        enabled: m.config.metadata.enabled,
                        spec: m.definition.spec(),
                        kind: ToolKind::External(Box::new(m)),
                    };
                    self.tools.insert(entry.name.clone(), entry);
                }
                Err(e) => {
                    tracing::warn!(dir = %d.display(), error = %e, "skipping a tool that does not load");
                    self.problems.push(LoadProblem {
                        dir: d,
                        message: e.to_string(),
                    });
                }
            }
        }
        Ok(())
    }

    /// Adds an in-process tool (enabled).
    pub fn register_native(&mut self, tool: Arc<dyn NativeTool>) {
        let spec = tool.spec();
        self.tools.insert(
            spec.name.clone(),
            ToolEntry {
                name: spec.name.clone(),
                source: ToolSource::Native,
                enabled: true,
                spec,
                kind: ToolKind::Native(tool),
            },
        );
    }

    /// Every tool, by name.
    pub fn list(&self) -> impl Iterator<Item = &ToolEntry> {
        self.tools.values()
    }

    /// One tool.
    pub fn get(&self, name: &str) -> Option<&ToolEntry> {
        self.tools.get(name)
    }

    /// Directories that did not load.
    pub fn problems(&self) -> &[LoadProblem] {
        &self.problems
    }

    /// The user's tools directory.
    pub fn user_dir(&self) -> &Path {
        &self.user_dir
    }

    /// Enables or disables a tool, remembered in the tools directory.
    pub fn set_enabled(&mut self, name: &str, enabled: bool) -> Result<()> {
        let entry = self
            .tools
            .get_mut(name)
            .ok_or_else(|| ToolError::NotFound(name.to_owned()))?;
        entry.enabled = enabled;
        let path = self.user_dir.join(STATE_FILE);
        // Under the file's lock, so a concurrent enable/disable of another tool is kept.
        llf_core::fs::update_locked(&path, 0o644, |old| {
            let mut state: State = match old {
                Some(bytes) => serde_json::from_slice(bytes).map_err(|source| ToolError::Json {
                    path: path.clone(),
                    source,
                })?,
                None => State::default(),
            };
            state.enabled.insert(name.to_owned(), enabled);
            serde_json::to_vec_pretty(&state).map_err(|source| ToolError::Json {
                path: path.clone(),
                source,
            })
        })
    }

    /// Copies a tool directory into the user's tools directory (checked first); returns its name.
    pub fn import(&mut self, src: &Path) -> Result<String> {
        let manifest = ToolManifest::load(src)?;
        let name = manifest.config.name.clone();
        if !is_valid_name(&name) {
            return Err(ToolError::Refused(format!(
                "`{name}` is not a valid tool name"
            )));
        }
        let dest = self.user_dir.join(&name);
        if dest.exists() {
            return Err(ToolError::Exists(name));
        }
        copy_tree(src, &dest)?;
        let m = ToolManifest::load(&dest)?;
        self.tools.insert(
            name.clone(),
            ToolEntry {
                name: name.clone(),
                source: ToolSource::User,
                enabled: m.config.metadata.enabled,
                spec: m.definition.spec(),
                kind: ToolKind::External(Box::new(m)),
            },
        );
        Ok(name)
    }

    /// Moves a user tool to the trash.
    pub async fn remove(&mut self, name: &str, trash: &Trash) -> Result<TrashItem> {
        let entry = self
            .tools
            .get(name)
            .ok_or_else(|| ToolError::NotFound(name.to_owned()))?;
        let dir = match (&entry.source, &entry.kind) {
            (ToolSource::User, ToolKind::External(m)) => m.dir.clone(),
            _ => {
                return Err(ToolError::Refused(format!(
                    "`{name}` is built in and cannot be removed; disable it with `llf tool disable {name}`"
                )));
            }
        };
        let item = trash
            .delete(&dir, ItemType::Tool, Some(name.to_owned()))
            .await?;
        self.tools.remove(name);
        Ok(item)
    }
}

fn read_state(user_dir: &Path) -> Result<State> {
    let path = user_dir.join(STATE_FILE);
    if path.exists() {
        crate::manifest::read_json(&path)
    } else {
        Ok(State::default())
    }
}

fn copy_tree(from: &Path, to: &Path) -> Result<()> {
    std::fs::create_dir_all(to).map_err(|e| ToolError::io("creating", to, e))?;
    let entries = std::fs::read_dir(from).map_err(|e| ToolError::io("listing", from, e))?;
    for entry in entries {
        let entry = entry.map_err(|e| ToolError::io("listing", from, e))?;
        let path = entry.path();
        let dest = to.join(entry.file_name());
        let ty = entry
            .file_type()
            .map_err(|e| ToolError::io("reading", &path, e))?;
        if ty.is_dir() {
            copy_tree(&path, &dest)?;
        } else if ty.is_file() {
            std::fs::copy(&path, &dest).map_err(|e| ToolError::io("copying", &path, e))?;
        }
    }
    Ok(())
}
