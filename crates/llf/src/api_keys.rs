//! API keys of the HTTP API (`llf serve keys …`): each is shown once when created and stored only
//! as its SHA-256 hash, with a name and scopes, in one private file ([`crate::Locations::api_keys`])
//! rewritten atomically under its lock. Verification re-reads the file when it changed, so a key
//! revoked from another process stops working at once.

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::SystemTime;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// What a key may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Scope {
    /// Read: list models, health details, conversations.
    Read,
    /// Chat: completions and embeddings.
    Chat,
    /// Everything, including administration.
    Admin,
}

impl Scope {
    /// Parses `read`, `chat` or `admin`.
    pub fn parse(text: &str) -> Result<Self, ApiKeyError> {
        match text.trim().to_ascii_lowercase().as_str() {
            "read" => Ok(Scope::Read),
            "chat" => Ok(Scope::Chat),
            "admin" => Ok(Scope::Admin),
            _ => Err(ApiKeyError::UnknownScope(text.to_owned())),
        }
    }
}

impl std::fmt::Display for Scope {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Scope::Read => "read",
            Scope::Chat => "chat",
            Scope::Admin => "admin",
        })
    }
}

/// A stored key: everything but the key itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiKey {
    /// Its id (`llf serve keys revoke ID`).
    pub id: String,
    /// A name for people.
    pub name: String,
    /// What it may do.
    pub scopes: Vec<Scope>,
    /// When it was made.
    pub created_at: DateTime<Utc>,
    /// The key's first characters, to recognise it.
    pub prefix: String,
    /// SHA-256 of the key, hex.
    #[serde(rename = "sha256")]
    hash: String,
}

impl ApiKey {
    /// Whether the key may do what `scope` allows (`admin` allows everything).
    pub fn allows(&self, scope: Scope) -> bool {
        self.scopes.contains(&Scope::Admin) || self.scopes.contains(&scope)
    }
}

/// Errors of the key store.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ApiKeyError {
    /// No key with this id or name.
    #[error("no API key with id or name `{0}` (see `llf serve keys list`)")]
    NotFound(String),
    /// A key of this name exists.
    #[error("an API key named `{0}` exists already; pick another name or revoke it first")]
    DuplicateName(String),
    /// A name with nothing in it.
    #[error("an API key needs a name")]
    EmptyName,
    /// No scope given.
    #[error("an API key needs at least one scope (read, chat, admin)")]
    NoScopes,
    /// Not a scope.
    #[error("unknown scope `{0}` (expected read, chat or admin)")]
    UnknownScope(String),
    /// The key file is not LLF's.
    #[error("{path} is not a valid API key file: {source}")]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: serde_json::Error,
    },
    /// The operating system gave no random bytes.
    #[error("no random numbers from the operating system for a new key")]
    Random,
    /// Reading or writing the file.
    #[error(transparent)]
    Core(#[from] llf_core::Error),
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct KeyFile {
    keys: Vec<ApiKey>,
}

/// A file's modification time and length: a changed file has another.
type Stamp = Option<(SystemTime, u64)>;

/// The key store; cheap to share (one per [`crate::Llf`]).
#[derive(Debug)]
pub struct ApiKeys {
    path: PathBuf,
    /// The keys as last read, with the file's modification time and length then.
    cache: Mutex<Option<(Stamp, Vec<ApiKey>)>>,
}

fn hash(key: &str) -> String {
    Sha256::digest(key.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn parse(path: &Path, bytes: Option<&[u8]>) -> Result<KeyFile, ApiKeyError> {
    match bytes {
        None => Ok(KeyFile::default()),
        Some(b) => serde_json::from_slice(b).map_err(|source| ApiKeyError::Corrupt {
            path: path.to_owned(),
            source,
        }),
    }
}

impl ApiKeys {
    /// The store in `path`.
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self {
            path: path.into(),
            cache: Mutex::new(None),
        }
    }

    fn stamp(&self) -> Stamp {
        let meta = std::fs::metadata(&self.path).ok()?;
        Some((meta.modified().ok()?, meta.len()))
    }

    /// Every key (without the keys themselves).
    pub fn list(&self) -> Result<Vec<ApiKey>, ApiKeyError> {
        let stamp = self.stamp();
        let mut cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((s, keys)) = cache.as_ref()
            && *s == stamp
        {
            return Ok(keys.clone());
        }
        let bytes = match std::fs::read(&self.path) {
            Ok(b) => Some(b),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(source) => {
                return Err(llf_core::Error::Io {
                    action: "reading",
                    path: self.path.clone(),
                    source,
                }
                .into());
            }
        };
        let keys = parse(&self.path, bytes.as_deref())?.keys;
        *cache = Some((stamp, keys.clone()));
        Ok(keys)
    }

    /// Whether any key exists (the API then requires one).
    pub fn any(&self) -> Result<bool, ApiKeyError> {
        Ok(!self.list()?.is_empty())
    }

    /// Creates a key named `name` with `scopes`; returns it and the key itself, which is not
    /// kept anywhere.
    pub fn create(&self, name: &str, scopes: &[Scope]) -> Result<(ApiKey, String), ApiKeyError> {
        let name = name.trim();
        if name.is_empty() {
            return Err(ApiKeyError::EmptyName);
        }
        if scopes.is_empty() {
            return Err(ApiKeyError::NoScopes);
        }
        let mut random = [0u8; 32];
        getrandom::fill(&mut random).map_err(|_| ApiKeyError::Random)?;
        let secret: String = format!(
            "llf-{}",
            random
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect::<String>()
        );
        let mut scopes = scopes.to_vec();
        scopes.sort();
        scopes.dedup();
        let key = ApiKey {
            id: ulid::Ulid::new().to_string().to_ascii_lowercase(),
            name: name.to_owned(),
            scopes,
            created_at: Utc::now(),
            prefix: secret.chars().take(12).collect(),
            hash: hash(&secret),
        };
        let made = key.clone();
        llf_core::fs::update_locked(&self.path, llf_core::fs::PRIVATE, |old| {
            let mut file = parse(&self.path, old)?;
            if file.keys.iter().any(|k| k.name == made.name) {
                return Err(ApiKeyError::DuplicateName(made.name.clone()));
            }
            file.keys.push(made.clone());
            serde_json::to_vec_pretty(&file).map_err(|source| ApiKeyError::Corrupt {
                path: self.path.clone(),
                source,
            })
        })?;
        Ok((key, secret))
    }

    /// Removes the key with this id or name; returns it.
    pub fn revoke(&self, id_or_name: &str) -> Result<ApiKey, ApiKeyError> {
        let mut removed = None;
        llf_core::fs::update_locked(&self.path, llf_core::fs::PRIVATE, |old| {
            let mut file = parse(&self.path, old)?;
            let pos = file
                .keys
                .iter()
                .position(|k| k.id == id_or_name || k.name == id_or_name)
                .ok_or_else(|| ApiKeyError::NotFound(id_or_name.to_owned()))?;
            removed = Some(file.keys.remove(pos));
            serde_json::to_vec_pretty(&file).map_err(|source| ApiKeyError::Corrupt {
                path: self.path.clone(),
                source,
            })
        })?;
        removed.ok_or_else(|| ApiKeyError::NotFound(id_or_name.to_owned()))
    }

    /// The key whose secret is `secret`, if any.
    pub fn verify(&self, secret: &str) -> Result<Option<ApiKey>, ApiKeyError> {
        let h = hash(secret);
        Ok(self.list()?.into_iter().find(|k| k.hash == h))
    }
}
