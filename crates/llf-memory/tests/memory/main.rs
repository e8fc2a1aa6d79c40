//! The public API of `llf-memory` on real SQLite files in temporary directories.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)] // test code: a panic is a failed test

mod context;
mod crud;
mod search;
mod transfer;

use llf_memory::MemoryStore;

/// A fresh database in its own temporary directory.
pub(crate) struct Db {
    /// Kept so the directory outlives the store.
    pub(crate) _dir: tempfile::TempDir,
    pub(crate) mem: MemoryStore,
}

pub(crate) async fn db() -> Db {
    let dir = tempfile::tempdir().unwrap();
    let mem = MemoryStore::open_in_dir(dir.path()).await.unwrap();
    mem.create_store("notes", "test notes").await.unwrap();
    Db { _dir: dir, mem }
}
