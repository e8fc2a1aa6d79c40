//! Import of ChatGPT's data export (`conversations.json`): a list of conversations, each a
//! `mapping` of nodes (`message`, `parent`, `children`) and a `current_node`.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use llf_core::chat::{ChatMessage, Role};
use llf_history::{
    Conversation, ConversationTree, MessageId, MessageStatus, StoredMessage, TokenCounts,
};
use serde::Deserialize;

use crate::{ExportError, Result};

#[derive(Debug, Deserialize)]
struct GptConversation {
    #[serde(default)]
    title: Option<String>,
    #[serde(default)]
    create_time: Option<f64>,
    #[serde(default)]
    update_time: Option<f64>,
    mapping: HashMap<String, GptNode>,
    #[serde(default)]
    current_node: Option<String>,
    #[serde(default)]
    default_model_slug: Option<String>,
}

#[derive(Debug, Deserialize)]
struct GptNode {
    #[serde(default)]
    message: Option<GptMessage>,
    #[serde(default)]
    parent: Option<String>,
    #[serde(default)]
    children: Vec<String>,
}

#[derive(Debug, Deserialize)]
struct GptMessage {
    author: GptAuthor,
    #[serde(default)]
    create_time: Option<f64>,
    #[serde(default)]
    content: Option<GptContent>,
    #[serde(default)]
    metadata: serde_json::Map<String, serde_json::Value>,
}

#[derive(Debug, Deserialize)]
struct GptAuthor {
    role: String,
}

#[derive(Debug, Deserialize)]
struct GptContent {
    #[serde(default)]
    parts: Vec<serde_json::Value>,
    #[serde(default)]
    text: Option<String>,
}

fn time(secs: Option<f64>) -> Option<DateTime<Utc>> {
    let s = secs?;
    DateTime::from_timestamp_millis((s * 1000.0) as i64)
}

fn text_of(content: &GptContent) -> String {
    let parts: Vec<&str> = content.parts.iter().filter_map(|p| p.as_str()).collect();
    if parts.is_empty() {
        content.text.clone().unwrap_or_default()
    } else {
        parts.join("\n")
    }
}

/// Parses a ChatGPT export: an array of conversations, or a single one.
pub fn parse_chatgpt(value: serde_json::Value) -> Result<Vec<ConversationTree>> {
    let list: Vec<GptConversation> = if value.is_array() {
        serde_json::from_value(value)
    } else {
        serde_json::from_value(value).map(|c| vec![c])
    }
    .map_err(|e| ExportError::Import(format!("not a valid ChatGPT conversations.json: {e}")))?;
    Ok(list.into_iter().map(convert).collect())
}

fn convert(c: GptConversation) -> ConversationTree {
    let created = time(c.create_time).unwrap_or_else(Utc::now);
    let updated = time(c.update_time).unwrap_or(created);
    // Walk from the roots so parents get their ids before their children.
    let mut roots: Vec<&String> = c
        .mapping
        .iter()
        .filter(|(_, n)| n.parent.as_ref().is_none_or(|p| !c.mapping.contains_key(p)))
        .map(|(k, _)| k)
        .collect();
    roots.sort();
    let mut ids: HashMap<&str, MessageId> = HashMap::new();
    let mut messages = Vec::new();
    // (node key, id of the nearest kept ancestor)
    let mut stack: Vec<(&String, Option<MessageId>)> =
        roots.into_iter().rev().map(|r| (r, None)).collect();
    let mut model = c.default_model_slug.clone();
    while let Some((key, parent)) = stack.pop() {
        let Some(node) = c.mapping.get(key) else {
            continue;
        };
        let mut here = parent;
        if let Some(m) = &node.message {
            let content = m.content.as_ref().map(text_of).unwrap_or_default();
            let role = match m.author.role.as_str() {
                "user" => Some(Role::User),
                "assistant" => Some(Role::Assistant),
                "system" => Some(Role::System),
                "tool" => Some(Role::Tool),
                _ => None,
            };
            // ChatGPT keeps empty hidden system nodes as scaffolding; they carry nothing.
            if let Some(role) = role.filter(|_| !content.trim().is_empty()) {
                let id = messages.len() as MessageId + 1;
                let msg_model = m
                    .metadata
                    .get("model_slug")
                    .and_then(|v| v.as_str())
                    .map(ToOwned::to_owned);
                if model.is_none() {
                    model.clone_from(&msg_model);
                }
                let at = time(m.create_time).unwrap_or(created);
                messages.push(StoredMessage {
                    id,
                    conversation_id: String::new(),
                    parent_id: parent,
                    message: ChatMessage::new(role, content),
                    model: msg_model,
                    tokens: TokenCounts::default(),
                    status: MessageStatus::Complete,
                    created_at: at,
                    updated_at: at,
                });
                ids.insert(key.as_str(), id);
                here = Some(id);
            }
        }
        for child in node.children.iter().rev() {
            stack.push((child, here));
        }
    }
    let current_leaf = c.current_node.as_deref().and_then(|k| {
        // The current node may be a skipped one; climb to a kept ancestor.
        let mut key = Some(k);
        while let Some(kk) = key {
            if let Some(id) = ids.get(kk) {
                return Some(*id);
            }
            key = c.mapping.get(kk).and_then(|n| n.parent.as_deref());
        }
        None
    });
    ConversationTree {
        conversation: Conversation {
            id: String::new(),
            title: c
                .title
                .filter(|t| !t.trim().is_empty())
                .unwrap_or_else(|| "Imported from ChatGPT".to_owned()),
            model,
            created_at: created,
            updated_at: updated,
            current_leaf,
            deleted_at: None,
        },
        messages,
    }
}
