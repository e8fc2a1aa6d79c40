//! Import of ChatGPT's data export (`conversations.json`): a list of conversations, each a
//! `mapping` of nodes (`message`, `parent`, `children`) and a `current_node`.
//!
//! The tree is built from the `parent` links alone (a node has one parent, so the result is a
//! tree whatever the `children` lists say; they only order siblings). Nodes that no root reaches
//! — a cycle of parents, or a node hanging from one — are left out and counted, never looped on.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use llf_core::chat::{ChatMessage, Role};
use llf_history::{
    Conversation, ConversationTree, MessageId, MessageStatus, StoredMessage, TokenCounts,
};
use serde::Deserialize;

use crate::import::{ParsedConversation, fit_title};
use crate::{ExportError, Result};

/// Prefix of the origin (`source_id`) of a conversation imported from ChatGPT.
pub const CHATGPT_ORIGIN: &str = "chatgpt:";

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
    #[serde(default)]
    conversation_id: Option<String>,
    #[serde(default)]
    id: Option<String>,
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

/// The role and text of a node worth importing. ChatGPT keeps empty hidden system nodes as
/// scaffolding, and roles LLF has no use for; they carry nothing.
fn kept(node: &GptNode) -> Option<(Role, String, &GptMessage)> {
    let m = node.message.as_ref()?;
    let content = m.content.as_ref().map(text_of).unwrap_or_default();
    let role: Role = m.author.role.parse().ok()?;
    (!content.trim().is_empty()).then_some((role, content, m))
}

/// Parses a ChatGPT export: an array of conversations, or a single one.
pub fn parse_chatgpt(value: serde_json::Value) -> Result<Vec<ParsedConversation>> {
    let list: Vec<GptConversation> = if value.is_array() {
        serde_json::from_value(value)
    } else {
        serde_json::from_value(value).map(|c| vec![c])
    }
    .map_err(|e| ExportError::Import(format!("not a valid ChatGPT conversations.json: {e}")))?;
    Ok(list.into_iter().map(convert).collect())
}

fn convert(c: GptConversation) -> ParsedConversation {
    let created = time(c.create_time).unwrap_or_else(Utc::now);
    let updated = time(c.update_time).unwrap_or(created);
    let map = &c.mapping;
    // Children from the parent links, ordered as the parent lists them (unlisted ones last).
    let mut children: HashMap<&str, Vec<&str>> = HashMap::new();
    let mut roots: Vec<&str> = Vec::new();
    for (key, node) in map {
        match node.parent.as_deref().filter(|p| map.contains_key(*p)) {
            Some(parent) => children.entry(parent).or_default().push(key),
            None => roots.push(key),
        }
    }
    for (parent, kids) in &mut children {
        let listed = map
            .get(*parent)
            .map(|n| n.children.as_slice())
            .unwrap_or(&[]);
        kids.sort_by_key(|k| {
            let place = listed.iter().position(|l| l == k).unwrap_or(usize::MAX);
            (place, *k)
        });
    }
    roots.sort_unstable();
    let mut ids: HashMap<&str, MessageId> = HashMap::new();
    let mut reached: HashSet<&str> = HashSet::new();
    let mut messages = Vec::new();
    let mut model = c.default_model_slug.clone();
    // (node key, id of the nearest kept ancestor), depth first so parents come before children.
    let mut stack: Vec<(&str, Option<MessageId>)> =
        roots.iter().rev().map(|r| (*r, None)).collect();
    while let Some((key, parent)) = stack.pop() {
        if !reached.insert(key) {
            continue;
        }
        let Some(node) = map.get(key) else { continue };
        let mut here = parent;
        if let Some((role, content, m)) = kept(node) {
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
            ids.insert(key, id);
            here = Some(id);
        }
        for child in children.get(key).into_iter().flatten().rev() {
            stack.push((*child, here));
        }
    }
    let left_out = map
        .iter()
        .filter(|(k, n)| !reached.contains(k.as_str()) && kept(n).is_some())
        .count();
    if left_out > 0 {
        // The import report carries this to the user; the event is for debug logs.
        tracing::debug!(
            conversation = ?c.conversation_id.as_ref().or(c.id.as_ref()),
            left_out,
            "ChatGPT conversation has messages no root reaches (a cycle of parent links?)"
        );
    }
    // The current node may be a skipped one; climb to a kept ancestor (at most one step per
    // node, so a cycle of parents ends the climb instead of looping).
    let current_leaf = c.current_node.as_deref().and_then(|start| {
        let mut key = Some(start);
        for _ in 0..=map.len() {
            let k = key?;
            if let Some(id) = ids.get(k) {
                return Some(*id);
            }
            key = map.get(k).and_then(|n| n.parent.as_deref());
        }
        None
    });
    let source_id = c
        .conversation_id
        .or(c.id)
        .filter(|id| !id.trim().is_empty())
        .map(|id| format!("{CHATGPT_ORIGIN}{id}"));
    ParsedConversation {
        tree: ConversationTree {
            conversation: Conversation {
                id: String::new(),
                title: fit_title(c.title.as_deref(), "Imported from ChatGPT"),
                model,
                created_at: created,
                updated_at: updated,
                current_leaf,
                deleted_at: None,
                source_id,
            },
            messages,
        },
        left_out,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(parent: Option<&str>, children: &[&str], role: &str, text: &str) -> serde_json::Value {
        serde_json::json!({
            "parent": parent, "children": children,
            "message": {"author": {"role": role}, "content": {"parts": [text]}}
        })
    }

    #[test]
    fn cycle_of_parents_is_left_out_and_counted_not_looped_on() {
        // "a" is a proper root; "x" and "y" are each other's parent, and "y" lists "a" as a
        // child too, which the parent links overrule.
        let value = serde_json::json!({
            "id": "conv-1", "title": "loop", "current_node": "y",
            "mapping": {
                "a": node(None, &["b"], "user", "hi"),
                "b": node(Some("a"), &["a"], "assistant", "hello"),
                "x": node(Some("y"), &["y"], "user", "lost 1"),
                "y": node(Some("x"), &["x", "a"], "assistant", "lost 2"),
            }
        });
        let parsed = parse_chatgpt(value).unwrap().pop().unwrap();
        assert_eq!(parsed.left_out, 2);
        let texts: Vec<&str> = parsed
            .tree
            .messages
            .iter()
            .map(|m| m.message.content.as_str())
            .collect();
        assert_eq!(texts, ["hi", "hello"]);
        assert_eq!(parsed.tree.conversation.current_leaf, None);
        assert_eq!(
            parsed.tree.conversation.source_id.as_deref(),
            Some("chatgpt:conv-1")
        );
    }

    #[test]
    fn siblings_follow_the_parents_children_order() {
        let value = serde_json::json!({
            "title": "", "mapping": {
                "q": node(None, &["z", "a"], "user", "q"),
                "a": node(Some("q"), &[], "assistant", "second"),
                "z": node(Some("q"), &[], "assistant", "first"),
                "u": node(Some("q"), &[], "assistant", "unlisted"),
            }
        });
        let parsed = parse_chatgpt(value).unwrap().pop().unwrap();
        let texts: Vec<&str> = parsed
            .tree
            .messages
            .iter()
            .map(|m| m.message.content.as_str())
            .collect();
        assert_eq!(texts, ["q", "first", "second", "unlisted"]);
        assert_eq!(parsed.tree.conversation.title, "Imported from ChatGPT");
        assert_eq!(parsed.tree.conversation.source_id, None);
    }
}
