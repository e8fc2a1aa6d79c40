//! The environment LLF reads, captured once so that everything else is a pure function of it
//! (and tests can build one without touching the process environment).

use std::path::PathBuf;

use crate::Secret;

/// Environment variables that change where LLF looks and which secrets it uses.
#[derive(Debug, Clone, Default)]
pub struct Environment {
    /// `LLF_HOME`: one directory for everything (config, data, cache, logs).
    pub llf_home: Option<PathBuf>,
    /// `LLF_CONFIG`: the config file, like `--config`.
    pub llf_config: Option<PathBuf>,
    /// `LLF_API_KEY`: API key for the endpoint; wins over the file and `OPENAI_API_KEY`.
    pub llf_api_key: Option<Secret>,
    /// `OPENAI_API_KEY`: API key used when `LLF_API_KEY` is unset.
    pub openai_api_key: Option<Secret>,
    /// `LLF_DEV_CACHE`: where `scripts/setup.sh` installed llama-server and the models.
    pub dev_cache: Option<PathBuf>,
    /// The user's home directory.
    pub home: Option<PathBuf>,
    /// Platform directories (XDG on Linux) used when `LLF_HOME` is unset.
    pub platform: Option<PlatformDirs>,
}

/// Per-user directories of the platform.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlatformDirs {
    /// e.g. `~/.config/llf`.
    pub config: PathBuf,
    /// e.g. `~/.local/share/llf`.
    pub data: PathBuf,
    /// e.g. `~/.cache/llf`.
    pub cache: PathBuf,
    /// e.g. `~/.local/state/llf`.
    pub state: PathBuf,
}

impl Environment {
    /// Reads the process environment.
    pub fn from_process() -> Self {
        let var = |k: &str| std::env::var_os(k).filter(|v| !v.is_empty());
        let secret = |k: &str| {
            std::env::var(k)
                .ok()
                .filter(|v| !v.is_empty())
                .map(Secret::new)
        };
        let platform = directories::ProjectDirs::from("", "", "llf").map(|d| PlatformDirs {
            config: d.config_dir().to_owned(),
            data: d.data_dir().to_owned(),
            cache: d.cache_dir().to_owned(),
            state: d
                .state_dir()
                .unwrap_or_else(|| d.data_local_dir())
                .to_owned(),
        });
        Self {
            llf_home: var("LLF_HOME").map(PathBuf::from),
            llf_config: var("LLF_CONFIG").map(PathBuf::from),
            llf_api_key: secret("LLF_API_KEY"),
            openai_api_key: secret("OPENAI_API_KEY"),
            dev_cache: var("LLF_DEV_CACHE").map(PathBuf::from),
            home: directories::BaseDirs::new().map(|b| b.home_dir().to_owned()),
            platform,
        }
    }

    /// An environment rooted at `home` as `LLF_HOME`, with nothing else set.
    pub fn with_home(home: impl Into<PathBuf>) -> Self {
        Self {
            llf_home: Some(home.into()),
            ..Self::default()
        }
    }

    /// The directory where `scripts/setup.sh` keeps its components.
    pub fn dev_cache_dir(&self) -> Option<PathBuf> {
        self.dev_cache
            .clone()
            .or_else(|| self.home.as_ref().map(|h| h.join(".cache/llf-dev")))
    }
}
