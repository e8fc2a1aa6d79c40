use std::path::PathBuf;

/// One problem found in a configuration, with the key it concerns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Issue {
    /// Key path such as `local_llm_servers[1].port`.
    pub path: String,
    /// What was expected and what was found.
    pub message: String,
}

impl std::fmt::Display for Issue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.path, self.message)
    }
}

/// Errors of `llf-config`.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The config file could not be read.
    #[error("cannot read config {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The file is not JSON.
    #[error("{path} is not valid JSON: {source}")]
    Syntax {
        /// The file.
        path: PathBuf,
        /// The parse error, with line and column.
        #[source]
        source: serde_json::Error,
    },
    /// The file is JSON but some values are wrong.
    #[error("invalid config {path}:\n{}", issues.iter().map(|i| format!("  {i}")).collect::<Vec<_>>().join("\n"))]
    Invalid {
        /// The file (or `<memory>`).
        path: PathBuf,
        /// Every problem found.
        issues: Vec<Issue>,
    },
    /// A key given to `get`/`set` does not exist or cannot be parsed.
    #[error("{0}")]
    Key(String),
    /// `set` named a key the configuration does not have (outside the sections that take free-form
    /// keys, such as `server_params`).
    #[error(
        "unknown key `{key}`: `{unknown}` is not a configuration key, nothing was changed (see `llf config show` for the keys)"
    )]
    UnknownKey {
        /// The key as given.
        key: String,
        /// The part of it the configuration does not know.
        unknown: String,
    },
    /// The config file named with `--config` or `LLF_CONFIG` does not exist.
    #[error(
        "config file {0} does not exist; check the path, or create it with `llf --config {0} config init`"
    )]
    Missing(PathBuf),
    /// A component given to `config init` does not exist.
    #[error("the {what} {path} does not exist; give the path of an installed file")]
    ComponentMissing {
        /// Which component (`llama-server`, `model`, …).
        what: &'static str,
        /// The path given.
        path: PathBuf,
    },
    /// The config file already exists and `init` was not told to replace it.
    #[error(
        "{0} already exists; pass --force to replace it (the old file is kept as config.json.bak)"
    )]
    AlreadyExists(PathBuf),
    /// No home directory could be found for the default paths.
    #[error("cannot find a home directory for LLF's files; set LLF_HOME to a directory")]
    NoHome,
    /// Saving failed.
    #[error(transparent)]
    Save(#[from] llf_core::Error),
    /// The config holds encrypted values and no passphrase was given.
    #[error(
        "{path} holds encrypted values (`{key}` is one); set {var} to the {what}, or run on a terminal to be asked for it"
    )]
    PassphraseNeeded {
        /// The config file.
        path: PathBuf,
        /// A key path whose value needs it.
        key: String,
        /// The environment variable that gives it.
        var: &'static str,
        /// `passphrase`, or `password of the Python version` for a Python-era value.
        what: &'static str,
    },
    /// A new passphrase was needed (encrypting, rotating the key) and none was given.
    #[error(
        "a new passphrase is needed to encrypt {path} (no OS keyring is available); set {var}, or run on a terminal to be asked for it"
    )]
    NewPassphraseNeeded {
        /// The config file.
        path: PathBuf,
        /// The environment variable that gives it.
        var: &'static str,
    },
    /// The passphrase given is empty.
    #[error("the passphrase for {path} is empty; give a non-empty one")]
    EmptyPassphrase {
        /// The config file.
        path: PathBuf,
    },
    /// The passphrase (or the key in the keyring) does not decrypt a value.
    #[error(
        "wrong passphrase for {path}: it does not decrypt `{key}`; give the passphrase used by `llf config encrypt` or the last `llf config rotate-key` (LLF_PASSPHRASE, or at the prompt)"
    )]
    WrongPassphrase {
        /// The config file.
        path: PathBuf,
        /// The key path whose value could not be decrypted.
        key: String,
    },
    /// The password does not decrypt a value written by the Python version.
    #[error(
        "wrong password for the Python-era encrypted `{key}` in {path} (tried the salt {}); give the password the Python version used (LLF_PASSPHRASE, or at the prompt)",
        salts.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(" and ")
    )]
    WrongLegacyPassword {
        /// The config file.
        path: PathBuf,
        /// The key path whose value could not be decrypted.
        key: String,
        /// The salt files tried.
        salts: Vec<PathBuf>,
    },
    /// A Python-era encrypted value was found but no salt file of the Python version exists.
    #[error(
        "`{key}` in {path} was encrypted by the Python version, whose salt file is missing (looked for {}); copy the Python version's ~/.llf/.salt there",
        looked.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(" and ")
    )]
    LegacySaltMissing {
        /// The config file.
        path: PathBuf,
        /// The key path of an encrypted value.
        key: String,
        /// Where the salt was looked for.
        looked: Vec<PathBuf>,
    },
    /// An encrypted value is not one LLF can read (cut, edited, or of an unknown format).
    #[error(
        "`{key}` in {path} is a damaged encrypted value ({problem}); set it again with `llf config set {key} VALUE`"
    )]
    DamagedValue {
        /// The config file.
        path: PathBuf,
        /// The key path.
        key: String,
        /// What is wrong with it.
        problem: &'static str,
    },
    /// An encrypted value names a key that the salt file does not list (or there is no salt file).
    #[error(
        "`{key}` in {path} was encrypted with key {id}, which {salt_file} does not list; restore {salt_file} from the backup that matches this config"
    )]
    UnknownKeyId {
        /// The config file.
        path: PathBuf,
        /// The key path.
        key: String,
        /// The key id in the value.
        id: String,
        /// The salt file beside the config.
        salt_file: PathBuf,
    },
    /// The salt file beside the config cannot be read.
    #[error(
        "cannot read the salt file {path}: {source}; restore it from a backup, or run `llf config decrypt` with the old file in place"
    )]
    SaltFile {
        /// The salt file.
        path: PathBuf,
        /// Why (I/O or JSON).
        #[source]
        source: llf_core::BoxError,
    },
    /// The config's key is in the OS keyring and the keyring cannot give it.
    #[error(
        "the key of {path} is in the OS keyring, which cannot give it: {source}; unlock your keyring (log in to the desktop session) and try again"
    )]
    Keyring {
        /// The config file.
        path: PathBuf,
        /// The keyring's error.
        #[source]
        source: llf_core::BoxError,
    },
    /// The system random number generator failed.
    #[error("cannot get random bytes from the operating system: {0}")]
    Random(#[source] llf_core::BoxError),
    /// A key operation needs an encrypted config.
    #[error("{0} is not encrypted; run `llf config encrypt` first")]
    NotEncrypted(PathBuf),
    /// Another process changed the config's key while this one was working.
    #[error(
        "the key of {0} changed while this command ran (another `llf config rotate-key` or `encrypt`?); run the command again"
    )]
    KeyChanged(PathBuf),
}

/// `Result` with [`ConfigError`].
pub type Result<T> = std::result::Result<T, ConfigError>;
