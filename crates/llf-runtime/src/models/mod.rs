//! Local GGUF models: listing, inspecting, downloading from a hub, and deleting to the trash.

mod gguf;
mod hub;

use std::path::{Path, PathBuf};
use std::time::Duration;

use llf_config::{Config, Paths};
use llf_core::trash::{ItemType, Trash, TrashItem};
use serde::Serialize;

pub use gguf::{GgufInfo, read_info, read_info_from};
pub use hub::{DownloadProgress, HubFile, ModelHub, sha256_of};

use crate::{Result, RuntimeError};

/// A model file LLF knows about.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ModelEntry {
    /// File name without `.gguf`.
    pub name: String,
    /// The file.
    pub path: PathBuf,
    /// Size in bytes.
    pub size: u64,
    /// Servers whose `model_path` is this file.
    pub used_by: Vec<String>,
}

/// The models directory plus the files servers are configured with.
#[derive(Debug, Clone)]
pub struct ModelStore {
    dir: PathBuf,
    configured: Vec<(String, PathBuf)>,
    trash: Trash,
}

impl ModelStore {
    /// The store of `config`.
    pub fn new(config: &Config, paths: &Paths) -> Self {
        Self {
            dir: paths.models.clone(),
            configured: config
                .local_llm_servers
                .iter()
                .filter_map(|s| s.model_file().map(|m| (s.name.clone(), m)))
                .collect(),
            trash: Trash::new(
                paths.trash.clone(),
                Duration::from_secs(config.trash.retention_days * 86_400),
            ),
        }
    }

    /// The models directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Every `.gguf` under the models directory and every configured model file, sorted by name.
    pub fn list(&self) -> Result<Vec<ModelEntry>> {
        let mut files = Vec::new();
        collect_gguf(&self.dir, &mut files);
        for (_, p) in &self.configured {
            if p.is_file() && !files.contains(p) {
                files.push(p.clone());
            }
        }
        let mut out: Vec<ModelEntry> = files
            .into_iter()
            .map(|path| ModelEntry {
                name: path
                    .file_stem()
                    .map(|s| s.to_string_lossy().into_owned())
                    .unwrap_or_default(),
                size: std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0),
                used_by: self
                    .configured
                    .iter()
                    .filter(|(_, p)| *p == path)
                    .map(|(n, _)| n.clone())
                    .collect(),
                path,
            })
            .collect();
        out.sort_by(|a, b| a.name.cmp(&b.name).then(a.path.cmp(&b.path)));
        Ok(out)
    }

    /// Finds a model by name (file stem or file name) or path.
    pub fn find(&self, name_or_path: &str) -> Result<ModelEntry> {
        let list = self.list()?;
        let as_path = Path::new(name_or_path);
        let found: Vec<_> = list
            .iter()
            .filter(|m| {
                m.name == name_or_path
                    || m.path == as_path
                    || m.path.file_name().is_some_and(|f| f == name_or_path)
            })
            .collect();
        match found.as_slice() {
            [one] => Ok((*one).clone()),
            [] if as_path.is_file() => Ok(ModelEntry {
                name: as_path
                    .file_stem()
                    .map(|s| s.to_string_lossy().into_owned())
                    .unwrap_or_default(),
                size: std::fs::metadata(as_path).map(|m| m.len()).unwrap_or(0),
                used_by: Vec::new(),
                path: as_path.to_owned(),
            }),
            [] => Err(RuntimeError::Invalid(format!(
                "no model `{name_or_path}`; `llf model list` shows what is installed"
            ))),
            _ => Err(RuntimeError::Invalid(format!(
                "`{name_or_path}` matches several models; give the path"
            ))),
        }
    }

    /// Moves a model (file, or its directory when it is the only model there) to the trash.
    /// Refuses a model a server is configured with, unless `force`.
    pub async fn delete(&self, name_or_path: &str, force: bool) -> Result<TrashItem> {
        let m = self.find(name_or_path)?;
        if !m.used_by.is_empty() && !force {
            return Err(RuntimeError::Invalid(format!(
                "model `{}` is used by server(s) {}; pass --force to delete it anyway",
                m.name,
                m.used_by.join(", ")
            )));
        }
        Ok(self
            .trash
            .delete(&m.path, ItemType::Model, Some(m.name.clone()))
            .await?)
    }

    /// Where a download of `repo` goes: `<models>/<owner>__<name>/`.
    pub fn repo_dir(&self, repo: &str) -> PathBuf {
        self.dir.join(repo.replace('/', "__"))
    }
}

fn collect_gguf(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            collect_gguf(&p, out);
        } else if p
            .extension()
            .is_some_and(|x| x.eq_ignore_ascii_case("gguf"))
        {
            out.push(p);
        }
    }
}
