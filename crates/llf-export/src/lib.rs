//! Export and import of LLF conversations.
//!
//! Formats ([`Format`]): Markdown, LLF JSON (versioned, [`JSON_VERSION`]; importing it back is
//! lossless, tree included), a self-contained HTML page (all text escaped), plain text and PDF
//! (TrueType font embedded, so non-ASCII text renders; Debian's `fonts-dejavu-core` by default).
//! [`ExportOptions`] pick the messages ([`Scope`]: the current branch, one branch or the whole
//! tree; a date range; with or without system prompts) and what to show (timestamps, metadata).
//!
//! Import ([`import_file`], [`parse_import`]) reads LLF JSON and ChatGPT's `conversations.json`.
//! Each imported conversation remembers its origin (`chatgpt:<id>`, `llf:<id>`), so importing
//! the same file twice adds nothing ([`ImportOptions::allow_duplicates`] to copy anyway); a
//! damaged ChatGPT mapping is imported as far as it can be read and the loss is reported
//! ([`ImportReport`]). Files are written atomically ([`write_file`]).
//!
//! # Example
//!
//! ```
//! use llf_core::chat::ChatMessage;
//! use llf_export::{ExportOptions, Format, Scope};
//! use llf_history::History;
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let dir = tempfile::tempdir()?;
//! let history = History::open(dir.path().join("history.db")).await?;
//! let conv = history.create_conversation("Greetings", None).await?;
//! history.append(&conv.id, ChatMessage::user("Hello <b>there</b>")).await?;
//!
//! let tree = history.tree(&conv.id).await?;
//! let html = llf_export::render(&tree, &ExportOptions::new(Format::Html))?;
//! assert!(String::from_utf8(html)?.contains("Hello &lt;b&gt;there&lt;/b&gt;"));
//!
//! // JSON round trip into a new conversation.
//! let json = llf_export::render(&tree, &ExportOptions::new(Format::Json).scope(Scope::Tree))?;
//! let imported = llf_export::parse_import(&json)?;
//! let copy = history.insert_tree(&imported[0].tree).await?;
//! assert_eq!(history.tree(&copy.id).await?.messages[0].message.content, "Hello <b>there</b>");
//! # Ok(())
//! # }
//! ```
#![doc(test(attr(deny(warnings))))]

mod chatgpt;
mod error;
mod html;
mod import;
mod json;
mod markdown;
mod options;
mod pdf;
mod select;

use std::path::Path;

use llf_history::{ConversationTree, History};

pub use chatgpt::{CHATGPT_ORIGIN, parse_chatgpt};
pub use error::{ExportError, Result};
pub use html::escape as escape_html;
pub use import::{
    ImportItem, ImportOptions, ImportOutcome, ImportReport, ParsedConversation, import_file,
    parse_import,
};
pub use json::{ConversationFile, JSON_FORMAT, JSON_VERSION, parse_llf_json};
pub use options::{ExportOptions, Format, Scope};
pub use pdf::FONT_CANDIDATES;

/// Renders `tree` as `opts` say.
pub fn render(tree: &ConversationTree, opts: &ExportOptions) -> Result<Vec<u8>> {
    let messages = select::select(tree, opts)?;
    tracing::debug!(conversation = %tree.conversation.id, messages = messages.len(), format = ?opts.format, "exporting");
    Ok(match opts.format {
        Format::Markdown => markdown::markdown(tree, &messages, opts).into_bytes(),
        Format::Text => markdown::text(tree, &messages, opts).into_bytes(),
        Format::Html => html::html(tree, &messages, opts).into_bytes(),
        Format::Json => json::to_json(tree, messages)?,
        Format::Pdf => pdf::pdf(tree, &messages, opts)?,
    })
}

/// Loads a conversation from `history` and renders it.
pub async fn export(
    history: &History,
    conversation: &str,
    opts: &ExportOptions,
) -> Result<Vec<u8>> {
    let tree = history.tree(conversation).await?;
    render(&tree, opts)
}

/// Writes export bytes to `path` atomically (readable by others: exports are meant to be shared).
pub fn write_file(path: &Path, bytes: &[u8]) -> Result<()> {
    llf_core::fs::atomic_write(path, bytes, llf_core::fs::SHARED)?;
    Ok(())
}
