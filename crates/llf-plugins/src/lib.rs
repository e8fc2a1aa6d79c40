//! Plugins for LLF: code that runs at fixed points of a chat turn — before the prompt goes to the
//! model, after it answers, around each tool call, for each message and token, on errors, at
//! start-up and shutdown — and may observe, rewrite, answer in place of the model or the tool,
//! or stop the turn.
//!
//! - [`Plugin`]: the hooks, for plugins compiled into a program; each returns a [`Decision`].
//! - [`PluginHost`]: runs plugins in their configured order; a plugin that fails, panics or runs
//!   out of time is skipped for that call (logged and counted in [`PluginHost::stats`]) unless it
//!   is `required`, which fails the turn.
//! - [`ExternalPlugin`]: a plugin in any language, one long-lived sandboxed process speaking JSON
//!   lines; a Python-era directory (`plugin.json` + `plugin.py` with `PluginClass`) runs
//!   unchanged through LLF's Python runner ([`PYTHON_RUNNER`]).
//! - [`PluginDirectory`]: the installed plugins, one directory each.
//! - [`PluginTools`]: a tool executor whose calls go through the tool hooks.

mod directory;
mod error;
mod external;
mod host;
mod manifest;
mod plugin;
mod tools;

use std::path::Path;
use std::sync::Arc;

pub use directory::{Listing, PluginDirectory};
pub use error::{Fault, PluginError, ProcessProblem, Result};
pub use external::{ExternalPlugin, Launch, PYTHON_RUNNER};
pub use host::{Flow, PluginHost, PluginSettings, PluginStats};
pub use manifest::{Installed, MANIFEST_FILE, Manifest, PYTHON_FILE};
pub use plugin::{Decision, Hook, HookError, HookResult, Plugin};
pub use tools::PluginTools;

/// The enabled plugins of a directory, started and in a host.
#[derive(Debug, Default)]
pub struct Loaded {
    /// The host over them, in their order.
    pub host: PluginHost,
    /// The running processes (to stop them on shutdown).
    pub processes: Vec<Arc<ExternalPlugin>>,
    /// Plugins that did not load, with why (they are left out).
    pub problems: Vec<(String, PluginError)>,
}

/// Starts every enabled plugin of `directory` in `sandbox`, each with its own home under
/// `homes` (`homes/<name>`). A plugin that does not start is left out (see
/// [`Loaded::problems`]) — unless it is `required`, which is an error.
pub async fn load(
    directory: &PluginDirectory,
    sandbox: &llf_tools::sandbox::Sandbox,
    homes: &Path,
) -> Result<Loaded> {
    let listing = directory.list()?;
    let mut loaded = Loaded::default();
    for (dir, error) in listing.problems {
        tracing::warn!(dir = %dir.display(), error = %error, "not a plugin");
        loaded.problems.push((dir.display().to_string(), error));
    }
    for installed in listing.plugins {
        let m = installed.manifest;
        if !m.enabled {
            continue;
        }
        let settings = m.settings();
        let name = m.name.clone();
        let launch = Launch {
            dir: installed.dir,
            home: homes.join(&name),
            manifest: m,
            sandbox: sandbox.clone(),
        };
        match ExternalPlugin::start(launch).await {
            Ok(p) => {
                let p = Arc::new(p);
                loaded.host.add(p.clone(), settings);
                loaded.processes.push(p);
            }
            Err(e) if settings.required => return Err(e),
            Err(e) => {
                tracing::warn!(plugin = %name, error = %e, "plugin left out");
                loaded.problems.push((name, e));
            }
        }
    }
    Ok(loaded)
}
