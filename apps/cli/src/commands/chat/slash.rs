//! REPL commands over the chat: history (tree, branch, retry, goto, search, export), long-term
//! memory and prompt templates.

use std::collections::{BTreeMap, HashSet};
use std::io::IsTerminal;

use llf::Llf;
use llf::chat::Chat;
use llf::core::text::Highlight;
use llf::export::{ExportOptions, Format};
use llf::history::{History, MessageId, SearchQuery};

use super::{render, repl};

/// Argument help for commands that need one.
pub(super) fn usage(name: &str) -> &'static str {
    match name {
        "save" | "load" => "FILE",
        "goto" => "MESSAGE_ID (see /tree)",
        "search" | "memories" => "WORDS",
        "remember" => "TEXT",
        "template" => "NAME [key=value …] (quote values with spaces: topic=\"rust traits\")",
        "export" => "markdown|json|html|text|pdf [FILE]",
        _ => "",
    }
}

/// Matches in bold on a terminal that takes colour, in `[brackets]` otherwise.
fn highlight() -> Highlight {
    if crate::text::color(std::io::stdout().is_terminal()) {
        Highlight::new("\x1b[1m", "\x1b[0m")
    } else {
        Highlight::default()
    }
}

pub(super) async fn run(llf: &Llf, chat: &Chat, name: &str, arg: &str) -> anyhow::Result<()> {
    match name {
        "remember" => {
            let m = chat
                .memory()
                .await
                .ok_or_else(|| anyhow::anyhow!("memory is off (memory.enabled = false)"))?;
            let saved = m.remember(arg).await?;
            eprintln!("remembered in store `{}` (id {})", saved.store, saved.id);
        }
        "memories" => {
            let m = chat
                .memory()
                .await
                .ok_or_else(|| anyhow::anyhow!("memory is off (memory.enabled = false)"))?;
            let hits = m.recall_with(arg, highlight()).await?;
            if hits.is_empty() {
                eprintln!("no memories match");
            }
            for h in hits {
                crate::output::line(format!(
                    "[{:.2}] {} ({})",
                    h.score,
                    h.snippet.unwrap_or(h.memory.content).replace('\n', " "),
                    h.memory.id
                ))?;
            }
        }
        "template" => {
            let (id, values) = template_args(arg)?;
            let text = llf.templates().render(&id, &values)?;
            eprintln!("sending template `{id}`:");
            eprintln!("{text}");
            repl::ask(chat, &text).await?;
        }
        "tools" => match chat.tool_specs().await {
            Some(specs) => {
                for s in specs {
                    crate::output::line(format!("{:<20} {}", s.name, s.description))?;
                }
            }
            None => eprintln!("tools are off; start the chat with --tools"),
        },
        "retry" => {
            let show = render::Show {
                tokens: true,
                tools: true,
            };
            let outcome = render::turn(chat.retry(), show).await?;
            let done = matches!(outcome, render::Outcome::Done(_));
            repl::report(outcome);
            if done {
                eprintln!("(a new branch; /tree shows both answers)");
            }
        }
        "goto" => {
            let id = message_id(arg)?;
            let n = chat.goto(id).await?;
            eprintln!("now at message #{id} ({n} messages on this branch)");
        }
        "branch" => {
            let from = if arg.is_empty() {
                None
            } else {
                Some(message_id(arg)?)
            };
            let target = chat.branch(from).await?;
            eprintln!(
                "branching from message #{target}: your next message starts a new branch (/tree shows both)"
            );
        }
        "tree" | "search" | "export" => {
            let history = chat.history().await.ok_or_else(|| {
                anyhow::anyhow!("this chat is not saved (--no-save), so /{name} is not available")
            })?;
            match name {
                "search" => search(&history, arg).await?,
                _ => {
                    let Some(conv) = chat.conversation().await else {
                        eprintln!("nothing saved yet: send a message first");
                        return Ok(());
                    };
                    if name == "tree" {
                        tree(&history, &conv).await?;
                    } else {
                        export(&history, &conv, arg).await?;
                    }
                }
            }
        }
        other => eprintln!("unknown command /{other}; /help lists them"),
    }
    Ok(())
}

fn message_id(arg: &str) -> anyhow::Result<MessageId> {
    arg.trim_start_matches('#')
        .parse()
        .map_err(|_| anyhow::anyhow!("`{arg}` is not a message id (see /tree)"))
}

/// `NAME key=value key="a value with spaces"`: shell-like words, so values may hold spaces and
/// commas when quoted.
fn template_args(arg: &str) -> anyhow::Result<(String, BTreeMap<String, String>)> {
    let words = shell_words::split(arg)
        .map_err(|e| anyhow::anyhow!("cannot read the template arguments: {e}"))?;
    let mut words = words.into_iter();
    let id = words.next().unwrap_or_default();
    let mut values = BTreeMap::new();
    for w in words {
        let (k, v) = w
            .split_once('=')
            .ok_or_else(|| anyhow::anyhow!("`{w}` is not key=value"))?;
        values.insert(k.to_owned(), v.to_owned());
    }
    Ok((id, values))
}

async fn search(history: &History, words: &str) -> anyhow::Result<()> {
    let Highlight { open, close } = highlight();
    let hits = history
        .search(&SearchQuery::new(words).highlight(open, close).limit(10))
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
    Ok(())
}

async fn tree(history: &History, conv: &str) -> anyhow::Result<()> {
    let tree = history.tree(conv).await?;
    let current: HashSet<MessageId> = history
        .current_path(conv)
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
        let text =
            llf::core::text::truncate(&m.message.content.replace('\n', " "), 60).into_owned();
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
    Ok(())
}

async fn export(history: &History, conv: &str, arg: &str) -> anyhow::Result<()> {
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
    if file.is_dir() {
        anyhow::bail!(
            "{} is a directory; give a file name, e.g. {}/conversation.{}",
            file.display(),
            file.display(),
            format.extension()
        );
    }
    if let Some(parent) = file.parent().filter(|p| !p.as_os_str().is_empty())
        && !parent.is_dir()
    {
        anyhow::bail!(
            "the directory {} does not exist; create it first or pick another file",
            parent.display()
        );
    }
    let bytes = llf::export::export(history, conv, &ExportOptions::new(format)).await?;
    llf::export::write_file(&file, &bytes)?;
    eprintln!("exported to {}", file.display());
    Ok(())
}
