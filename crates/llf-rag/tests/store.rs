//! Data stores with the real embedding model and real FAISS.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failed test

mod common;

use std::path::{Path, PathBuf};

use llf_config::schema::{IndexType, RagCacheSettings, SearchMode};
use llf_rag::cache::QueryCache;
use llf_rag::embed::Embedder;
use llf_rag::progress::NoProgress;
use llf_rag::search::QueryOptions;
use llf_rag::store::{DataStore, StoreOptions};
use llf_rag::{RagError, Retriever};

const FILES: &[(&str, &str)] = &[
    (
        "cooking/bread.md",
        "# Baking bread\n\nMix flour, water, salt and yeast. Knead the dough for ten minutes, let it rise for two hours, then bake at 230 degrees until the crust is brown.",
    ),
    (
        "space/mars.txt",
        "Mars is the fourth planet from the Sun. Its red colour comes from iron oxide dust. Olympus Mons on Mars is the tallest volcano in the solar system.",
    ),
    (
        "it/password.html",
        "<html><body><h1>Account help</h1><p>To reset your password, open Settings, choose Security and press Reset password. A link is emailed to you.</p></body></html>",
    ),
    (
        "garden/tomatoes.json",
        r#"{"title": "Growing tomatoes", "body": "Tomatoes need full sun, deep watering twice a week and a stake to climb."}"#,
    ),
    (
        "code/retry.rs",
        "/// Retries a request with exponential backoff, doubling the delay after each failure.\nfn retry_with_backoff(max_attempts: u32) { let mut delay = 100; for _ in 0..max_attempts { delay *= 2; } }",
    ),
    (
        "support/errors.jsonl",
        "{\"code\": \"ZX-4021\", \"meaning\": \"the licence server cannot be reached\"}\n{\"code\": \"ZX-5000\", \"meaning\": \"disk quota exceeded\"}\n",
    ),
];

fn write_corpus(dir: &Path) -> PathBuf {
    let root = dir.join("corpus");
    for (name, text) in FILES {
        let p = root.join(name);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }
    root
}

async fn store_with_corpus(dir: &Path, kind: IndexType) -> (DataStore, PathBuf) {
    let corpus = write_corpus(dir);
    let e = common::embedder().await;
    let mut store = DataStore::create(
        &dir.join("stores"),
        "docs",
        e.model(),
        &StoreOptions::default().index_type(kind).chunking(400, 80),
    )
    .await
    .unwrap();
    let report = store
        .add_paths(&e, std::slice::from_ref(&corpus), &NoProgress)
        .await
        .unwrap();
    assert_eq!(report.files_added, FILES.len());
    (store, corpus)
}

fn vector_only(k: usize) -> QueryOptions {
    QueryOptions::default()
        .top_k(k)
        .threshold(0.0)
        .mode(SearchMode::Vector)
}

#[tokio::test]
async fn the_answers_chunk_ranks_first() {
    let dir = tempfile::tempdir().unwrap();
    let (store, _) = store_with_corpus(dir.path(), IndexType::Flat).await;
    assert_eq!(store.manifest().files, FILES.len() as u64);
    assert_eq!(store.manifest().model_id, "all-MiniLM-L6-v2");
    assert_eq!(store.manifest().dimension, 384);
    let r = Retriever::new(common::embedder().await, vec![store]).unwrap();
    let cases = [
        (
            "How do I change my forgotten login password?",
            "password.html",
        ),
        ("Which planet has the highest volcano?", "mars.txt"),
        ("how long should dough rise before baking", "bread.md"),
        ("what do tomato plants need", "tomatoes.json"),
        ("exponential backoff for failed requests", "retry.rs"),
    ];
    for mode in [SearchMode::Vector, SearchMode::Hybrid] {
        for (q, file) in cases {
            let res = r.search(q, &vector_only(3).mode(mode)).await.unwrap();
            let top = &res.hits[0];
            assert!(
                top.source.ends_with(file),
                "{mode:?} {q}: got {}",
                top.source
            );
            assert!(top.score > 0.3, "{q}: {}", top.score);
            assert!(
                res.hits
                    .windows(2)
                    .all(|w| w[0].fused.unwrap_or(w[0].score) >= w[1].fused.unwrap_or(w[1].score))
            );
        }
    }
    // Hybrid finds an exact code through BM25 and ranks it first.
    let res = r
        .search("ZX-4021", &vector_only(2).mode(SearchMode::Hybrid))
        .await
        .unwrap();
    assert!(res.hits[0].text.contains("ZX-4021"), "{:?}", res.hits[0]);
    // A high threshold filters weak hits.
    let res = r
        .search(
            "Which planet has the highest volcano?",
            &vector_only(5).threshold(0.99),
        )
        .await
        .unwrap();
    assert!(res.hits.is_empty());
}

#[tokio::test]
async fn adding_again_embeds_only_new_and_changed_content() {
    let dir = tempfile::tempdir().unwrap();
    let (mut store, corpus) = store_with_corpus(dir.path(), IndexType::Flat).await;
    let e = common::embedder().await;
    let before = store.manifest().chunks;

    let again = store
        .add_paths(&e, std::slice::from_ref(&corpus), &NoProgress)
        .await
        .unwrap();
    assert_eq!(again.files_unchanged, FILES.len());
    assert_eq!(again.chunks_embedded, 0);
    assert_eq!(store.manifest().chunks, before);

    std::fs::write(
        corpus.join("space/venus.md"),
        "Venus is the hottest planet because its thick carbon dioxide atmosphere traps heat.",
    )
    .unwrap();
    let added = store
        .add_paths(&e, std::slice::from_ref(&corpus), &NoProgress)
        .await
        .unwrap();
    assert_eq!((added.files_added, added.files_unchanged), (1, FILES.len()));
    assert_eq!(added.chunks_embedded, 1);
    assert_eq!(store.manifest().chunks, before + 1);

    // Change one file: its old chunks go, the new text is embedded and found.
    std::fs::write(
        corpus.join("space/mars.txt"),
        "Mars has two small moons named Phobos and Deimos.",
    )
    .unwrap();
    let changed = store
        .add_paths(&e, std::slice::from_ref(&corpus), &NoProgress)
        .await
        .unwrap();
    assert_eq!(changed.files_changed, 1);
    assert!(changed.chunks_removed >= 1);
    assert_eq!(changed.chunks_embedded, 1);
    let name = store.name().to_owned();
    let root = dir.path().join("stores");
    drop(store);

    // Reopened from disk, the store agrees.
    let store = DataStore::open(&root, &name).await.unwrap();
    let r = Retriever::new(e, vec![store]).unwrap();
    let res = r
        .search("What are the moons of Mars called?", &vector_only(1))
        .await
        .unwrap();
    assert!(res.hits[0].text.contains("Phobos"), "{:?}", res.hits[0]);
    let res = r
        .search("Olympus Mons volcano", &vector_only(10))
        .await
        .unwrap();
    assert!(
        res.hits.iter().all(|h| !h.text.contains("Olympus")),
        "old text is gone"
    );
}

#[tokio::test]
async fn a_store_refuses_another_model() {
    let dir = tempfile::tempdir().unwrap();
    let (mut store, corpus) = store_with_corpus(dir.path(), IndexType::Flat).await;
    // The same files under another name are another model as far as stores are concerned.
    let other = dir.path().join("paraphrase-other");
    std::fs::create_dir_all(&other).unwrap();
    for f in [
        "model.onnx",
        "tokenizer.json",
        "config.json",
        "special_tokens_map.json",
        "tokenizer_config.json",
    ] {
        std::fs::copy(common::model_dir().join(f), other.join(f)).unwrap();
    }
    let mut config = common::config().threads(1);
    config.model_dir = other;
    let wrong = Embedder::load(config).await.unwrap();
    let err = store
        .add_paths(&wrong, &[corpus], &NoProgress)
        .await
        .unwrap_err();
    assert!(matches!(err, RagError::ModelMismatch { .. }), "{err}");
    let err = Retriever::new(wrong, vec![store]).unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.contains("all-MiniLM-L6-v2") && msg.contains("paraphrase-other"),
        "{msg}"
    );
}

#[tokio::test]
async fn approximate_indexes_agree_with_flat_on_the_top_result() {
    let dir = tempfile::tempdir().unwrap();
    // Enough chunks for several IVF lists: 120 short notes on varied subjects.
    let corpus = dir.path().join("notes");
    std::fs::create_dir_all(&corpus).unwrap();
    let subjects = [
        "the harbour ferry",
        "a chess opening",
        "the village bakery",
        "a jazz trio",
        "the mountain railway",
        "a tax form",
        "the city library",
        "a volcano",
        "the football final",
        "a violin lesson",
        "the night sky",
        "a coffee roaster",
    ];
    let moods = [
        "delayed by fog",
        "praised by critics",
        "closed for repairs",
        "busy on Sundays",
        "famous for its history",
        "rebuilt after a fire",
        "loved by children",
        "expensive in winter",
        "reviewed in the paper",
        "shown on television",
    ];
    for (i, s) in subjects.iter().enumerate() {
        for (j, m) in moods.iter().enumerate() {
            std::fs::write(
                corpus.join(format!("{i}-{j}.txt")),
                format!("Note {i}.{j}: {s} was {m}."),
            )
            .unwrap();
        }
    }
    let e = common::embedder().await;
    let queries = [
        "ferry late because of fog",
        "chess opening praised",
        "library closed for repairs",
        "violin lesson on television",
        "coffee roaster expensive in winter",
    ];
    let mut tops: Vec<Vec<String>> = Vec::new();
    for kind in [IndexType::Flat, IndexType::Hnsw, IndexType::Ivf] {
        let root = dir.path().join(format!("{kind:?}"));
        let mut store = DataStore::create(
            &root,
            "notes",
            e.model(),
            &StoreOptions::default().index_type(kind),
        )
        .await
        .unwrap();
        store
            .add_paths(&e, std::slice::from_ref(&corpus), &NoProgress)
            .await
            .unwrap();
        assert_eq!(store.manifest().chunks, 120);
        assert_eq!(store.manifest().index_type, kind);
        drop(store);
        let store = DataStore::open(&root, "notes").await.unwrap();
        let r = Retriever::new(e.clone(), vec![store]).unwrap();
        let mut top = Vec::new();
        for q in queries {
            top.push(
                r.search(q, &vector_only(1)).await.unwrap().hits[0]
                    .source
                    .clone(),
            );
        }
        tops.push(top);
    }
    assert!(tops[0][0].ends_with("0-0.txt"), "{:?}", tops[0]);
    assert_eq!(tops[0], tops[1], "HNSW disagrees with Flat");
    assert_eq!(tops[0], tops[2], "IVF disagrees with Flat");
}

#[tokio::test]
async fn caches_hit_and_expire() {
    let dir = tempfile::tempdir().unwrap();
    let (store, _) = store_with_corpus(dir.path(), IndexType::Flat).await;
    let cache = QueryCache::new(RagCacheSettings {
        embedding_ttl: 1,
        results_ttl: 1,
        similarity_threshold: 0.9,
        ..RagCacheSettings::default()
    });
    let r = Retriever::new(common::embedder().await, vec![store])
        .unwrap()
        .with_cache(cache);
    let opts = vector_only(2);
    let first = r
        .search("How do I reset my password?", &opts)
        .await
        .unwrap();
    assert!(!first.embedding_cached && !first.results_cached);
    let second = r
        .search("How do I reset my password?", &opts)
        .await
        .unwrap();
    assert!(second.embedding_cached && second.results_cached);
    assert_eq!(first.hits, second.hits);
    // A near-identical query reuses the results through the semantic cache.
    let similar = r.search("how do i reset my password", &opts).await.unwrap();
    assert!(!similar.embedding_cached && similar.results_cached);
    // An unrelated query does not.
    let other = r
        .search("tallest volcano in the solar system", &opts)
        .await
        .unwrap();
    assert!(!other.results_cached);
    let stats = r.cache_stats().unwrap();
    assert_eq!((stats.embeddings.hits, stats.embeddings.misses), (1, 3));
    assert_eq!((stats.results.hits, stats.results.misses), (2, 2));

    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let expired = r
        .search("How do I reset my password?", &opts)
        .await
        .unwrap();
    assert!(
        !expired.embedding_cached && !expired.results_cached,
        "entries outlived their TTL"
    );
}

#[tokio::test]
async fn missing_or_corrupt_index_is_reported() {
    let dir = tempfile::tempdir().unwrap();
    let (store, _) = store_with_corpus(dir.path(), IndexType::Flat).await;
    let root = dir.path().join("stores");
    let index = store.dir().join("index.faiss");
    drop(store);

    std::fs::rename(&index, index.with_extension("bak")).unwrap();
    let err = DataStore::open(&root, "docs").await.unwrap_err();
    assert!(matches!(err, RagError::MissingFile { .. }), "{err}");
    assert!(err.to_string().contains("FAISS index"), "{err}");

    std::fs::write(&index, b"definitely not a faiss index").unwrap();
    let err = DataStore::open(&root, "docs").await.unwrap_err();
    assert!(matches!(err, RagError::Corrupt { .. }), "{err}");
    assert!(err.to_string().contains("corrupt FAISS index"), "{err}");

    // An index from another state of the store (fewer vectors) is caught too.
    let e = common::embedder().await;
    let mut small = DataStore::create(
        &dir.path().join("other"),
        "small",
        e.model(),
        &StoreOptions::default(),
    )
    .await
    .unwrap();
    let one = dir.path().join("one.txt");
    std::fs::write(&one, "just one chunk").unwrap();
    small.add_paths(&e, &[one], &NoProgress).await.unwrap();
    std::fs::copy(small.dir().join("index.faiss"), &index).unwrap();
    let err = DataStore::open(&root, "docs").await.unwrap_err();
    assert!(err.to_string().contains("manifest records"), "{err}");

    let err = DataStore::open(&root, "nope").await.unwrap_err();
    assert!(matches!(err, RagError::StoreNotFound(_)), "{err}");
}

#[tokio::test]
async fn concurrent_writers_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let (mut store, corpus) = store_with_corpus(dir.path(), IndexType::Flat).await;
    let e = common::embedder().await;
    let root = dir.path().join("stores");

    // Another process holds the write lock.
    let lock = llf_rag::lock::StoreLock::acquire(&root, "docs").unwrap();
    let err = store
        .add_paths(&e, std::slice::from_ref(&corpus), &NoProgress)
        .await
        .unwrap_err();
    assert!(matches!(err, RagError::Busy(_)), "{err}");
    drop(lock);

    // Another handle changed the store after this one was opened.
    let mut other = DataStore::open(&root, "docs").await.unwrap();
    std::fs::write(corpus.join("new.txt"), "A new note about sailing boats.").unwrap();
    other
        .add_paths(&e, std::slice::from_ref(&corpus), &NoProgress)
        .await
        .unwrap();
    let err = store
        .add_paths(&e, std::slice::from_ref(&corpus), &NoProgress)
        .await
        .unwrap_err();
    assert!(matches!(err, RagError::Stale(_)), "{err}");
    assert!(err.to_string().contains("open it again"), "{err}");
    let reopened = DataStore::open(&root, "docs").await.unwrap();
    assert_eq!(reopened.manifest().files, FILES.len() as u64 + 1);
}
