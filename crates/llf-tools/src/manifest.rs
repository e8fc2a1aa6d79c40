//! The on-disk tool format: `config.json` (metadata and policy) and `tool_definition.json` (the
//! OpenAI function definition the model sees), as the design document defines them.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use llf_core::tool::ToolSpec;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::{Result, ToolError};
use crate::validate::ArgRule;

/// `config.json` of a tool. Unknown keys are kept so rewriting the file loses nothing.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToolConfig {
    /// Tool name; must match the directory name and the function name.
    pub name: String,
    /// `llm_invokable` for tools the model may call.
    #[serde(rename = "type", default = "default_type")]
    pub tool_type: String,
    /// What the tool does.
    #[serde(default)]
    pub description: String,
    /// Version text.
    #[serde(default)]
    pub version: String,
    /// Author text.
    #[serde(default)]
    pub author: String,
    /// Enabled flag, category, and (Python-era files) approval and timeout.
    #[serde(default)]
    pub metadata: ToolMetadata,
    /// Ask the user before each run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requires_approval: Option<bool>,
    /// Wall-clock seconds; capped by `tool_sandbox.timeout`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<u64>,
    /// `false` relaxes isolation (no user/network namespace, no privilege drop) for tools that
    /// need the user's files; rlimits, timeout, cleared environment and output cap still apply.
    #[serde(default = "default_true")]
    pub allow_sandbox: bool,
    /// The tool needs the network (e.g. `web_fetch`): it is not put in a network namespace.
    #[serde(default)]
    pub requires_network: bool,
    /// The program to run, relative to the tool directory (default: `run`, else `execute.py`
    /// through LLF's Python runner).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub executable: Option<String>,
    /// Token bucket.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate_limit: Option<RateLimitConfig>,
    /// Per-argument rules applied after the JSON Schema.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub validation_schema: BTreeMap<String, ArgRule>,
    /// Keys LLF does not know, kept verbatim.
    #[serde(flatten)]
    pub extra: BTreeMap<String, Value>,
}

fn default_type() -> String {
    "llm_invokable".into()
}

fn default_true() -> bool {
    true
}

/// `metadata` of `config.json`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct ToolMetadata {
    /// Offered to the model.
    #[serde(default)]
    pub enabled: bool,
    /// Free-form category.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub category: Option<String>,
    /// Python-era location of `requires_approval`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requires_approval: Option<bool>,
    /// Python-era location of `timeout`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<u64>,
    /// Other keys, kept verbatim.
    #[serde(flatten)]
    pub extra: BTreeMap<String, Value>,
}

/// `rate_limit` of `config.json`: a token bucket.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RateLimitConfig {
    /// Apply the limit.
    #[serde(default = "default_true")]
    pub enabled: bool,
    /// Sustained rate.
    pub requests_per_minute: u32,
    /// Calls allowed at once before the rate applies (default: `requests_per_minute`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub burst_size: Option<u32>,
}

impl ToolConfig {
    /// Whether each run needs the user's approval.
    pub fn needs_approval(&self) -> bool {
        self.requires_approval
            .or(self.metadata.requires_approval)
            .unwrap_or(false)
    }

    /// The tool's own timeout in seconds, if it sets one.
    pub fn timeout_secs(&self) -> Option<u64> {
        self.timeout.or(self.metadata.timeout)
    }
}

/// `tool_definition.json`: `{"type": "function", "function": {name, description, parameters}}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToolDefinition {
    /// Always `function`.
    #[serde(rename = "type", default = "default_function")]
    pub kind: String,
    /// The function.
    pub function: FunctionDefinition,
}

fn default_function() -> String {
    "function".into()
}

/// The function part of a tool definition.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FunctionDefinition {
    /// Function name.
    pub name: String,
    /// Description for the model.
    #[serde(default)]
    pub description: String,
    /// JSON Schema of the arguments.
    #[serde(default = "empty_object_schema")]
    pub parameters: Value,
}

fn empty_object_schema() -> Value {
    serde_json::json!({"type": "object", "properties": {}})
}

impl ToolDefinition {
    /// The spec the model sees.
    pub fn spec(&self) -> ToolSpec {
        ToolSpec {
            name: self.function.name.clone(),
            description: self.function.description.clone(),
            parameters: self.function.parameters.clone(),
        }
    }
}

/// How an external tool is started.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Launch {
    /// An executable file in the tool directory.
    Program(PathBuf),
    /// A Python-era `execute.py`, run through LLF's Python runner.
    PythonExecute(PathBuf),
}

/// A tool directory read from disk.
#[derive(Debug, Clone, PartialEq)]
pub struct ToolManifest {
    /// The directory.
    pub dir: PathBuf,
    /// `config.json`.
    pub config: ToolConfig,
    /// `tool_definition.json`.
    pub definition: ToolDefinition,
    /// How to run it.
    pub launch: Launch,
}

pub(crate) fn read_json<T: serde::de::DeserializeOwned>(path: &Path) -> Result<T> {
    let bytes = std::fs::read(path).map_err(|e| ToolError::io("reading", path, e))?;
    serde_json::from_slice(&bytes).map_err(|source| ToolError::Json {
        path: path.to_owned(),
        source,
    })
}

impl ToolManifest {
    /// Reads and checks a tool directory.
    pub fn load(dir: &Path) -> Result<Self> {
        let bad = |message: String| ToolError::Manifest {
            path: dir.to_owned(),
            message,
        };
        let config: ToolConfig = read_json(&dir.join("config.json"))?;
        let definition: ToolDefinition = read_json(&dir.join("tool_definition.json"))?;
        if config.name != definition.function.name {
            return Err(bad(format!(
                "config.json names the tool `{}` but tool_definition.json names the function `{}`; make them equal",
                config.name, definition.function.name
            )));
        }
        if !is_valid_name(&config.name) {
            return Err(bad(format!(
                "`{}` is not a valid tool name: use letters, digits, `_` and `-` (at most 64)",
                config.name
            )));
        }
        if let Err(e) = jsonschema::validator_for(&definition.function.parameters) {
            return Err(bad(format!(
                "tool_definition.json parameters are not a valid JSON Schema: {e}"
            )));
        }
        let launch = match &config.executable {
            Some(rel) => Launch::Program(confined_file(dir, rel).map_err(bad)?),
            None if dir.join("run").is_file() => Launch::Program(dir.join("run")),
            None if dir.join("execute.py").is_file() => {
                Launch::PythonExecute(dir.join("execute.py"))
            }
            None => {
                return Err(bad(
                    "no program: add an executable `run`, an `execute.py`, or set `executable` in config.json"
                        .into(),
                ));
            }
        };
        Ok(Self {
            dir: dir.to_owned(),
            config,
            definition,
            launch,
        })
    }
}

/// Tool names go into paths and audit lines: keep them plain.
pub fn is_valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

fn confined_file(dir: &Path, rel: &str) -> std::result::Result<PathBuf, String> {
    let path = Path::new(rel);
    if path.is_absolute()
        || path
            .components()
            .any(|c| matches!(c, std::path::Component::ParentDir))
    {
        return Err(format!(
            "`executable` must be a path inside the tool directory, got `{rel}`"
        ));
    }
    let full = dir.join(path);
    if full.is_file() {
        Ok(full)
    } else {
        Err(format!("`executable` `{rel}` does not exist"))
    }
}
