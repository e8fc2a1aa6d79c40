//! `plugin.json`: the Python-era fields (`name`, `version`, `enabled`, `config`) and LLF's own
//! optional ones (how to run it and how the host treats it).

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::error::{PluginError, Result};
use crate::host::PluginSettings;

/// The file that makes a directory a plugin.
pub const MANIFEST_FILE: &str = "plugin.json";
/// The Python-era plugin program, run through LLF's Python runner.
pub const PYTHON_FILE: &str = "plugin.py";

/// A plugin's `plugin.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    /// The plugin's name.
    pub name: String,
    /// Its version.
    #[serde(default)]
    pub version: String,
    /// Whether chats load it.
    #[serde(default = "yes")]
    pub enabled: bool,
    /// Its own settings, given to the plugin as they are.
    #[serde(default)]
    pub config: serde_json::Value,
    /// What it does.
    #[serde(default)]
    pub description: String,
    /// Who wrote it.
    #[serde(default)]
    pub author: String,
    /// Where it runs among the plugins (ascending; LLF's field).
    #[serde(default)]
    pub order: i32,
    /// Whether a failure of this plugin fails the turn (LLF's field).
    #[serde(default)]
    pub required: bool,
    /// The time budget of one hook call, in milliseconds (LLF's field; default 5000).
    #[serde(default)]
    pub timeout_ms: Option<u64>,
    /// Whether its process may use the network (LLF's field; default no).
    #[serde(default)]
    pub network: bool,
    /// A program speaking the JSON-lines protocol, relative to the plugin directory, with its
    /// arguments (LLF's field; without it, `plugin.py` runs through LLF's Python runner).
    #[serde(default)]
    pub command: Vec<String>,
}

fn yes() -> bool {
    true
}

impl Manifest {
    /// Reads `dir/plugin.json`.
    pub fn load(dir: &Path) -> Result<Self> {
        let path = dir.join(MANIFEST_FILE);
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(PluginError::NoManifest(dir.to_owned()));
            }
            Err(e) => return Err(PluginError::io("read", &path, e)),
        };
        let manifest: Manifest =
            serde_json::from_str(&text).map_err(|source| PluginError::Manifest {
                path: path.clone(),
                source,
            })?;
        check_name(&manifest.name)?;
        if manifest.command.is_empty() && !dir.join(PYTHON_FILE).is_file() {
            return Err(PluginError::NoProgram(dir.to_owned()));
        }
        Ok(manifest)
    }

    /// How the host runs it.
    pub fn settings(&self) -> PluginSettings {
        let default = PluginSettings::default();
        PluginSettings {
            order: self.order,
            required: self.required,
            timeout: self
                .timeout_ms
                .map_or(default.timeout, Duration::from_millis),
        }
    }
}

/// A name that is a plain directory name: no separators, no `..`, nothing hidden.
pub(crate) fn check_name(name: &str) -> Result<()> {
    let ok = !name.is_empty()
        && !name.starts_with('.')
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if ok {
        Ok(())
    } else {
        Err(PluginError::BadName(name.to_owned()))
    }
}

/// An installed plugin: its manifest and its directory.
#[derive(Debug, Clone, PartialEq)]
pub struct Installed {
    /// Its `plugin.json`.
    pub manifest: Manifest,
    /// Its directory.
    pub dir: PathBuf,
}
