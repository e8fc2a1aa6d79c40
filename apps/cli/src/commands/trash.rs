//! `llf trash …`

use std::io::IsTerminal;
use std::time::Duration;

use llf::Restored;
use llf::core::trash::{ItemType, TrashFilter};

use crate::Context;
use crate::cli::TrashCmd;
use crate::output;
use llf::core::text::truncate;

pub(crate) async fn run(ctx: &Context, cmd: TrashCmd) -> anyhow::Result<()> {
    let trash = ctx.llf()?.trash();
    let retention = trash.retention();
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
            let listing = trash.list(&filter).await?;
            if args.json {
                let mut all = serde_json::to_value(&listing.files)?;
                if let Some(list) = all.as_array_mut() {
                    list.extend(listing.memories.iter().map(|d| {
                        serde_json::json!({
                            "id": d.id,
                            "item_type": "memory",
                            "name": d.preview,
                            "store": d.store,
                            "deleted_at": d.deleted_at,
                        })
                    }));
                    list.extend(listing.conversations.iter().map(|c| {
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
            if listing.is_empty() {
                eprintln!("the trash is empty");
                return Ok(());
            }
            let items = &listing.files;
            if !items.is_empty() {
                output::line(format!(
                    "{:<26}  {:<12}  {:<24}  {:>10}  {}",
                    "ID", "TYPE", "NAME", "SIZE", "DELETED"
                ))?;
            }
            for i in items {
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
            print_deleted_memories(&listing.memories, retention, !items.is_empty())?;
            print_deleted_conversations(
                &listing.conversations,
                retention,
                !items.is_empty() || !listing.memories.is_empty(),
            )?;
        }
        TrashCmd::Restore { ids } => {
            for id in ids {
                match trash.restore(&id).await? {
                    Restored::File(item) => {
                        eprintln!("restored {} to {}", item.name, item.original_path.display())
                    }
                    Restored::Memory(m) => eprintln!("restored memory {} to {}", m.id, m.store),
                    Restored::Conversation(c) => {
                        eprintln!("restored conversation \"{}\" ({})", c.title, c.id)
                    }
                    other => eprintln!("restored {other:?}"),
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
            let count = trash.list(&filter).await?.len();
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
                report.files.items,
                output::bytes(report.files.bytes)
            );
            if report.memories > 0 {
                eprintln!("removed {} deleted memories", report.memories);
            }
            if report.conversations > 0 {
                eprintln!("removed {} deleted conversations", report.conversations);
            }
        }
    }
    Ok(())
}

fn print_deleted_conversations(
    deleted: &[llf::history::Conversation],
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

fn print_deleted_memories(
    deleted: &[llf::memory::DeletedMemory],
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
