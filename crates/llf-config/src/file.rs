//! Loading, editing and saving `config.json`.

use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::env::Environment;
use crate::keys::KeyPath;
use crate::paths::{Paths, resolve_path};
use crate::schema::Config;
use crate::{ConfigError, Issue, Result, Secret};

/// Where the effective API key came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeySource {
    /// `llm_endpoint.api_key` in the file.
    File,
    /// An environment variable.
    Env(&'static str),
}

/// A loaded configuration: the file as written (kept to save it back without losing keys LLF does
/// not know), the effective typed [`Config`] (defaults, file, environment overrides, resolved
/// paths), and the warnings met on the way.
#[derive(Debug, Clone)]
pub struct ConfigFile {
    path: PathBuf,
    exists: bool,
    raw: Value,
    config: Config,
    paths: Paths,
    warnings: Vec<Issue>,
    key_source: Option<KeySource>,
    env: Environment,
}

impl ConfigFile {
    /// Loads the config at `explicit` (`--config`), `LLF_CONFIG` or the default location. A missing
    /// file yields the defaults; check [`ConfigFile::exists`] when that matters.
    pub fn load(explicit: Option<&Path>, env: &Environment) -> Result<Self> {
        let path = crate::paths::config_file(explicit, env)?;
        let (raw, exists) = match std::fs::read(&path) {
            Ok(bytes) => {
                let raw: Value =
                    serde_json::from_slice(&bytes).map_err(|source| ConfigError::Syntax {
                        path: path.clone(),
                        source,
                    })?;
                (raw, true)
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                (Value::Object(Default::default()), false)
            }
            Err(source) => return Err(ConfigError::Read { path, source }),
        };
        Self::from_value(path, raw, exists, env)
    }

    /// Builds a config from JSON that claims to live at `path` (relative paths resolve against its
    /// directory). Used by `load`, by `set` and by tests.
    pub fn from_value(path: PathBuf, raw: Value, exists: bool, env: &Environment) -> Result<Self> {
        let (mut config, warnings) = parse(&path, &raw)?;
        for w in &warnings {
            tracing::warn!(file = %path.display(), key = %w.path, "{}", w.message);
        }
        let key_source = apply_env(&mut config, env);
        resolve_server_paths(&mut config, &path, env);
        let paths = Paths::resolve(&path, &config, env)?;
        Ok(Self {
            path,
            exists,
            raw,
            config,
            paths,
            warnings,
            key_source,
            env: env.clone(),
        })
    }

    /// The file this config was (or will be) read from and saved to.
    pub fn path(&self) -> &Path {
        &self.path
    }
    /// Whether the file exists on disk.
    pub fn exists(&self) -> bool {
        self.exists
    }
    /// The effective configuration.
    pub fn config(&self) -> &Config {
        &self.config
    }
    /// Resolved directories.
    pub fn paths(&self) -> &Paths {
        &self.paths
    }
    /// Unknown keys and other non-fatal findings.
    pub fn warnings(&self) -> &[Issue] {
        &self.warnings
    }
    /// Where the API key came from, when there is one.
    pub fn key_source(&self) -> Option<KeySource> {
        self.key_source
    }
    /// The environment this config was loaded with.
    pub fn environment(&self) -> &Environment {
        &self.env
    }

    /// The effective configuration as JSON with every secret replaced by `***`.
    pub fn redacted(&self) -> Value {
        let mut v = serde_json::to_value(&self.config).unwrap_or(Value::Null);
        crate::secret::redact(&mut v);
        v
    }

    /// The effective value at `key` (e.g. `local_llm_servers[0].port`), secrets redacted.
    pub fn get(&self, key: &str) -> Result<Value> {
        let path = KeyPath::parse(key)?;
        path.lookup(&self.redacted()).cloned().ok_or_else(|| {
            ConfigError::Key(format!(
                "no key `{key}` in the configuration (see `llf config show`)"
            ))
        })
    }

    /// Sets `key` to `value` in the file's JSON, then validates the result; on error nothing
    /// changes. `value` is parsed as JSON when it can be (`8080`, `true`, `["a"]`, `null` to
    /// unset), else taken as a string. Call [`ConfigFile::save`] to write it.
    pub fn set(&mut self, key: &str, value: &str) -> Result<()> {
        let path = KeyPath::parse(key)?;
        let current = serde_json::to_value(&self.config).ok();
        let current = current.as_ref().and_then(|c| path.lookup(c));
        let parsed = match serde_json::from_str::<Value>(value) {
            // `model_name 123` means the string "123" when the key holds text.
            Ok(v) if !v.is_string() && !v.is_null() && current.is_some_and(Value::is_string) => {
                Value::String(value.to_owned())
            }
            Ok(v) => v,
            Err(_) => Value::String(value.to_owned()),
        };
        let mut raw = self.raw.clone();
        path.assign(&mut raw, parsed)?;
        *self = Self::from_value(self.path.clone(), raw, self.exists, &self.env)?;
        Ok(())
    }

    /// Writes the file atomically with mode 0600 (it may hold an API key).
    pub fn save(&mut self) -> Result<()> {
        let mut bytes = serde_json::to_vec_pretty(&self.raw)
            .map_err(|e| ConfigError::Key(format!("cannot serialise the configuration: {e}")))?;
        bytes.push(b'\n');
        llf_core::fs::atomic_write(&self.path, &bytes, llf_core::fs::PRIVATE)?;
        self.exists = true;
        tracing::info!(file = %self.path.display(), "configuration saved");
        Ok(())
    }

    /// Writes a fresh config with every section at its default, pointing at the components that
    /// `scripts/setup.sh` installed when it finds them. An existing file is kept as
    /// `config.json.bak` when `force` is set, else this fails.
    pub fn init(explicit: Option<&Path>, env: &Environment, force: bool) -> Result<Self> {
        let path = crate::paths::config_file(explicit, env)?;
        if path.exists() {
            if !force {
                return Err(ConfigError::AlreadyExists(path));
            }
            let backup = path.with_extension("json.bak");
            std::fs::copy(&path, &backup).map_err(|source| ConfigError::Read {
                path: path.clone(),
                source,
            })?;
        }
        let config = crate::detect::default_config(env);
        let raw = serde_json::to_value(&config).map_err(|e| {
            ConfigError::Key(format!("cannot serialise the default configuration: {e}"))
        })?;
        let mut file = Self::from_value(path, raw, false, env)?;
        file.save()?;
        Ok(file)
    }
}

/// Typed parse of `raw` with unknown keys collected as warnings and errors carrying key paths.
fn parse(path: &Path, raw: &Value) -> Result<(Config, Vec<Issue>)> {
    let normalised = normalise_python_era(raw.clone());
    let mut unknown = Vec::new();
    let mut on_unknown = |p: serde_ignored::Path<'_>| {
        unknown.push(Issue {
            path: ignored_path(&p),
            message: "unknown key, ignored".to_owned(),
        });
    };
    let de = serde_ignored::Deserializer::new(normalised, &mut on_unknown);
    let config: Config =
        serde_path_to_error::deserialize(de).map_err(|e| ConfigError::Invalid {
            path: path.to_owned(),
            issues: vec![Issue {
                path: e.path().to_string(),
                message: e.inner().to_string(),
            }],
        })?;
    let issues = crate::validate::validate(&config);
    if !issues.is_empty() {
        return Err(ConfigError::Invalid {
            path: path.to_owned(),
            issues,
        });
    }
    Ok((config, unknown))
}

/// Python-era configs set a server's port and host only through `server_params`
/// (`{"--port": 8001}`); lift them into the typed fields when those are absent.
fn normalise_python_era(mut raw: Value) -> Value {
    if let Some(servers) = raw
        .get_mut("local_llm_servers")
        .and_then(Value::as_array_mut)
    {
        for server in servers.iter_mut().filter_map(Value::as_object_mut) {
            let params = server
                .get("server_params")
                .and_then(Value::as_object)
                .cloned()
                .unwrap_or_default();
            for (flag, key) in [("--port", "port"), ("--host", "host")] {
                if !server.contains_key(key)
                    && let Some(v) = params.get(flag)
                {
                    let v = match v {
                        Value::String(s) if key == "port" => {
                            s.parse::<i64>().map(Value::from).unwrap_or(v.clone())
                        }
                        _ => v.clone(),
                    };
                    server.insert(key.to_owned(), v);
                }
            }
        }
    }
    raw
}

fn ignored_path(p: &serde_ignored::Path<'_>) -> String {
    use serde_ignored::Path as P;
    match p {
        P::Root => String::new(),
        P::Seq { parent, index } => format!("{}[{index}]", ignored_path(parent)),
        P::Map { parent, key } => {
            let parent = ignored_path(parent);
            if parent.is_empty() {
                key.clone()
            } else {
                format!("{parent}.{key}")
            }
        }
        P::Some { parent } | P::NewtypeStruct { parent } | P::NewtypeVariant { parent } => {
            ignored_path(parent)
        }
    }
}

fn apply_env(config: &mut Config, env: &Environment) -> Option<KeySource> {
    let from_env = [
        ("LLF_API_KEY", &env.llf_api_key),
        ("OPENAI_API_KEY", &env.openai_api_key),
    ]
    .into_iter()
    .find_map(|(name, v)| v.clone().map(|s| (name, s)));
    if let Some((name, key)) = from_env {
        config.llm_endpoint.api_key = Some(key);
        return Some(KeySource::Env(name));
    }
    match &config.llm_endpoint.api_key {
        Some(k) if !k.is_empty() => Some(KeySource::File),
        _ => {
            config.llm_endpoint.api_key = None::<Secret>;
            None
        }
    }
}

fn resolve_server_paths(config: &mut Config, file: &Path, env: &Environment) {
    for s in &mut config.local_llm_servers {
        // A bare name like `llama-server` is looked up on PATH when the server starts.
        if s.llama_server_path.components().count() > 1 || s.llama_server_path.starts_with("~") {
            s.llama_server_path = resolve_path(&s.llama_server_path, file, env);
        }
        if let Some(dir) = &s.model_dir {
            s.model_dir = Some(resolve_path(dir, file, env));
        }
        if let Some(model) = &s.model_path
            && (s.model_dir.is_none() || model.starts_with("~"))
        {
            s.model_path = Some(resolve_path(model, file, env));
        }
    }
    for d in [
        &mut config.rag.embedding_model_dir,
        &mut config.rag.onnxruntime_path,
    ]
    .into_iter()
    .flatten()
    {
        *d = resolve_path(d, file, env);
    }
}
