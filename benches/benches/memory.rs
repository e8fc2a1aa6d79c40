//! Long-term memory at a million memories: batched insert throughput, single add latency and
//! search latency (p50/p99 over a few hundred varied queries, common words with tens of
//! thousands of hits included), each against a baseline run in the same process:
//! - insert: a plain `sqlx` loop of one `INSERT` per row into a table without FTS, in
//!   transactions of the same size;
//! - search: a plain FTS5 `MATCH … LIMIT 10` without ranking, snippets, filters or the join.
//!
//! Run: `cargo bench -p llf-benches --bench memory` (set `LLF_BENCH_MEMORIES` for another size,
//! `LLF_BENCH_KEEP=1` to keep the databases for inspection).
#![allow(
    missing_docs,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::print_stdout,
    clippy::print_stderr
)] // bench harness code

use std::time::{Duration, Instant};

use llf_benches::{measure, report, summarize};
use llf_memory::{MemoryStore, NewMemory, SearchQuery};
use sqlx::Connection;

const VOCABULARY: usize = 30_000;
const WORDS_PER_MEMORY: usize = 10;
const BATCH: usize = 10_000;

/// A small deterministic generator (xorshift64*), so every run stores the same memories.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// Distinct pronounceable words; word `r` has Zipf frequency ∝ 1/(r+1), like natural text.
struct Words {
    words: Vec<String>,
    cumulative: Vec<f64>,
}

impl Words {
    fn new() -> Self {
        const ON: [&str; 16] = [
            "b", "c", "d", "f", "g", "h", "k", "l", "m", "n", "p", "r", "s", "t", "v", "z",
        ];
        const NU: [&str; 5] = ["a", "e", "i", "o", "u"];
        let mut words = Vec::with_capacity(VOCABULARY);
        let mut i = 0usize;
        while words.len() < VOCABULARY {
            // 80 syllables; three of them give 512,000 distinct words.
            let syl = |k: usize| format!("{}{}", ON[k % 16], NU[(k / 16) % 5]);
            let w = format!("{}{}{}q", syl(i % 80), syl((i / 80) % 80), syl(i / 6400));
            words.push(w);
            i += 1;
        }
        let mut acc = 0.0;
        let cumulative = (0..VOCABULARY)
            .map(|r| {
                acc += 1.0 / (r as f64 + 1.0);
                acc
            })
            .collect();
        Self { words, cumulative }
    }
    fn sample(&self, rng: &mut Rng) -> &str {
        let total = *self.cumulative.last().unwrap();
        let x = rng.unit() * total;
        let r = self
            .cumulative
            .partition_point(|c| *c < x)
            .min(VOCABULARY - 1);
        &self.words[r]
    }
    fn sentence(&self, rng: &mut Rng) -> String {
        (0..WORDS_PER_MEMORY)
            .map(|_| self.sample(rng))
            .collect::<Vec<_>>()
            .join(" ")
    }
}

fn main() {
    let n: usize = std::env::var("LLF_BENCH_MEMORIES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    if std::env::var_os("LLF_BENCH_KEEP").is_some() {
        eprintln!("keeping the databases in {}", dir.path().display());
    }
    let words = Words::new();
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);

    // ----- batched insert -----
    let mem = rt
        .block_on(MemoryStore::open(dir.path().join("memory.db")))
        .unwrap();
    rt.block_on(mem.create_store("bench", "")).unwrap();
    let start = Instant::now();
    let mut done = 0;
    while done < n {
        let size = BATCH.min(n - done);
        let batch: Vec<NewMemory> = (0..size)
            .map(|_| NewMemory::new(words.sentence(&mut rng)).importance(rng.unit()))
            .collect();
        rt.block_on(mem.add_many("bench", batch)).unwrap();
        done += size;
        if done % 200_000 == 0 {
            eprintln!("  {done} memories stored ({:.0?})", start.elapsed());
        }
    }
    let llf_insert = start.elapsed();

    let baseline_rows = (n / 10).max(BATCH);
    let baseline_insert = rt.block_on(plain_insert(dir.path(), &words, baseline_rows));
    let llf_rate = n as f64 / llf_insert.as_secs_f64();
    let base_rate = baseline_rows as f64 / baseline_insert.as_secs_f64();
    println!(
        "batched insert ({n} memories, {BATCH} per transaction): llf {llf_rate:.0}/s | baseline plain sqlx loop without FTS {base_rate:.0}/s | time-per-row ratio {:.2}",
        base_rate / llf_rate
    );

    // ----- single add -----
    let baseline_add = {
        let pool = rt.block_on(plain_pool(dir.path())).unwrap();
        let mut i = 0u64;
        measure(300, || {
            i += 1;
            rt.block_on(
                sqlx::query("INSERT INTO plain (id, content) VALUES (?1, ?2)")
                    .bind(format!("single-{i}"))
                    .bind("one more memory to remember")
                    .execute(&pool),
            )
            .unwrap()
        })
    };
    let llf_add = measure(300, || {
        rt.block_on(mem.add("bench", NewMemory::new(words.sentence(&mut rng))))
            .unwrap()
    });
    report(
        "single add (autocommit insert vs add)",
        baseline_add,
        llf_add,
    );

    // ----- search -----
    let queries = queries(&words, &mut rng);
    let common_hits: i64 = rt.block_on(async {
        sqlx::query_scalar("SELECT count(*) FROM memories_fts WHERE memories_fts MATCH ?1")
            .bind(format!("\"{}\"", words.words[50]))
            .fetch_one(&mem_pool(dir.path()).await)
            .await
            .unwrap()
    });
    println!(
        "queries: {} ({} rare, {} medium, {} common, {} two-word); e.g. the 51st most common word is in {common_hits} memories",
        queries.len(),
        80,
        60,
        40,
        queries.len() - 180
    );
    let pool = rt.block_on(mem_pool(dir.path()));
    let mut base_times = Vec::new();
    let mut llf_times = Vec::new();
    let mut common = Vec::new();
    for (i, q) in queries.iter().enumerate() {
        let expr = q
            .split(' ')
            .map(|w| format!("\"{w}\""))
            .collect::<Vec<_>>()
            .join(" ");
        let t = Instant::now();
        let rows: Vec<i64> = rt
            .block_on(
                sqlx::query_scalar(
                    "SELECT rowid FROM memories_fts WHERE memories_fts MATCH ?1 LIMIT 10",
                )
                .bind(&expr)
                .fetch_all(&pool),
            )
            .unwrap();
        base_times.push(t.elapsed());
        std::hint::black_box(rows);
        let t = Instant::now();
        let hits = rt
            .block_on(mem.search("bench", &SearchQuery::new().text(q.as_str()).limit(10)))
            .unwrap();
        let took = t.elapsed();
        llf_times.push(took);
        if (140..180).contains(&i) {
            common.push(took);
        }
        std::hint::black_box(hits);
    }
    let base = summarize(&mut base_times);
    let llf = summarize(&mut llf_times);
    report(
        &format!("search at {n} (ranked, filtered, snippets vs plain MATCH LIMIT 10)"),
        base,
        llf,
    );
    let c = summarize(&mut common);
    println!(
        "  common-word queries alone: p50 {:?} p99 {:?}",
        c.p50, c.p99
    );
    let stats = rt.block_on(mem.stats("bench")).unwrap();
    println!(
        "database: {} memories, {:.0} MiB on disk",
        stats.count,
        stats.database_bytes as f64 / (1024.0 * 1024.0)
    );
    if std::env::var_os("LLF_BENCH_KEEP").is_some() {
        let _kept = dir.keep();
    }
}

/// 80 rare words, 60 medium, 40 common (thousands to tens of thousands of hits), 40 pairs.
fn queries(words: &Words, rng: &mut Rng) -> Vec<String> {
    let mut pick =
        |lo: usize, hi: usize| words.words[lo + (rng.next() as usize) % (hi - lo)].clone();
    let mut q = Vec::new();
    q.extend((0..80).map(|_| pick(3_000, VOCABULARY)));
    q.extend((0..60).map(|_| pick(300, 3_000)));
    q.extend((0..40).map(|_| pick(0, 300)));
    q.extend((0..40).map(|_| format!("{} {}", pick(0, 1_000), pick(0, 5_000))));
    q
}

async fn mem_pool(dir: &std::path::Path) -> sqlx::SqlitePool {
    sqlx::SqlitePool::connect_with(
        sqlx::sqlite::SqliteConnectOptions::new().filename(dir.join("memory.db")),
    )
    .await
    .unwrap()
}

async fn plain_pool(dir: &std::path::Path) -> sqlx::Result<sqlx::SqlitePool> {
    sqlx::SqlitePool::connect_with(
        sqlx::sqlite::SqliteConnectOptions::new()
            .filename(dir.join("plain.db"))
            .create_if_missing(true)
            .journal_mode(sqlx::sqlite::SqliteJournalMode::Wal)
            .synchronous(sqlx::sqlite::SqliteSynchronous::Normal),
    )
    .await
}

/// The baseline: one `INSERT` per row in transactions of `BATCH`, no FTS, no JSON.
async fn plain_insert(dir: &std::path::Path, words: &Words, rows: usize) -> Duration {
    let pool = plain_pool(dir).await.unwrap();
    sqlx::query("CREATE TABLE plain (seq INTEGER PRIMARY KEY, id TEXT UNIQUE, content TEXT)")
        .execute(&pool)
        .await
        .unwrap();
    let mut rng = Rng(7);
    let start = Instant::now();
    let mut conn = pool.acquire().await.unwrap();
    let mut i = 0;
    while i < rows {
        let mut tx = conn.begin().await.unwrap();
        for _ in 0..BATCH.min(rows - i) {
            sqlx::query("INSERT INTO plain (id, content) VALUES (?1, ?2)")
                .bind(format!("row-{i}"))
                .bind(words.sentence(&mut rng))
                .execute(&mut *tx)
                .await
                .unwrap();
            i += 1;
        }
        tx.commit().await.unwrap();
    }
    start.elapsed()
}
