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
            if args.json {
                return output::json(&serde_json::to_value(&items)?);
            }
            if items.is_empty() {
                eprintln!("the trash is empty");
                return Ok(());
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
        }
        TrashCmd::Restore { ids } => {
            for id in ids {
                let item = trash.restore(&id).await?;
                eprintln!("restored {} to {}", item.name, item.original_path.display());
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
                report.items,
                output::bytes(report.bytes)
            );
        }
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
