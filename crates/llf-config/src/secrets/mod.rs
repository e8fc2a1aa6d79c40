//! Secrets encrypted at rest in `config.json`.
//!
//! Every secret value of a config — any key named like a secret ([`is_secret_key`](crate::is_secret_key):
//! `api_key`, `*_token`, `password`, …) and every variable of an MCP server's or tool's `env` — can
//! be stored encrypted: `llf-enc:v1:<key id>:<base64url(nonce || ciphertext)>`, XChaCha20-Poly1305.
//! The key is 32 random bytes in the OS keyring (Secret Service) when there is one, else Argon2id
//! of a passphrase with a random salt kept in the salt file beside the config
//! (`config.json.salt`, see `salt_file`). Values are decrypted in memory when the config loads
//! ([`ConfigFile::load_with`](crate::ConfigFile::load_with) with an [`Unlock`]) and never written
//! back in plain text: [`ConfigFile::set`](crate::ConfigFile::set) encrypts a new secret too.
//!
//! A config encrypted by the Python version (`encrypted:` + base64url of a Fernet token, the key
//! PBKDF2-HMAC-SHA256 of the password with the salt in `~/.llf/.salt` or a `.salt` beside the
//! config) loads with that password; [`ConfigFile::migrate_secrets`](crate::ConfigFile::migrate_secrets)
//! re-encrypts its values LLF's way.
//!
//! Rotating the key is crash-safe: the new key is added to the salt file, then the config is
//! rewritten atomically with every value under it, then the old key is dropped. At each moment the
//! config is wholly old or wholly new, and the salt file can open it.

mod cipher;
mod keyring;
mod ops;
mod salt_file;
mod tree;
mod unlock;

#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::Value;
use zeroize::Zeroizing;

use self::cipher::{Key, OpenError};
pub use self::keyring::{KEYRING_SERVICE, Keyring, OsKeyring};
pub use self::ops::{KeyChoice, KeyInfo, KeyKind, SecretsReport, SecretsStatus};
pub(crate) use self::ops::{Mode, status};
use self::salt_file::{CHECK_TEXT, KeyEntry, KeyOrigin, SaltFile};
use self::tree::{Leaf, Sealed};
use self::unlock::PROMPT_TRIES;
pub use self::unlock::{PassphrasePurpose, PassphraseRequest, Unlock};
use crate::{ConfigError, Environment, Result, Secret};

/// The keys of one config, as far as they are unlocked, and how to unlock the rest. Held by
/// [`ConfigFile`](crate::ConfigFile); key material is wiped when dropped.
#[derive(Clone)]
pub(crate) struct Secrets {
    unlock: Unlock,
    salt_path: PathBuf,
    salt: Option<SaltFile>,
    keys: BTreeMap<String, Key>,
    legacy: Option<fernet::Fernet>,
    passphrase: Option<Secret>,
}

impl std::fmt::Debug for Secrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Secrets")
            .field("salt_path", &self.salt_path)
            .field("unlocked", &self.keys.keys().collect::<Vec<_>>())
            .field("legacy", &self.legacy.is_some())
            .finish_non_exhaustive()
    }
}

/// Sealed values found in a config: the first key path per key id, and the first Python-era one.
#[derive(Debug, Default)]
struct Found {
    ids: BTreeMap<String, String>,
    legacy: Option<(String, String)>,
}

fn find_sealed(raw: &Value) -> Found {
    let mut found = Found::default();
    let mut raw = raw.clone();
    let _ = tree::walk::<()>(&mut raw, "", false, &mut |leaf| {
        match Sealed::parse(leaf.value) {
            Some(Sealed::V1 { id, .. }) => {
                found.ids.entry(id.to_owned()).or_insert(leaf.path);
            }
            Some(Sealed::Legacy { data }) if found.legacy.is_none() => {
                found.legacy = Some((leaf.path, data.to_owned()));
            }
            _ => {}
        }
        Ok(())
    });
    found
}

impl Secrets {
    /// A config without secrets to unlock yet (a new file, a value built in memory).
    pub(crate) fn none(config: &Path, unlock: Unlock) -> Self {
        Self {
            unlock,
            salt_path: SaltFile::path_for(config),
            salt: None,
            keys: BTreeMap::new(),
            legacy: None,
            passphrase: None,
        }
    }

    /// Reads the salt file of `config` and unlocks every key `raw` uses.
    pub(crate) fn open(
        config: &Path,
        raw: &Value,
        env: &Environment,
        unlock: Unlock,
    ) -> Result<Self> {
        let mut secrets = Self::none(config, unlock);
        secrets.salt = SaltFile::read(&secrets.salt_path)?;
        let found = find_sealed(raw);
        for (id, key_path) in &found.ids {
            secrets.unlock_id(config, env, id, key_path)?;
        }
        if let Some((key_path, data)) = &found.legacy {
            secrets.unlock_legacy(config, env, key_path, data)?;
        }
        Ok(secrets)
    }

    /// The passphrase for unlocking: `LLF_PASSPHRASE`, else the prompt (asked once per process
    /// for all keys of this config).
    fn unlock_passphrase(
        &mut self,
        config: &Path,
        env: &Environment,
        purpose: PassphrasePurpose,
        key_path: &str,
        retry: bool,
    ) -> Result<Secret> {
        if let Some(p) = env.llf_passphrase.clone() {
            return Ok(p);
        }
        if purpose == PassphrasePurpose::Unlock
            && let Some(p) = &self.passphrase
        {
            return Ok(p.clone());
        }
        let what = match purpose {
            PassphrasePurpose::PythonEra => "password of the Python version",
            _ => "passphrase",
        };
        let p = self.unlock.ask(config, purpose, retry).ok_or_else(|| {
            ConfigError::PassphraseNeeded {
                path: config.to_owned(),
                key: key_path.to_owned(),
                var: "LLF_PASSPHRASE",
                what,
            }
        })?;
        if p.is_empty() {
            return Err(ConfigError::EmptyPassphrase {
                path: config.to_owned(),
            });
        }
        if purpose == PassphrasePurpose::Unlock {
            self.passphrase = Some(p.clone());
        }
        Ok(p)
    }

    /// Whether a wrong passphrase may be asked for again: it came from the prompt, not the
    /// environment, and tries are left.
    fn may_retry(&self, env: &Environment, tries: u32) -> bool {
        env.llf_passphrase.is_none() && self.unlock.prompt.is_some() && tries < PROMPT_TRIES
    }

    /// Unlocks key `id` of the salt file; `key_path` is a value that needs it, for errors.
    fn unlock_id(
        &mut self,
        config: &Path,
        env: &Environment,
        id: &str,
        key_path: &str,
    ) -> Result<()> {
        if self.keys.contains_key(id) {
            return Ok(());
        }
        let entry = self
            .salt
            .as_ref()
            .and_then(|s| s.key(id))
            .cloned()
            .ok_or_else(|| ConfigError::UnknownKeyId {
                path: config.to_owned(),
                key: key_path.to_owned(),
                id: id.to_owned(),
                salt_file: self.salt_path.clone(),
            })?;
        let key = match &entry.origin {
            KeyOrigin::Passphrase { kdf, params, salt } => {
                let salt_path = self.salt_path.clone();
                let bad_entry = |why: String| ConfigError::SaltFile {
                    path: salt_path.clone(),
                    source: format!("key {id}: {why}").into(),
                };
                if kdf != "argon2id" {
                    return Err(bad_entry(format!("unknown kdf `{kdf}`")));
                }
                let salt =
                    cipher::unb64(salt).ok_or_else(|| bad_entry("salt is not base64".into()))?;
                let mut tries = 1;
                loop {
                    let passphrase = self.unlock_passphrase(
                        config,
                        env,
                        PassphrasePurpose::Unlock,
                        key_path,
                        tries > 1,
                    )?;
                    let key = cipher::argon2id(passphrase.expose().as_bytes(), &salt, *params)
                        .map_err(|e| bad_entry(e.to_string()))?;
                    if self.opens_check(&key, &entry)? {
                        break key;
                    }
                    // A wrong passphrase from the prompt is not kept for the next key.
                    self.passphrase = None;
                    if !self.may_retry(env, tries) {
                        return Err(ConfigError::WrongPassphrase {
                            path: config.to_owned(),
                            key: key_path.to_owned(),
                        });
                    }
                    tries += 1;
                }
            }
            KeyOrigin::Keyring { entry: name, .. } => {
                let bytes =
                    self.unlock
                        .keyring
                        .load(name)
                        .map_err(|source| ConfigError::Keyring {
                            path: config.to_owned(),
                            source,
                        })?;
                let bytes: [u8; 32] =
                    bytes
                        .as_slice()
                        .try_into()
                        .map_err(|_| ConfigError::Keyring {
                            path: config.to_owned(),
                            source: format!(
                                "the keyring entry `{name}` does not hold a 32-byte key"
                            )
                            .into(),
                        })?;
                let key = Zeroizing::new(bytes);
                if !self.opens_check(&key, &entry)? {
                    return Err(ConfigError::Keyring {
                        path: config.to_owned(),
                        source: format!("the keyring entry `{name}` holds another key").into(),
                    });
                }
                key
            }
        };
        self.keys.insert(id.to_owned(), key);
        Ok(())
    }

    /// Whether `key` opens the check value of `entry` (is its key).
    fn opens_check(&self, key: &Key, entry: &KeyEntry) -> Result<bool> {
        let check = match Sealed::parse(&entry.check) {
            Some(Sealed::V1 { data, .. }) => cipher::open(key, &entry.id, data),
            _ => Err(OpenError::Format("is not an llf-enc:v1 value")),
        };
        match check {
            Ok(text) => Ok(text.as_bytes() == CHECK_TEXT),
            Err(OpenError::Key) => Ok(false),
            Err(OpenError::Format(problem)) => Err(ConfigError::SaltFile {
                path: self.salt_path.clone(),
                source: format!("key {}: the check value {problem}", entry.id).into(),
            }),
        }
    }

    /// Finds the Python version's salt and password that open the Python-era value `data` (at
    /// `key_path`).
    fn unlock_legacy(
        &mut self,
        config: &Path,
        env: &Environment,
        key_path: &str,
        data: &str,
    ) -> Result<()> {
        if self.legacy.is_some() {
            return Ok(());
        }
        let looked = legacy_salt_paths(config, env);
        let salts: Vec<(PathBuf, Vec<u8>)> = looked
            .iter()
            .filter_map(|p| {
                std::fs::read(p)
                    .ok()
                    .filter(|s| !s.is_empty())
                    .map(|s| (p.clone(), s))
            })
            .collect();
        if salts.is_empty() {
            return Err(ConfigError::LegacySaltMissing {
                path: config.to_owned(),
                key: key_path.to_owned(),
                looked,
            });
        }
        let mut tries = 1;
        loop {
            let password = self.unlock_passphrase(
                config,
                env,
                PassphrasePurpose::PythonEra,
                key_path,
                tries > 1,
            )?;
            for (_, salt) in &salts {
                let Some(key) = cipher::legacy_fernet(password.expose().as_bytes(), salt) else {
                    continue;
                };
                match cipher::legacy_open(&key, data) {
                    Ok(_) => {
                        self.legacy = Some(key);
                        return Ok(());
                    }
                    Err(OpenError::Key) => {}
                    Err(OpenError::Format(problem)) => {
                        return Err(ConfigError::DamagedValue {
                            path: config.to_owned(),
                            key: key_path.to_owned(),
                            problem,
                        });
                    }
                }
            }
            if !self.may_retry(env, tries) {
                break;
            }
            tries += 1;
        }
        Err(ConfigError::WrongLegacyPassword {
            path: config.to_owned(),
            key: key_path.to_owned(),
            salts: salts.into_iter().map(|(p, _)| p).collect(),
        })
    }

    /// The plaintext of one sealed value.
    fn open_value(
        &self,
        config: &Path,
        key_path: &str,
        sealed: Sealed<'_>,
    ) -> Result<Zeroizing<String>> {
        let damaged = |problem| ConfigError::DamagedValue {
            path: config.to_owned(),
            key: key_path.to_owned(),
            problem,
        };
        let opened = match sealed {
            Sealed::V1 { id, data } => {
                let key = self.keys.get(id).ok_or_else(|| {
                    if self.salt.as_ref().and_then(|s| s.key(id)).is_some() {
                        ConfigError::KeyChanged(config.to_owned())
                    } else {
                        ConfigError::UnknownKeyId {
                            path: config.to_owned(),
                            key: key_path.to_owned(),
                            id: id.to_owned(),
                            salt_file: self.salt_path.clone(),
                        }
                    }
                })?;
                cipher::open(key, id, data)
            }
            Sealed::Legacy { data } => {
                let key = self
                    .legacy
                    .as_ref()
                    .ok_or_else(|| ConfigError::KeyChanged(config.to_owned()))?;
                cipher::legacy_open(key, data)
            }
        };
        opened.map_err(|e| match e {
            OpenError::Format(problem) => damaged(problem),
            // The key opened its check value (or, for Python-era values, another value): this one
            // was changed or comes from another config.
            OpenError::Key => damaged("it does not decrypt with the key that opens the others"),
        })
    }

    /// `raw` with every sealed value replaced by its plaintext (in memory only).
    pub(crate) fn reveal(&self, config: &Path, raw: &Value) -> Result<Value> {
        let mut plain = raw.clone();
        tree::walk(&mut plain, "", false, &mut |leaf: Leaf<'_>| {
            if let Some(sealed) = Sealed::parse(leaf.value) {
                let text = self.open_value(config, &leaf.path, sealed)?;
                *leaf.value = text.as_str().to_owned();
            }
            Ok::<_, ConfigError>(())
        })?;
        Ok(plain)
    }

    /// The key new secrets of `raw` are sealed with: the one its values use, else the newest in
    /// the salt file (a config encrypted before it had any secret).
    fn current_id(&self, raw: &Value) -> Option<String> {
        find_sealed(raw)
            .ids
            .into_keys()
            .next()
            .or_else(|| self.salt.as_ref()?.keys.last().map(|k| k.id.clone()))
    }

    /// Seals the secrets in `value`, about to be set at `path` (whose `segments` are key names, or
    /// `None` for a list index) of `raw`, when the config is encrypted: with its current key, or in the Python version's
    /// format when it has only Python-era values. Unlocks the key first when needed.
    pub(crate) fn seal_new_value(
        &mut self,
        config: &Path,
        env: &Environment,
        raw: &Value,
        segments: &[Option<&str>],
        path: &str,
        value: &mut Value,
    ) -> Result<()> {
        let secret_place = tree::path_is_secret(segments.iter().copied())
            || segments
                .last()
                .copied()
                .flatten()
                .is_some_and(|k| tree::child_is_secret(k, value));
        let mut needs_sealing = false;
        let _ = tree::walk::<()>(&mut value.clone(), path, secret_place, &mut |leaf| {
            needs_sealing |=
                leaf.secret && !leaf.value.is_empty() && Sealed::parse(leaf.value).is_none();
            Ok(())
        });
        if !needs_sealing {
            return Ok(());
        }
        let sealer = if let Some(id) = self.current_id(raw) {
            self.unlock_id(config, env, &id, path)?;
            match self.keys.get(&id) {
                Some(key) => Sealer::V1(id, key.clone()),
                None => return Ok(()),
            }
        } else if let Some(key) = &self.legacy {
            Sealer::Legacy(key.clone())
        } else {
            return Ok(());
        };
        tree::walk(value, path, secret_place, &mut |leaf: Leaf<'_>| {
            if leaf.secret && !leaf.value.is_empty() && Sealed::parse(leaf.value).is_none() {
                *leaf.value = sealer.seal(leaf.value)?;
            }
            Ok::<_, ConfigError>(())
        })
    }
}

/// A key to seal new values with.
enum Sealer {
    V1(String, Key),
    Legacy(fernet::Fernet),
}

impl Sealer {
    fn seal(&self, plain: &str) -> Result<String> {
        match self {
            Self::V1(id, key) => cipher::seal(key, id, plain.as_bytes()),
            Self::Legacy(key) => Ok(cipher::legacy_seal(key, plain.as_bytes())),
        }
    }
}

/// Where the Python version kept its salt: a `.salt` beside the config, then `~/.llf/.salt`.
fn legacy_salt_paths(config: &Path, env: &Environment) -> Vec<PathBuf> {
    let mut paths = Vec::new();
    if let Some(dir) = config.parent() {
        paths.push(dir.join(".salt"));
    }
    if let Some(home) = &env.home {
        paths.push(home.join(".llf").join(".salt"));
    }
    paths
}

/// A new key entry and its key.
struct NewKey {
    entry: KeyEntry,
    key: Key,
}
