//! `llf config …`

use llf::config::schema::LocalServer;
use llf::config::{ConfigFile, InstalledComponents, KeySource};

use crate::Context;
use crate::cli::ConfigCmd;
use crate::output;

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
