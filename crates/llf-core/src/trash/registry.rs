//! The trash registry file, its lock, and the recovery of moves a crash interrupted.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::{TrashItem, mover};
use crate::fs::FileLock;
use crate::{Error, Result};

const REGISTRY_FILE: &str = "trash_registry.json";
const LOCK_FILE: &str = ".lock";
const ITEMS_DIR: &str = "items";
const FORMAT_VERSION: u32 = 1;

/// Where an entry is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(super) enum State {
    /// Being moved into the trash.
    Moving,
    /// In the trash.
    Trashed,
    /// Being moved back.
    Restoring,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Entry {
    #[serde(flatten)]
    item: TrashItem,
    state: State,
    /// Name of the payload inside `items/<id>/`.
    file_name: String,
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct RegistryFile {
    version: u32,
    items: Vec<Entry>,
}

/// The registry, opened under an exclusive lock that is held until it is dropped.
pub(super) struct Registry {
    dir: PathBuf,
    file: RegistryFile,
    _lock: FileLock,
}

impl Registry {
    /// Locks the trash, loads the registry and completes or undoes any interrupted move.
    pub(super) fn open(dir: &Path) -> Result<Self> {
        std::fs::create_dir_all(dir.join(ITEMS_DIR)).map_err(|e| Error::io("creating", dir, e))?;
        let lock = FileLock::acquire(&dir.join(LOCK_FILE))?;

        let path = dir.join(REGISTRY_FILE);
        let file = match std::fs::read(&path) {
            Ok(bytes) => {
                serde_json::from_slice(&bytes).map_err(|source| Error::CorruptRegistry {
                    path: path.clone(),
                    source,
                })?
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => RegistryFile {
                version: FORMAT_VERSION,
                items: Vec::new(),
            },
            Err(e) => return Err(Error::io("reading", &path, e)),
        };
        let mut reg = Self {
            dir: dir.to_owned(),
            file,
            _lock: lock,
        };
        reg.recover()?;
        Ok(reg)
    }

    /// Items that are fully in the trash, oldest first.
    pub(super) fn items(&self) -> impl Iterator<Item = &TrashItem> {
        self.file
            .items
            .iter()
            .filter(|e| e.state == State::Trashed)
            .map(|e| &e.item)
    }

    /// The trashed item `id` and the path of its payload.
    pub(super) fn trashed(&self, id: &str) -> Result<(TrashItem, PathBuf)> {
        let entry = self
            .file
            .items
            .iter()
            .find(|e| e.item.id == id && e.state == State::Trashed)
            .ok_or_else(|| Error::NotInTrash(id.to_owned()))?;
        Ok((entry.item.clone(), self.payload(entry)))
    }

    pub(super) fn item_dir(&self, id: &str) -> PathBuf {
        self.dir.join(ITEMS_DIR).join(id)
    }

    pub(super) fn insert(&mut self, item: TrashItem, state: State, file_name: &str) -> Result<()> {
        self.file.items.push(Entry {
            item,
            state,
            file_name: file_name.to_owned(),
        });
        self.save()
    }

    pub(super) fn set_state(&mut self, id: &str, state: State) -> Result<()> {
        if let Some(e) = self.file.items.iter_mut().find(|e| e.item.id == id) {
            e.state = state;
        }
        self.save()
    }

    pub(super) fn remove(&mut self, id: &str) -> Result<()> {
        self.file.items.retain(|e| e.item.id != id);
        self.save()
    }

    fn payload(&self, entry: &Entry) -> PathBuf {
        self.item_dir(&entry.item.id).join(&entry.file_name)
    }

    fn save(&self) -> Result<()> {
        let mut json =
            serde_json::to_vec_pretty(&self.file).map_err(|source| Error::CorruptRegistry {
                path: self.dir.join(REGISTRY_FILE),
                source,
            })?;
        json.push(b'\n');
        crate::fs::atomic_write(&self.dir.join(REGISTRY_FILE), &json, crate::fs::PRIVATE)
    }

    /// Finishes or rolls back moves that a crash interrupted, always in the direction that keeps
    /// a complete copy of the item.
    fn recover(&mut self) -> Result<()> {
        let pending: Vec<Entry> = self
            .file
            .items
            .iter()
            .filter(|e| e.state != State::Trashed)
            .cloned()
            .collect();
        for entry in pending {
            let id = entry.item.id.clone();
            let payload = self.payload(&entry);
            let original = &entry.item.original_path;
            let payload_complete = std::fs::symlink_metadata(&payload).is_ok();
            match (entry.state, payload_complete) {
                // The payload was fully moved in; only the removal of the original may be unfinished
                // (cross-device copy), so finish it.
                (State::Moving, true) => {
                    mover::remove_all(original)?;
                    mover::remove_all(&mover::partial_path(&payload))?;
                    self.set_state(&id, State::Trashed)?;
                }
                // The move in never completed: the original is intact; forget the attempt.
                (State::Moving, false) => {
                    self.remove(&id)?;
                    mover::remove_all(&self.item_dir(&id))?;
                }
                // The payload is still here: whatever reached the original path is at best a copy,
                // so keep the item in the trash and drop any half-made copy.
                (State::Restoring, true) => {
                    mover::remove_all(&mover::partial_path(original))?;
                    self.set_state(&id, State::Trashed)?;
                }
                // The payload left the trash, which happens only once it is whole at the original.
                (State::Restoring, false) => {
                    self.remove(&id)?;
                    mover::remove_all(&self.item_dir(&id))?;
                }
                (State::Trashed, _) => {}
            }
            tracing::warn!(id, state = ?entry.state, "recovered an interrupted trash operation");
        }
        Ok(())
    }
}
