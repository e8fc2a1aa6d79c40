//! `llf datastore …`: RAG data stores (create, add, list, info, query, attach, detach, delete,
//! import, cache-stats).

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use clap::{Args, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};
use llf::config::schema::{IndexType, SearchMode};
use llf::rag::cache::QueryCache;
use llf::rag::catalog;
use llf::rag::collect::SkipReason;
use llf::rag::embed::{Embedder, EmbedderConfig};
use llf::rag::progress::{Progress, ProgressEvent, Stage};
use llf::rag::search::QueryOptions;
use llf::rag::store::{AddReport, DataStore, StoreOptions};
use llf::rag::{Manifest, Retriever};

use crate::Context;
use crate::output;

#[derive(Debug, Subcommand)]
pub(crate) enum DatastoreCmd {
    /// Create a data store, optionally filling it with files and directories right away.
    ///
    /// Reads .txt, .md, .html, .pdf, .json, .jsonl and source code; directories are walked
    /// (hidden entries skipped). Example: `llf datastore create notes ~/notes --index-type hnsw`.
    Create {
        /// Store name (letters, digits, `-`, `_`, `.`).
        name: String,
        /// Files and directories to add.
        paths: Vec<PathBuf>,
        /// Index kind: flat (exact, default from rag.index_type), hnsw or ivf (approximate, for
        /// large stores).
        #[arg(long, value_parser = parse_index_type)]
        index_type: Option<IndexType>,
        /// Chunk size in characters (default: rag.chunk_size).
        #[arg(long)]
        chunk_size: Option<usize>,
        /// Overlap between neighbouring chunks in characters (default: rag.chunk_overlap).
        #[arg(long)]
        chunk_overlap: Option<usize>,
        /// Print the result as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Add files and directories to a store; unchanged files are skipped, changed files
    /// re-embedded.
    Add {
        /// Store name.
        name: String,
        /// Files and directories.
        #[arg(required = true)]
        paths: Vec<PathBuf>,
        /// Print the result as JSON.
        #[arg(long)]
        json: bool,
    },
    /// List data stores (attached ones are marked with *).
    List {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Show a store's manifest: model, dimension, index kind, counts, dates.
    Info {
        /// Store name.
        name: String,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Search stores: `llf datastore query "how do I reset my password" --store docs`.
    ///
    /// Without --store, searches the attached stores.
    Query(QueryArgs),
    /// Use a store in chats (adds it to rag.attached_stores and turns rag.enabled on).
    Attach {
        /// Store name.
        name: String,
    },
    /// Stop using a store in chats.
    Detach {
        /// Store name.
        name: String,
    },
    /// Move a store to the trash (`llf trash restore ID` brings it back).
    Delete {
        /// Store name.
        name: String,
    },
    /// Import a store of the Python version: a FAISS index written by `faiss.write_index`
    /// (IndexFlatIP or IndexFlatL2) and the JSON or JSONL list of its texts, in index order.
    ///
    /// Texts are strings or objects with a `text` field (and optionally `source` or
    /// `metadata.source`). The vectors must come from the configured embedding model.
    Import {
        /// Name of the new store.
        name: String,
        /// The FAISS index file.
        #[arg(long, value_name = "FILE")]
        index: PathBuf,
        /// The JSON array or JSONL file of texts.
        #[arg(long, value_name = "FILE")]
        texts: PathBuf,
        /// Print the result as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Show hit/miss statistics of the query caches; --clear empties them.
    CacheStats {
        /// Empty both caches and reset the counts.
        #[arg(long)]
        clear: bool,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Args)]
pub(crate) struct QueryArgs {
    /// What to look for.
    query: String,
    /// Store to search (repeatable; default: the attached stores).
    #[arg(long = "store", short = 's', value_name = "NAME")]
    stores: Vec<String>,
    /// Number of results (default: rag.top_k).
    #[arg(long, short = 'k')]
    top_k: Option<usize>,
    /// Minimum cosine similarity, 0–1 (default: rag.score_threshold).
    #[arg(long)]
    threshold: Option<f32>,
    /// vector (similarity only) or hybrid (similarity fused with BM25 full-text search).
    #[arg(long, value_parser = parse_search_mode)]
    mode: Option<SearchMode>,
    /// Print JSON (hits, timings, cache use).
    #[arg(long)]
    json: bool,
}

fn parse_index_type(s: &str) -> Result<IndexType, String> {
    serde_json::from_value(serde_json::Value::String(s.to_ascii_lowercase()))
        .map_err(|_| format!("unknown index type `{s}`: use flat, hnsw or ivf"))
}

fn parse_search_mode(s: &str) -> Result<SearchMode, String> {
    serde_json::from_value(serde_json::Value::String(s.to_ascii_lowercase()))
        .map_err(|_| format!("unknown search mode `{s}`: use vector or hybrid"))
}

/// Ingestion progress on stderr: bars with rate and ETA on a terminal; elsewhere (a log, a pipe,
/// CI) a plain line when a stage starts and ends and at most every [`LINE_EVERY`] in between,
/// so a long add never looks hung. Notable skipped files are printed as they happen.
struct Bars {
    state: Mutex<BarState>,
    terminal: bool,
}

/// Time between two plain progress lines.
const LINE_EVERY: Duration = Duration::from_secs(5);

#[derive(Default)]
struct BarState {
    bar: Option<ProgressBar>,
    stage: Option<Stage>,
    total: u64,
    done: u64,
    chunks: u64,
    started: Option<Instant>,
    last_line: Option<Instant>,
}

impl Bars {
    fn new() -> Self {
        Self {
            state: Mutex::new(BarState::default()),
            terminal: std::io::stderr().is_terminal(),
        }
    }

    fn line(state: &BarState, stage: Stage, finished: bool) {
        let amount = |n: u64| {
            if stage.counts_bytes() {
                output::bytes(n)
            } else {
                n.to_string()
            }
        };
        let elapsed = state.started.map(|t| t.elapsed()).unwrap_or_default();
        let mut text = if finished {
            format!(
                "{}: done, {} in {:.1} s",
                stage.label(),
                amount(state.done),
                elapsed.as_secs_f64()
            )
        } else {
            let percent = (state.done as f64 * 100.0 / state.total.max(1) as f64).min(100.0);
            format!(
                "{}: {} of {} ({percent:.0}%)",
                stage.label(),
                amount(state.done),
                amount(state.total)
            )
        };
        if stage == Stage::Embedding && state.chunks > 0 {
            let rate = state.chunks as f64 / elapsed.as_secs_f64().max(0.001);
            text.push_str(&format!(", {} chunks ({rate:.0}/s)", state.chunks));
        }
        eprintln!("{text}");
    }
}

impl Progress for Bars {
    fn event(&self, event: &ProgressEvent<'_>) {
        let Ok(mut state) = self.state.lock() else {
            return;
        };
        match *event {
            ProgressEvent::Started { stage, total } => {
                *state = BarState {
                    stage: Some(stage),
                    total,
                    started: Some(Instant::now()),
                    last_line: Some(Instant::now()),
                    ..BarState::default()
                };
                if total == 0 {
                    return;
                }
                if self.terminal {
                    let bar = ProgressBar::new(total);
                    let counts = if stage.counts_bytes() {
                        "{binary_bytes}/{binary_total_bytes} ({binary_bytes_per_sec}, ETA {eta})"
                    } else {
                        "{pos}/{len} ({per_sec}, ETA {eta})"
                    };
                    let style =
                        ProgressStyle::with_template(&format!("{{msg:>9}} [{{bar:30}}] {counts}"))
                            .unwrap_or_else(|_| ProgressStyle::default_bar())
                            .progress_chars("=> ");
                    bar.set_style(style);
                    bar.set_message(stage.label());
                    bar.enable_steady_tick(Duration::from_millis(200));
                    state.bar = Some(bar);
                } else {
                    Self::line(&state, stage, false);
                }
            }
            ProgressEvent::Advanced { n, .. } => {
                state.done += n;
                if let Some(bar) = &state.bar {
                    bar.inc(n);
                }
            }
            ProgressEvent::Stored { embedded, reused } => {
                state.chunks += embedded + reused;
                if let Some(bar) = &state.bar {
                    bar.set_message(format!("{} chunks", state.chunks));
                }
            }
            ProgressEvent::Skipped(file) if file.reason.is_notable() => {
                let text = format!("skipped {}: {}", file.path.display(), file.reason);
                match &state.bar {
                    Some(bar) => bar.println(text),
                    None => eprintln!("{text}"),
                }
            }
            ProgressEvent::Finished { stage } => {
                if let Some(bar) = state.bar.take() {
                    bar.finish_and_clear();
                } else if !self.terminal && state.total > 0 {
                    Self::line(&state, stage, true);
                }
                state.stage = None;
            }
            _ => {}
        }
        if !self.terminal
            && let Some(stage) = state.stage
            && state.total > 0
            && state.last_line.is_some_and(|t| t.elapsed() >= LINE_EVERY)
        {
            state.last_line = Some(Instant::now());
            Self::line(&state, stage, false);
        }
    }
}

pub(crate) async fn run(ctx: &Context, cmd: DatastoreCmd) -> anyhow::Result<()> {
    let file = ctx.config()?;
    let settings = file.config().rag.clone();
    let locations = ctx.llf()?.locations();
    let root = locations.data_stores();
    let cache_path = locations.rag_cache();
    match cmd {
        DatastoreCmd::Create {
            name,
            paths,
            index_type,
            chunk_size,
            chunk_overlap,
            json,
        } => {
            // Check the inputs before anything is created, so a typo leaves no empty store.
            llf::rag::collect::collect_files(&paths)?;
            let embedder = load_embedder(&settings).await?;
            let mut options = StoreOptions::from_settings(&settings);
            if let Some(t) = index_type {
                options.index_type = t;
            }
            options.chunk_size = chunk_size.unwrap_or(options.chunk_size);
            options.chunk_overlap = chunk_overlap.unwrap_or(options.chunk_overlap);
            let mut store = DataStore::create(&root, &name, embedder.model(), &options).await?;
            let report = if paths.is_empty() {
                AddReport::default()
            } else {
                store.add_paths(&embedder, &paths, &Bars::new()).await?
            };
            print_added(&store, &report, json)?;
            if !json && !paths.is_empty() {
                eprintln!(
                    "created data store `{name}`; attach it to chats with `llf datastore attach {name}`"
                );
            }
        }
        DatastoreCmd::Add { name, paths, json } => {
            let mut store = DataStore::open(&root, &name).await?;
            let embedder = load_embedder(&settings).await?;
            let report = store.add_paths(&embedder, &paths, &Bars::new()).await?;
            print_added(&store, &report, json)?;
        }
        DatastoreCmd::List { json } => {
            let stores = catalog::list_stores(&root)?;
            if json {
                let list: Vec<_> = stores
                    .iter()
                    .map(|s| {
                        let mut v = serde_json::to_value(s).unwrap_or_default();
                        v["attached"] = settings.attached_stores.contains(&s.name).into();
                        v
                    })
                    .collect();
                return output::json(&serde_json::Value::Array(list));
            }
            if stores.is_empty() {
                eprintln!("no data stores yet: create one with `llf datastore create NAME PATH…`");
                return Ok(());
            }
            output::line(format!(
                "  {:<24} {:>7} {:>8} {:<6} {:<20} {:>10}  {}",
                "NAME", "FILES", "CHUNKS", "INDEX", "MODEL", "SIZE", "UPDATED"
            ))?;
            for s in &stores {
                let mark = if settings.attached_stores.contains(&s.name) {
                    '*'
                } else {
                    ' '
                };
                match &s.manifest {
                    Some(m) => output::line(format!(
                        "{mark} {:<24} {:>7} {:>8} {:<6} {:<20} {:>10}  {}",
                        s.name,
                        m.files,
                        m.chunks,
                        index_name(m.index_type),
                        m.model_id,
                        output::bytes(s.size_bytes),
                        m.updated_at.format("%Y-%m-%d %H:%M")
                    ))?,
                    None => output::line(format!(
                        "{mark} {:<24} damaged: {}",
                        s.name,
                        s.error.as_deref().unwrap_or("unreadable")
                    ))?,
                }
            }
        }
        DatastoreCmd::Info { name, json } => {
            let store = DataStore::open(&root, &name).await?;
            let m = store.manifest();
            if json {
                let mut v = serde_json::to_value(m)?;
                v["path"] = store.dir().display().to_string().into();
                v["attached"] = settings.attached_stores.contains(&name).into();
                return output::json(&v);
            }
            print_manifest(m, store.dir(), settings.attached_stores.contains(&name))?;
        }
        DatastoreCmd::Query(args) => query(&settings, &root, &cache_path, args).await?,
        DatastoreCmd::Attach { name } => {
            // Opening checks the store exists and is readable before chats depend on it.
            DataStore::open(&root, &name).await?;
            let mut attached = settings.attached_stores.clone();
            if !attached.contains(&name) {
                attached.push(name.clone());
            }
            save_attached(ctx, &attached, true)?;
            eprintln!("attached `{name}`: chats now draw on it (rag.enabled is on)");
        }
        DatastoreCmd::Detach { name } => {
            if !settings.attached_stores.contains(&name) {
                anyhow::bail!(
                    "`{name}` is not attached (attached: {})",
                    list_or_none(&settings.attached_stores)
                );
            }
            save_attached(ctx, &without(&settings.attached_stores, &name), false)?;
            eprintln!("detached `{name}`");
        }
        DatastoreCmd::Delete { name } => {
            let trash = ctx.llf()?.file_trash().await?;
            let item = catalog::delete_store(&root, &name, trash).await?;
            if settings.attached_stores.contains(&name) {
                save_attached(ctx, &without(&settings.attached_stores, &name), false)?;
            }
            eprintln!(
                "moved data store `{name}` to the trash (restore with `llf trash restore {}`)",
                item.id
            );
        }
        DatastoreCmd::Import {
            name,
            index,
            texts,
            json,
        } => {
            let embedder = load_embedder(&settings).await?;
            let store = catalog::import_python_store(
                &root,
                &name,
                embedder.model(),
                &index,
                &texts,
                &Bars::new(),
            )
            .await?;
            if json {
                return output::json(&serde_json::to_value(store.manifest())?);
            }
            eprintln!(
                "imported {} chunks into `{name}` ({} metric)",
                store.manifest().chunks,
                match store.manifest().metric {
                    llf::rag::Metric::InnerProduct => "inner product",
                    llf::rag::Metric::L2 => "L2",
                }
            );
        }
        DatastoreCmd::CacheStats { clear, json } => {
            let mut cache = QueryCache::load(&cache_path, settings.cache.clone()).or_else(|e| {
                if clear {
                    Ok(QueryCache::new(settings.cache.clone()))
                } else {
                    Err(e)
                }
            })?;
            if clear {
                cache.clear();
                cache.save(&cache_path)?;
                eprintln!("query caches cleared");
                return Ok(());
            }
            let s = cache.stats();
            if json {
                let mut v = serde_json::to_value(s)?;
                v["enabled"] = settings.cache.enabled.into();
                v["embeddings"]["hit_rate"] = s.embeddings.hit_rate().into();
                v["results"]["hit_rate"] = s.results.hit_rate().into();
                return output::json(&v);
            }
            output::line(format!(
                "{:<18} {:>8} {:>8} {:>9} {:>8}",
                "CACHE", "HITS", "MISSES", "HIT RATE", "ENTRIES"
            ))?;
            for (label, c) in [
                ("query embeddings", s.embeddings),
                ("semantic results", s.results),
            ] {
                output::line(format!(
                    "{:<18} {:>8} {:>8} {:>8.1}% {:>8}",
                    label,
                    c.hits,
                    c.misses,
                    c.hit_rate() * 100.0,
                    c.entries
                ))?;
            }
            if !settings.cache.enabled {
                eprintln!("the caches are off (rag.cache.enabled = false)");
            }
        }
    }
    Ok(())
}

async fn load_embedder(settings: &llf::config::schema::RagSettings) -> anyhow::Result<Embedder> {
    Ok(Embedder::load(EmbedderConfig::from_settings(settings)?).await?)
}

async fn query(
    settings: &llf::config::schema::RagSettings,
    root: &Path,
    cache_path: &Path,
    args: QueryArgs,
) -> anyhow::Result<()> {
    let names = if args.stores.is_empty() {
        settings.attached_stores.clone()
    } else {
        args.stores.clone()
    };
    let retriever = Retriever::open(settings, root, &names, Some(cache_path)).await?;
    let mut options = QueryOptions::from_settings(settings);
    options.top_k = args.top_k.unwrap_or(options.top_k);
    options.threshold = args.threshold.unwrap_or(options.threshold);
    options.mode = args.mode.unwrap_or(options.mode);
    let result = retriever.search(&args.query, &options).await?;
    retriever.save_cache(cache_path)?;
    tracing::debug!(
        embed_ms = result.embed_ms,
        search_ms = result.search_ms,
        embedding_cached = result.embedding_cached,
        results_cached = result.results_cached,
        "query timings"
    );
    if args.json {
        return output::json(&serde_json::to_value(&result)?);
    }
    if result.hits.is_empty() {
        eprintln!(
            "no chunk scored above {:.2}; try --threshold 0 or other words",
            options.threshold
        );
        return Ok(());
    }
    for (i, h) in result.hits.iter().enumerate() {
        output::line(format!(
            "{}. [{:.3}] {} ({})",
            i + 1,
            h.score,
            h.citation(),
            h.store
        ))?;
        for line in h.text.lines().filter(|l| !l.trim().is_empty()).take(6) {
            output::line(format!("   {line}"))?;
        }
    }
    Ok(())
}

fn save_attached(ctx: &Context, attached: &[String], enable: bool) -> anyhow::Result<()> {
    let mut file = ctx.config()?.clone();
    file.set("rag.attached_stores", &serde_json::to_string(attached)?)?;
    if enable {
        file.set("rag.enabled", "true")?;
    }
    file.save()?;
    Ok(())
}

fn list_or_none(names: &[String]) -> String {
    if names.is_empty() {
        "none".into()
    } else {
        names.join(", ")
    }
}

fn index_name(t: IndexType) -> &'static str {
    match t {
        IndexType::Flat => "flat",
        IndexType::Hnsw => "hnsw",
        IndexType::Ivf => "ivf",
    }
}

fn print_added(store: &DataStore, r: &AddReport, json: bool) -> anyhow::Result<()> {
    if json {
        return output::json(&serde_json::json!({
            "store": store.name(),
            "report": r,
            "manifest": store.manifest(),
        }));
    }
    output::line(format!(
        "{}: {} new, {} changed, {} unchanged file(s); {} chunk(s) embedded, {} reused, {} removed; {} chunks in total",
        store.name(),
        r.files_added,
        r.files_changed,
        r.files_unchanged,
        r.chunks_embedded,
        r.chunks_reused,
        r.chunks_removed,
        store.manifest().chunks
    ))?;
    // Notable skips were printed as they happened; the routine ones are only counted.
    let count =
        |pred: fn(&SkipReason) -> bool| r.skipped.iter().filter(|s| pred(&s.reason)).count();
    let unsupported = count(|r| matches!(r, SkipReason::Unsupported));
    let hidden = count(|r| matches!(r, SkipReason::Hidden));
    let notable = count(SkipReason::is_notable);
    if unsupported + hidden > 0 {
        eprintln!(
            "left out {unsupported} file(s) of unsupported types and {hidden} hidden entr{} (`--json` lists them)",
            if hidden == 1 { "y" } else { "ies" }
        );
    }
    if notable > 0 {
        eprintln!("skipped {notable} file(s) that could not be added (listed above)");
    }
    for t in &r.transcoded {
        eprintln!(
            "{} is not UTF-8; read it as {}",
            t.path.display(),
            t.encoding
        );
    }
    Ok(())
}

fn print_manifest(m: &Manifest, dir: &Path, attached: bool) -> anyhow::Result<()> {
    let rows = [
        ("name", m.name.clone()),
        ("path", dir.display().to_string()),
        ("attached", attached.to_string()),
        (
            "model",
            format!("{} ({} dimensions)", m.model_id, m.dimension),
        ),
        (
            "index",
            format!("{} ({:?} metric)", index_name(m.index_type), m.metric),
        ),
        ("files", m.files.to_string()),
        ("chunks", m.chunks.to_string()),
        (
            "chunking",
            format!("{} chars, {} overlap", m.chunk_size, m.chunk_overlap),
        ),
        (
            "created",
            m.created_at.format("%Y-%m-%d %H:%M:%S UTC").to_string(),
        ),
        (
            "updated",
            m.updated_at.format("%Y-%m-%d %H:%M:%S UTC").to_string(),
        ),
    ];
    for (k, v) in rows {
        output::line(format!("{k:<10} {v}"))?;
    }
    if let Some(src) = &m.imported_from {
        output::line(format!("{:<10} {src}", "imported"))?;
    }
    Ok(())
}

/// `stores` without `name`.
fn without(stores: &[String], name: &str) -> Vec<String> {
    stores.iter().filter(|s| *s != name).cloned().collect()
}
