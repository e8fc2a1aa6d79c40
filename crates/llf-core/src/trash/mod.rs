//! Soft delete: files and directories go to a trash directory, from which they can be restored
//! until they are purged after a retention period (30 days by default).
//!
//! Layout: `<trash>/trash_registry.json` lists the items; `<trash>/items/<id>/<name>` holds each
//! one as it was. Every change to the registry is an atomic write made under an exclusive file
//! lock, so several LLF processes can share one trash.
//!
//! Crash safety: an entry is written as `moving` (or `restoring`) *before* anything is moved and
//! marked done after. The next operation on the trash finishes or rolls back any half-done move,
//! choosing whichever direction keeps a complete copy of the item, so nothing is lost.

mod mover;
mod registry;

use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::{Error, Result};
use registry::{Registry, State};

/// What kind of thing a trashed item is; lets `llf trash list --type` and `empty --type` filter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum ItemType {
    /// A model file or directory.
    Model,
    /// A memory store or a single memory.
    Memory,
    /// A RAG data store.
    Datastore,
    /// A saved conversation.
    Conversation,
    /// A prompt template.
    Template,
    /// A tool directory.
    Tool,
    /// Any other file.
    File,
}

impl ItemType {
    /// Names accepted by [`ItemType::from_str`](std::str::FromStr), in display order.
    pub const NAMES: [&'static str; 7] = [
        "model",
        "memory",
        "datastore",
        "conversation",
        "template",
        "tool",
        "file",
    ];

    /// The lowercase name.
    pub fn as_str(self) -> &'static str {
        match self {
            ItemType::Model => "model",
            ItemType::Memory => "memory",
            ItemType::Datastore => "datastore",
            ItemType::Conversation => "conversation",
            ItemType::Template => "template",
            ItemType::Tool => "tool",
            ItemType::File => "file",
        }
    }
}

impl std::fmt::Display for ItemType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for ItemType {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        Ok(match s.to_ascii_lowercase().as_str() {
            "model" => ItemType::Model,
            "memory" => ItemType::Memory,
            "datastore" => ItemType::Datastore,
            "conversation" => ItemType::Conversation,
            "template" => ItemType::Template,
            "tool" => ItemType::Tool,
            "file" => ItemType::File,
            _ => return Err(Error::UnknownItemType(s.to_owned())),
        })
    }
}

/// One item in the trash.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrashItem {
    /// Unique, time-sortable id (a ULID).
    pub id: String,
    /// What the item is.
    pub item_type: ItemType,
    /// A human name (the file name unless the caller gave one).
    pub name: String,
    /// Where it lived, and where `restore` puts it back.
    pub original_path: PathBuf,
    /// When it was deleted.
    pub deleted_at: DateTime<Utc>,
    /// Its size on disk in bytes.
    pub size: u64,
}

/// Which items [`Trash::list`] returns. The default matches everything.
#[derive(Debug, Clone, Default)]
pub struct TrashFilter {
    /// Only this type.
    pub item_type: Option<ItemType>,
    /// Only items whose name contains this text (case-insensitive).
    pub name_contains: Option<String>,
    /// Only items deleted at least this long ago.
    pub older_than: Option<Duration>,
}

impl TrashFilter {
    fn matches(&self, item: &TrashItem, now: DateTime<Utc>) -> bool {
        if self.item_type.is_some_and(|t| t != item.item_type) {
            return false;
        }
        if let Some(text) = &self.name_contains
            && !item.name.to_lowercase().contains(&text.to_lowercase())
        {
            return false;
        }
        if let Some(age) = self.older_than
            && age_of(item, now) < age
        {
            return false;
        }
        true
    }
}

/// What [`Trash::empty`] or [`Trash::purge_expired`] removed for good.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct PurgeReport {
    /// Number of items removed.
    pub items: usize,
    /// Bytes freed.
    pub bytes: u64,
}

/// A trash directory. Cheap to create; every method opens, locks and saves the registry itself.
#[derive(Debug, Clone)]
pub struct Trash {
    dir: PathBuf,
    retention: Duration,
}

impl Trash {
    /// The retention of the design document: 30 days.
    pub const DEFAULT_RETENTION: Duration = Duration::from_secs(30 * 24 * 3600);

    /// A trash in `dir` (created on first use) that purges items older than `retention`.
    pub fn new(dir: impl Into<PathBuf>, retention: Duration) -> Self {
        Self {
            dir: dir.into(),
            retention,
        }
    }

    /// The trash directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// How long items are kept.
    pub fn retention(&self) -> Duration {
        self.retention
    }

    /// Moves `path` (a file or a directory) into the trash. `name` defaults to the file name.
    pub async fn delete(
        &self,
        path: impl AsRef<Path>,
        item_type: ItemType,
        name: Option<String>,
    ) -> Result<TrashItem> {
        let this = self.clone();
        let path = absolute(path.as_ref())?;
        tokio::task::spawn_blocking(move || this.delete_blocking(&path, item_type, name)).await?
    }

    /// Items in the trash that match `filter`, oldest first.
    pub async fn list(&self, filter: &TrashFilter) -> Result<Vec<TrashItem>> {
        let this = self.clone();
        let filter = filter.clone();
        tokio::task::spawn_blocking(move || {
            let reg = Registry::open(&this.dir)?;
            let now = Utc::now();
            Ok(reg
                .items()
                .filter(|i| filter.matches(i, now))
                .cloned()
                .collect())
        })
        .await?
    }

    /// Puts the item back where it came from. Refuses, changing nothing, when something now
    /// exists at the original path.
    pub async fn restore(&self, id: &str) -> Result<TrashItem> {
        let this = self.clone();
        let id = id.to_owned();
        tokio::task::spawn_blocking(move || this.restore_blocking(&id)).await?
    }

    /// Removes items for good: all of them, or only those of `item_type`.
    pub async fn empty(&self, item_type: Option<ItemType>) -> Result<PurgeReport> {
        let filter = TrashFilter {
            item_type,
            ..TrashFilter::default()
        };
        self.purge(filter).await
    }

    /// Removes items older than the retention period. LLF calls this when the trash is opened by a
    /// command, so expired items disappear without anyone asking.
    pub async fn purge_expired(&self) -> Result<PurgeReport> {
        let filter = TrashFilter {
            older_than: Some(self.retention),
            ..TrashFilter::default()
        };
        self.purge(filter).await
    }

    async fn purge(&self, filter: TrashFilter) -> Result<PurgeReport> {
        let this = self.clone();
        tokio::task::spawn_blocking(move || {
            let mut reg = Registry::open(&this.dir)?;
            let now = Utc::now();
            let doomed: Vec<TrashItem> = reg
                .items()
                .filter(|i| filter.matches(i, now))
                .cloned()
                .collect();
            let mut report = PurgeReport::default();
            for item in doomed {
                // Registry first: an item whose files outlive a crash is only wasted space,
                // while an entry without files would be a broken promise.
                reg.remove(&item.id)?;
                mover::remove_all(&reg.item_dir(&item.id))?;
                report.items += 1;
                report.bytes += item.size;
                tracing::debug!(id = %item.id, name = %item.name, "purged from trash");
            }
            Ok(report)
        })
        .await?
    }

    fn delete_blocking(
        &self,
        path: &Path,
        item_type: ItemType,
        name: Option<String>,
    ) -> Result<TrashItem> {
        if std::fs::symlink_metadata(path).is_err() {
            return Err(Error::NothingToDelete(path.to_owned()));
        }
        let size = crate::fs::disk_size(path).map_err(|e| Error::io("measuring", path, e))?;
        let file_name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "item".to_owned());
        let item = TrashItem {
            id: ulid::Ulid::new().to_string(),
            item_type,
            name: name.unwrap_or_else(|| file_name.clone()),
            original_path: path.to_owned(),
            deleted_at: Utc::now(),
            size,
        };
        let mut reg = Registry::open(&self.dir)?;
        let item_dir = reg.item_dir(&item.id);
        std::fs::create_dir_all(&item_dir).map_err(|e| Error::io("creating", &item_dir, e))?;
        reg.insert(item.clone(), State::Moving, &file_name)?;
        mover::move_path(path, &item_dir.join(&file_name))?;
        reg.set_state(&item.id, State::Trashed)?;
        tracing::info!(id = %item.id, path = %path.display(), "moved to trash");
        Ok(item)
    }

    fn restore_blocking(&self, id: &str) -> Result<TrashItem> {
        let mut reg = Registry::open(&self.dir)?;
        let (item, payload) = reg.trashed(id)?;
        if std::fs::symlink_metadata(&item.original_path).is_ok() {
            return Err(Error::WouldOverwrite {
                name: item.name,
                path: item.original_path,
            });
        }
        if let Some(parent) = item.original_path.parent() {
            std::fs::create_dir_all(parent).map_err(|e| Error::io("creating", parent, e))?;
        }
        reg.set_state(id, State::Restoring)?;
        mover::move_path(&payload, &item.original_path)?;
        reg.remove(id)?;
        mover::remove_all(&reg.item_dir(id))?;
        tracing::info!(id, path = %item.original_path.display(), "restored from trash");
        Ok(item)
    }
}

fn age_of(item: &TrashItem, now: DateTime<Utc>) -> Duration {
    (now - item.deleted_at).to_std().unwrap_or(Duration::ZERO)
}

fn absolute(path: &Path) -> Result<PathBuf> {
    std::path::absolute(path).map_err(|e| Error::io("resolving", path, e))
}
