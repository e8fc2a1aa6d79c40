//! Encrypting, unlocking, rotating and decrypting a config on disk, with an in-memory keyring or
//! none (the passphrase path a headless machine takes).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde_json::{Value, json};

use super::keyring::{MemoryKeyring, NoKeyring};
use super::salt_file::SaltFile;
use super::*;
use crate::{ConfigFile, KeyChoice, Secret};

struct Home {
    dir: tempfile::TempDir,
}

impl Home {
    fn new(config: Value) -> Self {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("config.json"),
            serde_json::to_vec_pretty(&config).unwrap(),
        )
        .unwrap();
        Self { dir }
    }

    fn config(&self) -> PathBuf {
        self.dir.path().join("config.json")
    }

    fn text(&self) -> String {
        std::fs::read_to_string(self.config()).unwrap()
    }

    fn json(&self) -> Value {
        serde_json::from_str(&self.text()).unwrap()
    }

    fn env(&self, passphrase: Option<&str>) -> Environment {
        Environment {
            llf_passphrase: passphrase.map(Secret::new),
            home: Some(self.dir.path().to_owned()),
            ..Environment::with_home(self.dir.path())
        }
    }
}

fn no_keyring() -> Unlock {
    Unlock::new().with_keyring(Arc::new(NoKeyring))
}

fn load(home: &Home, passphrase: Option<&str>, unlock: &Unlock) -> crate::Result<ConfigFile> {
    ConfigFile::load_with(None, &home.env(passphrase), unlock)
}

fn secret_config() -> Value {
    json!({
        "llm_endpoint": {"api_key": "sk-live-123", "model_name": "m", "default_local_server": null},
        "tools": {"mcp_servers": [{"name": "db", "command": "x",
                                   "env": {"DATABASE_URL": "postgres://u:pw-456@h", "EMPTY": ""}}]},
        "plugins": {"github": {"auth_token": "ghp-789"}}
    })
}

const PLAINTEXTS: [&str; 3] = ["sk-live-123", "pw-456", "ghp-789"];

fn assert_no_plaintext(text: &str) {
    for p in PLAINTEXTS {
        assert!(!text.contains(p), "{p} is on disk:\n{text}");
    }
}

fn api_key(file: &ConfigFile) -> &str {
    file.config()
        .llm_endpoint
        .api_key
        .as_ref()
        .unwrap()
        .expose()
}

#[cfg(unix)]
fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[test]
fn without_a_keyring_encrypt_falls_back_to_the_passphrase_and_loading_decrypts() {
    let home = Home::new(secret_config());
    let mut file = load(&home, Some("pass one"), &no_keyring()).unwrap();
    let report = file.encrypt(KeyChoice::Auto).unwrap();

    assert!(
        report
            .keyring_unavailable
            .as_deref()
            .is_some_and(|why| why.contains("org.freedesktop.secrets")),
        "{report:?}"
    );
    assert_eq!(report.key.as_ref().unwrap().kind, KeyKind::Passphrase);
    assert_eq!(
        report.changed,
        [
            "llm_endpoint.api_key",
            "tools.mcp_servers[0].env.DATABASE_URL",
            "plugins.github.auth_token"
        ]
    );
    let text = home.text();
    assert_no_plaintext(&text);
    let on_disk = home.json();
    assert!(
        on_disk["llm_endpoint"]["api_key"]
            .as_str()
            .unwrap()
            .starts_with("llf-enc:v1:")
    );
    // Empty values stay empty: there is nothing to hide.
    assert_eq!(on_disk["tools"]["mcp_servers"][0]["env"]["EMPTY"], "");
    // The file in memory still works after the rewrite.
    assert_eq!(api_key(&file), "sk-live-123");
    let salt = SaltFile::path_for(&home.config());
    #[cfg(unix)]
    {
        assert_eq!(mode(&salt), 0o600);
        assert_eq!(mode(&home.config()), 0o600);
    }
    assert!(!std::fs::read_to_string(&salt).unwrap().contains("pass one"));

    let again = load(&home, Some("pass one"), &no_keyring()).unwrap();
    assert_eq!(api_key(&again), "sk-live-123");
    assert_eq!(
        again.config().tools.mcp_servers[0].env["DATABASE_URL"],
        "postgres://u:pw-456@h"
    );
    assert_eq!(again.get("llm_endpoint.api_key").unwrap(), "***");
    let status = again.secrets_status();
    assert!(status.is_encrypted());
    assert_eq!(status.encrypted.len(), 3);
    assert!(status.plaintext.is_empty());
}

#[test]
fn a_wrong_or_missing_passphrase_is_a_clear_error_naming_the_key() {
    let home = Home::new(secret_config());
    load(&home, Some("right"), &no_keyring())
        .unwrap()
        .encrypt(KeyChoice::Passphrase)
        .unwrap();

    let err = load(&home, Some("wrong"), &no_keyring()).unwrap_err();
    assert!(
        matches!(&err, ConfigError::WrongPassphrase { key, .. } if key == "llm_endpoint.api_key"),
        "{err:?}"
    );
    assert!(err.to_string().contains("`llm_endpoint.api_key`"), "{err}");

    let err = load(&home, None, &no_keyring()).unwrap_err();
    assert!(
        matches!(
            &err,
            ConfigError::PassphraseNeeded {
                var: "LLF_PASSPHRASE",
                ..
            }
        ),
        "{err:?}"
    );

    // A prompt is asked once for all values; a wrong answer is asked again, up to three tries.
    let prompt = |answers: &'static [&'static str]| {
        let asked = Arc::new(std::sync::Mutex::new(Vec::new()));
        let seen = asked.clone();
        let unlock = no_keyring().with_prompt(move |req| {
            let mut seen = seen.lock().unwrap();
            seen.push((req.purpose, req.retry));
            answers.get(seen.len() - 1).map(|a| Secret::new(*a))
        });
        (unlock, asked)
    };
    let (unlock, asked) = prompt(&["right"]);
    assert_eq!(api_key(&load(&home, None, &unlock).unwrap()), "sk-live-123");
    assert_eq!(*asked.lock().unwrap(), [(PassphrasePurpose::Unlock, false)]);

    let (unlock, asked) = prompt(&["typo", "right"]);
    assert_eq!(api_key(&load(&home, None, &unlock).unwrap()), "sk-live-123");
    assert_eq!(
        *asked.lock().unwrap(),
        [
            (PassphrasePurpose::Unlock, false),
            (PassphrasePurpose::Unlock, true)
        ]
    );

    let (unlock, asked) = prompt(&["a", "b", "c", "right"]);
    let err = load(&home, None, &unlock).unwrap_err();
    assert!(
        matches!(err, ConfigError::WrongPassphrase { .. }),
        "{err:?}"
    );
    assert_eq!(asked.lock().unwrap().len(), 3);
}

#[test]
fn a_damaged_value_is_told_apart_from_a_wrong_passphrase() {
    let home = Home::new(secret_config());
    load(&home, Some("right"), &no_keyring())
        .unwrap()
        .encrypt(KeyChoice::Passphrase)
        .unwrap();
    let mut json = home.json();
    let v = json["plugins"]["github"]["auth_token"]
        .as_str()
        .unwrap()
        .to_owned();
    // Flip one character of the payload.
    let mut bytes = v.into_bytes();
    let last = bytes.len() - 3;
    bytes[last] = if bytes[last] == b'A' { b'B' } else { b'A' };
    json["plugins"]["github"]["auth_token"] = Value::String(String::from_utf8(bytes).unwrap());
    std::fs::write(home.config(), serde_json::to_vec(&json).unwrap()).unwrap();

    let err = load(&home, Some("right"), &no_keyring()).unwrap_err();
    assert!(
        matches!(&err, ConfigError::DamagedValue { key, .. } if key == "plugins.github.auth_token"),
        "{err:?}"
    );
}

#[test]
fn with_a_keyring_no_passphrase_is_needed_and_rotation_drops_the_old_entry() {
    let home = Home::new(secret_config());
    let keyring = Arc::new(MemoryKeyring::default());
    let unlock = Unlock::new().with_keyring(keyring.clone());
    let mut file = load(&home, None, &unlock).unwrap();
    let report = file.encrypt(KeyChoice::Auto).unwrap();
    assert_eq!(report.key.as_ref().unwrap().kind, KeyKind::Keyring);
    assert!(report.keyring_unavailable.is_none());
    assert_no_plaintext(&home.text());
    let first: Vec<String> = keyring.0.lock().unwrap().keys().cloned().collect();
    assert_eq!(first.len(), 1);

    let mut loaded = load(&home, None, &unlock).unwrap();
    assert_eq!(api_key(&loaded), "sk-live-123");

    loaded.rotate_key(KeyChoice::Auto).unwrap();
    let after: Vec<String> = keyring.0.lock().unwrap().keys().cloned().collect();
    assert_eq!(after.len(), 1);
    assert_ne!(after, first, "the old keyring entry is removed");
    assert_eq!(api_key(&load(&home, None, &unlock).unwrap()), "sk-live-123");

    // Without the keyring the key cannot be had, and the error says so.
    let err = load(&home, Some("anything"), &no_keyring()).unwrap_err();
    assert!(matches!(err, ConfigError::Keyring { .. }), "{err:?}");
}

#[test]
fn rotate_key_changes_the_passphrase_and_keeps_one_key() {
    let home = Home::new(secret_config());
    load(&home, Some("old"), &no_keyring())
        .unwrap()
        .encrypt(KeyChoice::Passphrase)
        .unwrap();
    let before = home.json();

    let env = Environment {
        llf_new_passphrase: Some(Secret::new("new")),
        ..home.env(Some("old"))
    };
    let mut file = ConfigFile::load_with(None, &env, &no_keyring()).unwrap();
    let report = file.rotate_key(KeyChoice::Passphrase).unwrap();
    assert_eq!(report.changed.len(), 3);
    let after = home.json();
    assert_ne!(
        before["llm_endpoint"]["api_key"],
        after["llm_endpoint"]["api_key"]
    );
    assert_no_plaintext(&home.text());
    let salt = SaltFile::read(&SaltFile::path_for(&home.config()))
        .unwrap()
        .unwrap();
    assert_eq!(salt.keys.len(), 1, "the old key is dropped");
    assert_eq!(salt.keys[0].id, report.key.unwrap().id);

    assert!(matches!(
        load(&home, Some("old"), &no_keyring()).unwrap_err(),
        ConfigError::WrongPassphrase { .. }
    ));
    assert_eq!(
        api_key(&load(&home, Some("new"), &no_keyring()).unwrap()),
        "sk-live-123"
    );
    // A rotation without a new passphrase says which variable gives it.
    let err = load(&home, Some("new"), &no_keyring())
        .unwrap()
        .rotate_key(KeyChoice::Passphrase)
        .unwrap_err();
    assert!(
        matches!(
            err,
            ConfigError::NewPassphraseNeeded {
                var: "LLF_NEW_PASSPHRASE",
                ..
            }
        ),
        "{err:?}"
    );
}

/// The states a crash can leave behind during `rotate-key`: the new key added to the salt file
/// but the config not yet rewritten, and the config rewritten but the old key not yet dropped.
/// Each must load with the passphrase of the config's values, and a later command finishes
/// the job.
#[test]
fn every_intermediate_state_of_a_rotation_loads() {
    let home = Home::new(secret_config());
    load(&home, Some("old"), &no_keyring())
        .unwrap()
        .encrypt(KeyChoice::Passphrase)
        .unwrap();
    let salt_path = SaltFile::path_for(&home.config());
    let old_config = home.text();
    let old_salt = SaltFile::read(&salt_path).unwrap().unwrap();

    let env = Environment {
        llf_new_passphrase: Some(Secret::new("new")),
        ..home.env(Some("old"))
    };
    ConfigFile::load_with(None, &env, &no_keyring())
        .unwrap()
        .rotate_key(KeyChoice::Passphrase)
        .unwrap();
    let new_config = home.text();
    let new_salt = SaltFile::read(&salt_path).unwrap().unwrap();
    let mut both = old_salt.clone();
    both.keys.extend(new_salt.keys.clone());

    // Crash after the salt file gained the new key, before the config was replaced.
    std::fs::write(home.config(), &old_config).unwrap();
    both.write(&salt_path).unwrap();
    assert_eq!(
        api_key(&load(&home, Some("old"), &no_keyring()).unwrap()),
        "sk-live-123"
    );
    // Crash after the config was replaced, before the old key was dropped.
    std::fs::write(home.config(), &new_config).unwrap();
    assert_eq!(
        api_key(&load(&home, Some("new"), &no_keyring()).unwrap()),
        "sk-live-123"
    );
    // The next rewrite drops the key nothing uses.
    load(&home, Some("new"), &no_keyring())
        .unwrap()
        .encrypt(KeyChoice::Passphrase)
        .unwrap();
    assert_eq!(SaltFile::read(&salt_path).unwrap().unwrap(), new_salt);
}

#[test]
fn set_encrypts_new_secrets_and_asks_nothing_for_other_keys() {
    let home =
        Home::new(json!({"llm_endpoint": {"model_name": "m", "default_local_server": null}}));
    // Encrypted before it had a secret: the key waits in the salt file.
    load(&home, Some("pw"), &no_keyring())
        .unwrap()
        .encrypt(KeyChoice::Passphrase)
        .unwrap();

    let asked = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let count = asked.clone();
    let unlock = no_keyring().with_prompt(move |_| {
        count.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        Some(Secret::new("pw"))
    });
    let mut file = load(&home, None, &unlock).unwrap();
    file.set("inference_params.temperature", "0.3").unwrap();
    assert_eq!(asked.load(std::sync::atomic::Ordering::SeqCst), 0);
    file.set("llm_endpoint.api_key", "sk-live-123").unwrap();
    file.set(
        "tools.mcp_servers",
        r#"[{"name": "db", "command": "x", "env": {"DATABASE_URL": "postgres://u:pw-456@h"}}]"#,
    )
    .unwrap();
    assert_eq!(asked.load(std::sync::atomic::Ordering::SeqCst), 1);
    file.save().unwrap();
    assert_no_plaintext(&home.text());
    assert_eq!(home.json()["inference_params"]["temperature"], 0.3);

    let loaded = load(&home, Some("pw"), &no_keyring()).unwrap();
    assert_eq!(api_key(&loaded), "sk-live-123");
    assert_eq!(
        loaded.config().tools.mcp_servers[0].env["DATABASE_URL"],
        "postgres://u:pw-456@h"
    );
}

#[test]
fn decrypt_writes_plain_text_back_and_removes_the_salt_file() {
    let home = Home::new(secret_config());
    load(&home, Some("pw"), &no_keyring())
        .unwrap()
        .encrypt(KeyChoice::Passphrase)
        .unwrap();
    let mut file = load(&home, Some("pw"), &no_keyring()).unwrap();
    let report = file.decrypt().unwrap();
    assert_eq!(report.changed.len(), 3);
    assert!(report.key.is_none());
    assert_eq!(home.json(), secret_config());
    assert!(!SaltFile::path_for(&home.config()).exists());
    assert!(!file.secrets_status().is_encrypted());
    // A plain config loads with no passphrase at all.
    assert_eq!(
        api_key(&load(&home, None, &no_keyring()).unwrap()),
        "sk-live-123"
    );
}

#[test]
fn a_config_changed_by_a_rotation_elsewhere_is_not_saved_over() {
    let home = Home::new(secret_config());
    load(&home, Some("old"), &no_keyring())
        .unwrap()
        .encrypt(KeyChoice::Passphrase)
        .unwrap();
    let mut stale = load(&home, Some("old"), &no_keyring()).unwrap();
    stale.set("llm_endpoint.api_key", "sk-other").unwrap();

    let env = Environment {
        llf_new_passphrase: Some(Secret::new("new")),
        ..home.env(Some("old"))
    };
    ConfigFile::load_with(None, &env, &no_keyring())
        .unwrap()
        .rotate_key(KeyChoice::Passphrase)
        .unwrap();
    let err = stale.save().unwrap_err();
    assert!(matches!(err, ConfigError::KeyChanged(_)), "{err:?}");
    assert_eq!(
        api_key(&load(&home, Some("new"), &no_keyring()).unwrap()),
        "sk-live-123"
    );
}

/// Values in the Python version's format, made with the same primitives (the CLI tests make them
/// with Python's own `cryptography` package).
#[test]
fn python_era_values_decrypt_with_the_salt_beside_the_config_and_migrate() {
    let home = Home::new(json!({}));
    let salt = [9u8; 32];
    std::fs::write(home.dir.path().join(".salt"), salt).unwrap();
    let fernet = cipher::legacy_fernet(b"py-pass", &salt).unwrap();
    let mut config = secret_config();
    config["llm_endpoint"]["api_key"] = cipher::legacy_seal(&fernet, b"sk-live-123").into();
    std::fs::write(home.config(), serde_json::to_vec(&config).unwrap()).unwrap();

    let err = load(&home, Some("not it"), &no_keyring()).unwrap_err();
    assert!(
        matches!(&err, ConfigError::WrongLegacyPassword { key, .. } if key == "llm_endpoint.api_key"),
        "{err:?}"
    );
    let mut file = load(&home, Some("py-pass"), &no_keyring()).unwrap();
    assert_eq!(api_key(&file), "sk-live-123");
    let status = file.secrets_status();
    assert_eq!(status.python_era, ["llm_endpoint.api_key"]);
    assert_eq!(status.plaintext.len(), 2);

    // A secret set meanwhile is sealed the Python way: the Python version could still read it.
    file.set("tools.mcp_servers[0].env.GITHUB_TOKEN", "ghp-new")
        .unwrap();
    file.save().unwrap();
    assert!(
        home.json()["tools"]["mcp_servers"][0]["env"]["GITHUB_TOKEN"]
            .as_str()
            .unwrap()
            .starts_with("encrypted:")
    );

    let report = file.migrate_secrets(KeyChoice::Passphrase).unwrap();
    assert_eq!(
        report.changed,
        [
            "llm_endpoint.api_key",
            "tools.mcp_servers[0].env.GITHUB_TOKEN"
        ]
    );
    let json = home.json();
    assert!(
        json["llm_endpoint"]["api_key"]
            .as_str()
            .unwrap()
            .starts_with("llf-enc:v1:")
    );
    // Migrating leaves plain-text secrets alone; `encrypt` is for those.
    assert_eq!(
        json["tools"]["mcp_servers"][0]["env"]["DATABASE_URL"],
        "postgres://u:pw-456@h"
    );
    let loaded = load(&home, Some("py-pass"), &no_keyring()).unwrap();
    assert_eq!(api_key(&loaded), "sk-live-123");
    assert!(loaded.secrets_status().python_era.is_empty());
}

#[test]
fn a_python_era_value_without_its_salt_names_where_it_was_looked_for() {
    let home = Home::new(json!({"llm_endpoint": {"api_key": "encrypted:Z0FBQUFB"}}));
    let err = load(&home, Some("pw"), &no_keyring()).unwrap_err();
    match err {
        ConfigError::LegacySaltMissing { looked, key, .. } => {
            assert_eq!(key, "llm_endpoint.api_key");
            assert!(
                looked.iter().any(|p| p.ends_with(".llf/.salt")),
                "{looked:?}"
            );
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn text_that_only_looks_encrypted_is_plain_text() {
    let home = Home::new(json!({"prompt": {"system_prompt": "encrypted: answer in riddles"}}));
    let file = load(&home, None, &no_keyring()).unwrap();
    assert_eq!(
        file.config().prompt.system_prompt.as_deref(),
        Some("encrypted: answer in riddles")
    );
}

#[test]
fn init_force_keeps_the_salt_file_with_the_backup() {
    let home = Home::new(secret_config());
    load(&home, Some("pw"), &no_keyring())
        .unwrap()
        .encrypt(KeyChoice::Passphrase)
        .unwrap();
    let env = home.env(None);
    ConfigFile::init_with(None, &env, true, crate::InstalledComponents::default()).unwrap();
    assert!(!SaltFile::path_for(&home.config()).exists());
    let backup = home.dir.path().join("config.json.bak");
    assert!(SaltFile::path_for(&backup).exists());
    // The backup still opens, the new config needs no passphrase.
    let old = ConfigFile::load_with(Some(&backup), &home.env(Some("pw")), &no_keyring()).unwrap();
    assert_eq!(api_key(&old), "sk-live-123");
    assert!(
        !load(&home, None, &no_keyring())
            .unwrap()
            .secrets_status()
            .is_encrypted()
    );
}

#[test]
fn a_failed_encrypt_leaves_no_key_in_the_keyring() {
    let home = Home::new(secret_config());
    let keyring = Arc::new(MemoryKeyring::default());
    let mut file = load(&home, None, &Unlock::new().with_keyring(keyring.clone())).unwrap();
    std::fs::write(home.config(), "{ not json").unwrap();
    let err = file.encrypt(KeyChoice::Auto).unwrap_err();
    assert!(matches!(err, ConfigError::Syntax { .. }), "{err:?}");
    assert!(keyring.0.lock().unwrap().is_empty());
}

#[test]
fn status_reads_the_file_without_unlocking_it() {
    let home = Home::new(secret_config());
    load(&home, Some("pw"), &no_keyring())
        .unwrap()
        .encrypt(KeyChoice::Passphrase)
        .unwrap();
    let status = SecretsStatus::read(&home.config()).unwrap();
    assert!(status.is_encrypted());
    assert_eq!(status.current.unwrap().kind, KeyKind::Passphrase);
    assert_eq!(status.encrypted.len(), 3);
    let missing = SecretsStatus::read(&home.dir.path().join("none.json")).unwrap();
    assert!(!missing.is_encrypted());
}
