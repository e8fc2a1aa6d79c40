//! Import: reading LLF JSON and ChatGPT exports, and saving them once.

use std::path::Path;

use llf_history::{Conversation, ConversationTree, History, MAX_TITLE_CHARS, TreeInsert};
use serde::Serialize;

use crate::json::{JSON_FORMAT, parse_llf_json};
use crate::{ExportError, Result, parse_chatgpt};

/// One conversation read from an import file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedConversation {
    /// The conversation; its header's `source_id` says where it came from
    /// (see [`Conversation::origin`]).
    pub tree: ConversationTree,
    /// Messages of the file that are not in `tree` because no root reaches them (a ChatGPT
    /// mapping whose parent links form a cycle).
    pub left_out: usize,
}

/// How [`import_file`] treats what it reads.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ImportOptions {
    /// Import conversations that are in the history already (same origin) as further copies.
    pub allow_duplicates: bool,
}

impl ImportOptions {
    /// Skip conversations already imported.
    pub fn new() -> Self {
        Self::default()
    }

    /// Import conversations already present again, as copies.
    pub fn allow_duplicates(mut self, on: bool) -> Self {
        self.allow_duplicates = on;
        self
    }
}

/// What [`import_file`] did with one conversation of the file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ImportItem {
    /// Its title.
    pub title: String,
    /// Where it came from (`chatgpt:<id>`, `llf:<id>`), when the file says.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source_id: Option<String>,
    /// What happened.
    #[serde(flatten)]
    pub outcome: ImportOutcome,
}

/// What happened to one conversation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
#[non_exhaustive]
pub enum ImportOutcome {
    /// Saved as a new conversation. `left_out` messages of the file could not be placed in
    /// its tree (see [`ParsedConversation::left_out`]).
    Imported {
        /// The new conversation.
        conversation: Conversation,
        /// Messages not imported.
        left_out: usize,
    },
    /// Not saved: this conversation (live or in the trash) has the same origin.
    AlreadyPresent {
        /// The conversation already there.
        existing: Conversation,
    },
    /// Not saved: the file holds no message for it.
    Empty,
    /// Not saved: the file holds messages for it, but no root reaches any of them.
    Unreachable {
        /// Messages not imported.
        left_out: usize,
    },
}

/// What [`import_file`] did, conversation by conversation in file order.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ImportReport {
    /// One entry per conversation of the file.
    pub conversations: Vec<ImportItem>,
}

impl ImportReport {
    /// The conversations saved.
    pub fn imported(&self) -> impl Iterator<Item = &Conversation> {
        self.conversations.iter().filter_map(|i| match &i.outcome {
            ImportOutcome::Imported { conversation, .. } => Some(conversation),
            _ => None,
        })
    }

    /// Messages of the file that were not imported because the file is damaged (summed over
    /// [`ImportOutcome::Imported`] and [`ImportOutcome::Unreachable`]). Zero when every
    /// message was imported or recognised as already present.
    pub fn left_out(&self) -> usize {
        self.conversations
            .iter()
            .map(|i| match i.outcome {
                ImportOutcome::Imported { left_out, .. }
                | ImportOutcome::Unreachable { left_out } => left_out,
                _ => 0,
            })
            .sum()
    }
}

/// `title` made a valid conversation title: trimmed, `fallback` when empty, shortened with `…`
/// to [`MAX_TITLE_CHARS`].
pub(crate) fn fit_title(title: Option<&str>, fallback: &str) -> String {
    let title = title
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .unwrap_or(fallback);
    llf_core::text::truncate(title, MAX_TITLE_CHARS).into_owned()
}

/// Parses an import file: LLF JSON (one conversation) or a ChatGPT export (any number).
pub fn parse_import(bytes: &[u8]) -> Result<Vec<ParsedConversation>> {
    let value: serde_json::Value = serde_json::from_slice(bytes)
        .map_err(|e| ExportError::Import(format!("the file is not JSON: {e}")))?;
    if value.get("format").and_then(|f| f.as_str()) == Some(JSON_FORMAT) {
        return Ok(vec![ParsedConversation {
            tree: parse_llf_json(value)?,
            left_out: 0,
        }]);
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

/// Imports every conversation of the file at `path` into `history`, each in one transaction.
///
/// A conversation whose origin is in the history already (the same file imported again, or an
/// export of a conversation of this history) is skipped unless `options.allow_duplicates`;
/// one with no message is skipped; one whose file entry is damaged is imported as far as it
/// can be read. The report says which was which, and [`ImportReport::left_out`] counts what
/// was lost to damage.
pub async fn import_file(
    history: &History,
    path: &Path,
    options: &ImportOptions,
) -> Result<ImportReport> {
    let bytes = tokio::fs::read(path)
        .await
        .map_err(|source| ExportError::Read {
            path: path.to_owned(),
            source,
        })?;
    let mut report = ImportReport::default();
    for parsed in parse_import(&bytes)? {
        let tree = &parsed.tree;
        let outcome = if tree.messages.is_empty() {
            if parsed.left_out > 0 {
                ImportOutcome::Unreachable {
                    left_out: parsed.left_out,
                }
            } else {
                ImportOutcome::Empty
            }
        } else if options.allow_duplicates {
            ImportOutcome::Imported {
                conversation: history.insert_tree(tree).await?,
                left_out: parsed.left_out,
            }
        } else {
            match history.insert_tree_if_new(tree).await? {
                TreeInsert::Inserted(conversation) => ImportOutcome::Imported {
                    conversation,
                    left_out: parsed.left_out,
                },
                TreeInsert::AlreadyPresent(existing) => ImportOutcome::AlreadyPresent { existing },
            }
        };
        report.conversations.push(ImportItem {
            title: tree.conversation.title.clone(),
            source_id: tree.conversation.source_id.clone(),
            outcome,
        });
    }
    Ok(report)
}
