//! Build a data store from a few files, search it in vector and hybrid mode, add a file
//! incrementally, and watch the semantic cache answer a repeated question.
//!
//! Run (after scripts/setup.sh):
//! `cargo run -p example-rag-basics -- [MODEL_DIR] [LIBONNXRUNTIME]`; without arguments the
//! paths come from `LLF_EMBED_MODEL_DIR` and `ORT_DYLIB_PATH` (`source ~/.cache/llf-dev/env.sh`).
#![allow(clippy::print_stdout)] // an example prints what it does

use std::path::PathBuf;

use anyhow::Context;
use llf_config::schema::{RagCacheSettings, SearchMode};
use llf_rag::Retriever;
use llf_rag::cache::QueryCache;
use llf_rag::embed::{Embedder, EmbedderConfig};
use llf_rag::progress::NoProgress;
use llf_rag::search::QueryOptions;
use llf_rag::store::{DataStore, StoreOptions};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let mut args = std::env::args_os().skip(1);
    let model_dir: PathBuf = args
        .next()
        .or_else(|| std::env::var_os("LLF_EMBED_MODEL_DIR"))
        .context("pass the model directory or set LLF_EMBED_MODEL_DIR")?
        .into();
    let ort: PathBuf = args
        .next()
        .or_else(|| std::env::var_os("ORT_DYLIB_PATH"))
        .context("pass libonnxruntime.so or set ORT_DYLIB_PATH")?
        .into();

    let embedder = Embedder::load(EmbedderConfig::new(model_dir).onnxruntime_path(ort)).await?;
    println!(
        "model {} ({} dimensions)",
        embedder.model().id,
        embedder.model().dimension
    );

    let home = tempfile::tempdir()?;
    let docs = home.path().join("docs");
    std::fs::create_dir_all(&docs)?;
    std::fs::write(
        docs.join("returns.md"),
        "# Returns\n\nItems can be returned within 30 days with the receipt. Refunds take five working days.",
    )?;
    std::fs::write(
        docs.join("shipping.html"),
        "<h1>Shipping</h1><p>Orders over 50 euros ship free. Express delivery costs 9 euros.</p>",
    )?;
    std::fs::write(
        docs.join("faq.jsonl"),
        "{\"q\": \"Error SHP-404?\", \"a\": \"The parcel tracking number is unknown to the courier.\"}\n",
    )?;

    let stores = home.path().join("stores");
    let mut store =
        DataStore::create(&stores, "shop", embedder.model(), &StoreOptions::default()).await?;
    let report = store
        .add_paths(&embedder, std::slice::from_ref(&docs), &NoProgress)
        .await?;
    println!(
        "ingested {} files into {} chunks",
        report.files_added,
        store.manifest().chunks
    );

    std::fs::write(
        docs.join("warranty.txt"),
        "All electronics carry a two-year warranty covering manufacturing defects.",
    )?;
    let report = store
        .add_paths(&embedder, std::slice::from_ref(&docs), &NoProgress)
        .await?;
    println!(
        "second add: {} new file, {} unchanged, {} chunk embedded",
        report.files_added, report.files_unchanged, report.chunks_embedded
    );

    let retriever = Retriever::new(embedder, vec![store])?
        .with_cache(QueryCache::new(RagCacheSettings::default()));
    let options = QueryOptions::default().top_k(2).threshold(0.0);
    for (question, mode) in [
        ("how long do refunds take?", SearchMode::Vector),
        ("SHP-404", SearchMode::Hybrid),
        ("is my laptop covered if it breaks?", SearchMode::Hybrid),
        ("how long do refunds take?", SearchMode::Vector),
    ] {
        let result = retriever
            .search(question, &options.clone().mode(mode))
            .await?;
        println!(
            "\n{question} ({mode:?}, {:.1} ms, cached: {})",
            result.embed_ms + result.search_ms,
            result.results_cached
        );
        for hit in result.hits {
            println!(
                "  {:.3} {}  {}",
                hit.score,
                hit.citation(),
                hit.text.replace('\n', " ")
            );
        }
    }
    if let Some(stats) = retriever.cache_stats() {
        println!(
            "\ncache: {} result hits, {} misses",
            stats.results.hits, stats.results.misses
        );
    }
    Ok(())
}
