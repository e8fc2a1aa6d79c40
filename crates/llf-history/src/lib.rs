//! Conversation history of LLF: every chat saved as it happens, in one SQLite database.
//!
//! Messages form a **tree**: each has a parent, so a conversation can branch (edit an earlier
//! question, regenerate an answer) and every branch is kept. The conversation points at its
//! *current leaf*, the message the chat continues from.
//!
//! Key types:
//! - [`History`]: the database (WAL mode, embedded migrations). Conversations:
//!   [`History::create_conversation`], [`History::list`], [`History::rename`],
//!   [`History::delete`] (soft) / [`History::restore`] / [`History::purge_deleted`].
//! - Saving as the chat goes: [`History::append`] for whole messages; for a streamed answer,
//!   [`History::start_message`] saves it at once as [`MessageStatus::Partial`],
//!   [`History::update_content`] keeps it current and [`History::finish_message`] seals it —
//!   a crash at any point keeps every message up to it.
//! - The tree: [`History::append_under`] (branch from any message), [`History::regenerate`]
//!   (sibling answer), [`History::checkout`] (go to a message), [`History::branches`],
//!   [`History::path`], [`History::compare`], [`History::tree`], [`History::insert_tree`]
//!   and [`History::insert_tree_if_new`] (import; a conversation remembers its
//!   [origin](Conversation::origin), so the same export is not imported twice).
//! - [`History::search`] with a [`SearchQuery`]: FTS5 full-text search with highlighted
//!   snippets, BM25 ranking and filters by role, date range and conversation.
//!
//! # Example
//!
//! ```
//! use llf_core::chat::ChatMessage;
//! use llf_history::{Finish, History, SearchQuery};
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let dir = tempfile::tempdir()?;
//! let history = History::open(dir.path().join("history.db")).await?;
//! let conv = history.create_conversation("Rust questions", Some("smollm2".into())).await?;
//! let question = history.append(&conv.id, ChatMessage::user("What is a lifetime?")).await?;
//!
//! // A streamed answer is saved before its first token and updated as it grows.
//! let answer = history.start_message(&conv.id, ChatMessage::assistant("")).await?;
//! history.update_content(answer.id, "A lifetime is").await?;
//! history
//!     .finish_message(answer.id, Finish { content: "A lifetime is a scope.".into(), ..Finish::default() })
//!     .await?;
//!
//! // Regenerate: a second answer to the same question, on a branch of its own.
//! history.regenerate(&conv.id, answer.id, ChatMessage::assistant("Borrow scope.")).await?;
//! assert_eq!(history.branches(&conv.id).await?.len(), 2);
//! assert_eq!(history.current_path(&conv.id).await?[0].id, question.id);
//!
//! let hits = history.search(&SearchQuery::new("lifetime")).await?;
//! assert_eq!(hits.len(), 2);
//! assert!(hits[0].snippet.contains("[lifetime]"));
//! # Ok(())
//! # }
//! ```
#![doc(test(attr(deny(warnings))))]

mod error;
mod rows;
mod search;
mod store;
mod tree;
mod types;

pub use error::{HistoryError, Result};
pub use search::{SearchHit, SearchQuery};
pub use store::History;
pub use tree::Finish;
pub use types::{
    Branch, BranchComparison, Conversation, ConversationSummary, ConversationTree, ListFilter,
    MAX_TITLE_CHARS, MessageId, MessageStatus, NewMessage, StoredMessage, TokenCounts, TreeInsert,
};
