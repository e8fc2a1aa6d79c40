//! `llf plugin …`: the installed plugins.

use std::path::PathBuf;

use clap::Subcommand;
use llf::plugins::Installed;

use crate::Context;
use crate::output;

/// `llf plugin` subcommands.
#[derive(Debug, Subcommand)]
pub(crate) enum PluginCmd {
    /// List the installed plugins (and directories that are not valid plugins).
    List {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Show a plugin: its plugin.json, and the hooks it implements (its process is started once
    /// to ask).
    Info {
        /// The plugin's name.
        name: String,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Install a plugin directory (plugin.json + plugin.py, or a `command`): it is copied in.
    Install {
        /// The plugin directory.
        dir: PathBuf,
    },
    /// Turn a plugin on: chats run it.
    Enable {
        /// The plugin's name.
        name: String,
    },
    /// Turn a plugin off (it stays installed).
    Disable {
        /// The plugin's name.
        name: String,
    },
    /// Start the enabled plugins as a chat would and say which started. (Running chats pick up
    /// changes to the plugins directory by themselves.)
    Reload,
    /// Remove a plugin (to the trash: `llf trash restore ID` brings it back).
    Remove {
        /// The plugin's name.
        name: String,
    },
}

fn summary(p: &Installed) -> serde_json::Value {
    let m = &p.manifest;
    serde_json::json!({
        "name": m.name,
        "version": m.version,
        "enabled": m.enabled,
        "description": m.description,
        "author": m.author,
        "order": m.order,
        "required": m.required,
        "timeout_ms": m.settings().timeout.as_millis() as u64,
        "network": m.network,
        "command": m.command,
        "config": m.config,
        "dir": p.dir,
    })
}

pub(crate) async fn run(ctx: &Context, cmd: PluginCmd) -> anyhow::Result<()> {
    let llf = ctx.llf()?;
    match cmd {
        PluginCmd::List { json } => {
            let listing = llf.plugin_listing()?;
            if json {
                let plugins: Vec<_> = listing.plugins.iter().map(summary).collect();
                let problems: Vec<_> = listing
                    .problems
                    .iter()
                    .map(|(dir, e)| serde_json::json!({"dir": dir, "error": e.to_string()}))
                    .collect();
                return output::json(
                    &serde_json::json!({"plugins": plugins, "problems": problems}),
                );
            }
            if listing.plugins.is_empty() && listing.problems.is_empty() {
                output::line(format!(
                    "No plugins installed (in {}).",
                    llf.locations().plugins().display()
                ))?;
            }
            for p in &listing.plugins {
                let m = &p.manifest;
                let state = if m.enabled { "enabled" } else { "disabled" };
                output::line(format!("{} {} ({state})", m.name, m.version))?;
                if !m.description.is_empty() {
                    output::line(format!("  {}", m.description))?;
                }
            }
            for (dir, e) in &listing.problems {
                output::line(format!("not a plugin: {}: {e}", dir.display()))?;
            }
        }
        PluginCmd::Info { name, json } => {
            let p = llf.plugin(&name)?;
            let probe = llf.probe_plugin(&name).await;
            if json {
                let mut v = summary(&p);
                match &probe {
                    Ok(probe) => {
                        v["hooks"] = serde_json::json!(
                            probe.hooks.iter().map(|h| h.as_str()).collect::<Vec<_>>()
                        );
                    }
                    Err(e) => v["load_error"] = serde_json::json!(e.to_string()),
                }
                return output::json(&v);
            }
            let m = &p.manifest;
            output::line(format!("{} {}", m.name, m.version))?;
            if !m.description.is_empty() {
                output::line(format!("  {}", m.description))?;
            }
            output::line(format!("  enabled:  {}", m.enabled))?;
            output::line(format!("  dir:      {}", p.dir.display()))?;
            output::line(format!(
                "  runs:     {}",
                if m.command.is_empty() {
                    "plugin.py (LLF's Python runner)".to_owned()
                } else {
                    m.command.join(" ")
                }
            ))?;
            output::line(format!(
                "  order {}, {}, {} ms per hook, network {}",
                m.order,
                if m.required { "required" } else { "optional" },
                m.settings().timeout.as_millis(),
                if m.network { "allowed" } else { "off" }
            ))?;
            match probe {
                Ok(probe) => {
                    let hooks: Vec<&str> = probe.hooks.iter().map(|h| h.as_str()).collect();
                    output::line(format!("  hooks:    {}", hooks.join(", ")))?;
                }
                Err(e) => output::line(format!("  does not load: {e}"))?,
            }
        }
        PluginCmd::Install { dir } => {
            let p = llf.install_plugin(&dir)?;
            output::line(format!(
                "Installed plugin {} {} in {}{}",
                p.manifest.name,
                p.manifest.version,
                p.dir.display(),
                if p.manifest.enabled {
                    ""
                } else {
                    " (disabled)"
                }
            ))?;
        }
        PluginCmd::Enable { name } => {
            let p = llf.enable_plugin(&name, true)?;
            output::line(format!("Enabled plugin {}", p.manifest.name))?;
        }
        PluginCmd::Disable { name } => {
            let p = llf.enable_plugin(&name, false)?;
            output::line(format!("Disabled plugin {}", p.manifest.name))?;
        }
        PluginCmd::Reload => {
            let running = llf.plugins().await?.names();
            for p in llf.plugin_listing()?.plugins {
                let name = &p.manifest.name;
                let state = if !p.manifest.enabled {
                    "disabled"
                } else if running.contains(name) {
                    "started"
                } else {
                    "did not start (see the log, -v)"
                };
                output::line(format!("{name}: {state}"))?;
            }
        }
        PluginCmd::Remove { name } => {
            let item = llf.remove_plugin(&name).await?;
            output::line(format!(
                "Moved plugin {name} to the trash (restore with: llf trash restore {})",
                item.id
            ))?;
        }
    }
    Ok(())
}
