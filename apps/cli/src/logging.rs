//! Installs the tracing subscriber: stderr at the level -v/-q ask for, and with --debug a
//! timestamped log file as well.

use std::path::PathBuf;

use tracing_subscriber::prelude::*;
use tracing_subscriber::{EnvFilter, fmt};

/// Sets up logging; with `debug`, also to the file `debug_log` (returned).
pub(crate) fn init(
    verbose: u8,
    quiet: u8,
    debug: bool,
    debug_log: PathBuf,
) -> anyhow::Result<Option<PathBuf>> {
    let level = match (debug, quiet, verbose) {
        (true, _, _) => "warn,llf=debug",
        (_, q, _) if q > 0 => "error",
        (_, _, 0) => "warn",
        (_, _, 1) => "warn,llf=info",
        _ => "warn,llf=debug",
    };
    let filter = || EnvFilter::try_from_env("LLF_LOG").unwrap_or_else(|_| EnvFilter::new(level));
    let stderr = fmt::layer()
        .with_writer(std::io::stderr)
        .with_ansi(crate::text::color(std::io::IsTerminal::is_terminal(
            &std::io::stderr(),
        )))
        .with_target(debug)
        .without_time();
    if !debug {
        tracing_subscriber::registry()
            .with(stderr.with_filter(filter()))
            .init();
        return Ok(None);
    }
    let path = debug_log;
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let file = std::fs::File::create(&path)?;
    let file_layer = fmt::layer()
        .with_writer(std::sync::Mutex::new(file))
        .with_ansi(false);
    tracing_subscriber::registry()
        .with(stderr.with_filter(filter()))
        .with(file_layer.with_filter(filter()))
        .init();
    tracing::debug!(file = %path.display(), "debug log opened");
    Ok(Some(path))
}
