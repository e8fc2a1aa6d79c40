//! Where LLF keeps its files.

use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::env::Environment;
use crate::schema::Config;
use crate::{ConfigError, Result};

/// Every directory LLF uses, resolved: config values first, then `LLF_HOME`, then the platform's
/// directories.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Paths {
    /// The config file.
    pub config_file: PathBuf,
    /// GGUF models.
    pub models: PathBuf,
    /// RAG data stores.
    pub data_stores: PathBuf,
    /// Memory databases.
    pub memory: PathBuf,
    /// Tools.
    pub tools: PathBuf,
    /// Prompt templates.
    pub templates: PathBuf,
    /// Plugins, one directory each (`plugins/` under the data directory, as the Python
    /// version's `~/.llf/plugins`).
    pub plugins: PathBuf,
    /// Caches.
    pub cache: PathBuf,
    /// Logs (debug logs, server logs).
    pub logs: PathBuf,
    /// Soft-deleted items.
    pub trash: PathBuf,
    /// Runtime state: server pid files, history databases.
    pub state: PathBuf,
}

struct Bases {
    config: PathBuf,
    data: PathBuf,
    cache: PathBuf,
    state: PathBuf,
}

fn bases(env: &Environment) -> Result<Bases> {
    if let Some(home) = &env.llf_home {
        return Ok(Bases {
            config: home.clone(),
            data: home.clone(),
            cache: home.join("cache"),
            state: home.join("state"),
        });
    }
    let p = env.platform.as_ref().ok_or(ConfigError::NoHome)?;
    Ok(Bases {
        config: p.config.clone(),
        data: p.data.clone(),
        cache: p.cache.clone(),
        state: p.state.clone(),
    })
}

/// The config file to use: `explicit` (`--config`), else `LLF_CONFIG`, else the default location.
pub(crate) fn config_file(explicit: Option<&Path>, env: &Environment) -> Result<PathBuf> {
    if let Some(p) = explicit.or(env.llf_config.as_deref()) {
        return Ok(absolute(p));
    }
    Ok(bases(env)?.config.join("config.json"))
}

impl Paths {
    /// Resolves every directory for `config` loaded from `config_file`.
    pub fn resolve(config_file: &Path, config: &Config, env: &Environment) -> Result<Self> {
        let b = bases(env)?;
        let pick = |value: &Option<PathBuf>, default: PathBuf| match value {
            Some(v) => resolve_path(v, config_file, env),
            None => default,
        };
        Ok(Self {
            config_file: config_file.to_owned(),
            models: pick(&config.model_dir, b.data.join("models")),
            data_stores: pick(&config.data_stores_dir, b.data.join("data_stores")),
            memory: pick(&config.memory_dir, b.data.join("memory")),
            tools: pick(&config.tools_dir, b.data.join("tools")),
            templates: pick(&config.templates_dir, b.data.join("templates")),
            plugins: b.data.join("plugins"),
            cache: pick(&config.cache_dir, b.cache.clone()),
            logs: pick(&config.log_dir, b.state.join("logs")),
            trash: pick(&config.trash_dir, b.data.join("trash")),
            state: b.state,
        })
    }
}

/// Expands `~` and makes a relative path relative to the config file's directory, which is where
/// a Python-era project kept its relative paths.
pub(crate) fn resolve_path(value: &Path, config_file: &Path, env: &Environment) -> PathBuf {
    if let (Ok(rest), Some(home)) = (value.strip_prefix("~"), &env.home) {
        return home.join(rest);
    }
    if value.is_absolute() {
        return value.to_owned();
    }
    config_file
        .parent()
        .map(|d| d.join(value))
        .unwrap_or_else(|| value.to_owned())
}

fn absolute(p: &Path) -> PathBuf {
    std::path::absolute(p).unwrap_or_else(|_| p.to_owned())
}
