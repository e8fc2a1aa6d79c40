//! Stores, add/get/update, soft delete, restore and purge, bad input.

use std::time::Duration;

use llf_memory::{MemoryError, MemoryStore, MemoryUpdate, NewMemory, SearchQuery};

use crate::db;

#[tokio::test]
async fn stores_can_be_created_listed_enabled_and_disabled() {
    let d = db().await;
    d.mem.create_store("work", "job things").await.unwrap();
    assert!(matches!(
        d.mem.create_store("work", "").await,
        Err(MemoryError::StoreExists(_))
    ));
    for bad in ["", "has space", "semi;colon", &"x".repeat(65)] {
        assert!(
            matches!(
                d.mem.create_store(bad, "").await,
                Err(MemoryError::InvalidStoreName(_))
            ),
            "{bad:?}"
        );
    }
    let names: Vec<String> = d
        .mem
        .list_stores()
        .await
        .unwrap()
        .into_iter()
        .map(|s| s.name)
        .collect();
    assert_eq!(names, ["notes", "work"]);
    let s = d.mem.set_enabled("work", false).await.unwrap();
    assert!(!s.enabled);
    assert_eq!(s.description, "job things");
    assert!(d.mem.set_enabled("work", true).await.unwrap().enabled);
    let err = d.mem.set_enabled("nope", true).await.unwrap_err();
    assert!(err.to_string().contains("llf memory create nope"), "{err}");
    // ensure_store is idempotent.
    d.mem.ensure_store("default").await.unwrap();
    d.mem.ensure_store("default").await.unwrap();
    assert_eq!(d.mem.list_stores().await.unwrap().len(), 3);
}

#[tokio::test]
async fn add_get_update_round_trip_and_count_accesses() {
    let d = db().await;
    let mut meta = llf_memory::Metadata::new();
    meta.insert("source".into(), "email".into());
    let m = d
        .mem
        .add(
            "notes",
            NewMemory::new("  Alice prefers green tea  ")
                .tags(["People", "drinks", "people"])
                .importance(0.8)
                .metadata(meta.clone()),
        )
        .await
        .unwrap();
    assert_eq!(m.content, "Alice prefers green tea");
    assert_eq!(m.tags, ["drinks", "people"]);
    assert_eq!(m.id.len(), 26, "a ULID");

    let got = d.mem.get(&m.id).await.unwrap();
    assert_eq!(got.content, m.content);
    assert_eq!(got.metadata, meta);
    assert_eq!(got.access_count, 1);
    assert_eq!(d.mem.get(&m.id).await.unwrap().access_count, 2);

    let up = d
        .mem
        .update(
            &m.id,
            MemoryUpdate {
                content: Some("Alice prefers black tea".into()),
                importance: Some(0.3),
                ..MemoryUpdate::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(up.tags, ["drinks", "people"], "untouched fields stay");
    assert!(up.updated_at >= m.updated_at);
    let hits = d
        .mem
        .search("notes", &SearchQuery::new().text("black"))
        .await
        .unwrap();
    assert_eq!(hits.len(), 1, "the index follows content edits");
    assert!(
        d.mem
            .search("notes", &SearchQuery::new().text("green"))
            .await
            .unwrap()
            .is_empty()
    );

    let ids: Vec<String> = d
        .mem
        .add_many("notes", vec![NewMemory::new("one"), NewMemory::new("two")])
        .await
        .unwrap()
        .into_iter()
        .map(|m| m.id)
        .collect();
    assert!(ids[0] != ids[1]);
    let stats = d.mem.stats("notes").await.unwrap();
    assert_eq!(stats.count, 3);
    assert!((stats.average_importance - (0.3 + 0.5 + 0.5) / 3.0).abs() < 1e-9);
    assert_eq!(stats.total_accesses, 2 + 1, "two gets and one search hit");
    assert!(stats.database_bytes > 0);
}

#[tokio::test]
async fn bad_input_is_refused_and_changes_nothing() {
    let d = db().await;
    let m = d.mem.add("notes", NewMemory::new("keep me")).await.unwrap();
    assert!(matches!(
        d.mem.add("notes", NewMemory::new(" \n\t")).await,
        Err(MemoryError::EmptyContent)
    ));
    for bad in [-0.1, 1.01, f64::NAN, f64::INFINITY] {
        assert!(matches!(
            d.mem
                .add("notes", NewMemory::new("x").importance(bad))
                .await,
            Err(MemoryError::InvalidImportance(_))
        ));
    }
    // One bad memory in a batch rejects the whole batch.
    let batch = vec![NewMemory::new("fine"), NewMemory::new("")];
    assert!(d.mem.add_many("notes", batch).await.is_err());
    assert!(matches!(
        d.mem.add("nope", NewMemory::new("x")).await,
        Err(MemoryError::UnknownStore(_))
    ));
    assert!(matches!(
        d.mem
            .update(
                &m.id,
                MemoryUpdate {
                    importance: Some(7.0),
                    ..Default::default()
                }
            )
            .await,
        Err(MemoryError::InvalidImportance(_))
    ));
    assert!(matches!(
        d.mem.get("01ARZ3NDEKTSV4RRFFQ69G5FAV").await,
        Err(MemoryError::NotFound(_))
    ));
    assert_eq!(d.mem.stats("notes").await.unwrap().count, 1);
    assert_eq!(d.mem.get(&m.id).await.unwrap().content, "keep me");
}

#[tokio::test]
async fn delete_hides_restore_brings_back_purge_removes() {
    let d = db().await;
    let a = d
        .mem
        .add("notes", NewMemory::new("the spare key is under the mat"))
        .await
        .unwrap();
    let b = d
        .mem
        .add(
            "notes",
            NewMemory::new("the wifi password is on the fridge"),
        )
        .await
        .unwrap();

    let gone = d.mem.delete(&a.id).await.unwrap();
    assert_eq!(gone.store, "notes");
    assert!(gone.preview.starts_with("the spare key"));
    assert!(
        d.mem
            .search("notes", &SearchQuery::new().text("key"))
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        d.mem
            .search("notes", &SearchQuery::new())
            .await
            .unwrap()
            .len(),
        1
    );
    assert!(matches!(
        d.mem.get(&a.id).await,
        Err(MemoryError::Deleted(_))
    ));
    assert!(matches!(
        d.mem.delete(&a.id).await,
        Err(MemoryError::Deleted(_))
    ));
    assert!(matches!(
        d.mem
            .update(
                &a.id,
                MemoryUpdate {
                    content: Some("x".into()),
                    ..Default::default()
                }
            )
            .await,
        Err(MemoryError::Deleted(_))
    ));
    assert_eq!(d.mem.stats("notes").await.unwrap().deleted, 1);
    let listed = d.mem.list_deleted(None).await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].id, a.id);
    assert!(d.mem.list_deleted(Some("other")).await.unwrap().is_empty());

    let back = d.mem.restore(&a.id).await.unwrap();
    assert_eq!(back.content, a.content);
    assert_eq!(
        d.mem
            .search("notes", &SearchQuery::new().text("key"))
            .await
            .unwrap()
            .len(),
        1
    );
    assert!(matches!(
        d.mem.restore(&a.id).await,
        Err(MemoryError::NotDeleted(_))
    ));

    // A purge only removes what has been deleted for longer than the retention.
    d.mem.delete(&a.id).await.unwrap();
    d.mem.delete(&b.id).await.unwrap();
    assert_eq!(
        d.mem
            .purge_deleted(Duration::from_secs(3600))
            .await
            .unwrap(),
        0
    );
    assert_eq!(d.mem.list_deleted(None).await.unwrap().len(), 2);
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_eq!(
        d.mem.purge_deleted(Duration::from_secs(1)).await.unwrap(),
        2
    );
    assert!(d.mem.list_deleted(None).await.unwrap().is_empty());
    assert!(matches!(
        d.mem.restore(&a.id).await,
        Err(MemoryError::NotFound(_))
    ));
    d.mem.check_integrity().await.unwrap();
}

#[tokio::test]
async fn data_survives_reopening() {
    let dir = tempfile::tempdir().unwrap();
    let id = {
        let mem = MemoryStore::open_in_dir(dir.path()).await.unwrap();
        mem.create_store("s", "").await.unwrap();
        let id = mem.add("s", NewMemory::new("persisted")).await.unwrap().id;
        mem.close().await;
        id
    };
    let mem = MemoryStore::open_in_dir(dir.path()).await.unwrap();
    assert_eq!(mem.get(&id).await.unwrap().content, "persisted");
    mem.check_integrity().await.unwrap();
}

#[tokio::test]
async fn a_file_that_is_not_a_database_is_a_typed_error_and_left_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(MemoryStore::DATABASE_FILE);
    let garbage = b"not sqlite at all, just words\n".repeat(300);
    std::fs::write(&path, &garbage).unwrap();
    let err = MemoryStore::open_in_dir(dir.path()).await.unwrap_err();
    match &err {
        MemoryError::NotADatabase { path: p, .. } => assert_eq!(p, &path),
        other => panic!("expected NotADatabase, got {other:?}"),
    }
    let text = err.to_string();
    assert!(
        text.contains(&path.display().to_string()) && text.contains("move it aside"),
        "{text}"
    );
    llf_testkit::errors::assert_each_cause_once(&err);
    let chain = llf_testkit::errors::chain(&err).join("\n");
    assert_eq!(
        chain.matches("file is not a database").count(),
        1,
        "{chain}"
    );
    assert_eq!(
        std::fs::read(&path).unwrap(),
        garbage,
        "the file is not changed"
    );
}

#[tokio::test]
async fn database_errors_print_each_cause_once() {
    let d = db().await;
    let mem = d.mem.clone();
    mem.close().await;
    let err = d.mem.list_stores().await.unwrap_err();
    assert!(matches!(err, MemoryError::Database { .. }), "{err:?}");
    llf_testkit::errors::assert_each_cause_once(&err);
}
