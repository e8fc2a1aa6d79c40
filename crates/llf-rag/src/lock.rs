//! The write lock of a data store name.
//!
//! Every operation that changes a store (create, add, delete, restore, import) holds the lock of
//! the store's *name*, an advisory `flock` on `<data_stores>/.locks/<name>.lock`. The lock file
//! lives outside the store's directory on purpose: a lock inside it would move with the directory
//! when the store is deleted to the trash, so a delete could never be kept out, and a store
//! re-created under the same name would get a new, free lock while the old writer still runs.
//! Lock files are never removed (removing one would let two processes lock two different files).
//! Readers take no lock: they see the old or the new store, because writers publish the index and
//! the manifest with a rename.

use std::fs::{File, OpenOptions, TryLockError};
use std::path::{Path, PathBuf};

use crate::store::validate_name;
use crate::{RagError, Result};

/// Directory of the lock files under the data stores root.
pub const LOCK_DIR: &str = ".locks";

/// The held write lock of one store name; released when dropped (or when the process ends,
/// however it ends).
#[derive(Debug)]
pub struct StoreLock {
    _file: File,
    path: PathBuf,
}

impl StoreLock {
    /// Takes the lock of store `name` under `root` without waiting: [`RagError::Busy`] when
    /// another process or task holds it.
    pub fn acquire(root: &Path, name: &str) -> Result<Self> {
        validate_name(name)?;
        let dir = root.join(LOCK_DIR);
        std::fs::create_dir_all(&dir)
            .map_err(|e| RagError::io(format!("cannot create {}", dir.display()), e))?;
        let path = dir.join(format!("{name}.lock"));
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(|e| RagError::io(format!("cannot open {}", path.display()), e))?;
        match file.try_lock() {
            Ok(()) => Ok(Self { _file: file, path }),
            Err(TryLockError::WouldBlock) => Err(RagError::Busy(name.to_owned())),
            Err(TryLockError::Error(e)) => {
                Err(RagError::io(format!("cannot lock {}", path.display()), e))
            }
        }
    }

    /// The lock file.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_name_is_locked_once_and_freed_on_drop() {
        let dir = tempfile::tempdir().unwrap();
        let held = StoreLock::acquire(dir.path(), "docs").unwrap();
        assert!(matches!(
            StoreLock::acquire(dir.path(), "docs"),
            Err(RagError::Busy(_))
        ));
        // Another name is independent.
        let _other = StoreLock::acquire(dir.path(), "notes").unwrap();
        drop(held);
        StoreLock::acquire(dir.path(), "docs").unwrap();
        assert!(matches!(
            StoreLock::acquire(dir.path(), "../x"),
            Err(RagError::InvalidName(_))
        ));
    }
}
