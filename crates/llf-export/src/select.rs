//! Picking the messages an export covers.

use std::collections::{HashMap, HashSet};

use llf_core::chat::Role;
use llf_history::{ConversationTree, MessageId, StoredMessage};

use crate::options::{ExportOptions, Scope};
use crate::{ExportError, Result};

/// The messages `opts` selects from `tree`, parents before children. A message whose parent was
/// left out hangs from its nearest kept ancestor, so the result is still a tree.
pub(crate) fn select(tree: &ConversationTree, opts: &ExportOptions) -> Result<Vec<StoredMessage>> {
    let in_scope: Vec<&StoredMessage> = match opts.scope {
        Scope::Tree => tree.messages.iter().collect(),
        Scope::CurrentBranch => match tree.conversation.current_leaf {
            Some(leaf) => tree.path_to(leaf),
            None => Vec::new(),
        },
        Scope::Branch(leaf) => {
            let path = tree.path_to(leaf);
            if path.is_empty() {
                return Err(ExportError::Empty(format!(
                    "message {leaf} is not in conversation {}",
                    tree.conversation.id
                )));
            }
            path
        }
    };
    let keep = |m: &StoredMessage| {
        (opts.system_prompts || m.message.role != Role::System)
            && opts.since.is_none_or(|s| m.created_at >= s)
            && opts.until.is_none_or(|u| m.created_at < u)
    };
    let parents: HashMap<MessageId, Option<MessageId>> =
        tree.messages.iter().map(|m| (m.id, m.parent_id)).collect();
    let kept: HashSet<MessageId> = in_scope.iter().filter(|m| keep(m)).map(|m| m.id).collect();
    let mut out: Vec<StoredMessage> = in_scope
        .into_iter()
        .filter(|m| kept.contains(&m.id))
        .cloned()
        .collect();
    for m in &mut out {
        let mut p = m.parent_id;
        let mut hops = 0;
        while let Some(id) = p {
            if kept.contains(&id) || hops > parents.len() {
                break;
            }
            p = parents.get(&id).copied().flatten();
            hops += 1;
        }
        m.parent_id = p.filter(|id| kept.contains(id));
    }
    Ok(out)
}

/// Depth of each selected message (0 for roots), for indenting a tree.
pub(crate) fn depths(messages: &[StoredMessage]) -> HashMap<MessageId, usize> {
    let mut depth = HashMap::new();
    for m in messages {
        let d = m
            .parent_id
            .and_then(|p| depth.get(&p).map(|d| d + 1))
            .unwrap_or(0);
        depth.insert(m.id, d);
    }
    depth
}

/// A role's display name.
pub(crate) fn role_label(role: Role) -> &'static str {
    match role {
        Role::System => "System",
        Role::User => "User",
        Role::Assistant => "Assistant",
        Role::Tool => "Tool",
    }
}
