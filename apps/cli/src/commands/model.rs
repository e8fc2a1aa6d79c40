//! `llf model …`: list, inspect, download and delete GGUF models, and the setup wizard.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Subcommand, ValueEnum};
use indicatif::{ProgressBar, ProgressStyle};
use llf::config::ConfigFile;
use llf::runtime::models::{ModelHub, ModelStore, read_info};

use crate::Context;
use crate::output;

#[derive(Debug, Subcommand)]
pub(crate) enum ModelCmd {
    /// List installed models (the models directory and every configured model file).
    List {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Show what a model's GGUF header says: architecture, size, quantization, context length.
    Info {
        /// Model name (from `llf model list`) or path to a .gguf file.
        model: String,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Download a GGUF model from the Hugging Face hub (models.hub_url), resuming if interrupted.
    ///
    /// Example: llf model download bartowski/SmolLM2-135M-Instruct-GGUF --quant Q4_K_M
    Download(DownloadArgs),
    /// Move a model to the trash (`llf trash restore` brings it back).
    Delete {
        /// Model name or path.
        model: String,
        /// Delete even if a server is configured with it.
        #[arg(long)]
        force: bool,
    },
    /// Guided setup: pick a provider and model, download it, update config.json, test it.
    ///
    /// Every question has a flag, so it also runs non-interactively, e.g.
    /// `llf model auto-setup --provider local --model-path ~/models/smol.gguf`.
    AutoSetup(AutoSetupArgs),
}

#[derive(Debug, Args)]
pub(crate) struct DownloadArgs {
    /// Repository id, `owner/name`.
    repo: String,
    /// Pick the file whose name contains this quantization, e.g. Q4_K_M.
    #[arg(long)]
    quant: Option<String>,
    /// Pick this exact file.
    #[arg(long, conflicts_with = "quant")]
    file: Option<String>,
    /// Also make it the model of the default server.
    #[arg(long)]
    use_it: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum Provider {
    /// A GGUF model run by a local llama-server.
    Local,
    /// An OpenAI-compatible remote endpoint.
    Remote,
}

#[derive(Debug, Args)]
pub(crate) struct AutoSetupArgs {
    /// Where the model runs.
    #[arg(long, value_enum)]
    provider: Option<Provider>,
    /// (local) Use this GGUF file instead of downloading.
    #[arg(long, value_name = "PATH", conflicts_with = "repo")]
    model_path: Option<PathBuf>,
    /// (local) Download from this repository.
    #[arg(long)]
    repo: Option<String>,
    /// (local) Quantization to pick from the repository.
    #[arg(long)]
    quant: Option<String>,
    /// (remote) Base URL, e.g. `https://api.openai.com/v1`.
    #[arg(long)]
    api_base: Option<String>,
    /// (remote) API key (prefer the LLF_API_KEY environment variable).
    #[arg(long)]
    api_key: Option<String>,
    /// (remote) Model name.
    #[arg(long)]
    model_name: Option<String>,
    /// Skip the test inference.
    #[arg(long)]
    no_test: bool,
}

pub(crate) async fn run(ctx: &Context, cmd: ModelCmd) -> anyhow::Result<()> {
    let file = ctx.config()?;
    let store = ModelStore::new(file.config(), file.paths());
    match cmd {
        ModelCmd::List { json } => {
            let list = store.list()?;
            if json {
                return output::json(&serde_json::to_value(&list)?);
            }
            if list.is_empty() {
                eprintln!(
                    "no models in {}; get one with `llf model download` or `llf model auto-setup`",
                    store.dir().display()
                );
                return Ok(());
            }
            output::line(format!(
                "{:<40} {:>10}  {:<12} PATH",
                "NAME", "SIZE", "USED BY"
            ))?;
            for m in list {
                output::line(format!(
                    "{:<40} {:>10}  {:<12} {}",
                    m.name,
                    output::bytes(m.size),
                    m.used_by.join(","),
                    m.path.display()
                ))?;
            }
        }
        ModelCmd::Info { model, json } => {
            let m = store.find(&model)?;
            let info = read_info(&m.path)?;
            if json {
                let mut v = serde_json::to_value(&info)?;
                v["path"] = serde_json::json!(m.path);
                v["size"] = m.size.into();
                return output::json(&v);
            }
            let opt = |v: &Option<String>| v.clone().unwrap_or_else(|| "?".into());
            output::line(format!(
                "name:           {}",
                info.name.clone().unwrap_or(m.name.clone())
            ))?;
            output::line(format!(
                "file:           {} ({})",
                m.path.display(),
                output::bytes(m.size)
            ))?;
            output::line(format!("architecture:   {}", opt(&info.architecture)))?;
            output::line(format!("size label:     {}", opt(&info.size_label)))?;
            output::line(format!("quantization:   {}", opt(&info.quantization)))?;
            output::line(format!(
                "context length: {}",
                info.context_length
                    .map(|c| c.to_string())
                    .unwrap_or("?".into())
            ))?;
            output::line(format!(
                "layers:         {}",
                info.layers.map(|c| c.to_string()).unwrap_or("?".into())
            ))?;
            output::line(format!(
                "chat template:  {}",
                if info.has_chat_template { "yes" } else { "no" }
            ))?;
            if !m.used_by.is_empty() {
                output::line(format!("used by:        {}", m.used_by.join(", ")))?;
            }
        }
        ModelCmd::Download(args) => {
            let path = download(
                file,
                &store,
                &args.repo,
                args.file.as_deref(),
                args.quant.as_deref(),
            )
            .await?;
            output::line(path.display())?;
            if args.use_it {
                let mut f = file.clone();
                use_model(&mut f, &path)?;
            } else {
                eprintln!(
                    "use it with: llf model auto-setup --provider local --model-path {}",
                    path.display()
                );
            }
        }
        ModelCmd::Delete { model, force } => {
            let item = store.delete(&model, force).await?;
            eprintln!(
                "moved {} to the trash (id {}); `llf trash restore {}` brings it back",
                item.name, item.id, item.id
            );
        }
        ModelCmd::AutoSetup(args) => auto_setup(ctx, file, &store, args).await?,
    }
    Ok(())
}

async fn download(
    file: &ConfigFile,
    store: &ModelStore,
    repo: &str,
    name: Option<&str>,
    quant: Option<&str>,
) -> anyhow::Result<PathBuf> {
    let hub = ModelHub::new(&file.config().models.hub_url);
    let files = hub.gguf_files(repo).await?;
    let chosen = ModelHub::choose(&files, name, quant)?.clone();
    eprintln!(
        "downloading {} ({}) from {repo}",
        chosen.path,
        output::bytes(chosen.size)
    );
    let bar = if std::io::stderr().is_terminal() {
        ProgressBar::new(chosen.size)
    } else {
        ProgressBar::hidden()
    };
    bar.set_style(
        ProgressStyle::with_template("{bar:40} {bytes}/{total_bytes} {bytes_per_sec} ETA {eta}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let result = hub
        .download(repo, &chosen, &store.repo_dir(repo), |p| {
            bar.set_position(p.downloaded)
        })
        .await;
    bar.finish_and_clear();
    let path = result?;
    eprintln!("saved {} (size and sha256 verified)", path.display());
    Ok(path)
}

/// Points the default local server (creating one when none exists) at `model`.
fn use_model(file: &mut ConfigFile, model: &std::path::Path) -> anyhow::Result<()> {
    let config = file.config().clone();
    let index = match config.llm_endpoint.default_local_server.as_deref() {
        Some(name) => config.local_llm_servers.iter().position(|s| s.name == name),
        None => None,
    }
    .or(if config.local_llm_servers.is_empty() {
        None
    } else {
        Some(0)
    });
    let index = match index {
        Some(i) => i,
        None => {
            file.set("local_llm_servers[0].name", "\"default\"")?;
            0
        }
    };
    let name = file.config().local_llm_servers[index].name.clone();
    file.set(
        &format!("local_llm_servers[{index}].model_path"),
        &serde_json::to_string(&model)?,
    )?;
    file.set(
        "llm_endpoint.default_local_server",
        &serde_json::to_string(&name)?,
    )?;
    file.save()?;
    eprintln!(
        "server `{name}` now uses {} and is the default (saved {})",
        model.display(),
        file.path().display()
    );
    Ok(())
}

fn interactive() -> bool {
    std::io::stdin().is_terminal() && std::io::stderr().is_terminal()
}

fn ask(question: &str, default: Option<&str>) -> anyhow::Result<String> {
    let mut input = dialoguer::Input::<String>::new().with_prompt(question);
    if let Some(d) = default {
        input = input.default(d.to_owned());
    }
    Ok(input.interact_text()?)
}

async fn auto_setup(
    ctx: &Context,
    file: &ConfigFile,
    store: &ModelStore,
    args: AutoSetupArgs,
) -> anyhow::Result<()> {
    let mut file = file.clone();
    let provider = match args.provider {
        Some(p) => p,
        None if interactive() => {
            let choice = dialoguer::Select::new()
                .with_prompt("Where should the model run?")
                .items([
                    "local (llama-server on this machine)",
                    "remote (OpenAI-compatible API)",
                ])
                .default(0)
                .interact()?;
            if choice == 0 {
                Provider::Local
            } else {
                Provider::Remote
            }
        }
        None => anyhow::bail!("pass --provider local|remote when not on a terminal"),
    };
    match provider {
        Provider::Local => {
            let model = match (&args.model_path, &args.repo) {
                (Some(p), _) => {
                    read_info(p).map_err(|e| anyhow::anyhow!("{e}"))?;
                    p.clone()
                }
                (None, Some(repo)) => {
                    download(&file, store, repo, None, args.quant.as_deref()).await?
                }
                (None, None) if interactive() => {
                    let repo = ask(
                        "Hugging Face repository (owner/name)",
                        Some("bartowski/SmolLM2-135M-Instruct-GGUF"),
                    )?;
                    let quant = ask("Quantization", Some("Q4_K_M"))?;
                    download(&file, store, &repo, None, Some(&quant)).await?
                }
                (None, None) => anyhow::bail!(
                    "pass --model-path FILE or --repo OWNER/NAME when not on a terminal"
                ),
            };
            use_model(&mut file, &model)?;
        }
        Provider::Remote => {
            let base = match args.api_base {
                Some(b) => b,
                None if interactive() => ask("API base URL", Some("https://api.openai.com/v1"))?,
                None => anyhow::bail!("pass --api-base URL when not on a terminal"),
            };
            let name = match args.model_name {
                Some(n) => n,
                None if interactive() => ask("Model name", Some("gpt-4o-mini"))?,
                None => anyhow::bail!("pass --model-name NAME when not on a terminal"),
            };
            let key = match args.api_key {
                Some(k) => Some(k),
                None if ctx.env.llf_api_key.is_some() || ctx.env.openai_api_key.is_some() => None,
                None if interactive() => Some(
                    dialoguer::Password::new()
                        .with_prompt("API key (stored in config.json, mode 0600)")
                        .interact()?,
                ),
                None => None,
            };
            file.set("llm_endpoint.api_base_url", &serde_json::to_string(&base)?)?;
            file.set("llm_endpoint.model_name", &serde_json::to_string(&name)?)?;
            file.set("llm_endpoint.default_local_server", "null")?;
            if let Some(k) = key {
                file.set("llm_endpoint.api_key", &serde_json::to_string(&k)?)?;
            }
            file.save()?;
            eprintln!(
                "llm_endpoint now points at {base} with model {name} (saved {})",
                file.path().display()
            );
        }
    }
    // Reload so the environment (API key overrides) applies.
    let file = ConfigFile::load(Some(file.path()), &ctx.env)?;
    if !args.no_test {
        eprintln!("testing with one short request…");
        let params = llf::config::schema::InferenceParams {
            max_tokens: Some(16),
            ..file.config().inference_params.clone()
        };
        let llf = llf::Llf::new(file);
        let options = llf::chat::ChatOptions::new()
            .save(false)
            .memory(false)
            .datastores(Vec::<String>::new())
            .stream(false)
            .params(params);
        let chat = crate::commands::chat::open(&llf, options).await?;
        crate::commands::chat::connect(&chat, None).await?;
        let answer = tokio::time::timeout(
            Duration::from_secs(300),
            chat.send("Reply with the word OK.").finish(),
        )
        .await
        .map_err(|_| anyhow::anyhow!("the test request took longer than 5 minutes"))??;
        eprintln!("model answered: {}", answer.answer.trim());
    }
    eprintln!(
        "done. Next: `llf chat` to talk, `llf server status` to see the server, `llf config show` for settings."
    );
    Ok(())
}
