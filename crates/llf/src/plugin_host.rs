//! Plugins wired to the configuration: the installed ones (under [`Locations::plugins`], each
//! process in the tool sandbox with its home under [`Locations::plugin_homes`]), started once
//! per [`Llf`] and shared by every chat; installing, enabling and removing them.
//!
//! [`Locations::plugins`]: crate::Locations::plugins
//! [`Locations::plugin_homes`]: crate::Locations::plugin_homes

use std::path::Path;
use std::sync::Arc;

use llf_core::trash::ItemType;
use llf_plugins::{ExternalPlugin, Installed, Listing, PluginDirectory, PluginHost};

use crate::{Llf, Result};

/// How often the plugin directory is checked for changes (hot reload).
const WATCH_EVERY: std::time::Duration = std::time::Duration::from_secs(1);

/// The installed plugins, running, and what their directory looked like when they started.
pub(crate) struct Running {
    host: std::sync::RwLock<PluginHost>,
    active: tokio::sync::Mutex<Active>,
}

struct Active {
    processes: Vec<Arc<ExternalPlugin>>,
    fingerprint: Fingerprint,
    stopped: bool,
}

/// Every file of every plugin directory with its size and modification time: a change to any
/// of them (an edit, a new or removed plugin, `enabled` switched) is a reload.
type Fingerprint = Vec<(std::path::PathBuf, u64, Option<std::time::SystemTime>)>;

fn fingerprint(root: &Path) -> Fingerprint {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir(root) else {
        return out;
    };
    for entry in entries.flatten() {
        let dir = entry.path();
        if entry.file_name().to_string_lossy().starts_with('.') || !dir.is_dir() {
            continue;
        }
        let Ok(files) = std::fs::read_dir(&dir) else {
            continue;
        };
        for file in files.flatten() {
            if let Ok(m) = file.metadata()
                && m.is_file()
            {
                out.push((file.path(), m.len(), m.modified().ok()));
            }
        }
    }
    out.sort();
    out
}

impl Llf {
    /// The plugin directory.
    pub fn plugin_directory(&self) -> PluginDirectory {
        PluginDirectory::new(self.locations().plugins())
    }

    /// The installed plugins and the directories that are not valid plugins.
    pub fn plugin_listing(&self) -> Result<Listing> {
        Ok(self.plugin_directory().list()?)
    }

    /// The installed plugin `name`.
    pub fn plugin(&self, name: &str) -> Result<Installed> {
        Ok(self.plugin_directory().get(name)?)
    }

    /// The enabled installed plugins, started on first use (their `on_startup` called) and
    /// shared by every chat of this context. A plugin that does not start is left out with a
    /// warning in the log, unless it is `required`.
    ///
    /// From then on the plugin directory is watched: editing, adding, removing, enabling or
    /// disabling a plugin reloads them all ([`Llf::reload_plugins`]) within about a second, and
    /// open chats use the new set from their next turn.
    pub async fn plugins(&self) -> Result<PluginHost> {
        let running = self
            .inner()
            .plugins
            .get_or_try_init(|| async {
                let print = fingerprint(&self.locations().plugins());
                let (host, processes) = self.start_plugins().await?;
                self.watch_plugins();
                Ok::<_, crate::Error>(Running {
                    host: std::sync::RwLock::new(host),
                    active: tokio::sync::Mutex::new(Active {
                        processes,
                        fingerprint: print,
                        stopped: false,
                    }),
                })
            })
            .await?;
        Ok(running
            .host
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone())
    }

    async fn start_plugins(&self) -> Result<(PluginHost, Vec<Arc<ExternalPlugin>>)> {
        let loaded = llf_plugins::load(
            &self.plugin_directory(),
            &self.sandbox(),
            &self.locations().plugin_homes(),
        )
        .await?;
        loaded.host.startup().await?;
        Ok((loaded.host, loaded.processes))
    }

    /// Stops the running plugins and starts the installed ones again (as they are on disk
    /// now). Open chats use them from their next turn. Nothing happens before the plugins were
    /// first started. When the new set fails (a required plugin that does not start), the
    /// chats go on without installed plugins and the error is returned.
    pub async fn reload_plugins(&self) -> Result<Vec<String>> {
        let Some(running) = self.inner().plugins.get() else {
            return Ok(Vec::new());
        };
        let mut active = running.active.lock().await;
        if active.stopped {
            return Ok(Vec::new());
        }
        active.fingerprint = fingerprint(&self.locations().plugins());
        let old = running
            .host
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        old.shutdown().await;
        for p in active.processes.drain(..) {
            p.stop().await;
        }
        let started = self.start_plugins().await;
        let (host, processes) = match started {
            Ok(new) => new,
            Err(e) => {
                *running.host.write().unwrap_or_else(|p| p.into_inner()) = PluginHost::new();
                return Err(e);
            }
        };
        let names = host.names();
        *running.host.write().unwrap_or_else(|p| p.into_inner()) = host;
        active.processes = processes;
        tracing::info!(plugins = ?names, "plugins reloaded");
        Ok(names)
    }

    /// Checks the plugin directory every second while this context lives, and reloads the
    /// plugins when it changed.
    fn watch_plugins(&self) {
        let weak = self.downgrade();
        let root = self.locations().plugins();
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(WATCH_EVERY).await;
                let Some(llf) = Llf::upgrade(&weak) else {
                    break;
                };
                let Some(running) = llf.inner().plugins.get() else {
                    continue;
                };
                let changed = {
                    let active = running.active.lock().await;
                    if active.stopped {
                        break;
                    }
                    let root = root.clone();
                    let now = tokio::task::spawn_blocking(move || fingerprint(&root))
                        .await
                        .unwrap_or_default();
                    now != active.fingerprint
                };
                if changed && let Err(e) = llf.reload_plugins().await {
                    tracing::warn!(error = %e, "plugins did not reload");
                }
            }
        });
    }

    /// Ends the installed plugins, if they were started: their `on_shutdown`, then their
    /// processes; the directory is no longer watched. Call it when the program ends.
    pub async fn shutdown_plugins(&self) {
        if let Some(running) = self.inner().plugins.get() {
            let mut active = running.active.lock().await;
            if active.stopped {
                return;
            }
            active.stopped = true;
            let host = running
                .host
                .read()
                .unwrap_or_else(|p| p.into_inner())
                .clone();
            host.shutdown().await;
            for p in active.processes.drain(..) {
                p.stop().await;
            }
        }
    }

    /// Installs the plugin directory `source` (a copy, named for the plugin). Chats of contexts
    /// opened from now on load it when it is enabled.
    pub fn install_plugin(&self, source: &Path) -> Result<Installed> {
        Ok(self.plugin_directory().install(source)?)
    }

    /// Turns plugin `name` on or off (its `plugin.json`'s `enabled`).
    pub fn enable_plugin(&self, name: &str, enabled: bool) -> Result<Installed> {
        Ok(self.plugin_directory().set_enabled(name, enabled)?)
    }

    /// Moves plugin `name`'s directory to the trash (restorable with the trash's `restore`).
    pub async fn remove_plugin(&self, name: &str) -> Result<llf_core::trash::TrashItem> {
        let plugin = self.plugin(name)?;
        let trash = self.file_trash().await?;
        Ok(trash
            .delete(&plugin.dir, ItemType::File, Some(format!("plugin {name}")))
            .await?)
    }
}

/// What a plugin's process reported when it started.
#[derive(Debug, Clone)]
pub struct PluginProbe {
    /// The name it reported.
    pub name: String,
    /// The version it reported.
    pub version: String,
    /// The hooks it implements.
    pub hooks: Vec<llf_plugins::Hook>,
}

impl Llf {
    /// Starts plugin `name`'s process on its own (enabled or not), asks what it implements, and
    /// ends it — a check that it loads.
    pub async fn probe_plugin(&self, name: &str) -> Result<PluginProbe> {
        let installed = self.plugin(name)?;
        let launch = llf_plugins::Launch {
            home: self.locations().plugin_home(&installed.manifest.name),
            dir: installed.dir,
            manifest: installed.manifest,
            sandbox: self.sandbox(),
        };
        let plugin = ExternalPlugin::start(launch).await?;
        let probe = PluginProbe {
            name: llf_plugins::Plugin::name(&plugin).to_owned(),
            version: plugin.version().to_owned(),
            hooks: plugin.hooks(),
        };
        plugin.stop().await;
        Ok(probe)
    }
}
