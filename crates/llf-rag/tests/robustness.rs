//! Stores under stress, with the real embedding model and real FAISS: a delete or create racing
//! an add, an add interrupted half-way or after its commit, awkward files in a directory, large
//! files streamed in batches, and keyword search that must not rank by stop words.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failed test

mod common;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use llf_config::schema::SearchMode;
use llf_core::trash::Trash;
use llf_rag::catalog;
use llf_rag::collect::SkipReason;
use llf_rag::lock::StoreLock;
use llf_rag::progress::{NoProgress, ProgressEvent, Stage};
use llf_rag::search::QueryOptions;
use llf_rag::store::{DataStore, MatchKind, StoreOptions};
use llf_rag::{RagError, Retriever};

fn any_mode(k: usize, mode: SearchMode) -> QueryOptions {
    QueryOptions::default().top_k(k).threshold(0.0).mode(mode)
}

/// Numbered sentences on varied topics: every chunk differs, so every chunk is embedded.
fn numbered_notes(n: usize) -> String {
    let topics = [
        "the harbour ferry timetable",
        "a sourdough starter",
        "the quarterly tax return",
        "a broken bicycle chain",
        "the library opening hours",
        "a volcano on Iceland",
    ];
    (0..n)
        .map(|i| {
            format!(
                "Note {i}: {} changed on day {}.\n",
                topics[i % topics.len()],
                i * 7
            )
        })
        .collect()
}

async fn small_store(root: &Path, name: &str) -> DataStore {
    let e = common::embedder().await;
    DataStore::create(
        root,
        name,
        e.model(),
        &StoreOptions::default().chunking(120, 20),
    )
    .await
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delete_create_and_import_wait_for_a_running_add() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("stores");
    let docs = dir.path().join("docs");
    std::fs::create_dir_all(&docs).unwrap();
    std::fs::write(docs.join("notes.txt"), numbered_notes(40)).unwrap();
    let trash = Trash::new(dir.path().join("trash"), Trash::DEFAULT_RETENTION);
    let mut store = small_store(&root, "docs").await;
    let e = common::embedder().await;

    // The add stops after its first stored batch until the test lets it go on.
    let (reached_tx, reached_rx) = tokio::sync::oneshot::channel::<()>();
    let (go_tx, go_rx) = std::sync::mpsc::channel::<()>();
    let reached = Mutex::new(Some(reached_tx));
    let go = Mutex::new(go_rx);
    let add = tokio::spawn(async move {
        let progress = move |event: &ProgressEvent<'_>| {
            if let ProgressEvent::Stored { .. } = event
                && let Some(tx) = reached.lock().unwrap().take()
            {
                tx.send(()).unwrap();
                go.lock().unwrap().recv().unwrap();
            }
        };
        let report = store.add_paths(&e, &[docs], &progress).await.unwrap();
        (store, report)
    });
    reached_rx.await.unwrap();

    // Every other change of the name is refused while the add holds the lock.
    let err = catalog::delete_store(&root, "docs", &trash)
        .await
        .unwrap_err();
    assert!(matches!(err, RagError::Busy(_)), "{err}");
    assert!(err.to_string().contains("try again"), "{err}");
    let e = common::embedder().await;
    let err = DataStore::create(&root, "docs", e.model(), &StoreOptions::default())
        .await
        .unwrap_err();
    assert!(matches!(err, RagError::Busy(_)), "{err}");
    assert!(root.join("docs").is_dir(), "the store stayed in place");

    go_tx.send(()).unwrap();
    let (store, report) = add.await.unwrap();
    assert_eq!(report.files_added, 1);
    let chunks = store.manifest().chunks;
    assert!(chunks > 1);
    drop(store);

    // Afterwards the delete goes through; the trashed copy is whole, and a store re-created
    // under the same name starts empty.
    let item = catalog::delete_store(&root, "docs", &trash).await.unwrap();
    let fresh = small_store(&root, "docs").await;
    assert_eq!(fresh.manifest().chunks, 0);
    let r = Retriever::new(e.clone(), vec![fresh]).unwrap();
    let res = r
        .search("ferry timetable", &any_mode(3, SearchMode::Hybrid))
        .await
        .unwrap();
    assert!(res.hits.is_empty(), "{:?}", res.hits);
    let trashed = trash.dir().join("items").join(&item.id).join("docs");
    let old = DataStore::open(trashed.parent().unwrap(), "docs")
        .await
        .unwrap();
    assert_eq!(old.manifest().chunks, chunks);

    // A restore takes the same lock.
    let held = StoreLock::acquire(&root, "docs").unwrap();
    assert!(matches!(
        catalog::lock_for_restore(&trash, &item.id).await,
        Err(RagError::Busy(_))
    ));
    drop(held);
    assert!(
        catalog::lock_for_restore(&trash, &item.id)
            .await
            .unwrap()
            .is_some()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_interrupted_add_leaves_the_old_store_and_the_next_add_reuses_its_work() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("stores");
    let first = dir.path().join("first.md");
    std::fs::write(&first, "Bees dance to tell the hive where the flowers are.").unwrap();
    let big = dir.path().join("big.txt");
    // Enough distinct chunks for several batches.
    std::fs::write(&big, numbered_notes(700)).unwrap();
    let e = common::embedder().await;
    let mut store = small_store(&root, "docs").await;
    store
        .add_paths(&e, std::slice::from_ref(&first), &NoProgress)
        .await
        .unwrap();
    let before = store.manifest().clone();

    let (reached_tx, reached_rx) = tokio::sync::oneshot::channel::<()>();
    let reached = Mutex::new(Some(reached_tx));
    let e2 = e.clone();
    let big2 = big.clone();
    let add = tokio::spawn(async move {
        let progress = move |event: &ProgressEvent<'_>| {
            if let ProgressEvent::Stored { .. } = event
                && let Some(tx) = reached.lock().unwrap().take()
            {
                tx.send(()).unwrap();
            }
        };
        store.add_paths(&e2, &[big2], &progress).await
    });
    reached_rx.await.unwrap();
    // Interrupted between batches: the future is dropped at its next await.
    add.abort();
    assert!(add.await.unwrap_err().is_cancelled());

    let store = DataStore::open(&root, "docs").await.unwrap();
    assert_eq!(store.manifest().chunks, before.chunks, "the old store");
    assert_eq!(store.manifest().updated_at, before.updated_at);
    let r = Retriever::new(e.clone(), vec![store]).unwrap();
    let res = r
        .search("Note 3 sourdough starter", &any_mode(5, SearchMode::Hybrid))
        .await
        .unwrap();
    assert!(
        res.hits.iter().all(|h| h.source.ends_with("first.md")),
        "uncommitted chunks are invisible: {:?}",
        res.hits
    );
    drop(r);

    // Adding again finishes the job and reuses what the interrupted add had embedded.
    let mut store = DataStore::open(&root, "docs").await.unwrap();
    let report = store
        .add_paths(&e, std::slice::from_ref(&big), &NoProgress)
        .await
        .unwrap();
    assert!(report.chunks_reused >= 256, "{report:?}");
    assert_eq!(
        report.chunks_reused + report.chunks_embedded,
        report.chunks_added
    );
    assert_eq!(
        store.manifest().chunks,
        before.chunks + report.chunks_added as u64
    );
    let root2 = root.clone();
    drop(store);
    let store = DataStore::open(&root2, "docs").await.unwrap();
    assert_eq!(store.manifest().files, 2);
}

#[tokio::test]
async fn a_change_committed_but_not_indexed_is_recovered_from_the_database() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("stores");
    let (a, b) = (dir.path().join("a.txt"), dir.path().join("b.txt"));
    std::fs::write(&a, "The lighthouse keeper logs every passing ship.").unwrap();
    std::fs::write(&b, "Cacti store water in their thick stems.").unwrap();
    let e = common::embedder().await;
    let mut store = small_store(&root, "docs").await;
    store.add_paths(&e, &[a], &NoProgress).await.unwrap();
    let dir_of = store.dir().to_owned();
    let old_manifest = std::fs::read(dir_of.join("manifest.json")).unwrap();
    let old_index = std::fs::read(dir_of.join("index.faiss")).unwrap();
    store
        .add_paths(&e, std::slice::from_ref(&b), &NoProgress)
        .await
        .unwrap();
    drop(store);
    // As if the process died after the database commit, before the index and manifest.
    std::fs::write(dir_of.join("manifest.json"), &old_manifest).unwrap();
    std::fs::write(dir_of.join("index.faiss"), &old_index).unwrap();

    let store = DataStore::open(&root, "docs").await.unwrap();
    assert_eq!(store.manifest().chunks, 2, "counts come from the database");
    let r = Retriever::new(e.clone(), vec![store]).unwrap();
    let res = r
        .search(
            "which plants keep water in their stems",
            &any_mode(1, SearchMode::Vector),
        )
        .await
        .unwrap();
    assert!(res.hits[0].source.ends_with("b.txt"), "{:?}", res.hits);
    drop(r);
    // The next change writes an index that agrees again.
    let mut store = DataStore::open(&root, "docs").await.unwrap();
    store.add_paths(&e, &[b], &NoProgress).await.unwrap();
    drop(store);
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir_of.join("manifest.json")).unwrap()).unwrap();
    assert_eq!(manifest["chunks"], 2);
}

#[tokio::test]
async fn awkward_files_in_a_directory_are_decoded_or_skipped_with_a_reason() {
    use std::os::unix::fs::symlink;
    let dir = tempfile::tempdir().unwrap();
    let docs = dir.path().join("docs");
    std::fs::create_dir_all(&docs).unwrap();
    std::fs::write(
        docs.join("good.md"),
        "Tomatoes need full sun and deep watering.",
    )
    .unwrap();
    // Latin-1: "Crème brûlée: caramélisez le sucre à la flamme."
    std::fs::write(
        docs.join("recette.txt"),
        b"Cr\xe8me br\xfbl\xe9e: caram\xe9lisez le sucre \xe0 la flamme, puis servez tr\xe8s froid.",
    )
    .unwrap();
    std::fs::write(docs.join("blob.txt"), b"PK\x03\x04\x00\x00binary\x00zip").unwrap();
    std::fs::write(docs.join("broken.json"), b"{\"title\": ").unwrap();
    symlink(docs.join("good.md"), docs.join("same-as-good.md")).unwrap();
    symlink(&docs, docs.join("loop")).unwrap();
    let status = std::process::Command::new("mkfifo")
        .arg(docs.join("pipe.txt"))
        .status()
        .unwrap();
    assert!(status.success());

    let e = common::embedder().await;
    let mut store = small_store(&dir.path().join("stores"), "docs").await;
    let events = Arc::new(Mutex::new(Vec::new()));
    let seen = Arc::clone(&events);
    let progress = move |event: &ProgressEvent<'_>| {
        if let ProgressEvent::Skipped(s) = event {
            seen.lock()
                .unwrap()
                .push((s.path.clone(), s.reason.clone()));
        }
    };
    let report = store
        .add_paths(&e, std::slice::from_ref(&docs), &progress)
        .await
        .unwrap();
    assert_eq!(report.files_added, 2, "{report:?}");
    let reason = |name: &str| {
        report
            .skipped
            .iter()
            .find(|s| s.path.file_name().unwrap() == name)
            .map(|s| s.reason.clone())
    };
    assert_eq!(reason("blob.txt"), Some(SkipReason::Binary));
    assert_eq!(reason("pipe.txt"), Some(SkipReason::NotARegularFile));
    assert_eq!(reason("loop"), Some(SkipReason::SymlinkLoop));
    assert_eq!(
        reason("same-as-good.md"),
        Some(SkipReason::Duplicate {
            of: docs.join("good.md")
        })
    );
    assert!(
        matches!(reason("broken.json"), Some(SkipReason::Malformed { .. })),
        "{report:?}"
    );
    let events: Vec<(PathBuf, SkipReason)> = events.lock().unwrap().clone();
    assert_eq!(events.len(), report.skipped.len(), "each skip is an event");
    assert_eq!(report.transcoded.len(), 1);
    assert!(report.transcoded[0].path.ends_with("recette.txt"));
    assert_eq!(report.transcoded[0].encoding, "windows-1252");

    // The Latin-1 text was decoded, not mangled.
    let r = Retriever::new(e.clone(), vec![store]).unwrap();
    let res = r
        .search("crème brûlée", &any_mode(1, SearchMode::Hybrid))
        .await
        .unwrap();
    assert!(
        res.hits[0].text.contains("Crème brûlée: caramélisez"),
        "{:?}",
        res.hits
    );
    drop(r);

    // A symbolic link to a file already in the store is that file, not a new one.
    let mut store = DataStore::open(&dir.path().join("stores"), "docs")
        .await
        .unwrap();
    let chunks = store.manifest().chunks;
    let again = store
        .add_paths(&e, &[docs.join("same-as-good.md")], &NoProgress)
        .await
        .unwrap();
    assert_eq!((again.files_unchanged, again.files_added), (1, 0));
    assert_eq!(store.manifest().chunks, chunks);
}

#[tokio::test]
async fn a_large_file_is_streamed_in_batches() {
    let dir = tempfile::tempdir().unwrap();
    let big = dir.path().join("big.log");
    // 1,000 distinct lines repeated: ~700 KB; chunks repeat, so most vectors are reused.
    let block = numbered_notes(1000);
    let text = block.repeat(12);
    std::fs::write(&big, &text).unwrap();
    let e = common::embedder().await;
    let mut store = small_store(&dir.path().join("stores"), "logs").await;
    let stored = Arc::new(Mutex::new(Vec::new()));
    let bytes = Arc::new(Mutex::new(0u64));
    let (s2, b2) = (Arc::clone(&stored), Arc::clone(&bytes));
    let progress = move |event: &ProgressEvent<'_>| match *event {
        ProgressEvent::Stored { embedded, reused } => s2.lock().unwrap().push(embedded + reused),
        ProgressEvent::Advanced {
            stage: Stage::Embedding,
            n,
        } => *b2.lock().unwrap() += n,
        _ => {}
    };
    let report = store
        .add_paths(&e, std::slice::from_ref(&big), &progress)
        .await
        .unwrap();
    let batches = stored.lock().unwrap().clone();
    assert!(batches.len() > 10, "{} batches", batches.len());
    assert!(batches.iter().all(|&n| n <= 256), "{batches:?}");
    assert_eq!(
        batches.iter().sum::<u64>(),
        report.chunks_added as u64,
        "every chunk stored in some batch"
    );
    assert_eq!(*bytes.lock().unwrap(), text.len() as u64);
    assert!(report.chunks_reused > report.chunks_embedded, "{report:?}");
    assert_eq!(store.manifest().chunks, report.chunks_added as u64);
    let r = Retriever::new(e, vec![store]).unwrap();
    // The end of the file made it in.
    let res = r
        .search("Note 999", &any_mode(40, SearchMode::Hybrid))
        .await
        .unwrap();
    assert!(
        res.hits.iter().any(|h| h.text.contains("Note 999:")),
        "{:?}",
        res.hits
    );
}

#[tokio::test]
async fn stop_words_do_not_lift_an_unrelated_text() {
    let dir = tempfile::tempdir().unwrap();
    let docs = dir.path().join("docs");
    std::fs::create_dir_all(&docs).unwrap();
    let texts = [
        (
            "eiffel.txt",
            "The Eiffel Tower was built for the 1889 World's Fair and stands on the Champ de Mars.",
        ),
        (
            "photosynthesis.txt",
            "Photosynthesis happens in the chloroplasts of plant cells, where light energy is turned into chemical energy in a chain of reactions.",
        ),
        (
            "rust.txt",
            "Rust's borrow checker rejects programs with dangling pointers or data races at compile time.",
        ),
        (
            "stocks.txt",
            "The stock market fell sharply when interest rates rose unexpectedly.",
        ),
    ];
    for (name, text) in texts {
        std::fs::write(docs.join(name), text).unwrap();
    }
    let e = common::embedder().await;
    // Default chunking: one chunk per text, as in the report.
    let mut store = DataStore::create(
        &dir.path().join("stores"),
        "mixed",
        e.model(),
        &StoreOptions::default(),
    )
    .await
    .unwrap();
    store
        .add_paths(&e, std::slice::from_ref(&docs), &NoProgress)
        .await
        .unwrap();
    let r = Retriever::new(e, vec![store]).unwrap();
    let res = r
        .search(
            "memory safety in a systems language",
            &any_mode(4, SearchMode::Hybrid),
        )
        .await
        .unwrap();
    assert!(res.hits[0].source.ends_with("rust.txt"), "{:?}", res.hits);
    let photo = res
        .hits
        .iter()
        .find(|h| h.source.ends_with("photosynthesis.txt"));
    assert!(
        photo.is_none_or(|h| h.matched == MatchKind::Vector),
        "matched by stop words alone: {photo:?}"
    );
    // A query of nothing but stop words still searches with them.
    let res = r
        .search("in the", &any_mode(4, SearchMode::Hybrid))
        .await
        .unwrap();
    assert!(
        res.hits.iter().any(|h| h.matched != MatchKind::Vector),
        "{:?}",
        res.hits
    );
}
