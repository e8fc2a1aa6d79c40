//! The OS keyring, where a config's key is kept when there is one (the Secret Service on Linux).

use std::time::Duration;

use llf_core::BoxError;
use zeroize::Zeroizing;

/// A store of keys outside the config directory. [`OsKeyring`] is the real one; an embedder can
/// bring its own (or a test an in-memory one) through [`Unlock::with_keyring`](super::Unlock).
pub trait Keyring: Send + Sync + std::fmt::Debug {
    /// Stores `key` under the name `entry`, replacing what was there.
    fn store(&self, entry: &str, key: &[u8]) -> Result<(), BoxError>;
    /// The key stored under `entry`.
    fn load(&self, entry: &str) -> Result<Zeroizing<Vec<u8>>, BoxError>;
    /// Removes `entry`.
    fn remove(&self, entry: &str) -> Result<(), BoxError>;
}

/// The service name of LLF's entries in the OS keyring.
pub const KEYRING_SERVICE: &str = "llf";

/// The OS keyring: the Secret Service (GNOME Keyring, KWallet, KeePassXC) over D-Bus on Linux;
/// elsewhere none, so a passphrase is used. Every call gives up after a few seconds, so a session
/// without a keyring (a server, a container, CI) falls back to a passphrase at once instead of
/// hanging.
#[derive(Debug, Clone)]
pub struct OsKeyring {
    timeout: Duration,
}

impl Default for OsKeyring {
    fn default() -> Self {
        Self {
            timeout: Duration::from_secs(5),
        }
    }
}

impl OsKeyring {
    /// Runs a keyring call on a thread of its own and waits at most `timeout`: a D-Bus session
    /// whose Secret Service never answers (or waits on an unlock dialog nobody sees) must not stall
    /// LLF. A call that times out is left to finish or die with the process.
    fn bounded<T: Send + 'static>(
        &self,
        call: impl FnOnce() -> Result<T, BoxError> + Send + 'static,
    ) -> Result<T, BoxError> {
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::Builder::new()
            .name("llf-keyring".into())
            .spawn(move || {
                let _ = tx.send(call());
            })?;
        match rx.recv_timeout(self.timeout) {
            Ok(result) => result,
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) => Err(format!(
                "the keyring did not answer within {} s",
                self.timeout.as_secs()
            )
            .into()),
            Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => {
                Err("the keyring call stopped without an answer".into())
            }
        }
    }
}

#[cfg(target_os = "linux")]
fn entry(name: &str) -> Result<keyring::Entry, BoxError> {
    keyring::Entry::new(KEYRING_SERVICE, name).map_err(llf_core::FlatError::boxed)
}

#[cfg(target_os = "linux")]
impl Keyring for OsKeyring {
    fn store(&self, name: &str, key: &[u8]) -> Result<(), BoxError> {
        let (name, key) = (name.to_owned(), Zeroizing::new(key.to_vec()));
        self.bounded(move || {
            entry(&name)?
                .set_secret(&key)
                .map_err(llf_core::FlatError::boxed)
        })
    }

    fn load(&self, name: &str) -> Result<Zeroizing<Vec<u8>>, BoxError> {
        let name = name.to_owned();
        self.bounded(move || {
            entry(&name)?
                .get_secret()
                .map(Zeroizing::new)
                .map_err(llf_core::FlatError::boxed)
        })
    }

    fn remove(&self, name: &str) -> Result<(), BoxError> {
        let name = name.to_owned();
        self.bounded(move || match entry(&name)?.delete_credential() {
            Ok(()) | Err(keyring::Error::NoEntry) => Ok(()),
            Err(e) => Err(llf_core::FlatError::boxed(e)),
        })
    }
}

#[cfg(not(target_os = "linux"))]
impl Keyring for OsKeyring {
    fn store(&self, _name: &str, _key: &[u8]) -> Result<(), BoxError> {
        Err("LLF uses the OS keyring on Linux only".into())
    }

    fn load(&self, _name: &str) -> Result<Zeroizing<Vec<u8>>, BoxError> {
        Err("LLF uses the OS keyring on Linux only".into())
    }

    fn remove(&self, _name: &str) -> Result<(), BoxError> {
        Err("LLF uses the OS keyring on Linux only".into())
    }
}

/// A keyring kept in memory, for tests of the keyring path on machines without one.
#[cfg(test)]
#[derive(Debug, Default)]
pub(crate) struct MemoryKeyring(
    pub(crate) std::sync::Mutex<std::collections::BTreeMap<String, Vec<u8>>>,
);

#[cfg(test)]
impl Keyring for MemoryKeyring {
    fn store(&self, name: &str, key: &[u8]) -> Result<(), BoxError> {
        self.0.lock().unwrap().insert(name.to_owned(), key.to_vec());
        Ok(())
    }

    fn load(&self, name: &str) -> Result<Zeroizing<Vec<u8>>, BoxError> {
        self.0
            .lock()
            .unwrap()
            .get(name)
            .cloned()
            .map(Zeroizing::new)
            .ok_or_else(|| "no such entry".into())
    }

    fn remove(&self, name: &str) -> Result<(), BoxError> {
        self.0.lock().unwrap().remove(name);
        Ok(())
    }
}

/// A keyring that is never there, like a headless machine's.
#[cfg(test)]
#[derive(Debug, Default)]
pub(crate) struct NoKeyring;

#[cfg(test)]
impl Keyring for NoKeyring {
    fn store(&self, _: &str, _: &[u8]) -> Result<(), BoxError> {
        Err("org.freedesktop.secrets was not provided by any .service files".into())
    }

    fn load(&self, _: &str) -> Result<Zeroizing<Vec<u8>>, BoxError> {
        Err("org.freedesktop.secrets was not provided by any .service files".into())
    }

    fn remove(&self, _: &str) -> Result<(), BoxError> {
        Err("org.freedesktop.secrets was not provided by any .service files".into())
    }
}
