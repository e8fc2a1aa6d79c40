//! `llf trash …`

use std::io::IsTerminal;
use std::time::Duration;

use llf_core::trash::{ItemType, Trash, TrashFilter};

use crate::Context;
use crate::cli::TrashCmd;
use crate::output;

/// Opens the configured trash and purges what outlived the retention period.
pub(crate) async fn open(ctx: &Context) -> anyhow::Result<Trash> {
    let file = ctx.config()?;
    let days = file.config().trash.retention_days;
    let trash = Trash::new(
        file.paths().trash.clone(),
        Duration::from_secs(days * 24 * 3600),
    );
    let purged = trash.purge_expired().await?;
    if purged.items > 0 {
        tracing::info!(
            items = purged.items,
            bytes = purged.bytes,
            "purged expired trash items"
        );
    }
    Ok(trash)
}

pub(crate) async fn run(ctx: &Context, cmd: TrashCmd) -> anyhow::Result<()> {
    let trash = open(ctx).await?;
    // Deleted memories stay in the memory database (soft-deleted) rather than in the trash
    // directory; opening it purges those older than the retention period.
    let memories = crate::commands::memory::open(ctx, false).await?;
    // Deleted conversations likewise stay in the history database.
    let history = open_history(ctx).await?;
    match cmd {
        TrashCmd::List(args) => {
            let filter = TrashFilter {
                item_type: args
                    .item_type
                    .as_deref()
                    .map(str::parse::<ItemType>)
                    .transpose()?,
                name_contains: args.name,
                older_than: None,
            };
            let items = trash.list(&filter).await?;
            let deleted = deleted_memories(memories.as_ref(), &filter).await?;
            let conversations = deleted_conversations(history.as_ref(), &filter).await?;
            if args.json {
                let mut all = serde_json::to_value(&items)?;
                if let Some(list) = all.as_array_mut() {
                    list.extend(deleted.iter().map(|d| {
                        serde_json::json!({
                            "id": d.id,
                            "item_type": "memory",
                            "name": d.preview,
                            "store": d.store,
                            "deleted_at": d.deleted_at,
                        })
                    }));
                    list.extend(conversations.iter().map(|c| {
                        serde_json::json!({
                            "id": c.id,
                            "item_type": "conversation",
                            "name": c.title,
                            "deleted_at": c.deleted_at,
                        })
                    }));
                }
                return output::json(&all);
            }
            if items.is_empty() && deleted.is_empty() && conversations.is_empty() {
                eprintln!("the trash is empty");
                return Ok(());
            }
            if items.is_empty() {
                print_deleted_memories(&deleted, trash.retention(), false)?;
                return print_deleted_conversations(
                    &conversations,
                    trash.retention(),
                    !deleted.is_empty(),
                );
            }
            output::line(format!(
                "{:<26}  {:<12}  {:<24}  {:>10}  {}",
                "ID", "TYPE", "NAME", "SIZE", "DELETED"
            ))?;
            let retention = trash.retention();
            for i in &items {
                let expires =
                    i.deleted_at + chrono::Duration::from_std(retention).unwrap_or_default();
                output::line(format!(
                    "{:<26}  {:<12}  {:<24}  {:>10}  {} (purged after {})",
                    i.id,
                    i.item_type,
                    truncate(&i.name, 24),
                    output::bytes(i.size),
                    i.deleted_at.format("%Y-%m-%d %H:%M"),
                    expires.format("%Y-%m-%d"),
                ))?;
            }
            print_deleted_memories(&deleted, trash.retention(), true)?;
            print_deleted_conversations(&conversations, trash.retention(), true)?;
        }
        TrashCmd::Restore { ids } => {
            for id in ids {
                // A data store comes back only while nothing else changes a store of its name.
                let _lock = llf_rag::catalog::lock_for_restore(&trash, &id).await?;
                match trash.restore(&id).await {
                    Ok(item) => {
                        eprintln!("restored {} to {}", item.name, item.original_path.display())
                    }
                    Err(llf_core::Error::NotInTrash(e)) => {
                        // Not a file: a deleted memory, or a deleted conversation.
                        if let Some(mem) = &memories {
                            match mem.restore(&id).await {
                                Ok(m) => {
                                    eprintln!("restored memory {} to {}", m.id, m.store);
                                    continue;
                                }
                                Err(llf_memory::MemoryError::NotFound(_)) => {}
                                Err(other) => return Err(other.into()),
                            }
                        }
                        let conversation = match &history {
                            Some(h) => h.restore(&id).await.ok(),
                            None => None,
                        };
                        if let Some(c) = conversation {
                            eprintln!("restored conversation \"{}\" ({})", c.title, c.id);
                            continue;
                        }
                        return Err(llf_core::Error::NotInTrash(e).into());
                    }
                    Err(e) => return Err(e.into()),
                }
            }
        }
        TrashCmd::Empty { item_type, yes } => {
            let item_type = item_type
                .as_deref()
                .map(str::parse::<ItemType>)
                .transpose()?;
            let filter = TrashFilter {
                item_type,
                ..TrashFilter::default()
            };
            let memory_count = deleted_memories(memories.as_ref(), &filter).await?.len();
            let conversation_count = deleted_conversations(history.as_ref(), &filter)
                .await?
                .len();
            let count = trash.list(&filter).await?.len() + memory_count + conversation_count;
            if count == 0 {
                eprintln!("nothing to remove");
                return Ok(());
            }
            if !yes && !confirm(&format!("permanently remove {count} item(s)?"))? {
                anyhow::bail!("nothing removed");
            }
            let report = trash.empty(item_type).await?;
            eprintln!(
                "removed {} item(s), freed {}",
                report.items,
                output::bytes(report.bytes)
            );
            if let Some(mem) = memories.as_ref().filter(|_| memory_count > 0) {
                let n = mem.purge_deleted(Duration::ZERO).await?;
                eprintln!("removed {n} deleted memories");
            }
            if let Some(h) = history.as_ref().filter(|_| conversation_count > 0) {
                let n = h.purge_deleted(Duration::ZERO).await?;
                eprintln!("removed {n} deleted conversations");
            }
        }
    }
    Ok(())
}

/// The history database when it exists (it is not created here); conversations deleted longer
/// ago than the retention are purged on the way, as `llf conversation` does.
async fn open_history(ctx: &Context) -> anyhow::Result<Option<llf_history::History>> {
    let file = ctx.config()?;
    let path = file.paths().state.join("history.db");
    if !path.exists() {
        return Ok(None);
    }
    let history = llf_history::History::open(&path).await?;
    let days = file.config().trash.retention_days;
    history
        .purge_deleted(Duration::from_secs(days.saturating_mul(24 * 3600)))
        .await?;
    Ok(Some(history))
}

/// Soft-deleted conversations passing `filter` (type `conversation`, text in the title).
async fn deleted_conversations(
    history: Option<&llf_history::History>,
    filter: &TrashFilter,
) -> anyhow::Result<Vec<llf_history::Conversation>> {
    let Some(h) = history else {
        return Ok(Vec::new());
    };
    if filter
        .item_type
        .is_some_and(|t| t != ItemType::Conversation)
    {
        return Ok(Vec::new());
    }
    let mut list: Vec<llf_history::Conversation> = h
        .list(&llf_history::ListFilter {
            deleted: true,
            limit: None,
        })
        .await?
        .into_iter()
        .map(|s| s.conversation)
        .collect();
    if let Some(text) = &filter.name_contains {
        let text = text.to_lowercase();
        list.retain(|c| c.title.to_lowercase().contains(&text));
    }
    Ok(list)
}

fn print_deleted_conversations(
    deleted: &[llf_history::Conversation],
    retention: Duration,
    after_others: bool,
) -> anyhow::Result<()> {
    if deleted.is_empty() {
        return Ok(());
    }
    if after_others {
        output::line("")?;
    }
    output::line("Deleted conversations (restore with `llf trash restore ID`):")?;
    output::line(format!(
        "{:<26}  {:<16}  {:<12}  {}",
        "ID", "DELETED", "PURGED AFTER", "TITLE"
    ))?;
    for c in deleted {
        let Some(at) = c.deleted_at else { continue };
        let expires = at + chrono::Duration::from_std(retention).unwrap_or_default();
        output::line(format!(
            "{:<26}  {:<16}  {:<12}  {}",
            c.id,
            at.format("%Y-%m-%d %H:%M"),
            expires.format("%Y-%m-%d"),
            c.title
        ))?;
    }
    Ok(())
}

/// Soft-deleted memories passing `filter` (type `memory`, text in the preview).
async fn deleted_memories(
    memories: Option<&llf_memory::MemoryStore>,
    filter: &TrashFilter,
) -> anyhow::Result<Vec<llf_memory::DeletedMemory>> {
    let Some(mem) = memories else {
        return Ok(Vec::new());
    };
    if filter.item_type.is_some_and(|t| t != ItemType::Memory) {
        return Ok(Vec::new());
    }
    let mut deleted = mem.list_deleted(None).await?;
    if let Some(text) = &filter.name_contains {
        let text = text.to_lowercase();
        deleted.retain(|d| d.preview.to_lowercase().contains(&text));
    }
    Ok(deleted)
}

fn print_deleted_memories(
    deleted: &[llf_memory::DeletedMemory],
    retention: Duration,
    after_files: bool,
) -> anyhow::Result<()> {
    if deleted.is_empty() {
        return Ok(());
    }
    if after_files {
        output::line("")?;
    }
    output::line("Deleted memories (restore with `llf memory restore ID`):")?;
    output::line(format!(
        "{:<26}  {:<12}  {:<16}  {:<12}  {}",
        "ID", "STORE", "DELETED", "PURGED AFTER", "CONTENT"
    ))?;
    for d in deleted {
        let expires = d.deleted_at + chrono::Duration::from_std(retention).unwrap_or_default();
        output::line(format!(
            "{:<26}  {:<12}  {:<16}  {:<12}  {}",
            d.id,
            truncate(&d.store, 12),
            d.deleted_at.format("%Y-%m-%d %H:%M"),
            expires.format("%Y-%m-%d"),
            d.preview
        ))?;
    }
    Ok(())
}

fn confirm(question: &str) -> anyhow::Result<bool> {
    if !std::io::stdin().is_terminal() {
        anyhow::bail!(
            "refusing to remove items without confirmation; pass --yes when not on a terminal"
        );
    }
    eprint!("{question} [y/N] ");
    let mut answer = String::new();
    std::io::stdin().read_line(&mut answer)?;
    Ok(matches!(answer.trim(), "y" | "Y" | "yes"))
}

fn truncate(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_owned()
    } else {
        let mut t: String = s.chars().take(max - 1).collect();
        t.push('…');
        t
    }
}
