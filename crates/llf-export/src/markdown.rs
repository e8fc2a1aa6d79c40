//! Markdown and plain text.

use std::fmt::Write;

use llf_history::{ConversationTree, StoredMessage};

use crate::options::{ExportOptions, Scope};
use crate::select::{depths, role_label};

fn time(m: &StoredMessage) -> String {
    m.created_at.format("%Y-%m-%d %H:%M:%S UTC").to_string()
}

/// Lines of metadata shared by the text formats.
pub(crate) fn metadata_lines(
    tree: &ConversationTree,
    messages: &[StoredMessage],
) -> Vec<(String, String)> {
    let c = &tree.conversation;
    let mut lines = vec![("Conversation".to_owned(), c.id.clone())];
    if let Some(model) = &c.model {
        lines.push(("Model".to_owned(), model.clone()));
    }
    lines.push((
        "Created".to_owned(),
        c.created_at.format("%Y-%m-%d %H:%M:%S UTC").to_string(),
    ));
    lines.push((
        "Updated".to_owned(),
        c.updated_at.format("%Y-%m-%d %H:%M:%S UTC").to_string(),
    ));
    lines.push(("Messages".to_owned(), messages.len().to_string()));
    let tokens: u64 = messages
        .iter()
        .map(|m| u64::from(m.tokens.completion.unwrap_or(0)))
        .sum();
    if tokens > 0 {
        lines.push(("Completion tokens".to_owned(), tokens.to_string()));
    }
    lines
}

/// A heading for one message: role, model, id and parent in a tree, time.
pub(crate) fn heading(m: &StoredMessage, opts: &ExportOptions) -> String {
    let mut h = role_label(m.message.role).to_owned();
    if let Some(model) = &m.model {
        let _ = write!(h, " ({model})");
    }
    if opts.scope == Scope::Tree {
        let _ = write!(h, " #{}", m.id);
        if let Some(p) = m.parent_id {
            let _ = write!(h, " ↳ #{p}");
        }
    }
    if opts.timestamps {
        let _ = write!(h, " · {}", time(m));
    }
    if m.status == llf_history::MessageStatus::Partial {
        h.push_str(" · partial");
    }
    h
}

pub(crate) fn markdown(
    tree: &ConversationTree,
    messages: &[StoredMessage],
    opts: &ExportOptions,
) -> String {
    let mut out = format!("# {}\n\n", tree.conversation.title);
    if opts.metadata {
        for (k, v) in metadata_lines(tree, messages) {
            let _ = writeln!(out, "- **{k}:** {v}");
        }
        out.push('\n');
    }
    let depth = depths(messages);
    for m in messages {
        let level = if opts.scope == Scope::Tree {
            "#".repeat(2 + depth.get(&m.id).copied().unwrap_or(0).min(4))
        } else {
            "##".to_owned()
        };
        let _ = writeln!(out, "{level} {}\n", heading(m, opts));
        if let Some(id) = &m.message.tool_call_id {
            let _ = writeln!(out, "*Result of tool call `{id}`*\n");
        }
        if !m.message.content.is_empty() {
            let _ = writeln!(out, "{}\n", m.message.content);
        }
        for call in &m.message.tool_calls {
            let _ = writeln!(
                out,
                "**Tool call** `{}` (`{}`):\n\n```json\n{}\n```\n",
                call.name, call.id, call.arguments
            );
        }
    }
    out
}

pub(crate) fn text(
    tree: &ConversationTree,
    messages: &[StoredMessage],
    opts: &ExportOptions,
) -> String {
    let mut out = format!(
        "{}\n{}\n\n",
        tree.conversation.title,
        "=".repeat(tree.conversation.title.chars().count().max(3))
    );
    if opts.metadata {
        for (k, v) in metadata_lines(tree, messages) {
            let _ = writeln!(out, "{k}: {v}");
        }
        out.push('\n');
    }
    let depth = depths(messages);
    for m in messages {
        let indent = if opts.scope == Scope::Tree {
            "  ".repeat(depth.get(&m.id).copied().unwrap_or(0))
        } else {
            String::new()
        };
        let _ = writeln!(out, "{indent}[{}]", heading(m, opts));
        for line in m.message.content.lines() {
            let _ = writeln!(out, "{indent}{line}");
        }
        for call in &m.message.tool_calls {
            let _ = writeln!(
                out,
                "{indent}-> tool call {} ({}): {}",
                call.name, call.id, call.arguments
            );
        }
        out.push('\n');
    }
    out
}
