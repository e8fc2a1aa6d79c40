//! `encrypt`, `migrate-secrets`, `rotate-key`, `decrypt` and `status`: whole-file rewrites of the
//! config's secrets, each one atomic and under the config's lock.

use std::path::{Path, PathBuf};

use serde::Serialize;
use serde_json::Value;

use super::cipher::{self, Key};
use super::salt_file::{CHECK_TEXT, KeyEntry, KeyOrigin, SaltFile};
use super::tree::{self, Leaf, Sealed};
use super::{KEYRING_SERVICE, NewKey, PassphrasePurpose, Secrets, find_sealed};
use crate::{ConfigError, Environment, Result};

/// Where a new key comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum KeyChoice {
    /// The OS keyring when there is one, else a passphrase.
    #[default]
    Auto,
    /// A passphrase, even when there is a keyring.
    Passphrase,
}

/// How a key is unlocked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum KeyKind {
    /// 32 random bytes in the OS keyring.
    Keyring,
    /// Argon2id of a passphrase.
    Passphrase,
}

/// One key of the salt file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct KeyInfo {
    /// The id values sealed with it carry.
    pub id: String,
    /// How it is unlocked.
    pub kind: KeyKind,
}

impl KeyInfo {
    fn of(entry: &KeyEntry) -> Self {
        Self {
            id: entry.id.clone(),
            kind: match entry.origin {
                KeyOrigin::Keyring { .. } => KeyKind::Keyring,
                KeyOrigin::Passphrase { .. } => KeyKind::Passphrase,
            },
        }
    }
}

/// What an encrypt, migrate, rotate or decrypt changed.
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct SecretsReport {
    /// Key paths whose values were rewritten.
    pub changed: Vec<String>,
    /// The key the values are now sealed with (`None` after a decrypt).
    pub key: Option<KeyInfo>,
    /// Why the OS keyring was not used for a new key, when it was tried and a passphrase was used.
    pub keyring_unavailable: Option<String>,
    /// The salt file beside the config.
    pub salt_file: PathBuf,
}

/// Which secrets of a config are encrypted, and with what.
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct SecretsStatus {
    /// The salt file beside the config.
    pub salt_file: PathBuf,
    /// The keys it lists.
    pub keys: Vec<KeyInfo>,
    /// The key new secrets are sealed with, when the config is encrypted.
    pub current: Option<KeyInfo>,
    /// Key paths of values encrypted by LLF.
    pub encrypted: Vec<String>,
    /// Key paths of values encrypted by the Python version (`llf config migrate-secrets`).
    pub python_era: Vec<String>,
    /// Key paths of secrets stored in plain text.
    pub plaintext: Vec<String>,
}

impl SecretsStatus {
    /// The status of the config file at `config` and its salt file, read without unlocking
    /// anything (no passphrase needed). A missing config has no secrets.
    pub fn read(config: &Path) -> Result<Self> {
        let raw = match std::fs::read(config) {
            Ok(bytes) => serde_json::from_slice(&bytes).map_err(|source| ConfigError::Syntax {
                path: config.to_owned(),
                source,
            })?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Value::Null,
            Err(source) => {
                return Err(ConfigError::Read {
                    path: config.to_owned(),
                    source,
                });
            }
        };
        let mut secrets = Secrets::none(config, super::Unlock::default());
        secrets.salt = SaltFile::read(&secrets.salt_path)?;
        Ok(status(&secrets, &raw))
    }

    /// Whether the config is encrypted (LLF's way or the Python version's).
    pub fn is_encrypted(&self) -> bool {
        self.current.is_some() || !self.python_era.is_empty()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    Encrypt,
    Migrate,
    Rotate,
    Decrypt,
}

pub(crate) fn status(secrets: &Secrets, raw: &Value) -> SecretsStatus {
    let (mut encrypted, mut python_era, mut plaintext) = (Vec::new(), Vec::new(), Vec::new());
    let mut raw = raw.clone();
    let _ = tree::walk::<()>(&mut raw, "", false, &mut |leaf| {
        match Sealed::parse(leaf.value) {
            Some(Sealed::V1 { .. }) => encrypted.push(leaf.path),
            Some(Sealed::Legacy { .. }) => python_era.push(leaf.path),
            None if leaf.secret && !leaf.value.is_empty() => plaintext.push(leaf.path),
            None => {}
        }
        Ok(())
    });
    let salt = secrets.salt.as_ref();
    let current = secrets
        .current_id(&raw)
        .and_then(|id| salt?.key(&id).map(KeyInfo::of));
    SecretsStatus {
        salt_file: secrets.salt_path.clone(),
        keys: salt
            .map(|s| s.keys.iter().map(KeyInfo::of).collect())
            .unwrap_or_default(),
        current,
        encrypted,
        python_era,
        plaintext,
    }
}

impl Secrets {
    /// A new key: 32 random bytes in the keyring when `choice` allows and the keyring takes
    /// them, else Argon2id of a new passphrase (`var` from the environment, else the prompt).
    fn create_key(
        &self,
        config: &Path,
        env: &Environment,
        choice: KeyChoice,
        var: &'static str,
    ) -> Result<(NewKey, Option<String>)> {
        let id = cipher::random::<4>()?
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<String>();
        let mut fallback = None;
        if choice == KeyChoice::Auto {
            let key = cipher::random_key()?;
            let entry = format!("{id} {}", config.display());
            match self.unlock.keyring.store(&entry, key.as_ref()) {
                Ok(()) => {
                    let check = cipher::seal(&key, &id, CHECK_TEXT)?;
                    let origin = KeyOrigin::Keyring {
                        service: KEYRING_SERVICE.to_owned(),
                        entry,
                    };
                    return Ok((
                        NewKey {
                            entry: KeyEntry { id, origin, check },
                            key,
                        },
                        None,
                    ));
                }
                Err(e) => {
                    tracing::info!(error = %e, "OS keyring not available; using a passphrase");
                    fallback = Some(e.to_string());
                }
            }
        }
        let from_env = match var {
            "LLF_NEW_PASSPHRASE" => env.llf_new_passphrase.clone(),
            _ => env.llf_passphrase.clone(),
        };
        let passphrase = from_env
            .or_else(|| self.unlock.ask(config, PassphrasePurpose::New, false))
            .ok_or_else(|| ConfigError::NewPassphraseNeeded {
                path: config.to_owned(),
                var,
            })?;
        if passphrase.is_empty() {
            return Err(ConfigError::EmptyPassphrase {
                path: config.to_owned(),
            });
        }
        let salt = cipher::random::<16>()?;
        let params = cipher::KdfParams::default();
        let key = cipher::argon2id(passphrase.expose().as_bytes(), &salt, params).map_err(|e| {
            ConfigError::SaltFile {
                path: self.salt_path.clone(),
                source: e.to_string().into(),
            }
        })?;
        let check = cipher::seal(&key, &id, CHECK_TEXT)?;
        let origin = KeyOrigin::Passphrase {
            kdf: "argon2id".to_owned(),
            params,
            salt: cipher::b64(&salt),
        };
        Ok((
            NewKey {
                entry: KeyEntry { id, origin, check },
                key,
            },
            fallback,
        ))
    }

    /// Rewrites the config at `config` (as it is on disk, under its lock) per `mode`, then drops
    /// the keys no value uses any more. `loaded` is the config as loaded, which decides whether a
    /// new key is needed. Returns the new file content.
    pub(crate) fn rewrite(
        &mut self,
        config: &Path,
        env: &Environment,
        loaded: &Value,
        mode: Mode,
        choice: KeyChoice,
    ) -> Result<(Value, SecretsReport)> {
        let mut report = SecretsReport {
            changed: Vec::new(),
            key: None,
            keyring_unavailable: None,
            salt_file: self.salt_path.clone(),
        };
        let found = find_sealed(loaded);
        let current = self.current_id(loaded);
        if mode == Mode::Rotate && current.is_none() && found.legacy.is_none() {
            return Err(ConfigError::NotEncrypted(config.to_owned()));
        }
        // The key to seal with, settled before the lock is taken: this may prompt.
        let mut new_entry = None;
        let target: Option<(String, Key)> = match (mode, current) {
            (Mode::Decrypt, _) => None,
            (Mode::Migrate, _) if found.legacy.is_none() => {
                report.key = self.current_info(loaded);
                return Ok((loaded.clone(), report));
            }
            (Mode::Encrypt | Mode::Migrate, Some(id)) => {
                let why = format!("key {id} of {}", self.salt_path.display());
                self.unlock_id(config, env, &id, &why)?;
                let key = self
                    .keys
                    .get(&id)
                    .cloned()
                    .ok_or_else(|| ConfigError::KeyChanged(config.to_owned()))?;
                Some((id, key))
            }
            (Mode::Encrypt | Mode::Migrate | Mode::Rotate, _) => {
                let var = if mode == Mode::Rotate {
                    "LLF_NEW_PASSPHRASE"
                } else {
                    "LLF_PASSPHRASE"
                };
                let (new, fallback) = self.create_key(config, env, choice, var)?;
                report.keyring_unavailable = fallback;
                let target = (new.entry.id.clone(), new.key.clone());
                new_entry = Some(new.entry);
                Some(target)
            }
        };

        let mut written = Value::Null;
        let result = llf_core::fs::update_locked(config, llf_core::fs::PRIVATE, |old| {
            let old = old.ok_or_else(|| ConfigError::Missing(config.to_owned()))?;
            let mut raw: Value =
                serde_json::from_slice(old).map_err(|source| ConfigError::Syntax {
                    path: config.to_owned(),
                    source,
                })?;
            let on_disk = find_sealed(&raw);
            if on_disk.ids.keys().any(|id| !self.keys.contains_key(id))
                || (on_disk.legacy.is_some() && self.legacy.is_none())
            {
                return Err(ConfigError::KeyChanged(config.to_owned()));
            }
            report.changed.clear();
            tree::walk(&mut raw, "", false, &mut |leaf: Leaf<'_>| {
                let sealed = Sealed::parse(leaf.value);
                let rewrite = match (mode, sealed) {
                    (Mode::Decrypt | Mode::Rotate, Some(_)) => true,
                    (Mode::Encrypt, Some(Sealed::V1 { id, .. })) => {
                        target.as_ref().is_some_and(|(t, _)| t != id)
                    }
                    (Mode::Encrypt | Mode::Migrate, Some(Sealed::Legacy { .. })) => true,
                    (Mode::Encrypt | Mode::Rotate, None) => leaf.secret && !leaf.value.is_empty(),
                    _ => false,
                };
                if !rewrite {
                    return Ok(());
                }
                let plain = match sealed {
                    Some(s) => self.open_value(config, &leaf.path, s)?,
                    None => zeroize::Zeroizing::new(leaf.value.clone()),
                };
                *leaf.value = match &target {
                    Some((id, key)) => cipher::seal(key, id, plain.as_bytes())?,
                    None => plain.as_str().to_owned(),
                };
                report.changed.push(leaf.path);
                Ok::<_, ConfigError>(())
            })?;
            if let Some(entry) = &new_entry {
                // Before the config: a crash between the two leaves an unused key, never a value
                // whose key is missing.
                let mut salt = SaltFile::read(&self.salt_path)?.unwrap_or_else(SaltFile::new);
                salt.keys.retain(|k| k.id != entry.id);
                salt.keys.push(entry.clone());
                salt.write(&self.salt_path)?;
            }
            let mut bytes =
                serde_json::to_vec_pretty(&raw).map_err(|source| ConfigError::Syntax {
                    path: config.to_owned(),
                    source,
                })?;
            bytes.push(b'\n');
            written = raw;
            Ok::<_, ConfigError>(bytes)
        });
        if let Err(e) = result {
            // No value uses the new key: do not leave it in the keyring (the salt file may list
            // it; the next rewrite drops it from there).
            if let Some(KeyEntry {
                origin: KeyOrigin::Keyring { entry, .. },
                ..
            }) = &new_entry
            {
                let _ = self.unlock.keyring.remove(entry);
            }
            return Err(e);
        }

        if let Some((id, key)) = &target {
            self.keys.insert(id.clone(), key.clone());
        }
        self.prune(config, target.as_ref().map(|(id, _)| id.as_str()))?;
        report.key = self.current_info(&written);
        tracing::info!(
            file = %config.display(),
            values = report.changed.len(),
            ?mode,
            "configuration secrets rewritten"
        );
        Ok((written, report))
    }

    fn current_info(&self, raw: &Value) -> Option<KeyInfo> {
        let id = self.current_id(raw)?;
        self.salt.as_ref()?.key(&id).map(KeyInfo::of)
    }

    /// Drops from the salt file (and the keyring) every key that no value of the config on disk
    /// uses, except `keep`; removes the salt file when no key is left. Runs after the config was
    /// written, so a crash before it leaves keys the config no longer needs, never too few.
    fn prune(&mut self, config: &Path, keep: Option<&str>) -> Result<()> {
        let dropped = {
            let _lock = llf_core::fs::FileLock::for_file(config)?;
            let raw: Value = match std::fs::read(config) {
                Ok(bytes) => {
                    serde_json::from_slice(&bytes).map_err(|source| ConfigError::Syntax {
                        path: config.to_owned(),
                        source,
                    })?
                }
                Err(source) => {
                    return Err(ConfigError::Read {
                        path: config.to_owned(),
                        source,
                    });
                }
            };
            let used = find_sealed(&raw).ids;
            let Some(mut salt) = SaltFile::read(&self.salt_path)? else {
                self.salt = None;
                return Ok(());
            };
            let (kept, dropped): (Vec<_>, Vec<_>) = salt
                .keys
                .into_iter()
                .partition(|k| used.contains_key(&k.id) || Some(k.id.as_str()) == keep);
            salt.keys = kept;
            if !dropped.is_empty() {
                if salt.keys.is_empty() {
                    match std::fs::remove_file(&self.salt_path) {
                        Ok(()) => llf_core::fs::sync_dir(config.parent().unwrap_or(Path::new("."))),
                        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                        Err(e) => {
                            return Err(ConfigError::SaltFile {
                                path: self.salt_path.clone(),
                                source: e.into(),
                            });
                        }
                    }
                } else {
                    salt.write(&self.salt_path)?;
                }
            }
            self.salt = (!salt.keys.is_empty()).then_some(salt);
            dropped
        };
        for entry in dropped {
            self.keys.remove(&entry.id);
            if let KeyOrigin::Keyring { entry: name, .. } = &entry.origin
                && let Err(e) = self.unlock.keyring.remove(name)
            {
                tracing::warn!(entry = %name, error = %e, "cannot remove an old key from the OS keyring");
            }
        }
        Ok(())
    }

    /// Refuses a rewrite of `config` whose values use a key the salt file on disk no longer lists
    /// (another process rotated the key since this one loaded the config).
    pub(crate) fn check_keys_on_disk(&self, config: &Path, raw: &Value) -> Result<()> {
        let ids = find_sealed(raw).ids;
        if ids.is_empty() {
            return Ok(());
        }
        let salt = SaltFile::read(&self.salt_path)?;
        if ids
            .keys()
            .any(|id| salt.as_ref().and_then(|s| s.key(id)).is_none())
        {
            return Err(ConfigError::KeyChanged(config.to_owned()));
        }
        Ok(())
    }

    /// Moves the salt file along with a config that `llf config init --force` backs up.
    pub(crate) fn move_salt_file(config: &Path, backup: &Path) -> Result<()> {
        let from = SaltFile::path_for(config);
        if !from.exists() {
            return Ok(());
        }
        let to = SaltFile::path_for(backup);
        std::fs::rename(&from, &to).map_err(|e| ConfigError::SaltFile {
            path: from.clone(),
            source: e.into(),
        })
    }
}
