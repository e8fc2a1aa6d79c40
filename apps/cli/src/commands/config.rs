//! `llf config …`

use std::io::IsTerminal;

use llf::config::schema::LocalServer;
use llf::config::secrets::{KeyInfo, KeyKind};
use llf::config::{
    ConfigFile, InstalledComponents, KeyChoice, KeySource, PassphrasePurpose, PassphraseRequest,
    Secret, SecretsReport, SecretsStatus, Unlock,
};

use crate::Context;
use crate::cli::{Command, ConfigCmd};
use crate::output;

/// How the CLI unlocks an encrypted config: the OS keyring, `LLF_PASSPHRASE`, then a prompt on
/// the terminal (not for commands that do not use the config, and never when stdin or stderr is
/// not a terminal: a script gets an error that names LLF_PASSPHRASE instead of a hang).
pub(crate) fn unlock(command: &Command) -> Unlock {
    let needs_config = !matches!(
        command,
        Command::Completions { .. }
            | Command::Config(
                ConfigCmd::Init { .. }
                    | ConfigCmd::Path { all: false }
                    | ConfigCmd::Status { .. }
                    | ConfigCmd::Schema
            )
    );
    let terminal = std::io::stdin().is_terminal() && std::io::stderr().is_terminal();
    if needs_config && terminal {
        Unlock::new().with_prompt(ask_passphrase)
    } else {
        Unlock::new()
    }
}

fn ask_passphrase(request: &PassphraseRequest) -> Option<Secret> {
    let file = request.config.display();
    let prompt = match request.purpose {
        PassphrasePurpose::PythonEra => format!("Password of the Python version for {file}"),
        PassphrasePurpose::New => format!("New passphrase for {file}"),
        _ => format!("Passphrase for {file}"),
    };
    if request.retry {
        eprintln!("That passphrase does not decrypt the config; try again.");
    }
    let mut input = dialoguer::Password::new().with_prompt(prompt);
    if request.purpose == PassphrasePurpose::New {
        input = input.with_confirmation("Again", "the two passphrases differ; try again");
    }
    // Ctrl-C or a closed terminal: no passphrase, and the caller says how else to give one.
    input.interact().ok().map(Secret::new)
}

pub(crate) async fn run(ctx: &Context, cmd: ConfigCmd) -> anyhow::Result<()> {
    match cmd {
        ConfigCmd::Init {
            force,
            llama_server,
            model,
            onnxruntime,
            embed_model,
        } => {
            let components = InstalledComponents {
                llama_server,
                model,
                onnxruntime,
                embed_model,
            };
            let file =
                ConfigFile::init_with(ctx.cli_config.as_deref(), &ctx.env, force, components)?;
            eprintln!("wrote {}", file.path().display());
            if let Some(server) = file.config().server(None) {
                eprintln!("  llama-server: {}", server.llama_server_path.display());
                match server.model_file() {
                    Some(m) => eprintln!("  model:        {}", m.display()),
                    None => eprintln!(
                        "  model:        none yet: pass --model PATH, or set local_llm_servers[0].model_path"
                    ),
                }
                let default_port = LocalServer::default().port;
                if server.port != default_port {
                    eprintln!(
                        "  port:         {} (port {default_port} is already in use)",
                        server.port
                    );
                }
            }
            output::line(file.path().display())?;
        }
        ConfigCmd::Show => {
            let file = ctx.config()?;
            if !file.exists() {
                eprintln!(
                    "note: {} does not exist; showing defaults (create it with `llf config init`)",
                    file.path().display()
                );
            }
            match file.key_source() {
                Some(KeySource::Env(var)) => {
                    eprintln!("note: llm_endpoint.api_key comes from ${var}")
                }
                Some(KeySource::File) | None => {}
            }
            output::json(&file.redacted())?;
        }
        ConfigCmd::Schema => output::json(&llf::config::json_schema())?,
        ConfigCmd::Path { all } => {
            if all {
                let file = ctx.config()?;
                let paths = serde_json::to_value(file.paths())?;
                if let Some(map) = paths.as_object() {
                    for (k, v) in map {
                        output::line(format!("{k:<12} {}", v.as_str().unwrap_or_default()))?;
                    }
                }
            } else {
                // The path of a file that does not exist yet is a fine answer here.
                output::line(ConfigFile::locate(ctx.cli_config.as_deref(), &ctx.env)?.display())?;
            }
        }
        ConfigCmd::Validate { file } => {
            let loaded = match &file {
                Some(path) => ConfigFile::load(Some(path), &ctx.env)?,
                None => match &ctx.llf {
                    Ok(l) => l.config_file().clone(),
                    Err(_) => ConfigFile::load(ctx.cli_config.as_deref(), &ctx.env)?,
                },
            };
            if !loaded.exists() {
                anyhow::bail!(
                    "{} does not exist (create it with `llf config init`)",
                    loaded.path().display()
                );
            }
            for w in loaded.warnings() {
                eprintln!("warning: {w}");
            }
            output::line(format!("{} is valid", loaded.path().display()))?;
        }
        ConfigCmd::Get { key } => {
            let value = ctx.config()?.get(&key)?;
            match value {
                serde_json::Value::String(s) => output::line(s)?,
                other => output::line(serde_json::to_string_pretty(&other)?)?,
            }
        }
        ConfigCmd::Encrypt { passphrase } => {
            let mut file = ctx.config()?.clone();
            let report = file.encrypt(key_choice(passphrase))?;
            print_report(&file, &report, "encrypted")?;
        }
        ConfigCmd::MigrateSecrets { passphrase } => {
            let mut file = ctx.config()?.clone();
            let report = file.migrate_secrets(key_choice(passphrase))?;
            if report.changed.is_empty() {
                eprintln!(
                    "{} has no values encrypted by the Python version",
                    file.path().display()
                );
            } else {
                print_report(&file, &report, "re-encrypted")?;
            }
            let plain = file.secrets_status().plaintext;
            if !plain.is_empty() {
                eprintln!(
                    "note: {} secrets are in plain text ({}); `llf config encrypt` encrypts them",
                    plain.len(),
                    plain.join(", ")
                );
            }
        }
        ConfigCmd::RotateKey { passphrase } => {
            let mut file = ctx.config()?.clone();
            let report = file.rotate_key(key_choice(passphrase))?;
            print_report(&file, &report, "re-encrypted")?;
        }
        ConfigCmd::Decrypt => {
            let mut file = ctx.config()?.clone();
            let report = file.decrypt()?;
            print_report(&file, &report, "decrypted")?;
            if !report.changed.is_empty() {
                eprintln!("warning: these secrets are now stored in plain text");
            }
        }
        ConfigCmd::Status { json } => {
            // Read as it is on disk: telling whether a config is encrypted needs no passphrase.
            let path = ConfigFile::locate(ctx.cli_config.as_deref(), &ctx.env)?;
            let status = SecretsStatus::read(&path)?;
            if json {
                let mut value = serde_json::to_value(&status)?;
                value["config"] = serde_json::json!(path);
                value["is_encrypted"] = status.is_encrypted().into();
                output::json(&value)?;
            } else {
                print_status(&path, &status)?;
            }
        }
        ConfigCmd::Set { key, value } => {
            let mut file = ctx.config()?.clone();
            file.set(&key, &value)?;
            file.save()?;
            // A key set to null is unset and has no value to show.
            match file.get(&key) {
                Ok(shown) => eprintln!("set {key} = {shown} in {}", file.path().display()),
                Err(_) => eprintln!("unset {key} in {}", file.path().display()),
            }
        }
    }
    Ok(())
}

fn key_choice(passphrase: bool) -> KeyChoice {
    if passphrase {
        KeyChoice::Passphrase
    } else {
        KeyChoice::Auto
    }
}

fn describe(key: &KeyInfo) -> String {
    match key.kind {
        KeyKind::Keyring => format!("key {} in the OS keyring", key.id),
        KeyKind::Passphrase => format!("key {} from a passphrase (Argon2id)", key.id),
        _ => format!("key {}", key.id),
    }
}

/// What an encrypt, rotate, migrate or decrypt did: a summary on stderr, the key paths on stdout.
fn print_report(file: &ConfigFile, report: &SecretsReport, verb: &str) -> anyhow::Result<()> {
    if let Some(why) = &report.keyring_unavailable {
        eprintln!("note: no OS keyring is available ({why}); the key comes from your passphrase");
    }
    let with = report
        .key
        .as_ref()
        .map(|k| format!(" with {}", describe(k)))
        .unwrap_or_default();
    let n = report.changed.len();
    let values = if n == 1 { "value" } else { "values" };
    eprintln!("{verb} {n} {values} in {}{with}", file.path().display());
    if report
        .key
        .as_ref()
        .is_some_and(|k| k.kind == KeyKind::Passphrase)
    {
        eprintln!(
            "  salt file: {} (keep it with the config: without it the values cannot be decrypted)",
            report.salt_file.display()
        );
    }
    for key in &report.changed {
        output::line(key)?;
    }
    Ok(())
}

fn print_status(path: &std::path::Path, status: &SecretsStatus) -> anyhow::Result<()> {
    output::line(format!("config:      {}", path.display()))?;
    let state = match (&status.current, status.python_era.is_empty()) {
        (Some(key), _) => format!("yes, {}", describe(key)),
        (None, false) => "yes, by the Python version (`llf config migrate-secrets`)".to_owned(),
        (None, true) => "no (`llf config encrypt`)".to_owned(),
    };
    output::line(format!("encrypted:   {state}"))?;
    if !status.keys.is_empty() {
        output::line(format!("salt file:   {}", status.salt_file.display()))?;
    }
    for (label, keys) in [
        ("encrypted values", &status.encrypted),
        ("python-era values", &status.python_era),
        ("plain-text secrets", &status.plaintext),
    ] {
        if !keys.is_empty() {
            output::line(format!("{label} ({}):", keys.len()))?;
            for key in keys {
                output::line(format!("  {key}"))?;
            }
        }
    }
    Ok(())
}
