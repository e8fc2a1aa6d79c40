//! LLF's own JSON: versioned, and lossless on import (tree, tool calls, times, statuses).

use chrono::{DateTime, Utc};
use llf_history::{Conversation, ConversationTree, StoredMessage};
use serde::{Deserialize, Serialize};

use crate::import::fit_title;
use crate::{ExportError, Result};

/// `format` tag of an LLF conversation file.
pub const JSON_FORMAT: &str = "llf-conversation";
/// Current version of the layout. Readers accept this version and older.
pub const JSON_VERSION: u32 = 1;

/// The file layout.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ConversationFile {
    /// Always [`JSON_FORMAT`].
    pub format: String,
    /// Layout version.
    pub version: u32,
    /// When it was written.
    pub exported_at: DateTime<Utc>,
    /// The header.
    pub conversation: Conversation,
    /// The messages, parents before children.
    pub messages: Vec<StoredMessage>,
}

pub(crate) fn to_json(tree: &ConversationTree, messages: Vec<StoredMessage>) -> Result<Vec<u8>> {
    let mut conversation = tree.conversation.clone();
    // A current leaf outside the selection would dangle; the importer then picks the last leaf.
    if conversation
        .current_leaf
        .is_some_and(|l| !messages.iter().any(|m| m.id == l))
    {
        conversation.current_leaf = None;
    }
    let file = ConversationFile {
        format: JSON_FORMAT.to_owned(),
        version: JSON_VERSION,
        exported_at: Utc::now(),
        conversation,
        messages,
    };
    let mut bytes = serde_json::to_vec_pretty(&file)?;
    bytes.push(b'\n');
    Ok(bytes)
}

/// Reads an LLF conversation file. The tree's `source_id` is the exported conversation's
/// [origin](Conversation::origin), so importing the file where the conversation already is is
/// recognised.
pub fn parse_llf_json(value: serde_json::Value) -> Result<ConversationTree> {
    let file: ConversationFile = serde_json::from_value(value)
        .map_err(|e| ExportError::Import(format!("not a valid LLF conversation file: {e}")))?;
    if file.format != JSON_FORMAT {
        return Err(ExportError::Import(format!(
            "unknown format tag `{}`",
            file.format
        )));
    }
    if file.version > JSON_VERSION {
        return Err(ExportError::Import(format!(
            "the file has version {} but this LLF reads up to version {JSON_VERSION}; update LLF",
            file.version
        )));
    }
    let mut conversation = file.conversation;
    conversation.source_id = Some(conversation.origin());
    conversation.title = fit_title(Some(conversation.title.as_str()), "Imported conversation");
    Ok(ConversationTree {
        conversation,
        messages: file.messages,
    })
}
