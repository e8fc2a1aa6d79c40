//! Migration from the Python version's memory files.
//!
//! The Python version kept `memory_registry.json` (`{"memories": [{"name", "enabled", "path",
//! "index_path"}]}`), and per store a JSON-lines data file (`id`, `content`, `tags`,
//! `importance`, `timestamp`) plus an index file mapping ids to line numbers. The data file is
//! the source of truth; the index is derived from it and not needed. Sources are only read.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::store::MemoryStore;
use crate::transfer::ImportReport;
use crate::{MemoryError, Result};

/// Name of the Python version's registry file.
pub const PYTHON_REGISTRY_FILE: &str = "memory_registry.json";

/// What a migration did, store by store.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MigrationReport {
    /// One entry per registry entry, in registry order.
    pub stores: Vec<StoreMigration>,
}

/// Migration of one Python memory.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoreMigration {
    /// The data file read.
    pub source: PathBuf,
    /// Whether the store was created by this run (false: it existed already).
    pub created: bool,
    /// Why the whole store was skipped, if it was.
    pub error: Option<String>,
    /// Line counts and skipped lines.
    #[serde(flatten)]
    pub import: ImportReport,
}

#[derive(Debug, Deserialize)]
struct Registry {
    memories: Vec<RegistryEntry>,
}

#[derive(Debug, Deserialize)]
struct RegistryEntry {
    name: String,
    #[serde(default = "yes")]
    enabled: bool,
    path: Option<PathBuf>,
    #[serde(default)]
    description: String,
}

fn yes() -> bool {
    true
}

impl MemoryStore {
    /// Imports the Python version's memories from `dir` (which holds `memory_registry.json`).
    /// Idempotent: memories already imported are recognised by their old id and not added again.
    pub async fn migrate_python(&self, dir: &Path) -> Result<MigrationReport> {
        self.migrate_python_with_progress(dir, |_| {}).await
    }

    /// [`MemoryStore::migrate_python`], calling `progress` with the current store's counts after
    /// each committed batch.
    pub async fn migrate_python_with_progress<F>(
        &self,
        dir: &Path,
        mut progress: F,
    ) -> Result<MigrationReport>
    where
        F: FnMut(&ImportReport) + Send,
    {
        let registry_path = dir.join(PYTHON_REGISTRY_FILE);
        let text = tokio::fs::read_to_string(&registry_path)
            .await
            .map_err(|e| MemoryError::MigrationSource {
                path: registry_path.clone(),
                reason: format!(
                    "{e}; point --from at the directory holding {PYTHON_REGISTRY_FILE}"
                ),
            })?;
        let registry: Registry =
            serde_json::from_str(&text).map_err(|e| MemoryError::MigrationSource {
                path: registry_path.clone(),
                reason: format!("not a memory registry: {e}"),
            })?;
        let mut report = MigrationReport::default();
        for entry in registry.memories {
            report
                .stores
                .push(self.migrate_entry(dir, entry, &mut progress).await?);
        }
        Ok(report)
    }

    async fn migrate_entry(
        &self,
        dir: &Path,
        entry: RegistryEntry,
        progress: &mut (dyn FnMut(&ImportReport) + Send),
    ) -> Result<StoreMigration> {
        let name = sanitize(&entry.name);
        let source = data_file(dir, &entry).await;
        let mut out = StoreMigration {
            source: source.clone(),
            created: false,
            error: None,
            import: ImportReport {
                store: name.clone(),
                ..ImportReport::default()
            },
        };
        let file = match tokio::fs::File::open(&source).await {
            Ok(f) => f,
            Err(e) => {
                out.error = Some(format!("cannot read {}: {e}", source.display()));
                return Ok(out);
            }
        };
        match self.create_store(&name, &entry.description).await {
            Ok(_) => {
                out.created = true;
                if !entry.enabled {
                    self.set_enabled(&name, false).await?;
                }
            }
            Err(MemoryError::StoreExists(_)) => {}
            Err(e) => return Err(e),
        }
        let store_id = self.store_id(&name).await?;
        self.import_lines(
            store_id,
            tokio::io::BufReader::new(file),
            source,
            &mut out.import,
            progress,
        )
        .await?;
        tracing::info!(
            store = %name,
            imported = out.import.imported,
            skipped = out.import.skipped.len(),
            "migrated python memory"
        );
        Ok(out)
    }
}

/// The data file of `entry`: its path as written, relative paths against the registry's
/// directory, and when an absolute path no longer exists (the directory was moved) the same file
/// name next to the registry.
async fn data_file(dir: &Path, entry: &RegistryEntry) -> PathBuf {
    let given = entry
        .path
        .clone()
        .unwrap_or_else(|| PathBuf::from(format!("{}.json", entry.name)));
    let resolved = if given.is_absolute() {
        given.clone()
    } else {
        dir.join(&given)
    };
    if tokio::fs::try_exists(&resolved).await.unwrap_or(false) {
        return resolved;
    }
    if let Some(beside) = given.file_name().map(|f| dir.join(f))
        && tokio::fs::try_exists(&beside).await.unwrap_or(false)
    {
        return beside;
    }
    resolved
}

/// Python store names were free text; ours are `[A-Za-z0-9_-]{1,64}`.
fn sanitize(name: &str) -> String {
    let mut s: String = name
        .trim()
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .take(64)
        .collect();
    if s.is_empty() {
        s.push_str("imported");
    }
    s
}
