//! The typed configuration of LLF.
//!
//! A config is a `config.json` whose keys are those of the Python version (`llm_endpoint`,
//! `local_llm_servers`, `inference_params`, `rag`, `request_queue`, `tool_sandbox`,
//! `tools`, `multi_model`, …), so an existing file loads unchanged. Every key has a default; unknown keys
//! are warnings, never errors; invalid values are errors that name the key
//! (`local_llm_servers[1].port: expected 1..=65535, got 70000`).
//!
//! Key types:
//! - [`ConfigFile`]: load, inspect, edit and atomically save a config file.
//! - [`Config`]: the effective, typed configuration (defaults + file + environment).
//! - [`Paths`]: the directories LLF uses (XDG by default; `LLF_HOME` moves them all).
//! - [`Environment`]: the environment variables LLF reads (`LLF_HOME`, `LLF_CONFIG`,
//!   `LLF_API_KEY`, `OPENAI_API_KEY`, `LLF_PASSPHRASE`, …), captured once. This crate is the only
//!   one that reads them.
//! - [`Secret`]: an API key that prints as `***`.
//! - [`secrets`]: secrets encrypted at rest ([`ConfigFile::encrypt`], [`Unlock`] for the
//!   passphrase or the OS keyring), including configs encrypted by the Python version.
//!
//! # Example
//!
//! ```
//! use llf_config::{ConfigFile, Environment};
//!
//! let home = tempfile::tempdir()?;
//! let env = Environment::with_home(home.path());
//! std::fs::write(
//!     home.path().join("config.json"),
//!     r#"{"llm_endpoint": {"model_name": "tiny"}, "local_llm_servers": [{"name": "default", "port": 8081}]}"#,
//! )?;
//!
//! let mut file = ConfigFile::load(None, &env)?;
//! assert_eq!(file.config().llm_endpoint.model_name, "tiny");
//! assert_eq!(file.config().server(None).map(|s| s.port), Some(8081));
//!
//! file.set("inference_params.temperature", "0.2")?;
//! file.save()?; // temp file + rename, mode 0600
//! assert_eq!(ConfigFile::load(None, &env)?.config().inference_params.temperature, 0.2);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![doc(test(attr(deny(warnings))))]

mod detect;
mod duplicates;
mod env;
mod error;
mod file;
mod keys;
mod paths;
mod reference;
pub mod schema;
mod secret;
pub mod secrets;
mod validate;

pub use env::{Environment, InstalledComponents, PlatformDirs};
pub use error::{ConfigError, Issue, Result};
pub use file::{ConfigFile, KeySource};
pub use paths::Paths;
pub use reference::{json_schema, reference_markdown};
pub use schema::Config;
pub use secret::{Secret, is_secret_key, redact};
pub use secrets::{
    KeyChoice, PassphrasePurpose, PassphraseRequest, SecretsReport, SecretsStatus, Unlock,
};
