//! Loading, editing and saving `config.json`.

use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::env::{Environment, InstalledComponents};
use crate::keys::KeyPath;
use crate::paths::{Paths, resolve_path};
use crate::schema::Config;
use crate::secrets::{KeyChoice, Secrets, SecretsReport, SecretsStatus, Unlock};
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
/// not know, its secrets still encrypted), the effective typed [`Config`] (defaults, file with its
/// secrets decrypted, environment overrides, resolved paths), and the warnings met on the way.
#[derive(Debug, Clone)]
pub struct ConfigFile {
    path: PathBuf,
    exists: bool,
    /// The file's JSON as on disk: encrypted values stay encrypted here.
    raw: Value,
    /// The keys that decrypt `raw` (see [`crate::secrets`]).
    secrets: Secrets,
    config: Config,
    paths: Paths,
    warnings: Vec<Issue>,
    key_source: Option<KeySource>,
    env: Environment,
    /// What `save` writes: `None` writes `raw` as a whole (a new file); `Some` replays these edits
    /// on the file as it is on disk then, so changes other processes saved meanwhile are kept.
    edits: Option<Vec<(KeyPath, Value)>>,
}

impl ConfigFile {
    /// Loads the config at `explicit` (`--config`), `LLF_CONFIG` or the default location. A missing
    /// file at the default location yields the defaults (check [`ConfigFile::exists`] when that
    /// matters); a missing file the user named is an error ([`ConfigError::Missing`]). Encrypted
    /// values are decrypted with the OS keyring or `LLF_PASSPHRASE`; see
    /// [`ConfigFile::load_with`] to let the person type the passphrase.
    pub fn load(explicit: Option<&Path>, env: &Environment) -> Result<Self> {
        Self::load_with(explicit, env, &Unlock::default())
    }

    /// [`ConfigFile::load`], unlocking encrypted values through `unlock` (the OS keyring,
    /// `LLF_PASSPHRASE`, then the frontend's prompt). A wrong passphrase is
    /// [`ConfigError::WrongPassphrase`], naming the key it does not decrypt.
    pub fn load_with(explicit: Option<&Path>, env: &Environment, unlock: &Unlock) -> Result<Self> {
        let path = crate::paths::config_file(explicit, env)?;
        let named = explicit.is_some() || env.llf_config.is_some();
        let (raw, exists, duplicates) = match std::fs::read(&path) {
            Ok(bytes) => {
                let raw: Value =
                    serde_json::from_slice(&bytes).map_err(|source| ConfigError::Syntax {
                        path: path.clone(),
                        source,
                    })?;
                (raw, true, crate::duplicates::duplicate_keys(&bytes))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && named => {
                return Err(ConfigError::Missing(path));
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                (Value::Object(Default::default()), false, Vec::new())
            }
            Err(source) => return Err(ConfigError::Read { path, source }),
        };
        let secrets = Secrets::open(&path, &raw, env, unlock.clone())?;
        let mut file = Self::build(path, raw, exists, env, duplicates, secrets)?;
        file.edits = Some(Vec::new());
        Ok(file)
    }

    /// The config file that [`ConfigFile::load`] would read: `explicit`, `LLF_CONFIG`, or the
    /// default location.
    pub fn locate(explicit: Option<&Path>, env: &Environment) -> Result<PathBuf> {
        crate::paths::config_file(explicit, env)
    }

    /// Builds a config from JSON that claims to live at `path` (relative paths resolve against its
    /// directory). [`ConfigFile::save`] writes exactly this JSON. Used by `init` and by tests.
    /// Encrypted values in it are unlocked as [`ConfigFile::load`] does.
    pub fn from_value(path: PathBuf, raw: Value, exists: bool, env: &Environment) -> Result<Self> {
        let secrets = Secrets::open(&path, &raw, env, Unlock::default())?;
        Self::build(path, raw, exists, env, Vec::new(), secrets)
    }

    fn build(
        path: PathBuf,
        raw: Value,
        exists: bool,
        env: &Environment,
        issues: Vec<Issue>,
        secrets: Secrets,
    ) -> Result<Self> {
        let plain = secrets.reveal(&path, &raw)?;
        // Warnings are returned, not logged: the caller shows them once, in its own way.
        let (mut config, warnings) = parse(&path, &plain, issues)?;
        let key_source = apply_env(&mut config, env);
        resolve_server_paths(&mut config, &path, env);
        let paths = Paths::resolve(&path, &config, env)?;
        Ok(Self {
            path,
            exists,
            raw,
            secrets,
            config,
            paths,
            warnings,
            key_source,
            env: env.clone(),
            edits: None,
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
    /// unset), else taken as a string. A key the configuration does not know is refused
    /// ([`ConfigError::UnknownKey`]), except inside sections of free-form keys (`server_params`,
    /// an MCP server's `env`, `model_profiles`). In an encrypted config a secret is encrypted
    /// before it is kept (unlocking the key if the load did not need it). Call
    /// [`ConfigFile::save`] to write it.
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
        let names = path.names();
        let canonical = path.canonical();
        let mut seal = |mut value: Value| -> Result<Value> {
            self.secrets.seal_new_value(
                &self.path, &self.env, &self.raw, &names, &canonical, &mut value,
            )?;
            Ok(value)
        };
        let text = seal(Value::String(value.to_owned()))?;
        let parsed = seal(parsed)?;
        let attempt = |value: &Value| -> Result<Self> {
            let mut raw = self.raw.clone();
            path.assign(&mut raw, value.clone())?;
            Self::build(
                self.path.clone(),
                raw,
                self.exists,
                &self.env,
                Vec::new(),
                self.secrets.clone(),
            )
        };
        let (mut next, parsed) = match attempt(&parsed) {
            Ok(next) => (next, parsed),
            // `env.PORT 8080` under a map of strings: the text was meant.
            Err(e) if !parsed.is_string() && !parsed.is_null() => match attempt(&text) {
                Ok(next) => (next, text),
                Err(_) => return Err(e),
            },
            Err(e) => return Err(e),
        };
        if let Some(unknown) = next.warnings.iter().find(|w| path.overlaps(&w.path)) {
            return Err(ConfigError::UnknownKey {
                key: key.to_owned(),
                unknown: unknown.path.clone(),
            });
        }
        next.edits = self.edits.take().map(|mut edits| {
            edits.push((path, parsed));
            edits
        });
        *self = next;
        Ok(())
    }

    /// Writes the file atomically with mode 0600 (it may hold an API key), under the file's lock
    /// (`config.json.lock`). A config that was loaded from disk replays its [`ConfigFile::set`]s
    /// on the file as it is now, so a change another process saved since the load is kept; the
    /// result is validated again and nothing is written when it is invalid.
    pub fn save(&mut self) -> Result<()> {
        let mut saved = None;
        llf_core::fs::update_locked(&self.path, llf_core::fs::PRIVATE, |old| {
            let raw = match (&self.edits, old) {
                (None, _) => self.raw.clone(),
                (Some(edits), old) => {
                    let mut raw = match old {
                        Some(bytes) => {
                            serde_json::from_slice(bytes).map_err(|source| ConfigError::Syntax {
                                path: self.path.clone(),
                                source,
                            })?
                        }
                        None => Value::Object(Default::default()),
                    };
                    for (key, value) in edits {
                        key.assign(&mut raw, value.clone())?;
                    }
                    raw
                }
            };
            self.secrets.check_keys_on_disk(&self.path, &raw)?;
            let mut bytes = serde_json::to_vec_pretty(&raw).map_err(|e| {
                ConfigError::Key(format!("cannot serialise the configuration: {e}"))
            })?;
            bytes.push(b'\n');
            saved = Some(Self::build(
                self.path.clone(),
                raw,
                true,
                &self.env,
                Vec::new(),
                self.secrets.clone(),
            )?);
            Ok::<_, ConfigError>(bytes)
        })?;
        if let Some(mut file) = saved {
            file.edits = Some(Vec::new());
            *self = file;
        }
        tracing::info!(file = %self.path.display(), "configuration saved");
        Ok(())
    }

    /// Writes a fresh config with every section at its default, pointing at the components of
    /// [`Environment::installed`] that exist. See [`ConfigFile::init_with`].
    pub fn init(explicit: Option<&Path>, env: &Environment, force: bool) -> Result<Self> {
        Self::init_with(explicit, env, force, InstalledComponents::default())
    }

    /// Writes a fresh config with every section at its default, pointing at `components` (each
    /// must exist), else at those of [`Environment::installed`] that exist. The default server
    /// gets port 8000, or a free port near it when something already listens there (compare
    /// with [`LocalServer::default`](crate::schema::LocalServer) to tell the user). An existing
    /// file is kept as `config.json.bak` when `force` is set, else this fails.
    pub fn init_with(
        explicit: Option<&Path>,
        env: &Environment,
        force: bool,
        components: InstalledComponents,
    ) -> Result<Self> {
        let path = crate::paths::config_file(explicit, env)?;
        let components = components.or_existing(&env.installed);
        let config = crate::detect::default_config(&components)?;
        if path.exists() {
            if !force {
                return Err(ConfigError::AlreadyExists(path));
            }
            let backup = path.with_extension("json.bak");
            std::fs::copy(&path, &backup).map_err(|source| ConfigError::Read {
                path: path.clone(),
                source,
            })?;
            // The backup's encrypted values need their salt file; the new config starts plain.
            Secrets::move_salt_file(&path, &backup)?;
        }
        let raw = serde_json::to_value(&config).map_err(|e| {
            ConfigError::Key(format!("cannot serialise the default configuration: {e}"))
        })?;
        let secrets = Secrets::none(&path, Unlock::default());
        let mut file = Self::build(path, raw, false, env, Vec::new(), secrets)?;
        file.save()?;
        Ok(file)
    }

    /// Which secrets are encrypted, and with which key.
    pub fn secrets_status(&self) -> SecretsStatus {
        crate::secrets::status(&self.secrets, &self.raw)
    }

    /// Encrypts every secret stored in plain text, and re-encrypts Python-era values LLF's way.
    /// A config that has no key yet gets one per `choice` (the OS keyring, else a new passphrase
    /// from `LLF_PASSPHRASE` or the prompt). The config is rewritten atomically under its lock.
    pub fn encrypt(&mut self, choice: KeyChoice) -> Result<SecretsReport> {
        self.rewrite_secrets(crate::secrets::Mode::Encrypt, choice)
    }

    /// Re-encrypts the values the Python version encrypted LLF's way (plain-text secrets are left
    /// to [`ConfigFile::encrypt`]). Nothing changes when there are none.
    pub fn migrate_secrets(&mut self, choice: KeyChoice) -> Result<SecretsReport> {
        self.rewrite_secrets(crate::secrets::Mode::Migrate, choice)
    }

    /// Re-encrypts every secret under a new key (the OS keyring, else a new passphrase from
    /// `LLF_NEW_PASSPHRASE` or the prompt) and then forgets the old one. A crash at any point
    /// leaves the old config with its key, or the new one with its key.
    pub fn rotate_key(&mut self, choice: KeyChoice) -> Result<SecretsReport> {
        self.rewrite_secrets(crate::secrets::Mode::Rotate, choice)
    }

    /// Writes every encrypted value back in plain text and removes the salt file.
    pub fn decrypt(&mut self) -> Result<SecretsReport> {
        self.rewrite_secrets(crate::secrets::Mode::Decrypt, KeyChoice::Auto)
    }

    fn rewrite_secrets(
        &mut self,
        mode: crate::secrets::Mode,
        choice: KeyChoice,
    ) -> Result<SecretsReport> {
        if !self.exists && !self.path.exists() {
            return Err(ConfigError::Missing(self.path.clone()));
        }
        let mut secrets = self.secrets.clone();
        let (raw, report) = secrets.rewrite(&self.path, &self.env, &self.raw, mode, choice)?;
        let mut file = Self::build(self.path.clone(), raw, true, &self.env, Vec::new(), secrets)?;
        file.edits = Some(Vec::new());
        *self = file;
        Ok(report)
    }
}

/// Most type errors reported for one file; past this the file is probably not a config at all.
const MAX_TYPE_ERRORS: usize = 50;

/// Typed parse of `raw` with unknown keys collected as warnings and every problem (the `issues`
/// found before, each wrong type, each wrong shape, each semantic error) reported together.
fn parse(path: &Path, raw: &Value, mut issues: Vec<Issue>) -> Result<(Config, Vec<Issue>)> {
    let invalid = |issues| ConfigError::Invalid {
        path: path.to_owned(),
        issues,
    };
    if !raw.is_object() {
        issues.push(Issue {
            path: "(top level)".into(),
            message: format!(
                "expected a JSON object {{\"llm_endpoint\": …}}, got {}",
                kind(raw)
            ),
        });
        return Err(invalid(issues));
    }
    let mut value = normalise_python_era(raw.clone());
    // serde stops at the first wrong value: note it, drop that value (its default applies) and
    // parse again, so one run reports every wrong type.
    let (config, unknown) = loop {
        let mut unknown = Vec::new();
        let mut on_unknown = |p: serde_ignored::Path<'_>| {
            unknown.push(Issue {
                path: ignored_path(&p),
                message: "unknown key, ignored".to_owned(),
            });
        };
        let de = serde_ignored::Deserializer::new(value.clone(), &mut on_unknown);
        match serde_path_to_error::deserialize::<_, Config>(de) {
            Ok(config) => break (config, unknown),
            Err(e) => {
                issues.push(Issue {
                    path: e.path().to_string(),
                    message: e.inner().to_string(),
                });
                if issues.len() >= MAX_TYPE_ERRORS || !remove_at(&mut value, e.path()) {
                    return Err(invalid(issues));
                }
            }
        }
    };
    if let Ok(typed) = serde_json::to_value(&config) {
        shape_issues(&value, &typed, "", &mut issues);
    }
    issues.extend(crate::validate::validate(&config));
    if !issues.is_empty() {
        return Err(invalid(issues));
    }
    Ok((config, unknown))
}

/// Removes the value at a serde error path; false when the path leads nowhere removable.
fn remove_at(value: &mut Value, path: &serde_path_to_error::Path) -> bool {
    use serde_path_to_error::Segment;
    let segments: Vec<&Segment> = path.iter().collect();
    let Some((last, parents)) = segments.split_last() else {
        return false;
    };
    let mut cur = value;
    for seg in parents {
        cur = match seg {
            Segment::Map { key } => match cur.get_mut(key.as_str()) {
                Some(v) => v,
                None => return false,
            },
            Segment::Seq { index } => match cur.get_mut(*index) {
                Some(v) => v,
                None => return false,
            },
            _ => return false,
        };
    }
    match last {
        Segment::Map { key } => cur
            .as_object_mut()
            .is_some_and(|m| m.remove(key.as_str()).is_some()),
        // An element becomes `{}` first, which list elements that are sections read as all
        // defaults; one still wrong after that (a number where text belongs) is dropped.
        Segment::Seq { index } => match cur.as_array_mut() {
            Some(items) if *index < items.len() => {
                if items[*index].as_object().is_some_and(|m| m.is_empty()) {
                    items.remove(*index);
                } else {
                    items[*index] = Value::Object(Default::default());
                }
                true
            }
            _ => false,
        },
        _ => false,
    }
}

/// serde fills a section from a JSON list (`"rag": []`) as happily as from an object; a config
/// written that way is wrong, so every place where the typed config has an object and the file
/// has a list is reported.
fn shape_issues(raw: &Value, typed: &Value, path: &str, issues: &mut Vec<Issue>) {
    let child = |key: &str| {
        if path.is_empty() {
            key.to_owned()
        } else {
            format!("{path}.{key}")
        }
    };
    match (raw, typed) {
        (Value::Array(_), Value::Object(_)) => issues.push(Issue {
            path: path.to_owned(),
            message: "invalid type: a list, expected an object {…}".into(),
        }),
        (Value::Object(r), Value::Object(t)) => {
            for (k, rv) in r {
                if let Some(tv) = t.get(k) {
                    shape_issues(rv, tv, &child(k), issues);
                }
            }
        }
        (Value::Array(r), Value::Array(t)) => {
            for (i, (rv, tv)) in r.iter().zip(t).enumerate() {
                shape_issues(rv, tv, &format!("{path}[{i}]"), issues);
            }
        }
        _ => {}
    }
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
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
