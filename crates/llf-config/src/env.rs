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
    /// `LLF_PASSPHRASE`: the passphrase of an encrypted config (and the password of a Python-era
    /// one); also the passphrase `llf config encrypt` uses when there is no OS keyring.
    pub llf_passphrase: Option<Secret>,
    /// `LLF_NEW_PASSPHRASE`: the passphrase `llf config rotate-key` changes to.
    pub llf_new_passphrase: Option<Secret>,
    /// Components installed by `scripts/setup.sh`, from the variables its `env.sh` exports; `llf
    /// config init` points a new config at them.
    pub installed: InstalledComponents,
    /// The user's home directory.
    pub home: Option<PathBuf>,
    /// Platform directories (XDG on Linux) used when `LLF_HOME` is unset.
    pub platform: Option<PlatformDirs>,
    /// `NO_COLOR` is set (to anything but the empty string): no ANSI colour in output
    /// (<https://no-color.org>).
    pub no_color: bool,
}

/// Files a new configuration can point at: the llama-server executable, a GGUF model, ONNX Runtime
/// and an embedding model directory. `None` leaves the default (a bare `llama-server` looked up on
/// `PATH`, no model, no retrieval).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct InstalledComponents {
    /// The `llama-server` executable (`LLF_LLAMA_SERVER`).
    pub llama_server: Option<PathBuf>,
    /// The GGUF model (`LLF_TEST_MODEL`, the model the setup script installs).
    pub model: Option<PathBuf>,
    /// `libonnxruntime.so` (`ORT_DYLIB_PATH`).
    pub onnxruntime: Option<PathBuf>,
    /// The ONNX embedding model directory (`LLF_EMBED_MODEL_DIR`).
    pub embed_model: Option<PathBuf>,
}

impl InstalledComponents {
    /// `self`, with each missing component taken from `fallback` when that file exists (an
    /// `env.sh` may outlive what it points at; a stale variable must not break `config init`).
    pub fn or_existing(self, fallback: &Self) -> Self {
        let pick = |own: Option<PathBuf>, other: &Option<PathBuf>| {
            own.or_else(|| other.clone().filter(|p| p.exists()))
        };
        Self {
            llama_server: pick(self.llama_server, &fallback.llama_server),
            model: pick(self.model, &fallback.model),
            onnxruntime: pick(self.onnxruntime, &fallback.onnxruntime),
            embed_model: pick(self.embed_model, &fallback.embed_model),
        }
    }
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
            llf_passphrase: secret("LLF_PASSPHRASE"),
            llf_new_passphrase: secret("LLF_NEW_PASSPHRASE"),
            installed: InstalledComponents {
                llama_server: var("LLF_LLAMA_SERVER").map(PathBuf::from),
                model: var("LLF_TEST_MODEL").map(PathBuf::from),
                onnxruntime: var("ORT_DYLIB_PATH").map(PathBuf::from),
                embed_model: var("LLF_EMBED_MODEL_DIR").map(PathBuf::from),
            },
            home: directories::BaseDirs::new().map(|b| b.home_dir().to_owned()),
            platform,
            no_color: var("NO_COLOR").is_some(),
        }
    }

    /// An environment rooted at `home` as `LLF_HOME`, with nothing else set.
    pub fn with_home(home: impl Into<PathBuf>) -> Self {
        Self {
            llf_home: Some(home.into()),
            ..Self::default()
        }
    }
}
