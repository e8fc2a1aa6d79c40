//! Decoding rows into the public types.

use chrono::{DateTime, Utc};
use llf_core::chat::{ChatMessage, Role};
use sqlx::Row;
use sqlx::sqlite::SqliteRow;

use crate::types::{Conversation, MessageStatus, StoredMessage, TokenCounts};
use crate::{HistoryError, Result};

/// Columns of `messages`, in the order [`message`] reads them.
pub(crate) const MESSAGE_COLUMNS: &str = "m.id, m.conversation_id, m.parent_id, m.role, m.content, \
     m.tool_calls, m.tool_call_id, m.model, m.prompt_tokens, m.completion_tokens, m.status, \
     m.created_at, m.updated_at";

/// Columns of `conversations`, in the order [`conversation`] reads them.
pub(crate) const CONVERSATION_COLUMNS: &str =
    "c.id, c.title, c.model, c.created_at, c.updated_at, c.current_leaf, c.deleted_at, c.source_id";

pub(crate) fn millis(t: DateTime<Utc>) -> i64 {
    t.timestamp_millis()
}

pub(crate) fn time(ms: i64) -> Result<DateTime<Utc>> {
    DateTime::from_timestamp_millis(ms)
        .ok_or_else(|| HistoryError::Corrupt(format!("timestamp {ms} out of range")))
}

fn role_from(s: &str) -> Result<Role> {
    s.parse()
        .map_err(|_| HistoryError::Corrupt(format!("unknown role `{s}`")))
}

pub(crate) fn conversation(row: &SqliteRow) -> Result<Conversation> {
    Ok(Conversation {
        id: row.try_get("id")?,
        title: row.try_get("title")?,
        model: row.try_get("model")?,
        created_at: time(row.try_get("created_at")?)?,
        updated_at: time(row.try_get("updated_at")?)?,
        current_leaf: row.try_get("current_leaf")?,
        deleted_at: row
            .try_get::<Option<i64>, _>("deleted_at")?
            .map(time)
            .transpose()?,
        source_id: row.try_get("source_id")?,
    })
}

pub(crate) fn message(row: &SqliteRow) -> Result<StoredMessage> {
    let role: String = row.try_get("role")?;
    let calls: String = row.try_get("tool_calls")?;
    let status: String = row.try_get("status")?;
    let count = |col: &str| -> Result<Option<u32>> {
        Ok(row
            .try_get::<Option<i64>, _>(col)?
            .and_then(|n| u32::try_from(n).ok()))
    };
    Ok(StoredMessage {
        id: row.try_get("id")?,
        conversation_id: row.try_get("conversation_id")?,
        parent_id: row.try_get("parent_id")?,
        message: ChatMessage {
            role: role_from(&role)?,
            content: row.try_get("content")?,
            tool_calls: serde_json::from_str(&calls)
                .map_err(|e| HistoryError::Corrupt(format!("tool calls: {e}")))?,
            tool_call_id: row.try_get("tool_call_id")?,
        },
        model: row.try_get("model")?,
        tokens: TokenCounts {
            prompt: count("prompt_tokens")?,
            completion: count("completion_tokens")?,
        },
        status: match status.as_str() {
            "partial" => MessageStatus::Partial,
            _ => MessageStatus::Complete,
        },
        created_at: time(row.try_get("created_at")?)?,
        updated_at: time(row.try_get("updated_at")?)?,
    })
}
