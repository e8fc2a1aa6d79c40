//! REPL commands over the other LLF crates: history (tree, branch, retry, goto, search,
//! export), long-term memory and prompt templates.

use std::collections::BTreeMap;
use std::sync::Arc;

use llf_core::chat::Role;
use llf_export::{ExportOptions, Format};
use llf_history::{MessageId, SearchQuery};
use llf_memory::MemoryContext;

use super::render;
use super::repl::Chat;
use crate::Context;

/// Argument help for commands that need one.
pub(super) fn usage(name: &str) -> &'static str {
    match name {
        "save" | "load" => "FILE",
        "goto" => "MESSAGE_ID (see /tree)",
        "search" | "memories" => "WORDS",
        "remember" => "TEXT",
        "template" => "NAME [key=value …]",
        "export" => "markdown|json|html|text|pdf [FILE]",
        _ => "",
    }
}

/// Long-term memory for prompts, when `memory.enabled`.
pub(super) async fn memory_context(ctx: &Context) -> Option<Arc<MemoryContext>> {
    let file = ctx.config().ok()?;
    if !file.config().memory.enabled {
        return None;
    }
    match crate::commands::memory::open(ctx, true).await {
        Ok(Some(store)) => Some(Arc::new(MemoryContext::new(
            store,
            file.config().memory.clone(),
        ))),
        Ok(None) => None,
        Err(e) => {
            tracing::warn!(error = %e, "long-term memory unavailable for this chat");
            None
        }
    }
}

/// Retrieval over the attached data stores, when `rag.enabled` and stores are attached. A store
/// that cannot be opened is reported and the chat goes on without retrieval.
pub(super) async fn rag_context(ctx: &Context) -> Option<llf_rag::context::RagContext> {
    let file = ctx.config().ok()?;
    let cache_file = file.paths().cache.join(llf_rag::cache::CACHE_FILE);
    match llf_rag::context::RagContext::from_settings(
        &file.config().rag,
        &file.paths().data_stores,
        Some(&cache_file),
    )
    .await
    {
        Ok(rag) => rag,
        Err(e) => {
            eprintln!("warning: retrieval is off for this chat: {e}");
            None
        }
    }
}

/// Keeps the query caches for the next run and for `llf datastore cache-stats`.
pub(super) fn save_rag_cache(ctx: &Context, rag: &llf_rag::context::RagContext) {
    let Ok(file) = ctx.config() else { return };
    let path = file.paths().cache.join(llf_rag::cache::CACHE_FILE);
    if let Err(e) = rag.retriever().save_cache(&path) {
        tracing::warn!(error = %e, "cannot save the retrieval caches");
    }
}

pub(super) async fn run(
    ctx: &Context,
    chat: &mut Chat,
    name: &str,
    arg: &str,
) -> anyhow::Result<()> {
    match name {
        "remember" => {
            let m = chat
                .memory
                .as_ref()
                .ok_or_else(|| anyhow::anyhow!("memory is off (memory.enabled = false)"))?;
            let saved = m.remember(arg).await?;
            eprintln!("remembered in store `{}` (id {})", saved.store, saved.id);
        }
        "memories" => {
            let m = chat
                .memory
                .as_ref()
                .ok_or_else(|| anyhow::anyhow!("memory is off (memory.enabled = false)"))?;
            let highlight = if std::io::IsTerminal::is_terminal(&std::io::stdout()) {
                llf_core::text::Highlight::new("\x1b[1m", "\x1b[0m")
            } else {
                llf_core::text::Highlight::default()
            };
            let hits = m.recall_with(arg, highlight).await?;
            if hits.is_empty() {
                eprintln!("no memories match");
            }
            for h in hits {
                let text = h.snippet.unwrap_or(h.memory.content);
                crate::output::line(format!(
                    "[{:.2}] {} ({})",
                    h.score,
                    text.replace('\n', " "),
                    h.memory.id
                ))?;
            }
        }
        "template" => {
            let mut parts = arg.split_whitespace();
            let id = parts.next().unwrap_or_default();
            let mut values = BTreeMap::new();
            for p in parts {
                let (k, v) = p
                    .split_once('=')
                    .ok_or_else(|| anyhow::anyhow!("`{p}` is not key=value"))?;
                values.insert(k.to_owned(), v.to_owned());
            }
            let text = crate::commands::template::store(ctx)?.render(id, &values)?;
            eprintln!("sending template `{id}`:");
            eprintln!("{text}");
            chat.ask(&text).await?;
        }
        "tools" => match &chat.tools {
            Some(t) => {
                for s in llf_core::tool::ToolExecutor::specs(t.as_ref()) {
                    crate::output::line(format!("{:<20} {}", s.name, s.description))?;
                }
            }
            None => eprintln!("tools are off; start the chat with --tools"),
        },
        "tree" | "branch" | "retry" | "goto" | "search" | "export" => {
            history_command(chat, name, arg).await?
        }
        other => eprintln!("unknown command /{other}; /help lists them"),
    }
    Ok(())
}

async fn history_command(chat: &mut Chat, name: &str, arg: &str) -> anyhow::Result<()> {
    let Some(rec) = chat.recorder.as_ref() else {
        anyhow::bail!("this chat is not saved (--no-save), so /{name} is not available");
    };
    let history = &rec.history;
    if name == "search" {
        let hits = history
            .search(
                &SearchQuery::new(arg)
                    .highlight("\x1b[1m", "\x1b[0m")
                    .limit(10),
            )
            .await?;
        if hits.is_empty() {
            eprintln!("no saved message matches");
        }
        for h in hits {
            crate::output::line(format!(
                "{} #{} {} — {}: {}",
                &h.message.conversation_id[..8.min(h.message.conversation_id.len())],
                h.message.id,
                h.conversation_title,
                h.message.role(),
                h.snippet.replace('\n', " ")
            ))?;
        }
        return Ok(());
    }
    let Some(conv) = rec.conversation.clone() else {
        anyhow::bail!("nothing saved yet in this chat");
    };
    match name {
        "tree" => {
            let tree = history.tree(&conv).await?;
            let current: std::collections::HashSet<MessageId> = history
                .current_path(&conv)
                .await?
                .iter()
                .map(|m| m.id)
                .collect();
            let mut stack: Vec<(MessageId, usize)> = tree
                .children(None)
                .iter()
                .rev()
                .map(|m| (m.id, 0))
                .collect();
            while let Some((id, depth)) = stack.pop() {
                let Some(m) = tree.messages.iter().find(|m| m.id == id) else {
                    continue;
                };
                let mark = if current.contains(&id) { "*" } else { " " };
                let text: String = m
                    .message
                    .content
                    .replace('\n', " ")
                    .chars()
                    .take(60)
                    .collect();
                crate::output::line(format!(
                    "{mark} {:indent$}#{} {}: {text}",
                    "",
                    m.id,
                    m.role(),
                    indent = depth * 2
                ))?;
                for child in tree.children(Some(id)).iter().rev() {
                    stack.push((child.id, depth + 1));
                }
            }
            eprintln!("* marks the active branch; /goto ID switches");
        }
        "goto" => {
            let id: MessageId = arg
                .trim_start_matches('#')
                .parse()
                .map_err(|_| anyhow::anyhow!("`{arg}` is not a message id"))?;
            history.checkout(&conv, id).await?;
            let messages = rec.current_messages().await?;
            let n = messages.len();
            chat.session.set_history(messages);
            eprintln!("now at message #{id} ({n} messages on this branch)");
        }
        "branch" => {
            let path = history.current_path(&conv).await?;
            let target = if arg.is_empty() {
                // Before the last user message: the next message is a sibling of it.
                let last_user = path
                    .iter()
                    .rposition(|m| m.role() == Role::User)
                    .ok_or_else(|| anyhow::anyhow!("no message to branch from yet"))?;
                match last_user.checked_sub(1).and_then(|i| path.get(i)) {
                    Some(m) => m.id,
                    None => anyhow::bail!(
                        "the first message has nothing before it; /clear starts a new conversation"
                    ),
                }
            } else {
                arg.trim_start_matches('#')
                    .parse()
                    .map_err(|_| anyhow::anyhow!("`{arg}` is not a message id"))?
            };
            history.checkout(&conv, target).await?;
            let messages = rec.current_messages().await?;
            chat.session.set_history(messages);
            eprintln!(
                "branching from message #{target}: your next message starts a new branch (/tree shows both)"
            );
        }
        "retry" => {
            let path = history.current_path(&conv).await?;
            let last_user = path
                .iter()
                .rposition(|m| m.role() == Role::User)
                .ok_or_else(|| anyhow::anyhow!("nothing to retry yet"))?;
            let question = path[last_user].clone();
            history.checkout(&conv, question.id).await?;
            let before: Vec<_> = path[..last_user]
                .iter()
                .filter(|m| m.role() != Role::System)
                .map(|m| m.message.clone())
                .collect();
            chat.session.set_history(before);
            let built = chat.session.prepare(&question.message.content).await?;
            let rec = chat
                .recorder
                .as_mut()
                .ok_or_else(|| anyhow::anyhow!("history is off"))?;
            let mut row = rec.start_answer().await?;
            let stream = chat.session.stream(&built).await?;
            let outcome = render::stream_to_stdout(
                stream,
                built.elapsed,
                chat.recorder.as_ref().map(|r| (r, &mut row)),
            )
            .await?;
            let rec = chat
                .recorder
                .as_ref()
                .ok_or_else(|| anyhow::anyhow!("history is off"))?;
            match outcome {
                render::Outcome::Done(c) => {
                    rec.finish(row, &c).await?;
                    render::status_line(&c);
                    chat.session
                        .push_turn(&question.message.content, &c.content);
                    eprintln!("(a new branch; /tree shows both answers)");
                }
                render::Outcome::Interrupted(p) | render::Outcome::Failed(_, p) => {
                    rec.keep_partial(row, &p).await?;
                    chat.session.push_turn(&question.message.content, &p);
                }
            }
        }
        "export" => {
            let mut parts = arg.split_whitespace();
            let format: Format = parts.next().unwrap_or("markdown").parse()?;
            let file = match parts.next() {
                Some(f) => std::path::PathBuf::from(f),
                None => std::path::PathBuf::from(format!(
                    "conversation-{}.{}",
                    &conv[..8.min(conv.len())],
                    format.extension()
                )),
            };
            let bytes = llf_export::export(history, &conv, &ExportOptions::new(format)).await?;
            llf_export::write_file(&file, &bytes)?;
            eprintln!("exported to {}", file.display());
        }
        _ => {}
    }
    Ok(())
}
