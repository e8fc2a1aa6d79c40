//! [`PluginDirectory`]: the installed plugins, one directory each (`plugin.json` beside its
//! program), as the Python version kept them.

use std::path::{Path, PathBuf};

use crate::error::{PluginError, Result};
use crate::manifest::{Installed, MANIFEST_FILE, Manifest, check_name};

/// A directory of plugin directories.
#[derive(Debug, Clone)]
pub struct PluginDirectory {
    root: PathBuf,
}

/// The installed plugins, and the directories that are not valid plugins.
#[derive(Debug, Default)]
pub struct Listing {
    /// Valid plugins, by name.
    pub plugins: Vec<Installed>,
    /// Directories that could not be read as plugins.
    pub problems: Vec<(PathBuf, PluginError)>,
}

impl PluginDirectory {
    /// The plugins under `root` (which need not exist yet).
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }

    /// The directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Every plugin directory, sorted by name.
    pub fn list(&self) -> Result<Listing> {
        let mut listing = Listing::default();
        let entries = match std::fs::read_dir(&self.root) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(listing),
            Err(e) => return Err(PluginError::io("read", &self.root, e)),
        };
        for entry in entries {
            let entry = entry.map_err(|e| PluginError::io("read", &self.root, e))?;
            let dir = entry.path();
            let hidden = entry.file_name().to_string_lossy().starts_with('.');
            if hidden || !dir.is_dir() {
                continue;
            }
            match Manifest::load(&dir) {
                Ok(manifest) => listing.plugins.push(Installed { manifest, dir }),
                Err(e) => listing.problems.push((dir, e)),
            }
        }
        listing
            .plugins
            .sort_by(|a, b| a.manifest.name.cmp(&b.manifest.name));
        Ok(listing)
    }

    /// The plugin named `name` (its `plugin.json` name, or its directory's name).
    pub fn get(&self, name: &str) -> Result<Installed> {
        let listing = self.list()?;
        listing
            .plugins
            .iter()
            .find(|p| p.manifest.name == name)
            .or_else(|| {
                listing
                    .plugins
                    .iter()
                    .find(|p| p.dir.file_name().is_some_and(|n| n == name))
            })
            .cloned()
            .ok_or_else(|| PluginError::NotFound(name.to_owned()))
    }

    /// Copies the plugin directory `source` in, as a directory named for the plugin.
    pub fn install(&self, source: &Path) -> Result<Installed> {
        let manifest = Manifest::load(source)?;
        check_name(&manifest.name)?;
        if self.get(&manifest.name).is_ok() {
            return Err(PluginError::Exists(manifest.name));
        }
        let dir = self.root.join(&manifest.name);
        if dir.exists() {
            return Err(PluginError::Exists(manifest.name));
        }
        std::fs::create_dir_all(&self.root)
            .map_err(|e| PluginError::io("create", &self.root, e))?;
        // Copied beside the target and renamed, so a failed copy leaves no half plugin.
        let tmp = self.root.join(format!(".installing-{}", manifest.name));
        if tmp.exists() {
            std::fs::remove_dir_all(&tmp).map_err(|e| PluginError::io("remove", &tmp, e))?;
        }
        copy_dir(source, &tmp)?;
        std::fs::rename(&tmp, &dir).map_err(|e| PluginError::io("install into", &dir, e))?;
        Ok(Installed { manifest, dir })
    }

    /// Turns the plugin on or off (its `enabled` field; every other field is kept as it is).
    pub fn set_enabled(&self, name: &str, enabled: bool) -> Result<Installed> {
        let mut plugin = self.get(name)?;
        let path = plugin.dir.join(MANIFEST_FILE);
        let text = std::fs::read_to_string(&path).map_err(|e| PluginError::io("read", &path, e))?;
        let mut value: serde_json::Value =
            serde_json::from_str(&text).map_err(|source| PluginError::Manifest {
                path: path.clone(),
                source,
            })?;
        value["enabled"] = serde_json::Value::Bool(enabled);
        let mut out =
            serde_json::to_string_pretty(&value).map_err(|source| PluginError::Manifest {
                path: path.clone(),
                source,
            })?;
        out.push('\n');
        llf_core::fs::atomic_write(&path, out.as_bytes(), 0o644)?;
        plugin.manifest.enabled = enabled;
        Ok(plugin)
    }
}

/// Copies a plugin directory (without Python's byte-code caches).
pub(crate) fn copy_dir(from: &Path, to: &Path) -> Result<()> {
    std::fs::create_dir_all(to).map_err(|e| PluginError::io("create", to, e))?;
    let entries = std::fs::read_dir(from).map_err(|e| PluginError::io("read", from, e))?;
    for entry in entries {
        let entry = entry.map_err(|e| PluginError::io("read", from, e))?;
        let name = entry.file_name();
        if name == "__pycache__" {
            continue;
        }
        let src = entry.path();
        let dst = to.join(&name);
        let kind = entry
            .file_type()
            .map_err(|e| PluginError::io("read", &src, e))?;
        if kind.is_dir() {
            copy_dir(&src, &dst)?;
        } else if kind.is_file() {
            std::fs::copy(&src, &dst).map_err(|e| PluginError::io("copy", &src, e))?;
        }
        // Symbolic links are not followed: a plugin is what its directory holds.
    }
    Ok(())
}
