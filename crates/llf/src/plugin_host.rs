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

/// The installed plugins, running.
pub(crate) struct Running {
    host: PluginHost,
    processes: Vec<Arc<ExternalPlugin>>,
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
    pub async fn plugins(&self) -> Result<PluginHost> {
        let running = self
            .inner()
            .plugins
            .get_or_try_init(|| async {
                let loaded = llf_plugins::load(
                    &self.plugin_directory(),
                    &self.sandbox(),
                    &self.locations().plugin_homes(),
                )
                .await?;
                loaded.host.startup().await?;
                Ok::<_, crate::Error>(Running {
                    host: loaded.host,
                    processes: loaded.processes,
                })
            })
            .await?;
        Ok(running.host.clone())
    }

    /// Ends the installed plugins, if they were started: their `on_shutdown`, then their
    /// processes. Call it when the program ends.
    pub async fn shutdown_plugins(&self) {
        if let Some(running) = self.inner().plugins.get() {
            running.host.shutdown().await;
            for p in &running.processes {
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
