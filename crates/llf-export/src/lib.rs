//! Export and import of LLF conversations.
//!
//! Formats ([`Format`]): Markdown, LLF JSON (versioned, [`JSON_VERSION`]; importing it back is
//! lossless, tree included), a self-contained HTML page (all text escaped), plain text and PDF
//! (TrueType font embedded, so non-ASCII text renders; Debian's `fonts-dejavu-core` by default).
//! [`ExportOptions`] pick the messages ([`Scope`]: the current branch, one branch or the whole
//! tree; a date range; with or without system prompts) and what to show (timestamps, metadata).
//!
//! Import ([`import_file`], [`parse_import`]) reads LLF JSON and ChatGPT's `conversations.json`.
//! Files are written atomically ([`write_file`]).
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
//! let copy = history.insert_tree(&imported[0]).await?;
//! assert_eq!(history.tree(&copy.id).await?.messages[0].message.content, "Hello <b>there</b>");
//! # Ok(())
//! # }
//! ```
#![doc(test(attr(deny(warnings))))]

mod chatgpt;
mod error;
mod html;
mod json;
mod markdown;
mod options;
mod pdf;
mod select;

use std::path::Path;

use llf_history::{Conversation, ConversationTree, History};

pub use chatgpt::parse_chatgpt;
pub use error::{ExportError, Result};
pub use html::escape as escape_html;
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

/// Parses an import file: LLF JSON (one conversation) or a ChatGPT export (any number).
pub fn parse_import(bytes: &[u8]) -> Result<Vec<ConversationTree>> {
    let value: serde_json::Value = serde_json::from_slice(bytes)
        .map_err(|e| ExportError::Import(format!("the file is not JSON: {e}")))?;
    if value.get("format").and_then(|f| f.as_str()) == Some(JSON_FORMAT) {
        return Ok(vec![parse_llf_json(value)?]);
    }
    let looks_chatgpt = match &value {
        serde_json::Value::Array(items) => items.iter().all(|c| c.get("mapping").is_some()),
        other => other.get("mapping").is_some(),
    };
    if looks_chatgpt {
        return parse_chatgpt(value);
    }
    Err(ExportError::Import(
        "unknown file: expected an LLF conversation JSON or ChatGPT's conversations.json"
            .to_owned(),
    ))
}

/// Imports every conversation of the file at `path` into `history`; each is saved in one
/// transaction. Returns the new conversations.
pub async fn import_file(history: &History, path: &Path) -> Result<Vec<Conversation>> {
    let bytes = std::fs::read(path).map_err(|source| ExportError::Read {
        path: path.to_owned(),
        source,
    })?;
    let trees = parse_import(&bytes)?;
    let mut out = Vec::with_capacity(trees.len());
    for tree in &trees {
        out.push(history.insert_tree(tree).await?);
    }
    Ok(out)
}
