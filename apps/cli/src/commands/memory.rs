//! `llf memory …`: long-term memory stores.
//!
//! The grammar lives here rather than in `cli.rs`: it is only this command's, and keeping it
//! beside its code keeps `cli.rs` small.

use std::path::PathBuf;
use std::time::Duration;

use chrono::{DateTime, Utc};
use clap::{Args, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};
use llf::memory::{MatchMode, MemoryUpdate, Metadata, NewMemory, SearchHit, SearchQuery, TagMode};

use tokio::io::BufReader;

use crate::Context;
use crate::output;

/// Memory subcommands.
#[derive(Debug, Subcommand)]
pub(crate) enum MemoryCmd {
    /// Create a new, empty memory store.
    Create {
        /// Store name: letters, digits, `-` and `_`.
        name: String,
        /// What the store is for.
        #[arg(long, default_value = "")]
        description: String,
    },
    /// List the memory stores with their sizes.
    List {
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Turn a store on for chat context.
    Enable {
        /// Store name.
        name: String,
    },
    /// Turn a store off for chat context (its memories stay).
    Disable {
        /// Store name.
        name: String,
    },
    /// Remember something, e.g. `llf memory add "Alice prefers tea" --tag people --importance 0.8`.
    Add {
        /// The text to remember.
        content: String,
        #[command(flatten)]
        store: StoreArg,
        /// A tag (repeat for several).
        #[arg(long = "tag", value_name = "TAG")]
        tags: Vec<String>,
        /// 0.0 (trivia) to 1.0 (essential).
        #[arg(long, default_value_t = NewMemory::DEFAULT_IMPORTANCE)]
        importance: f64,
        /// Extra fields as a JSON object, e.g. '{"source":"email"}'.
        #[arg(long, value_name = "JSON")]
        metadata: Option<String>,
        /// Print the new memory as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Find memories by words, tags, importance and date; without QUERY, the newest first.
    ///
    /// Words also match their other forms (`run` finds `runs`), and prefixes when followed by `*`
    /// (`deplo*`). Common words (`the`, `and`), quotes, operators and symbols are ignored, so any
    /// text is safe to pass.
    Search(SearchArgs),
    /// Show one memory in full.
    Show {
        /// The memory's id.
        id: String,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Change a memory's content, tags or importance.
    Update {
        /// The memory's id.
        id: String,
        /// New content.
        #[arg(long)]
        content: Option<String>,
        /// New tags (repeat for several; replaces all tags).
        #[arg(long = "tag", value_name = "TAG")]
        tags: Vec<String>,
        /// Remove every tag.
        #[arg(long, conflicts_with = "tags")]
        clear_tags: bool,
        /// New importance, 0.0 to 1.0.
        #[arg(long)]
        importance: Option<f64>,
        /// Print the memory as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Delete memories; they can be restored until the trash retention purges them.
    Delete {
        /// Ids of the memories.
        #[arg(required = true)]
        ids: Vec<String>,
    },
    /// Bring deleted memories back (`llf trash list` shows them).
    Restore {
        /// Ids of the memories.
        #[arg(required = true)]
        ids: Vec<String>,
    },
    /// Count, average importance, accesses and database size of a store.
    Stats {
        #[command(flatten)]
        store: StoreArg,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Write a store's memories as JSON lines, to a file or stdout.
    Export {
        #[command(flatten)]
        store: StoreArg,
        /// Write here (atomically) instead of stdout.
        #[arg(long, short, value_name = "FILE")]
        output: Option<PathBuf>,
    },
    /// Add memories from a JSON-lines file (an export, or a Python-era memory file).
    ///
    /// Memories already present are not added twice; unusable lines are skipped and reported.
    Import {
        /// The file.
        file: PathBuf,
        #[command(flatten)]
        store: StoreArg,
        /// Print the report as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Import the Python version's memories (the directory holding memory_registry.json).
    ///
    /// Safe to run twice: memories already imported are recognised. The source is only read.
    Migrate {
        /// The Python version's memory directory.
        #[arg(long = "from", value_name = "DIR")]
        from: PathBuf,
        /// Print the report as JSON.
        #[arg(long)]
        json: bool,
    },
}

/// `--store NAME`.
#[derive(Debug, Args)]
pub(crate) struct StoreArg {
    /// The store (default: `memory.default_store` from the config).
    #[arg(long, short, value_name = "NAME")]
    store: Option<String>,
}

/// `llf memory search` options.
#[derive(Debug, Args)]
pub(crate) struct SearchArgs {
    /// Words to look for.
    query: Option<String>,
    #[command(flatten)]
    store: StoreArg,
    /// Match memories holding any of the words (default: all of them).
    #[arg(long)]
    any: bool,
    /// Only memories with this tag (repeat for several).
    #[arg(long = "tag", value_name = "TAG")]
    tags: Vec<String>,
    /// With several --tag: require all of them (default: any).
    #[arg(long)]
    all_tags: bool,
    /// Only memories at least this important.
    #[arg(long, default_value_t = 0.0)]
    min_importance: f64,
    /// Only memories created on or after this date (YYYY-MM-DD or RFC 3339).
    #[arg(long, value_name = "DATE", value_parser = parse_date)]
    since: Option<DateTime<Utc>>,
    /// Only memories created before this date (YYYY-MM-DD or RFC 3339).
    #[arg(long, value_name = "DATE", value_parser = parse_date)]
    until: Option<DateTime<Utc>>,
    /// At most this many results.
    #[arg(long, default_value_t = 10)]
    limit: usize,
    /// Skip this many results (paging).
    #[arg(long, default_value_t = 0)]
    offset: usize,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

/// A `--since`/`--until` value (YYYY-MM-DD or an RFC 3339 time).
fn parse_date(s: &str) -> Result<DateTime<Utc>, String> {
    llf::core::time::parse_date(s).map_err(|e| e.to_string())
}

pub(crate) async fn run(ctx: &Context, cmd: MemoryCmd) -> anyhow::Result<()> {
    let mem = ctx.llf()?.memory().await?;
    let settings = ctx.config()?.config().memory.clone();
    // The configured default store exists implicitly; other stores must be created.
    let store_name = |arg: StoreArg| arg.store.unwrap_or_else(|| settings.default_store.clone());
    let ensure = |name: &str| {
        let default = name == settings.default_store;
        let mem = mem.clone();
        let name = name.to_owned();
        async move {
            if default {
                mem.ensure_store(&name).await?;
            }
            anyhow::Ok(name)
        }
    };
    match cmd {
        MemoryCmd::Create { name, description } => {
            let s = mem.create_store(&name, &description).await?;
            eprintln!("created memory store {}", s.name);
        }
        MemoryCmd::List { json } => {
            ensure(&settings.default_store).await?;
            let stores = mem.list_stores().await?;
            if json {
                return output::json(&serde_json::to_value(&stores)?);
            }
            output::line(format!(
                "{:<20}  {:<8}  {:>9}  {:<16}  {}",
                "NAME", "ENABLED", "MEMORIES", "CREATED", "DESCRIPTION"
            ))?;
            for s in stores {
                output::line(format!(
                    "{:<20}  {:<8}  {:>9}  {:<16}  {}",
                    s.name,
                    if s.enabled { "yes" } else { "no" },
                    s.memories,
                    s.created_at.format("%Y-%m-%d %H:%M"),
                    s.description
                ))?;
            }
        }
        MemoryCmd::Enable { name } => {
            mem.set_enabled(&name, true).await?;
            eprintln!("memory store {name} enabled");
        }
        MemoryCmd::Disable { name } => {
            mem.set_enabled(&name, false).await?;
            eprintln!("memory store {name} disabled");
        }
        MemoryCmd::Add {
            content,
            store,
            tags,
            importance,
            metadata,
            json,
        } => {
            let name = ensure(&store_name(store)).await?;
            let mut new = NewMemory::new(content).tags(tags).importance(importance);
            if let Some(m) = metadata {
                let map: Metadata = serde_json::from_str(&m).map_err(|e| {
                    anyhow::anyhow!("--metadata must be a JSON object, e.g. '{{\"k\":\"v\"}}': {e}")
                })?;
                new = new.metadata(map);
            }
            let m = mem.add(&name, new).await?;
            if json {
                return output::json(&serde_json::to_value(&m)?);
            }
            output::line(&m.id)?;
            eprintln!("remembered in {name}");
        }
        MemoryCmd::Search(a) => {
            let name = ensure(&store_name(a.store)).await?;
            let mut q = SearchQuery::new()
                .match_mode(if a.any {
                    MatchMode::Any
                } else {
                    MatchMode::All
                })
                .tags(
                    a.tags,
                    if a.all_tags {
                        TagMode::All
                    } else {
                        TagMode::Any
                    },
                )
                .min_importance(a.min_importance)
                .limit(a.limit)
                .offset(a.offset);
            if let Some(t) = a.query {
                q = q.text(t);
            }
            if !a.json && crate::text::color(std::io::IsTerminal::is_terminal(&std::io::stdout())) {
                q = q.highlight("\x1b[1m", "\x1b[0m");
            }
            if let Some(s) = a.since {
                q = q.since(s);
            }
            if let Some(u) = a.until {
                q = q.until(u);
            }
            let hits = mem.search(&name, &q).await?;
            if a.json {
                return output::json(&serde_json::to_value(&hits)?);
            }
            print_hits(&hits)?;
        }
        MemoryCmd::Show { id, json } => {
            let m = mem.get(&id).await?;
            if json {
                return output::json(&serde_json::to_value(&m)?);
            }
            output::line(format!("id:          {}", m.id))?;
            output::line(format!("store:       {}", m.store))?;
            output::line(format!("importance:  {:.2}", m.importance))?;
            output::line(format!("tags:        {}", m.tags.join(", ")))?;
            output::line(format!("accesses:    {}", m.access_count))?;
            output::line(format!("created:     {}", m.created_at.to_rfc3339()))?;
            output::line(format!("updated:     {}", m.updated_at.to_rfc3339()))?;
            if !m.metadata.is_empty() {
                output::line(format!(
                    "metadata:    {}",
                    serde_json::Value::Object(m.metadata.clone())
                ))?;
            }
            output::line("")?;
            output::line(&m.content)?;
        }
        MemoryCmd::Update {
            id,
            content,
            tags,
            clear_tags,
            importance,
            json,
        } => {
            let update = MemoryUpdate {
                content,
                tags: (clear_tags || !tags.is_empty()).then_some(tags),
                importance,
                metadata: None,
            };
            if update == MemoryUpdate::default() {
                anyhow::bail!(
                    "nothing to change; pass --content, --tag, --clear-tags or --importance"
                );
            }
            let m = mem.update(&id, update).await?;
            if json {
                return output::json(&serde_json::to_value(&m)?);
            }
            eprintln!("updated {}", m.id);
        }
        MemoryCmd::Delete { ids } => {
            let days = ctx.config()?.config().trash.retention_days;
            for id in ids {
                let d = mem.delete(&id).await?;
                eprintln!(
                    "deleted {} from {} (restore with `llf memory restore {}` within {days} days)",
                    d.id, d.store, d.id
                );
            }
        }
        MemoryCmd::Restore { ids } => {
            for id in ids {
                let m = mem.restore(&id).await?;
                eprintln!("restored {} to {}", m.id, m.store);
            }
        }
        MemoryCmd::Stats { store, json } => {
            let name = ensure(&store_name(store)).await?;
            let s = mem.stats(&name).await?;
            if json {
                return output::json(&serde_json::to_value(&s)?);
            }
            output::line(format!("store:               {}", s.store))?;
            output::line(format!("memories:            {}", s.count))?;
            output::line(format!("average importance:  {:.2}", s.average_importance))?;
            output::line(format!("total accesses:      {}", s.total_accesses))?;
            output::line(format!("deleted (restorable): {}", s.deleted))?;
            output::line(format!(
                "database size:       {}",
                output::bytes(s.database_bytes)
            ))?;
        }
        MemoryCmd::Export { store, output: out } => {
            let name = ensure(&store_name(store)).await?;
            match out {
                Some(path) => {
                    let mut buf = Vec::new();
                    let n = mem.export(&name, &mut buf).await?;
                    llf::core::fs::atomic_write(&path, &buf, 0o600)?;
                    eprintln!("exported {n} memories to {}", path.display());
                }
                None => {
                    let mut stdout = tokio::io::BufWriter::new(tokio::io::stdout());
                    let n = mem.export(&name, &mut stdout).await?;
                    eprintln!("exported {n} memories");
                }
            }
        }
        MemoryCmd::Import { file, store, json } => {
            let name = ensure(&store_name(store)).await?;
            let f = tokio::fs::File::open(&file)
                .await
                .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", file.display()))?;
            let bar = spinner("importing");
            let report = mem
                .import_with_progress(&name, BufReader::new(f), |r| bar.set_message(counts(r)))
                .await;
            bar.finish_and_clear();
            let report = report?;
            if json {
                return output::json(&serde_json::to_value(&report)?);
            }
            print_import(&report, None)?;
        }
        MemoryCmd::Migrate { from, json } => {
            let bar = spinner("migrating");
            let report = mem
                .migrate_python_with_progress(&from, |r| {
                    bar.set_message(format!("{}: {}", r.store, counts(r)))
                })
                .await;
            bar.finish_and_clear();
            let report = report?;
            if json {
                return output::json(&serde_json::to_value(&report)?);
            }
            if report.stores.is_empty() {
                eprintln!("the registry lists no memories");
            }
            for s in &report.stores {
                if let Some(err) = &s.error {
                    output::line(format!("{}: skipped: {err}", s.import.store))?;
                    continue;
                }
                print_import(&s.import, Some(&s.source))?;
            }
        }
    }
    Ok(())
}

/// A spinner on stderr (silent when stderr is not a terminal) for imports.
fn spinner(what: &str) -> ProgressBar {
    let bar = ProgressBar::new_spinner();
    bar.set_style(
        ProgressStyle::with_template("{spinner} {msg} ({elapsed})")
            .unwrap_or_else(|_| ProgressStyle::default_spinner()),
    );
    bar.set_message(what.to_owned());
    bar.enable_steady_tick(Duration::from_millis(100));
    bar
}

fn counts(r: &llf::memory::ImportReport) -> String {
    format!(
        "{} read, {} imported, {} skipped",
        r.read,
        r.imported,
        r.skipped.len()
    )
}

fn print_hits(hits: &[SearchHit]) -> anyhow::Result<()> {
    if hits.is_empty() {
        eprintln!("no memories found");
        return Ok(());
    }
    output::line(format!(
        "{:<26}  {:>5}  {:>4}  {:<16}  {}",
        "ID", "SCORE", "IMP", "TAGS", "TEXT"
    ))?;
    for h in hits {
        let text = h
            .snippet
            .clone()
            .unwrap_or_else(|| h.memory.content.clone());
        output::line(format!(
            "{:<26}  {:>5.3}  {:>4.2}  {:<16}  {}",
            h.memory.id,
            h.score,
            h.memory.importance,
            h.memory.tags.join(","),
            text.split_whitespace().collect::<Vec<_>>().join(" ")
        ))?;
    }
    Ok(())
}

fn print_import(
    r: &llf::memory::ImportReport,
    source: Option<&std::path::Path>,
) -> anyhow::Result<()> {
    let from = source
        .map(|p| format!(" from {}", p.display()))
        .unwrap_or_default();
    output::line(format!(
        "{}{from}: {} read, {} imported, {} already present, {} skipped",
        r.store,
        r.read,
        r.imported,
        r.already_present,
        r.skipped.len()
    ))?;
    for s in &r.skipped {
        output::line(format!("  line {}: {}", s.line, s.reason))?;
    }
    Ok(())
}
