//! Shared foundations of LLF: the types and file primitives that several `llf-*` crates need.
//!
//! - [`chat`]: chat messages and roles, the vocabulary of every crate that talks to a model.
//! - [`fs`]: crash-safe file writes ([`fs::atomic_write`]): write a temp file, fsync, rename.
//! - [`trash`]: soft delete with restore and automatic purge ([`trash::Trash`]).
//! - [`context`]: the [`context::ContextProvider`] hook through which memory and retrieval add
//!   context to a prompt, without the runtime depending on them.
//! - [`text`]: [`text::truncate`] for shortening text to a width, and [`text::Highlight`], the
//!   markers search snippets put around matches.
//! - [`time`]: [`time::parse_date`], the one reader of dates typed by users.
//! - [`tool`]: the [`tool::ToolExecutor`] trait the runtime's tool-calling loop drives, implemented
//!   by `llf-tools` (or by any program embedding LLF).
//!
//! This crate reads no configuration and no environment: callers pass it paths and durations, so
//! it can be embedded anywhere.
//!
//! # Example
//!
//! ```
//! use llf_core::trash::{ItemType, Trash, TrashFilter};
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> llf_core::Result<()> {
//! let home = tempfile::tempdir()?;
//! let file = home.path().join("notes.txt");
//! std::fs::write(&file, "keep me")?;
//!
//! let trash = Trash::new(home.path().join("trash"), Trash::DEFAULT_RETENTION);
//! let item = trash.delete(&file, ItemType::File, None).await?;
//! assert!(!file.exists());
//! assert_eq!(trash.list(&TrashFilter::default()).await?.len(), 1);
//!
//! trash.restore(&item.id).await?;
//! assert_eq!(std::fs::read_to_string(&file)?, "keep me");
//! # Ok(())
//! # }
//! ```
#![doc(test(attr(deny(warnings))))]

pub mod chat;
pub mod context;
mod error;
pub mod fs;
pub mod text;
pub mod time;
pub mod tool;
pub mod trash;

pub use error::{Error, FlatError, Result};

/// An error crossing a trait boundary between crates (a context provider's or a tool's).
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;
