//! Long-term memory for LLF: named stores of short texts the model should remember, kept in one
//! SQLite database (WAL mode, busy timeout, embedded migrations) and searched with FTS5.
//!
//! Key types:
//! - [`MemoryStore`]: the typed async API — stores (create, list, enable, disable), memories
//!   (add, get, update, soft delete, restore, purge), [`SearchQuery`] search (BM25 combined with
//!   importance, highlighted snippets, tag, importance and date filters, paging), stats,
//!   JSON-lines export/import and migration from the Python version's files.
//! - [`MemoryContext`]: the [`llf_core::context::ContextProvider`] that adds relevant memories to
//!   chat prompts, with `top_k` and `min_score` from `llf_config::schema::MemorySettings`.
//! - [`MemoryError`]: every failure, with a message that says what to do.
//!
//! Every write is a transaction; a crash loses nothing committed. Deleted memories stay in the
//! database, out of searches, until [`MemoryStore::purge_deleted`] removes them after the trash
//! retention. User search text is never passed to FTS5 as syntax: its words are quoted.
//!
//! # Example
//!
//! ```
//! use llf_memory::{MemoryStore, NewMemory, SearchQuery, TagMode};
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let dir = tempfile::tempdir()?;
//! let memory = MemoryStore::open_in_dir(dir.path()).await?;
//! memory.create_store("work", "things about my job").await?;
//! memory
//!     .add("work", NewMemory::new("The deploy runs on Fridays").tags(["ops"]).importance(0.9))
//!     .await?;
//! memory.add("work", NewMemory::new("Lunch is at noon")).await?;
//!
//! let hits = memory
//!     .search("work", &SearchQuery::new().text("deploy").tags(["ops"], TagMode::Any))
//!     .await?;
//! assert_eq!(hits.len(), 1);
//! assert_eq!(hits[0].snippet.as_deref(), Some("The [deploy] runs on Fridays"));
//!
//! let gone = memory.delete(&hits[0].memory.id).await?;
//! assert!(memory.search("work", &SearchQuery::new().text("deploy")).await?.is_empty());
//! memory.restore(&gone.id).await?;
//! # Ok(())
//! # }
//! ```
#![doc(test(attr(deny(warnings))))]

mod context;
mod error;
mod fts;
mod migrate;
mod record;
mod rows;
mod search;
mod store;
mod transfer;
mod types;

pub use context::{MemoryContext, SECTION_TITLE};
pub use error::{MemoryError, Result};
pub use migrate::{MigrationReport, PYTHON_REGISTRY_FILE, StoreMigration};
pub use record::SkippedLine;
pub use store::{MemoryStore, OpenOptions};
pub use transfer::ImportReport;
pub use types::{
    DeletedMemory, MatchMode, Memory, MemoryUpdate, Metadata, NewMemory, SearchHit, SearchQuery,
    StoreInfo, StoreStats, TagMode,
};
