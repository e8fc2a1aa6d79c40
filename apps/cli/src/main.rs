//! `llf`: the command-line frontend. It only parses arguments, calls the `llf-*` crates and prints
//! their results; everything else lives in the crates so it can be embedded.

// A command-line program prints to stdout and stderr by design.
#![allow(clippy::print_stdout, clippy::print_stderr)]

mod approval;
mod cli;
mod commands;
mod logging;
mod output;
mod progress;
mod text;

use std::process::ExitCode;

use clap::Parser;
use llf::Llf;
use llf::config::{ConfigError, ConfigFile, Environment};

use crate::cli::{Cli, Command};

/// Exit status for a bad configuration (sysexits' EX_CONFIG).
const EXIT_CONFIG: u8 = 78;

/// Exit status of a command stopped with Ctrl-C (128 + SIGINT), as shells report it.
const EXIT_INTERRUPTED: u8 = 130;

/// A command stopped by Ctrl-C after saying so; it exits with status 130.
#[derive(Debug)]
pub(crate) struct Interrupted;

impl std::fmt::Display for Interrupted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("interrupted")
    }
}

impl std::error::Error for Interrupted {}

/// What every command receives: the parsed flags, the environment and LLF's application context
/// over the loaded config (or why the config could not be loaded, for the commands that can do
/// without).
pub(crate) struct Context {
    pub(crate) cli_config: Option<std::path::PathBuf>,
    pub(crate) env: Environment,
    pub(crate) llf: Result<Llf, ConfigError>,
}

impl Context {
    /// LLF's application context, or the error that prevented loading the config.
    pub(crate) fn llf(&self) -> anyhow::Result<&Llf> {
        match &self.llf {
            Ok(l) => Ok(l),
            Err(e) => {
                Err(anyhow::Error::msg(e.to_string()).context("the configuration cannot be used"))
            }
        }
    }

    /// The loaded config, or the error that prevented loading it.
    pub(crate) fn config(&self) -> anyhow::Result<&ConfigFile> {
        self.llf().map(Llf::config_file)
    }
}

fn main() -> ExitCode {
    let mut args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    commands::chat::protect_prompt(&mut args);
    let cli = Cli::parse_from(args);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => report(&err),
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    let env = Environment::from_process();
    text::set_no_color(env.no_color);
    let unlock = commands::config::unlock(&cli.command);
    let config = ConfigFile::load_with(cli.config.as_deref(), &env, &unlock);
    let debug_log = match &config {
        Ok(c) => llf::Locations::new(c.config(), c.paths()).debug_log(),
        Err(_) => default_locations(cli.config.as_deref(), &env)
            .map(|l| l.debug_log())
            .unwrap_or_else(|| std::env::temp_dir().join("llf-debug.log")),
    };
    if let Some(file) = logging::init(cli.verbose, cli.quiet, cli.debug, debug_log)? {
        eprintln!("debug log: {}", file.display());
    }
    // `config validate` lists the warnings itself, with the errors.
    let validating = matches!(
        cli.command,
        Command::Config(crate::cli::ConfigCmd::Validate { .. })
    );
    if let (Ok(c), false) = (&config, validating) {
        for w in c.warnings() {
            tracing::warn!(file = %c.path().display(), "{w}");
        }
    }
    let ctx = Context {
        cli_config: cli.config.clone(),
        env,
        llf: config.map(Llf::new),
    };
    let result = match cli.command {
        Command::Config(cmd) => commands::config::run(&ctx, cmd).await,
        Command::Trash(cmd) => commands::trash::run(&ctx, cmd).await,
        Command::Conversation(cmd) => commands::conversation::run(&ctx, cmd).await,
        Command::Template(cmd) => commands::template::run(&ctx, cmd).await,
        Command::Memory(cmd) => commands::memory::run(&ctx, cmd).await,
        Command::Tool(cmd) => commands::tool::run(&ctx, cmd).await,
        Command::Datastore(cmd) => commands::datastore::run(&ctx, cmd).await,
        Command::Audit(args) => commands::audit::run(&ctx, args).await,
        Command::Dev(cmd) => commands::dev::run(&ctx, cmd).await,
        Command::Chat(args) => commands::chat::run(&ctx, args).await,
        Command::Server(cmd) => commands::server::run(&ctx, cmd).await,
        Command::Serve(args) => commands::serve::run(&ctx, args).await,
        Command::Model(cmd) => commands::model::run(&ctx, cmd).await,
        Command::Performance(cmd) => commands::performance::run(&ctx, cmd).await,
        Command::Completions { shell } => commands::completions::run(shell),
        Command::Plugin(cmd) => commands::plugin::run(&ctx, cmd).await,
        Command::Analytics(cmd) => commands::analytics::run(&ctx, cmd).await,
    };
    // Plugins started by a chat get their `on_shutdown` and end with the program; usage events
    // still being written in the background are written before it ends.
    if let Ok(llf) = &ctx.llf {
        llf.shutdown_plugins().await;
        llf.flush_usage().await;
    }
    result
}

/// Where files would go with a default configuration (when the real one cannot be loaded).
fn default_locations(
    explicit: Option<&std::path::Path>,
    env: &Environment,
) -> Option<llf::Locations> {
    let file = ConfigFile::from_value(
        explicit
            .map(ToOwned::to_owned)
            .unwrap_or_else(|| std::path::PathBuf::from("config.json")),
        serde_json::json!({}),
        false,
        env,
    )
    .ok()?;
    Some(llf::Locations::new(file.config(), file.paths()))
}

/// Prints the error chain and picks the exit status. A closed stdout (`llf … | head`) is not an
/// error.
fn report(err: &anyhow::Error) -> ExitCode {
    if err.chain().any(|e| {
        e.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    }) {
        return ExitCode::SUCCESS;
    }
    if err.is::<Interrupted>() {
        return ExitCode::from(EXIT_INTERRUPTED);
    }
    eprintln!("error: {err}");
    for cause in err.chain().skip(1) {
        eprintln!("  caused by: {cause}");
    }
    let config_error = err.chain().any(|e| e.is::<ConfigError>())
        || err.to_string().contains("configuration cannot be used");
    if config_error {
        ExitCode::from(EXIT_CONFIG)
    } else {
        ExitCode::FAILURE
    }
}
