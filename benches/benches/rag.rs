//! RAG: ingestion throughput with the real embedding model against Python onnxruntime and a plain
//! fastembed loop, query-embedding latency, and FAISS search latency at 100K and 1M synthetic
//! 384-d vectors, exact against approximate with recall@10. `add`: peak memory and chunks/s of
//! `DataStore::add_paths` on a 50 MB file (against a 1 MB one) and on distinct chunks (against the
//! bare embedder), and the cost of a query in a fresh process (model load, store open, first and
//! warm queries) with its peak memory. Memory is read from `VmHWM` of a child process running one
//! task, so each figure is that task's own peak.
//!
//! `cargo bench -p llf-benches --bench rag` (about 8 minutes on 2 cores; needs scripts/setup.sh).
#![allow(clippy::print_stdout, clippy::unwrap_used, clippy::expect_used)] // a bench prints, and fails loudly

use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use fastembed::{
    InitOptionsUserDefined, Pooling, TextEmbedding, TokenizerFiles, UserDefinedEmbeddingModel,
};
use llf_benches::{Timing, measure, report, summarize};
use llf_config::schema::{IndexType, RagCacheSettings};
use llf_config::schema::{RagSettings, SearchMode};
use llf_rag::cache::QueryCache;
use llf_rag::embed::{Embedder, EmbedderConfig};
use llf_rag::progress::NoProgress;
use llf_rag::search::QueryOptions;
use llf_rag::store::{DataStore, StoreOptions};
use llf_rag::{Metric, Retriever, VectorIndex};

const DIM: usize = 384;
const THREADS: usize = 2;
const BATCH: usize = 32;
const CHUNKS: usize = 256;

fn dev_cache() -> PathBuf {
    std::env::var_os("LLF_DEV_CACHE")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(std::env::var_os("HOME").unwrap()).join(".cache/llf-dev"))
}

fn model_dir() -> PathBuf {
    std::env::var_os("LLF_EMBED_MODEL_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| dev_cache().join("embed/all-MiniLM-L6-v2"))
}

fn onnxruntime() -> PathBuf {
    std::env::var_os("ORT_DYLIB_PATH")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            std::fs::read_dir(dev_cache().join("onnxruntime"))
                .expect("onnxruntime missing: run scripts/setup.sh")
                .filter_map(|e| e.ok().map(|e| e.path()))
                .find(|p| p.to_string_lossy().contains("libonnxruntime.so"))
                .expect("libonnxruntime.so missing: run scripts/setup.sh")
        })
}

/// Deterministic pseudo-random numbers (no extra dependency).
struct Lcg(u64);
impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 33
    }
    fn unit(&mut self) -> f32 {
        self.next() as f32 / (1u64 << 31) as f32
    }
    /// Roughly normal (Irwin–Hall with 4 terms), mean 0, sd ~0.58.
    fn normalish(&mut self) -> f32 {
        (0..4).map(|_| self.unit()).sum::<f32>() - 2.0
    }
}

/// Chunks of 110–170 English words (≈ 150–230 tokens), the size the default chunking produces.
fn corpus() -> Vec<String> {
    const WORDS: &[&str] = &[
        "the",
        "system",
        "returns",
        "an",
        "error",
        "when",
        "the",
        "user",
        "opens",
        "a",
        "file",
        "that",
        "was",
        "moved",
        "to",
        "another",
        "folder",
        "while",
        "backup",
        "jobs",
        "run",
        "every",
        "night",
        "and",
        "copy",
        "reports",
        "from",
        "servers",
        "in",
        "three",
        "regions",
        "customers",
        "can",
        "reset",
        "passwords",
        "through",
        "settings",
        "security",
        "page",
        "after",
        "confirming",
        "their",
        "email",
        "address",
        "invoices",
        "are",
        "due",
        "within",
        "thirty",
        "days",
        "late",
        "payments",
        "incur",
        "fees",
        "team",
        "meeting",
        "notes",
        "describe",
        "planned",
        "migration",
        "database",
        "cluster",
        "with",
        "minimal",
        "downtime",
        "engineers",
        "tested",
        "rollback",
        "procedures",
        "twice",
        "before",
        "release",
    ];
    let mut rng = Lcg(42);
    (0..CHUNKS)
        .map(|i| {
            let n = 110 + (rng.next() % 61) as usize;
            let mut words: Vec<&str> = (0..n)
                .map(|_| WORDS[rng.next() as usize % WORDS.len()])
                .collect();
            words.push(".");
            format!("Section {i}. {}", words.join(" "))
        })
        .collect()
}

const PYTHON_ORT: &str = r#"
import json, sys, time
import numpy as np, onnxruntime as ort
from tokenizers import Tokenizer
model_dir, texts_file, threads, batch, order = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
texts = json.load(open(texts_file))
if order == "sorted":
    texts = sorted(texts, key=len, reverse=True)
tok = Tokenizer.from_file(model_dir + "/tokenizer.json")
tok.enable_truncation(256)
tok.enable_padding()
so = ort.SessionOptions()
so.intra_op_num_threads = threads
so.inter_op_num_threads = 1
sess = ort.InferenceSession(model_dir + "/model.onnx", so, providers=["CPUExecutionProvider"])
names = [i.name for i in sess.get_inputs()]
def embed(batch_texts):
    enc = tok.encode_batch(batch_texts)
    ids = np.array([e.ids for e in enc], dtype=np.int64)
    mask = np.array([e.attention_mask for e in enc], dtype=np.int64)
    feed = {"input_ids": ids, "attention_mask": mask}
    if "token_type_ids" in names:
        feed["token_type_ids"] = np.zeros_like(ids)
    out = sess.run(None, feed)[0]
    m = mask[..., None].astype(np.float32)
    v = (out * m).sum(1) / m.sum(1)
    return v / np.linalg.norm(v, axis=1, keepdims=True)
embed(texts[:8])
t = time.perf_counter()
for i in range(0, len(texts), batch):
    embed(texts[i:i + batch])
elapsed = time.perf_counter() - t
qs = []
for _ in range(60):
    t0 = time.perf_counter()
    embed(["how do I reset my password"])
    qs.append(time.perf_counter() - t0)
qs.sort()
print(json.dumps({"chunks_per_s": len(texts) / elapsed, "query_p50_ms": qs[len(qs) // 2] * 1000}))
"#;

fn python_ort(texts_file: &std::path::Path, order: &str) -> (f64, f64) {
    let python = dev_cache().join("venv/bin/python");
    let out = Command::new(&python)
        .args(["-c", PYTHON_ORT])
        .arg(model_dir())
        .arg(texts_file)
        .args([THREADS.to_string(), BATCH.to_string(), order.to_owned()])
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", python.display()));
    assert!(
        out.status.success(),
        "python onnxruntime failed (run scripts/setup.sh): {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    (
        v["chunks_per_s"].as_f64().unwrap(),
        v["query_p50_ms"].as_f64().unwrap(),
    )
}

fn plain_fastembed(texts: &[String]) -> f64 {
    let dir = model_dir();
    let read = |n: &str| std::fs::read(dir.join(n)).unwrap();
    let model = UserDefinedEmbeddingModel::new(
        read("model.onnx"),
        TokenizerFiles {
            tokenizer_file: read("tokenizer.json"),
            config_file: read("config.json"),
            special_tokens_map_file: read("special_tokens_map.json"),
            tokenizer_config_file: read("tokenizer_config.json"),
        },
    )
    .with_pooling(Pooling::Mean);
    let options = InitOptionsUserDefined::new()
        .with_max_length(256)
        .with_intra_threads(THREADS);
    let mut e = TextEmbedding::try_new_from_user_defined(model, options).unwrap();
    e.embed(&texts[..8], Some(BATCH)).unwrap();
    let t = Instant::now();
    e.embed(texts, Some(BATCH)).unwrap();
    texts.len() as f64 / t.elapsed().as_secs_f64()
}

fn ingestion() {
    println!("== ingestion: {CHUNKS} chunks of ~150-230 tokens, {THREADS} threads, batch {BATCH}");
    let texts = corpus();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("texts.json");
    std::fs::write(&file, serde_json::to_vec(&texts).unwrap()).unwrap();

    let config = EmbedderConfig::new(model_dir())
        .onnxruntime_path(onnxruntime())
        .threads(THREADS)
        .batch_size(BATCH);
    let embedder = Embedder::load_blocking(&config).unwrap();
    embedder.embed_blocking(&texts[..8]).unwrap();
    let t = Instant::now();
    embedder.embed_blocking(&texts).unwrap();
    let llf = texts.len() as f64 / t.elapsed().as_secs_f64();
    let plain = plain_fastembed(&texts);
    let (py, py_query) = python_ort(&file, "input");
    let (py_sorted, _) = python_ort(&file, "sorted");
    println!(
        "ingestion: plain fastembed loop {plain:.1} chunks/s | llf {llf:.1} chunks/s | ratio {:.2}",
        llf / plain
    );
    println!(
        "ingestion: python onnxruntime (input order) {py:.1} chunks/s | llf {llf:.1} chunks/s | ratio {:.2}",
        llf / py
    );
    println!(
        "ingestion: python onnxruntime (sorted by length) {py_sorted:.1} chunks/s | llf {llf:.1} chunks/s | ratio {:.2}",
        llf / py_sorted
    );

    let q = measure(60, || {
        embedder
            .embed_query_blocking("how do I reset my password")
            .unwrap()
    });
    println!(
        "query embed: python onnxruntime p50 {py_query:.2} ms | llf p50 {:.2} ms p99 {:.2} ms | ratio {:.2}",
        ms(q.p50),
        ms(q.p99),
        ms(q.p50) / py_query
    );
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// `n` unit vectors around 2,000 random centres: clustered like real embeddings, unlike uniform
/// noise (on which no approximate index does well).
/// `LLF_RAG_BENCH_NOISE` (default 0.07) spreads the clusters: larger is harder for IVF/HNSW.
fn clustered(n: usize, seed: u64) -> Vec<f32> {
    let noise: f32 = std::env::var("LLF_RAG_BENCH_NOISE")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0.07);
    let mut rng = Lcg(7);
    let centres: Vec<Vec<f32>> = (0..2000)
        .map(|_| unit((0..DIM).map(|_| rng.normalish()).collect()))
        .collect();
    let mut rng = Lcg(seed);
    let mut out = Vec::with_capacity(n * DIM);
    for _ in 0..n {
        let c = &centres[rng.next() as usize % centres.len()];
        let v: Vec<f32> = c.iter().map(|x| x + noise * rng.normalish()).collect();
        out.extend(unit(v));
    }
    out
}

fn unit(mut v: Vec<f32>) -> Vec<f32> {
    let n = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    v.iter_mut().for_each(|x| *x /= n);
    v
}

/// The baseline for exact search: a straightforward scan with a partial sort.
fn naive_top10(data: &[f32], q: &[f32]) -> Vec<usize> {
    let mut scored: Vec<(f32, usize)> = data
        .chunks_exact(DIM)
        .enumerate()
        .map(|(i, v)| (v.iter().zip(q).map(|(a, b)| a * b).sum(), i))
        .collect();
    scored.select_nth_unstable_by(10, |a, b| b.0.total_cmp(&a.0));
    scored.truncate(10);
    scored.into_iter().map(|(_, i)| i).collect()
}

fn ground_truth(flat: &mut VectorIndex, queries: &[f32]) -> Vec<Vec<i64>> {
    let hits = flat.search(queries, 10).unwrap();
    hits.chunks(10)
        .map(|c| c.iter().map(|h| h.0).collect())
        .collect()
}

fn recall(index: &mut VectorIndex, queries: &[f32], truth: &[Vec<i64>]) -> f64 {
    let mut found = 0;
    for (q, t) in queries.chunks_exact(DIM).zip(truth) {
        let hits = index.search(q, 10).unwrap();
        found += hits.iter().filter(|h| t.contains(&h.0)).count();
    }
    found as f64 / (truth.len() * 10) as f64
}

fn latency(index: &mut VectorIndex, queries: &[f32], samples: usize) -> Timing {
    let mut times = Vec::with_capacity(samples);
    for q in queries.chunks_exact(DIM).cycle().take(samples) {
        let t = Instant::now();
        std::hint::black_box(index.search(q, 10).unwrap());
        times.push(t.elapsed());
    }
    summarize(&mut times)
}

fn search(n: usize, approximate: IndexType, queries: &[f32]) {
    println!("== search: {n} clustered vectors of {DIM} d, top 10");
    let data = clustered(n, 11);
    let ids: Vec<i64> = (0..n as i64).collect();
    let t = Instant::now();
    let mut flat =
        VectorIndex::build(IndexType::Flat, Metric::InnerProduct, DIM, &ids, &data).unwrap();
    println!("build flat: {:.1} s", t.elapsed().as_secs_f64());
    let exact_samples = if n > 200_000 { 20 } else { 100 };
    let mut qi = queries.chunks_exact(DIM).cycle();
    let naive = measure(exact_samples, || naive_top10(&data, qi.next().unwrap()));
    let exact = latency(&mut flat, queries, exact_samples);
    report(
        &format!("exact search {n} (naive scan vs FAISS flat)"),
        naive,
        exact,
    );

    let truth = ground_truth(&mut flat, queries);
    drop(flat);
    let t = Instant::now();
    let mut approx =
        VectorIndex::build(approximate, Metric::InnerProduct, DIM, &ids, &data).unwrap();
    println!(
        "build {approximate:?}: {:.1} s (nprobe {})",
        t.elapsed().as_secs_f64(),
        approx.nprobe
    );
    let fast = latency(&mut approx, queries, 200);
    let r = recall(&mut approx, queries, &truth);
    report(
        &format!("approximate search {n} (FAISS flat vs {approximate:?})"),
        exact,
        fast,
    );
    println!("recall@10 of {approximate:?} at {n}: {r:.3}");
}

fn semantic_cache(queries: &[f32]) {
    println!("== semantic cache: 100 cached queries");
    let mut cache = QueryCache::new(RagCacheSettings {
        results_cache_size: 100,
        ..RagCacheSettings::default()
    });
    for q in queries.chunks_exact(DIM).take(100) {
        cache.put_results("k", q.to_vec(), Vec::new());
    }
    let probe = queries[50 * DIM..51 * DIM].to_vec();
    let hit = measure(1000, || assert!(cache.results("k", &probe).is_some()));
    let other = unit(probe.iter().rev().copied().collect());
    let miss = measure(1000, || cache.results("k", &other));
    report("semantic cache (miss scan vs hit)", miss, hit);
}

/// Peak resident memory of this process so far, in MiB (`VmHWM`).
fn peak_rss_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let kb: f64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap();
    kb / 1024.0
}

fn settings(threads: Option<usize>) -> RagSettings {
    RagSettings {
        embedding_model_dir: Some(model_dir()),
        onnxruntime_path: Some(onnxruntime()),
        embedding_threads: threads,
        batch_size: BATCH,
        ..RagSettings::default()
    }
}

/// Child task: add `file` to a new store `name` under `root`; prints JSON figures.
fn child_add(root: &str, name: &str, file: &str) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let config = EmbedderConfig::from_settings(&settings(Some(THREADS))).unwrap();
        let embedder = Embedder::load(config).await.unwrap();
        let t = Instant::now();
        let root = std::path::Path::new(root);
        let mut store = DataStore::create(root, name, embedder.model(), &StoreOptions::default())
            .await
            .unwrap();
        let report = store
            .add_paths(&embedder, &[PathBuf::from(file)], &NoProgress)
            .await
            .unwrap();
        let secs = t.elapsed().as_secs_f64();
        println!(
            "{}",
            serde_json::json!({
                "secs": secs,
                "chunks": report.chunks_added,
                "embedded": report.chunks_embedded,
                "reused": report.chunks_reused,
                "peak_mib": peak_rss_mib(),
            })
        );
    });
}

/// Child task: what `llf datastore query` does (load the model with every core, open the store,
/// search in hybrid mode), then 20 more queries; prints JSON figures.
fn child_query(root: &str, name: &str) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let t = Instant::now();
        let retriever = Retriever::open(
            &settings(None),
            std::path::Path::new(root),
            &[name.to_owned()],
            None,
        )
        .await
        .unwrap();
        let opened = t.elapsed();
        let options = QueryOptions::default()
            .top_k(5)
            .threshold(0.0)
            .mode(SearchMode::Hybrid);
        retriever.search("invoice", &options).await.unwrap();
        let first = t.elapsed();
        let mut times = Vec::new();
        for i in 0..20 {
            let q = format!("when is invoice {i} due");
            let t = Instant::now();
            retriever.search(&q, &options).await.unwrap();
            times.push(t.elapsed());
        }
        let warm = summarize(&mut times);
        println!(
            "{}",
            serde_json::json!({
                "open_ms": ms(opened),
                "first_ms": ms(first),
                "warm_p50_ms": ms(warm.p50),
                "peak_mib": peak_rss_mib(),
            })
        );
    });
}

/// Child task: only the model, one query (the floor under a query process).
fn child_embed_only() {
    let config = EmbedderConfig::from_settings(&settings(None)).unwrap();
    let embedder = Embedder::load_blocking(&config).unwrap();
    embedder.embed_query_blocking("invoice").unwrap();
    println!("{}", serde_json::json!({ "peak_mib": peak_rss_mib() }));
}

fn child(args: &[&str]) -> serde_json::Value {
    let out = Command::new(std::env::current_exe().unwrap())
        .arg("__child")
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "child {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let last = String::from_utf8_lossy(&out.stdout)
        .lines()
        .last()
        .unwrap_or_default()
        .to_owned();
    serde_json::from_str(&last).unwrap()
}

/// `bytes` of text made of one block of distinct ~100-character lines repeated: realistic
/// chunking, storing and indexing at full size while only one block's chunks need the model.
fn repeated_text(bytes: usize) -> String {
    let block: String = (0..500)
        .map(|i| {
            format!(
                "Invoice {i} for order {} is due on day {} of the month; contact billing desk {}.\n",
                i * 37 % 10007,
                i % 28 + 1,
                i % 13
            )
        })
        .collect();
    let mut text = String::with_capacity(bytes + block.len());
    while text.len() < bytes {
        text.push_str(&block);
    }
    text
}

fn add() {
    println!(
        "== add: DataStore::add_paths in a child process, {THREADS} threads, default chunking (1000/200)"
    );
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("stores");
    let root_s = root.to_str().unwrap();
    let mut figures = Vec::new();
    for (name, mib) in [("small", 1usize), ("big", 50)] {
        let file = dir.path().join(format!("{name}.txt"));
        std::fs::write(&file, repeated_text(mib << 20)).unwrap();
        let v = child(&["add", root_s, name, file.to_str().unwrap()]);
        let (secs, chunks) = (v["secs"].as_f64().unwrap(), v["chunks"].as_f64().unwrap());
        println!(
            "add {mib} MB: {chunks} chunks ({} embedded, {} reused) in {secs:.1} s, {:.0} chunks/s, peak RSS {:.0} MiB",
            v["embedded"],
            v["reused"],
            chunks / secs,
            v["peak_mib"].as_f64().unwrap()
        );
        figures.push(v["peak_mib"].as_f64().unwrap());
        std::fs::remove_file(&file).unwrap();
    }
    println!(
        "add peak RSS: 1 MB file {:.0} MiB | 50 MB file {:.0} MiB | ratio {:.2} (limit 500 MiB: {})",
        figures[0],
        figures[1],
        figures[1] / figures[0],
        if figures[1] < 500.0 {
            "met"
        } else {
            "EXCEEDED"
        }
    );

    // Throughput when every chunk is new, against the bare embedder on the same texts.
    let distinct: String = corpus()[..64].join("\n\n");
    let file = dir.path().join("distinct.txt");
    std::fs::write(&file, &distinct).unwrap();
    let v = child(&["add", root_s, "distinct", file.to_str().unwrap()]);
    let pipeline = v["chunks"].as_f64().unwrap() / v["secs"].as_f64().unwrap();
    let texts: Vec<String> = llf_rag::chunk::chunk_text(&distinct, 1000, 200)
        .into_iter()
        .map(|c| c.text)
        .collect();
    let config = EmbedderConfig::from_settings(&settings(Some(THREADS))).unwrap();
    let embedder = Embedder::load_blocking(&config).unwrap();
    embedder.embed_blocking(&texts[..8]).unwrap();
    let t = Instant::now();
    embedder.embed_blocking(&texts).unwrap();
    let bare = texts.len() as f64 / t.elapsed().as_secs_f64();
    println!(
        "add distinct chunks: bare embedder {bare:.1} chunks/s | add_paths {pipeline:.1} chunks/s | ratio {:.2}",
        pipeline / bare
    );

    // A query in a fresh process, as `llf datastore query` runs it (model on every core).
    let floor = child(&["embed-only"]);
    for name in ["distinct", "big"] {
        let v = child(&["query", root_s, name]);
        println!(
            "query `{name}` store, fresh process: open {:.0} ms, first query done at {:.0} ms, warm p50 {:.1} ms, peak RSS {:.0} MiB | model + 1 query alone {:.0} MiB | ratio {:.2}",
            v["open_ms"].as_f64().unwrap(),
            v["first_ms"].as_f64().unwrap(),
            v["warm_p50_ms"].as_f64().unwrap(),
            v["peak_mib"].as_f64().unwrap(),
            floor["peak_mib"].as_f64().unwrap(),
            v["peak_mib"].as_f64().unwrap() / floor["peak_mib"].as_f64().unwrap()
        );
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("__child") {
        let a: Vec<&str> = args[1..].iter().map(String::as_str).collect();
        match a.as_slice() {
            ["add", root, name, file] => child_add(root, name, file),
            ["query", root, name] => child_query(root, name),
            ["embed-only"] => child_embed_only(),
            other => panic!("unknown child task {other:?}"),
        }
        return;
    }
    let only = args.iter().find(|a| !a.starts_with('-')).cloned();
    let run = |part: &str| only.as_deref().is_none_or(|o| part.contains(o));
    let queries = clustered(200, 99);
    if run("ingestion") {
        ingestion();
    }
    if run("add") {
        add();
    }
    if run("search-100k") {
        search(100_000, IndexType::Hnsw, &queries);
    }
    if run("search-1m") {
        search(1_000_000, IndexType::Ivf, &queries);
    }
    if run("cache") {
        semantic_cache(&queries);
    }
}
