//! The salt file beside the config (`config.json.salt`): which keys the config's values are
//! encrypted with and how to get each one back — the Argon2id salt and parameters of a passphrase,
//! or the name of an OS keyring entry. It holds no key material.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::cipher::KdfParams;
use crate::ConfigError;

const FORMAT: &str = "llf-config-salt";
const VERSION: u32 = 1;

/// The file's content.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct SaltFile {
    format: String,
    version: u32,
    /// Oldest first; after a completed `rotate-key` only the current one is left.
    pub(crate) keys: Vec<KeyEntry>,
}

/// One key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct KeyEntry {
    /// The id that values sealed with this key carry (`llf-enc:v1:<id>:…`).
    pub(crate) id: String,
    #[serde(flatten)]
    pub(crate) origin: KeyOrigin,
    /// A fixed text sealed with the key: a passphrase that does not open it is wrong, so a value
    /// that does not open with a key that does is damaged, and the two errors are told apart.
    pub(crate) check: String,
}

/// Where a key comes from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "source", rename_all = "lowercase")]
pub(crate) enum KeyOrigin {
    /// Argon2id of a passphrase.
    Passphrase {
        /// Always `argon2id` in version 1.
        kdf: String,
        #[serde(flatten)]
        params: KdfParams,
        /// Base64url of 16 random bytes.
        salt: String,
    },
    /// 32 random bytes in the OS keyring.
    Keyring {
        /// The keyring service (`llf`).
        service: String,
        /// The entry's name.
        entry: String,
    },
}

/// The text sealed as [`KeyEntry::check`].
pub(crate) const CHECK_TEXT: &[u8] = b"llf config key check";

impl SaltFile {
    pub(crate) fn new() -> Self {
        Self {
            format: FORMAT.to_owned(),
            version: VERSION,
            keys: Vec::new(),
        }
    }

    pub(crate) fn key(&self, id: &str) -> Option<&KeyEntry> {
        self.keys.iter().find(|k| k.id == id)
    }

    /// The salt file of `config`: `<config file name>.salt` beside it.
    pub(crate) fn path_for(config: &Path) -> PathBuf {
        let mut name = config.as_os_str().to_owned();
        name.push(".salt");
        PathBuf::from(name)
    }

    /// The file at `path`; `None` when there is none.
    pub(crate) fn read(path: &Path) -> Result<Option<Self>, ConfigError> {
        let bad = |source: llf_core::BoxError| ConfigError::SaltFile {
            path: path.to_owned(),
            source,
        };
        let bytes = match std::fs::read(path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(bad(e.into())),
        };
        let file: Self = serde_json::from_slice(&bytes).map_err(|e| bad(e.into()))?;
        if file.format != FORMAT || file.version != VERSION {
            return Err(bad(format!(
                "expected format {FORMAT} version {VERSION}, found {} version {}",
                file.format, file.version
            )
            .into()));
        }
        Ok(Some(file))
    }

    /// Writes the file atomically, owner-only.
    pub(crate) fn write(&self, path: &Path) -> Result<(), ConfigError> {
        let mut bytes = serde_json::to_vec_pretty(self).map_err(|e| ConfigError::SaltFile {
            path: path.to_owned(),
            source: e.into(),
        })?;
        bytes.push(b'\n');
        llf_core::fs::atomic_write(path, &bytes, llf_core::fs::PRIVATE)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_round_trip_as_flat_json() {
        let mut file = SaltFile::new();
        file.keys.push(KeyEntry {
            id: "a1".into(),
            origin: KeyOrigin::Passphrase {
                kdf: "argon2id".into(),
                params: KdfParams::default(),
                salt: "c2FsdA".into(),
            },
            check: "llf-enc:v1:a1:xx".into(),
        });
        file.keys.push(KeyEntry {
            id: "b2".into(),
            origin: KeyOrigin::Keyring {
                service: "llf".into(),
                entry: "b2 /x/config.json".into(),
            },
            check: "llf-enc:v1:b2:yy".into(),
        });
        let json = serde_json::to_value(&file).unwrap();
        assert_eq!(json["keys"][0]["source"], "passphrase");
        assert_eq!(json["keys"][0]["m_cost_kib"], 19456);
        assert_eq!(json["keys"][1]["source"], "keyring");
        let dir = tempfile::tempdir().unwrap();
        let path = SaltFile::path_for(&dir.path().join("config.json"));
        assert!(path.ends_with("config.json.salt"));
        file.write(&path).unwrap();
        assert_eq!(SaltFile::read(&path).unwrap(), Some(file));
    }
}
