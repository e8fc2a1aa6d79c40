//! [`Unlock`]: where the keys of an encrypted config come from, and the prompt a frontend offers.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::keyring::{Keyring, OsKeyring};
use crate::Secret;

type PromptFn = dyn Fn(&PassphraseRequest) -> Option<Secret> + Send + Sync;

/// How the keys of an encrypted config are obtained: the OS keyring, `LLF_PASSPHRASE` (from the
/// [`Environment`](crate::Environment)), and a prompt the frontend supplies (a terminal, a dialog). Library code never
/// reads a terminal itself; without a prompt, a passphrase that is not in the environment is an
/// error that says how to give it.
///
/// ```
/// use llf_config::{Secret, Unlock};
///
/// let unlock = Unlock::new().with_prompt(|request| {
///     // A real frontend asks the person here (twice for `PassphrasePurpose::New`).
///     eprintln!("passphrase for {} needed", request.config.display());
///     Some(Secret::new("correct horse battery staple"))
/// });
/// # let _ = unlock;
/// ```
#[derive(Clone)]
pub struct Unlock {
    pub(super) keyring: Arc<dyn Keyring>,
    pub(super) prompt: Option<Arc<PromptFn>>,
}

impl Default for Unlock {
    fn default() -> Self {
        Self {
            keyring: Arc::new(OsKeyring::default()),
            prompt: None,
        }
    }
}

impl std::fmt::Debug for Unlock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Unlock")
            .field("keyring", &self.keyring)
            .field("prompt", &self.prompt.is_some())
            .finish()
    }
}

impl Unlock {
    /// The OS keyring and `LLF_PASSPHRASE`, no prompt.
    pub fn new() -> Self {
        Self::default()
    }

    /// Asks `prompt` for a passphrase that the environment does not give. `None` from it means the
    /// person declined; loading then fails with [`ConfigError::PassphraseNeeded`](crate::ConfigError::PassphraseNeeded).
    pub fn with_prompt(
        mut self,
        prompt: impl Fn(&PassphraseRequest) -> Option<Secret> + Send + Sync + 'static,
    ) -> Self {
        self.prompt = Some(Arc::new(prompt));
        self
    }

    /// Uses `keyring` instead of the OS keyring.
    pub fn with_keyring(mut self, keyring: Arc<dyn Keyring>) -> Self {
        self.keyring = keyring;
        self
    }

    pub(super) fn ask(
        &self,
        config: &Path,
        purpose: PassphrasePurpose,
        retry: bool,
    ) -> Option<Secret> {
        let prompt = self.prompt.as_ref()?;
        prompt(&PassphraseRequest {
            config: config.to_owned(),
            purpose,
            retry,
        })
    }
}

/// What a passphrase prompt is asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct PassphraseRequest {
    /// The config file.
    pub config: PathBuf,
    /// Which passphrase.
    pub purpose: PassphrasePurpose,
    /// The passphrase given at the last prompt was wrong; this is another try.
    pub retry: bool,
}

/// Tries a person gets at a passphrase prompt before loading fails.
pub(super) const PROMPT_TRIES: u32 = 3;

/// Which passphrase a prompt asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum PassphrasePurpose {
    /// The passphrase the config's values were encrypted with.
    Unlock,
    /// The password the Python version encrypted the config with.
    PythonEra,
    /// A new passphrase (the config is being encrypted or its key rotated): ask twice.
    New,
}
