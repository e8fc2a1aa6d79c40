//! `llf config encrypt | decrypt | rotate-key | status | migrate-secrets` through the binary: an
//! encrypted config chats (the endpoint receives the decrypted key), serves and lists with the
//! real llama-server; a config encrypted by the Python version (written here with Python's own
//! `cryptography` package) loads; `rotate-key` killed at any moment leaves a whole config.
//!
//! Every command runs with `DBUS_SESSION_BUS_ADDRESS` pointing at a bus that has no Secret
//! Service (or at nothing), so the OS keyring is never the developer's own and the passphrase path
//! is what runs, as on a headless machine.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use assert_cmd::Command;
use llf_testkit::{FakeServer, Reply, components};
use predicates::prelude::*;
use serde_json::{Value, json};

use crate::{Sandbox, stderr_of, stdout_of};

const KEY: &str = "sk-test-secret-4f9a";
const DB_URL: &str = "postgres://app:db-pass-77@localhost/app";

/// `llf` in the sandbox, with no reachable keyring and the passphrase (if any) in LLF_PASSPHRASE.
fn llf(sb: &Sandbox, passphrase: Option<&str>) -> Command {
    let mut cmd = sb.llf();
    cmd.env(
        "DBUS_SESSION_BUS_ADDRESS",
        format!("unix:path={}", sb.dir.path().join("no-bus").display()),
    );
    if let Some(p) = passphrase {
        cmd.env("LLF_PASSPHRASE", p);
    }
    cmd
}

fn config_path(sb: &Sandbox) -> PathBuf {
    sb.home().join("config.json")
}

fn salt_path(sb: &Sandbox) -> PathBuf {
    sb.home().join("config.json.salt")
}

fn config_text(sb: &Sandbox) -> String {
    std::fs::read_to_string(config_path(sb)).unwrap()
}

/// A remote endpoint with an API key, and an MCP server whose env holds a password.
fn secret_config(sb: &Sandbox, base_url: &str) {
    sb.write_config(json!({
        "llm_endpoint": {"api_base_url": base_url, "model_name": "fake-model", "default_local_server": null,
                         "request_timeout": 30, "max_retries": 0, "api_key": KEY},
        "local_llm_servers": [],
        "tools": {"mcp_servers": [{"name": "db", "command": "db-mcp", "env": {"DATABASE_URL": DB_URL}}]}
    }));
}

fn authorization(fake: &FakeServer, n: usize) -> String {
    fake.requests()[n]
        .header("authorization")
        .unwrap_or_default()
        .to_owned()
}

#[cfg(unix)]
fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[test]
fn an_encrypted_config_chats_with_the_decrypted_key_and_never_shows_it() {
    let rt = crate::tokio_rt();
    let fake = rt.block_on(FakeServer::scripted(vec![
        Reply::stream_text(&["one"]),
        Reply::stream_text(&["two"]),
        Reply::stream_text(&["three"]),
    ]));
    let sb = Sandbox::new();
    secret_config(&sb, &fake.base_url());

    let out = llf(&sb, Some("first pass"))
        .args(["config", "encrypt"])
        .assert()
        .success()
        .get_output()
        .clone();
    // No Secret Service here: the passphrase is used, and the person is told why.
    assert!(
        stderr_of(&out).contains("no OS keyring is available"),
        "{}",
        stderr_of(&out)
    );
    assert!(stderr_of(&out).contains("encrypted 2 values"));
    assert_eq!(
        stdout_of(&out),
        "llm_endpoint.api_key\ntools.mcp_servers[0].env.DATABASE_URL\n"
    );
    let text = config_text(&sb);
    assert!(
        !text.contains(KEY) && !text.contains("db-pass-77"),
        "{text}"
    );
    assert!(text.contains("\"api_key\": \"llf-enc:v1:"), "{text}");
    #[cfg(unix)]
    {
        assert_eq!(mode(&config_path(&sb)), 0o600);
        assert_eq!(mode(&salt_path(&sb)), 0o600);
    }

    // Shown redacted, everywhere.
    let shown = llf(&sb, Some("first pass"))
        .args(["config", "show"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let shown: Value = serde_json::from_slice(&shown).unwrap();
    assert_eq!(shown["llm_endpoint"]["api_key"], "***");
    assert_eq!(
        shown["tools"]["mcp_servers"][0]["env"]["DATABASE_URL"],
        "***"
    );
    llf(&sb, Some("first pass"))
        .args(["config", "get", "llm_endpoint.api_key"])
        .assert()
        .success()
        .stdout("***\n");
    // Status needs no passphrase: it reads the file as it is.
    let status = llf(&sb, None)
        .args(["config", "status", "--json"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let status: Value = serde_json::from_slice(&status).unwrap();
    assert_eq!(status["is_encrypted"], true);
    assert_eq!(status["current"]["kind"], "passphrase");
    assert_eq!(status["plaintext"], json!([]));

    // The endpoint receives the decrypted key; neither stderr nor the debug log holds it.
    let out = llf(&sb, Some("first pass"))
        .args(["--debug", "chat", "hello"])
        .assert()
        .success()
        .stdout("one\n")
        .get_output()
        .clone();
    assert_eq!(authorization(&fake, 0), format!("Bearer {KEY}"));
    assert!(!stderr_of(&out).contains(KEY));
    let logs = sb.home().join("state/logs");
    for entry in std::fs::read_dir(&logs).unwrap() {
        let log = std::fs::read_to_string(entry.unwrap().path()).unwrap_or_default();
        assert!(!log.contains(KEY) && !log.contains("db-pass-77"), "{log}");
    }

    // No passphrase (and no terminal to ask on), or a wrong one: exit 78 naming the key.
    llf(&sb, None)
        .args(["chat", "hello"])
        .assert()
        .code(78)
        .stderr(
            predicate::str::contains("LLF_PASSPHRASE")
                .and(predicate::str::contains("`llm_endpoint.api_key`")),
        );
    llf(&sb, Some("wrong pass"))
        .args(["chat", "hello"])
        .assert()
        .code(78)
        .stderr(
            predicate::str::contains("wrong passphrase")
                .and(predicate::str::contains("`llm_endpoint.api_key`")),
        );

    // Setting values keeps the file encrypted; a new secret is encrypted before it is written.
    llf(&sb, Some("first pass"))
        .args(["config", "set", "inference_params.temperature", "0.1"])
        .assert()
        .success();
    llf(&sb, Some("first pass"))
        .args([
            "config",
            "set",
            "llm_endpoint.api_key",
            "sk-second-key-8c1d",
        ])
        .assert()
        .success()
        .stderr(predicate::str::contains("sk-second").not());
    let text = config_text(&sb);
    assert!(
        !text.contains("sk-second-key-8c1d") && !text.contains("db-pass-77"),
        "{text}"
    );
    assert!(text.contains("\"temperature\": 0.1"));

    // A new passphrase: the old one no longer opens the file, the new one does.
    llf(&sb, Some("first pass"))
        .env("LLF_NEW_PASSPHRASE", "second pass")
        .args(["config", "rotate-key"])
        .assert()
        .success()
        .stderr(predicate::str::contains("re-encrypted 2 values"));
    assert!(!config_text(&sb).contains("sk-second-key-8c1d"));
    llf(&sb, Some("first pass"))
        .args(["config", "show"])
        .assert()
        .code(78)
        .stderr(predicate::str::contains("wrong passphrase"));
    llf(&sb, Some("second pass"))
        .args(["chat", "hello again"])
        .assert()
        .success()
        .stdout("two\n");
    assert_eq!(authorization(&fake, 1), "Bearer sk-second-key-8c1d");

    // Back to plain text: no salt file, no passphrase needed.
    llf(&sb, Some("second pass"))
        .args(["config", "decrypt"])
        .assert()
        .success()
        .stderr(predicate::str::contains("plain text"));
    let cfg = sb.read_config();
    assert_eq!(cfg["llm_endpoint"]["api_key"], "sk-second-key-8c1d");
    assert_eq!(
        cfg["tools"]["mcp_servers"][0]["env"]["DATABASE_URL"],
        DB_URL
    );
    assert!(!salt_path(&sb).exists());
    llf(&sb, None)
        .args(["chat", "plain"])
        .assert()
        .success()
        .stdout("three\n");
    llf(&sb, None)
        .args(["config", "status"])
        .assert()
        .success()
        .stdout(
            predicate::str::contains("encrypted:   no")
                .and(predicate::str::contains("plain-text secrets (2)")),
        );
}

/// A private D-Bus session bus with no Secret Service on it: what a desktop-less login session
/// has. The keyring attempt gets an answer ("no such service") and LLF falls back at once.
struct SessionBus {
    child: std::process::Child,
    address: String,
}

impl SessionBus {
    fn start(dir: &Path) -> Self {
        let config = dir.join("session.conf");
        std::fs::write(
            &config,
            format!(
                r#"<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:path={}</listen>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>"#,
                dir.join("bus").display()
            ),
        )
        .unwrap();
        let mut child = std::process::Command::new("dbus-daemon")
            .arg(format!("--config-file={}", config.display()))
            .args(["--nofork", "--print-address"])
            .stdout(Stdio::piped())
            .spawn()
            .expect("dbus-daemon (Debian package dbus-daemon) must be installed");
        let mut line = String::new();
        std::io::BufRead::read_line(
            &mut std::io::BufReader::new(child.stdout.take().unwrap()),
            &mut line,
        )
        .unwrap();
        Self {
            child,
            address: line.trim().to_owned(),
        }
    }
}

impl Drop for SessionBus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn a_session_bus_without_a_secret_service_falls_back_to_the_passphrase() {
    let sb = Sandbox::new();
    secret_config(&sb, "http://127.0.0.1:9/v1");
    let bus = SessionBus::start(sb.dir.path());
    let out = llf(&sb, Some("pass"))
        .env("DBUS_SESSION_BUS_ADDRESS", &bus.address)
        .args(["config", "encrypt"])
        .timeout(Duration::from_secs(60))
        .assert()
        .success()
        .get_output()
        .clone();
    assert!(
        stderr_of(&out).contains("no OS keyring is available")
            && stderr_of(&out).contains("org.freedesktop.secrets"),
        "{}",
        stderr_of(&out)
    );
    let salt: Value = crate::read_json(&salt_path(&sb));
    assert_eq!(salt["keys"][0]["source"], "passphrase");
    llf(&sb, Some("pass"))
        .env("DBUS_SESSION_BUS_ADDRESS", &bus.address)
        .args(["config", "get", "llm_endpoint.model_name"])
        .assert()
        .success()
        .stdout("fake-model\n");
}

#[test]
fn an_encrypted_config_serves_and_lists_with_the_real_llama_server() {
    let sb = Sandbox::new();
    let port = components::free_port();
    sb.write_config(json!({
        "llm_endpoint": {"default_local_server": "smol", "api_key": KEY},
        "local_llm_servers": [{"name": "smol", "llama_server_path": components::llama_server(),
            "model_path": components::model(), "port": port,
            "server_params": {"--ctx-size": 1024, "--threads": 1}}],
        "inference_params": {"temperature": 0.0, "max_tokens": 8, "seed": 1}
    }));
    llf(&sb, Some("pass"))
        .args(["config", "encrypt"])
        .assert()
        .success();
    assert!(!config_text(&sb).contains(KEY));

    llf(&sb, Some("pass"))
        .args(["server", "start"])
        .timeout(Duration::from_secs(300))
        .assert()
        .success()
        .stderr(predicate::str::contains("ready at"));
    llf(&sb, Some("pass"))
        .args(["server", "list"])
        .assert()
        .success()
        .stdout(predicate::str::contains("* smol").and(predicate::str::contains("running")));
    let out = llf(&sb, Some("pass"))
        .args(["chat", "Say OK."])
        .timeout(Duration::from_secs(300))
        .assert()
        .success()
        .get_output()
        .clone();
    assert!(!stdout_of(&out).trim().is_empty());
    llf(&sb, Some("pass"))
        .args(["conversation", "list"])
        .assert()
        .success()
        .stdout(predicate::str::contains("Say OK."));
    llf(&sb, Some("pass"))
        .args(["server", "stop"])
        .assert()
        .success()
        .stderr(predicate::str::contains("stopped `smol`"));
    assert!(!config_text(&sb).contains(KEY));
}

/// The Python version's `ConfigEncryption`, run by Python with `cryptography`: PBKDF2HMAC over
/// SHA-256, 100,000 rounds, the salt from `~/.llf/.salt`, a Fernet token, base64'd again.
const PYTHON_ERA: &str = r#"
import base64, json, os, sys
from pathlib import Path
from cryptography.fernet import Fernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.pbkdf2 import PBKDF2HMAC

def fernet(password):
    salt_file = Path.home() / '.llf' / '.salt'
    if salt_file.exists():
        salt = salt_file.read_bytes()
    else:
        salt_file.parent.mkdir(parents=True, exist_ok=True)
        salt = os.urandom(32)
        salt_file.write_bytes(salt)
        os.chmod(salt_file, 0o600)
    kdf = PBKDF2HMAC(algorithm=hashes.SHA256(), length=32, salt=salt, iterations=100000)
    return Fernet(base64.urlsafe_b64encode(kdf.derive(password.encode())))

command, password = sys.argv[1], sys.argv[2]
f = fernet(password)
if command == 'encrypt':
    value = sys.argv[3]
    print('encrypted:' + base64.urlsafe_b64encode(f.encrypt(value.encode())).decode())
else:
    value = sys.argv[3][len('encrypted:'):]
    print(f.decrypt(base64.urlsafe_b64decode(value.encode())).decode())
"#;

fn python_era(sb: &Sandbox, command: &str, password: &str, value: &str) -> String {
    let out = std::process::Command::new(components::python())
        .args(["-c", PYTHON_ERA, command, password, value])
        .env("HOME", sb.dir.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "python failed (is `cryptography` in the setup venv?): {}",
        stderr_of(&out)
    );
    stdout_of(&out).trim().to_owned()
}

#[test]
fn a_python_era_encrypted_config_loads_with_its_password_and_migrates() {
    let rt = crate::tokio_rt();
    let fake = rt.block_on(FakeServer::scripted(vec![
        Reply::stream_text(&["py"]),
        Reply::stream_text(&["migrated"]),
    ]));
    let sb = Sandbox::new();
    let sealed = python_era(&sb, "encrypt", "py password", KEY);
    assert!(sealed.starts_with("encrypted:"));
    assert!(sb.dir.path().join(".llf/.salt").exists());
    sb.write_config(json!({
        "llm_endpoint": {"api_base_url": fake.base_url(), "model_name": "fake-model",
                         "default_local_server": null, "max_retries": 0, "api_key": sealed},
        "local_llm_servers": []
    }));

    llf(&sb, Some("py password"))
        .args(["chat", "hello"])
        .assert()
        .success()
        .stdout("py\n");
    assert_eq!(authorization(&fake, 0), format!("Bearer {KEY}"));
    llf(&sb, Some("not the password"))
        .args(["config", "show"])
        .assert()
        .code(78)
        .stderr(
            predicate::str::contains("wrong password for the Python-era encrypted")
                .and(predicate::str::contains("`llm_endpoint.api_key`"))
                .and(predicate::str::contains(".llf/.salt")),
        );
    llf(&sb, Some("py password"))
        .args(["config", "status"])
        .assert()
        .success()
        .stdout(
            predicate::str::contains("by the Python version")
                .and(predicate::str::contains("python-era values (1)")),
        );

    // A secret set before migrating is written the Python way, which Python reads back.
    llf(&sb, Some("py password"))
        .args([
            "config",
            "set",
            "tools.mcp_servers",
            &json!([{"name": "db", "command": "db-mcp", "env": {"DATABASE_URL": DB_URL}}])
                .to_string(),
        ])
        .assert()
        .success();
    let cfg = sb.read_config();
    let url = cfg["tools"]["mcp_servers"][0]["env"]["DATABASE_URL"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(url.starts_with("encrypted:"), "{url}");
    assert_eq!(python_era(&sb, "decrypt", "py password", &url), DB_URL);

    // Migrated: LLF's format, the same passphrase, the endpoint still gets the key.
    llf(&sb, Some("py password"))
        .args(["config", "migrate-secrets"])
        .assert()
        .success()
        .stdout("llm_endpoint.api_key\ntools.mcp_servers[0].env.DATABASE_URL\n");
    let text = config_text(&sb);
    assert!(
        !text.contains("encrypted:") && text.contains("llf-enc:v1:"),
        "{text}"
    );
    assert!(!text.contains(KEY) && !text.contains("db-pass-77"));
    llf(&sb, Some("py password"))
        .args(["chat", "again"])
        .assert()
        .success()
        .stdout("migrated\n");
    assert_eq!(authorization(&fake, 1), format!("Bearer {KEY}"));
}

/// Copies the config and its salt file into `dir` and decrypts the copy there, returning the API
/// key: proof that the pair on disk was whole and matching.
fn decrypt_copy(sb: &Sandbox, dir: &Path, passphrase: &str) -> Option<String> {
    std::fs::create_dir_all(dir).unwrap();
    let config = dir.join("config.json");
    std::fs::copy(config_path(sb), &config).unwrap();
    if salt_path(sb).exists() {
        std::fs::copy(salt_path(sb), dir.join("config.json.salt")).unwrap();
    }
    let ok = llf(sb, Some(passphrase))
        .arg("--config")
        .arg(&config)
        .args(["config", "decrypt"])
        .output()
        .unwrap()
        .status
        .success();
    ok.then(|| {
        crate::read_json(&config)["llm_endpoint"]["api_key"]
            .as_str()
            .unwrap()
            .to_owned()
    })
}

/// `rotate-key` killed with SIGKILL at moments spread over its run: after each kill the config
/// is either the old one (opens with the old passphrase) or the new one (opens with the new),
/// never a mix, and its salt file always opens it.
#[test]
fn rotate_key_killed_at_any_moment_leaves_the_old_or_the_new_config() {
    let sb = Sandbox::new();
    secret_config(&sb, "http://127.0.0.1:9/v1");
    llf(&sb, Some("old"))
        .args(["config", "encrypt"])
        .assert()
        .success();
    let original = (config_text(&sb), std::fs::read(salt_path(&sb)).unwrap());

    let rotate = || {
        let mut cmd = sb.std_llf();
        cmd.env(
            "DBUS_SESSION_BUS_ADDRESS",
            format!("unix:path={}", sb.dir.path().join("no-bus").display()),
        )
        .env("LLF_PASSPHRASE", "old")
        .env("LLF_NEW_PASSPHRASE", "new")
        .args(["config", "rotate-key"])
        .stdout(Stdio::null())
        .stderr(Stdio::null());
        cmd
    };
    // How long a whole rotation takes here, to spread the kills over it.
    let started = Instant::now();
    assert!(rotate().status().unwrap().success());
    let full = started.elapsed();

    let rounds = 12;
    let (mut old, mut new) = (0, 0);
    for round in 0..rounds {
        std::fs::write(config_path(&sb), &original.0).unwrap();
        std::fs::write(salt_path(&sb), &original.1).unwrap();
        // From just after the start to a little past the end, with jitter from the clock.
        let jitter = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .subsec_nanos()
            % 7;
        let jitter = u64::from(jitter);
        let at = full.mul_f64((round as f64 + 0.5) / rounds as f64 * 1.2)
            + Duration::from_millis(jitter);
        let mut child = rotate().spawn().unwrap();
        std::thread::sleep(at);
        let _ = child.kill();
        child.wait().unwrap();

        let text = config_text(&sb);
        let cfg: Value = serde_json::from_str(&text).expect("the config is whole JSON");
        let ids: std::collections::BTreeSet<&str> = [
            cfg["llm_endpoint"]["api_key"].as_str().unwrap(),
            cfg["tools"]["mcp_servers"][0]["env"]["DATABASE_URL"]
                .as_str()
                .unwrap(),
        ]
        .iter()
        .map(|v| v.split(':').nth(2).unwrap())
        .collect();
        assert_eq!(ids.len(), 1, "values of two keys in one file:\n{text}");
        let dir = sb.dir.path().join(format!("round-{round}"));
        if text == original.0 {
            assert_eq!(decrypt_copy(&sb, &dir, "old").as_deref(), Some(KEY));
            old += 1;
        } else {
            assert_eq!(
                decrypt_copy(&sb, &dir, "new").as_deref(),
                Some(KEY),
                "a rewritten config must open with the new passphrase"
            );
            new += 1;
        }
    }
    eprintln!("rotation of {full:?} killed {rounds} times: {old} old, {new} new");
}
