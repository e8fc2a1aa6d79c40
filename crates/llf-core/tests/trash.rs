//! The trash against a real file system: delete, list, restore, empty, purge and crash recovery.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failed test

use std::path::Path;
use std::time::Duration;

use llf_core::Error;
use llf_core::trash::{ItemType, Trash, TrashFilter};

fn trash_in(dir: &Path) -> Trash {
    Trash::new(dir.join("trash"), Trash::DEFAULT_RETENTION)
}

fn registry(dir: &Path) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(dir.join("trash/trash_registry.json")).unwrap()).unwrap()
}

fn write_registry(dir: &Path, value: &serde_json::Value) {
    std::fs::write(
        dir.join("trash/trash_registry.json"),
        serde_json::to_vec(value).unwrap(),
    )
    .unwrap();
}

#[tokio::test]
async fn delete_and_restore_a_file() {
    let home = tempfile::tempdir().unwrap();
    let file = home.path().join("model.gguf");
    std::fs::write(&file, vec![7u8; 1234]).unwrap();
    let trash = trash_in(home.path());

    let item = trash.delete(&file, ItemType::Model, None).await.unwrap();
    assert!(!file.exists());
    assert_eq!(item.name, "model.gguf");
    assert_eq!(item.size, 1234);
    assert_eq!(item.original_path, file);

    let listed = trash.list(&TrashFilter::default()).await.unwrap();
    assert_eq!(listed, vec![item.clone()]);

    let restored = trash.restore(&item.id).await.unwrap();
    assert_eq!(restored.id, item.id);
    assert_eq!(std::fs::read(&file).unwrap(), vec![7u8; 1234]);
    assert!(
        trash
            .list(&TrashFilter::default())
            .await
            .unwrap()
            .is_empty()
    );
    // The payload directory is gone too.
    assert_eq!(
        std::fs::read_dir(home.path().join("trash/items"))
            .unwrap()
            .count(),
        0
    );
}

#[tokio::test]
async fn delete_and_restore_a_directory_tree() {
    let home = tempfile::tempdir().unwrap();
    let store = home.path().join("stores/docs");
    std::fs::create_dir_all(store.join("sub")).unwrap();
    std::fs::write(store.join("index.faiss"), [1u8; 100]).unwrap();
    std::fs::write(store.join("sub/meta.json"), "{}").unwrap();
    let trash = trash_in(home.path());

    let item = trash
        .delete(&store, ItemType::Datastore, Some("docs".into()))
        .await
        .unwrap();
    assert_eq!(item.size, 102);
    assert!(!store.exists());
    // Even the parent can vanish meanwhile: restore recreates it.
    std::fs::remove_dir(home.path().join("stores")).unwrap();
    trash.restore(&item.id).await.unwrap();
    assert_eq!(
        std::fs::read_to_string(store.join("sub/meta.json")).unwrap(),
        "{}"
    );
}

#[tokio::test]
async fn restore_refuses_to_overwrite_and_keeps_the_item() {
    let home = tempfile::tempdir().unwrap();
    let file = home.path().join("notes.txt");
    std::fs::write(&file, "old").unwrap();
    let trash = trash_in(home.path());
    let item = trash.delete(&file, ItemType::File, None).await.unwrap();

    std::fs::write(&file, "new").unwrap();
    let err = trash.restore(&item.id).await.unwrap_err();
    assert!(matches!(err, Error::WouldOverwrite { .. }), "{err}");
    assert!(err.to_string().contains("already exists"), "{err}");
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "new");
    assert_eq!(trash.list(&TrashFilter::default()).await.unwrap().len(), 1);

    std::fs::remove_file(&file).unwrap();
    trash.restore(&item.id).await.unwrap();
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "old");
}

#[tokio::test]
async fn unknown_ids_and_missing_paths_are_clear_errors() {
    let home = tempfile::tempdir().unwrap();
    let trash = trash_in(home.path());
    let err = trash.restore("01NOPE").await.unwrap_err();
    assert!(matches!(err, Error::NotInTrash(_)));
    assert!(err.to_string().contains("llf trash list"));
    let err = trash
        .delete(home.path().join("absent"), ItemType::File, None)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::NothingToDelete(_)), "{err}");
}

#[tokio::test]
async fn list_filters_and_empty_by_type() {
    let home = tempfile::tempdir().unwrap();
    let trash = trash_in(home.path());
    for (name, ty) in [
        ("a.gguf", ItemType::Model),
        ("b.gguf", ItemType::Model),
        ("notes", ItemType::File),
    ] {
        let p = home.path().join(name);
        std::fs::write(&p, name).unwrap();
        trash.delete(&p, ty, None).await.unwrap();
    }
    let models = TrashFilter {
        item_type: Some(ItemType::Model),
        ..Default::default()
    };
    assert_eq!(trash.list(&models).await.unwrap().len(), 2);
    let named = TrashFilter {
        name_contains: Some("NOTE".into()),
        ..Default::default()
    };
    assert_eq!(trash.list(&named).await.unwrap()[0].name, "notes");
    let old = TrashFilter {
        older_than: Some(Duration::from_secs(3600)),
        ..Default::default()
    };
    assert!(trash.list(&old).await.unwrap().is_empty());

    let report = trash.empty(Some(ItemType::Model)).await.unwrap();
    assert_eq!(report.items, 2);
    assert_eq!(report.bytes, 12);
    let left = trash.list(&TrashFilter::default()).await.unwrap();
    assert_eq!(left.len(), 1);
    assert_eq!(left[0].item_type, ItemType::File);

    assert_eq!(trash.empty(None).await.unwrap().items, 1);
    assert!(
        trash
            .list(&TrashFilter::default())
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        std::fs::read_dir(home.path().join("trash/items"))
            .unwrap()
            .count(),
        0
    );
}

#[tokio::test]
async fn purge_removes_only_items_past_retention() {
    let home = tempfile::tempdir().unwrap();
    let trash = trash_in(home.path());
    for name in ["old", "fresh"] {
        let p = home.path().join(name);
        std::fs::write(&p, name).unwrap();
        trash.delete(&p, ItemType::File, None).await.unwrap();
    }
    // Age the "old" item to 31 days.
    let mut reg = registry(home.path());
    let old_date = (chrono::Utc::now() - chrono::Duration::days(31)).to_rfc3339();
    for entry in reg["items"].as_array_mut().unwrap() {
        if entry["name"] == "old" {
            entry["deleted_at"] = old_date.clone().into();
        }
    }
    write_registry(home.path(), &reg);

    let report = trash.purge_expired().await.unwrap();
    assert_eq!(report.items, 1);
    let left = trash.list(&TrashFilter::default()).await.unwrap();
    assert_eq!(
        left.iter().map(|i| i.name.as_str()).collect::<Vec<_>>(),
        ["fresh"]
    );

    // A trash with a shorter retention purges the fresh one too.
    let strict = Trash::new(home.path().join("trash"), Duration::ZERO);
    assert_eq!(strict.purge_expired().await.unwrap().items, 1);
}

#[tokio::test]
async fn interrupted_delete_before_the_move_keeps_the_original() {
    let home = tempfile::tempdir().unwrap();
    let trash = trash_in(home.path());
    // A first delete creates the registry; then fake a crash right after a second one was
    // recorded as `moving` but before anything moved.
    let first = home.path().join("first");
    std::fs::write(&first, "1").unwrap();
    trash.delete(&first, ItemType::File, None).await.unwrap();
    let victim = home.path().join("victim");
    std::fs::write(&victim, "precious").unwrap();
    let mut reg = registry(home.path());
    let mut entry = reg["items"][0].clone();
    entry["id"] = "01CRASHEDMOVE000000000000".into();
    entry["name"] = "victim".into();
    entry["file_name"] = "victim".into();
    entry["original_path"] = victim.to_str().unwrap().into();
    entry["state"] = "moving".into();
    reg["items"].as_array_mut().unwrap().push(entry);
    write_registry(home.path(), &reg);
    std::fs::create_dir_all(home.path().join("trash/items/01CRASHEDMOVE000000000000")).unwrap();

    let items = trash.list(&TrashFilter::default()).await.unwrap();
    assert_eq!(items.len(), 1, "the half-done delete is rolled back");
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "precious");
    assert!(
        !home
            .path()
            .join("trash/items/01CRASHEDMOVE000000000000")
            .exists()
    );
}

#[tokio::test]
async fn interrupted_delete_after_the_move_is_completed() {
    let home = tempfile::tempdir().unwrap();
    let trash = trash_in(home.path());
    let file = home.path().join("f");
    std::fs::write(&file, "data").unwrap();
    let item = trash.delete(&file, ItemType::File, None).await.unwrap();
    let mut reg = registry(home.path());
    reg["items"][0]["state"] = "moving".into();
    write_registry(home.path(), &reg);

    let items = trash.list(&TrashFilter::default()).await.unwrap();
    assert_eq!(items.len(), 1);
    assert_eq!(registry(home.path())["items"][0]["state"], "trashed");
    trash.restore(&item.id).await.unwrap();
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "data");
}

#[tokio::test]
async fn interrupted_restore_keeps_the_item_in_the_trash() {
    let home = tempfile::tempdir().unwrap();
    let trash = trash_in(home.path());
    let file = home.path().join("f");
    std::fs::write(&file, "data").unwrap();
    let item = trash.delete(&file, ItemType::File, None).await.unwrap();
    // Crash after marking `restoring`, with a half-written copy at the destination.
    let mut reg = registry(home.path());
    reg["items"][0]["state"] = "restoring".into();
    write_registry(home.path(), &reg);
    std::fs::write(home.path().join("f.llf-partial"), "da").unwrap();

    assert_eq!(trash.list(&TrashFilter::default()).await.unwrap().len(), 1);
    assert!(!home.path().join("f.llf-partial").exists());
    trash.restore(&item.id).await.unwrap();
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "data");
}

#[tokio::test]
async fn finished_restore_whose_registry_update_was_lost_is_completed() {
    let home = tempfile::tempdir().unwrap();
    let trash = trash_in(home.path());
    let file = home.path().join("f");
    std::fs::write(&file, "data").unwrap();
    let item = trash.delete(&file, ItemType::File, None).await.unwrap();
    // Simulate: payload moved back, crash before the registry was updated.
    let payload = home.path().join("trash/items").join(&item.id).join("f");
    std::fs::rename(&payload, &file).unwrap();
    let mut reg = registry(home.path());
    reg["items"][0]["state"] = "restoring".into();
    write_registry(home.path(), &reg);

    assert!(
        trash
            .list(&TrashFilter::default())
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "data");
}

#[tokio::test]
async fn damaged_registry_is_reported_not_overwritten() {
    let home = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(home.path().join("trash")).unwrap();
    std::fs::write(home.path().join("trash/trash_registry.json"), "{not json").unwrap();
    let trash = trash_in(home.path());
    let err = trash.list(&TrashFilter::default()).await.unwrap_err();
    assert!(matches!(err, Error::CorruptRegistry { .. }), "{err}");
    assert_eq!(
        std::fs::read_to_string(home.path().join("trash/trash_registry.json")).unwrap(),
        "{not json"
    );
}

#[tokio::test]
async fn cross_device_moves_work_when_tmpfs_is_available() {
    // /dev/shm is a tmpfs on Linux, a different file system from the temp dir on disk; where it is
    // the same device the test still checks an ordinary round trip.
    let shm = Path::new("/dev/shm");
    if !shm.is_dir() {
        return;
    }
    let src_dir = tempfile::tempdir_in(shm).unwrap();
    let home = tempfile::tempdir().unwrap();
    let dir = src_dir.path().join("tree");
    std::fs::create_dir_all(dir.join("x")).unwrap();
    std::fs::write(dir.join("x/y"), "z").unwrap();
    let trash = trash_in(home.path());
    let item = trash.delete(&dir, ItemType::File, None).await.unwrap();
    assert!(!dir.exists());
    trash.restore(&item.id).await.unwrap();
    assert_eq!(std::fs::read_to_string(dir.join("x/y")).unwrap(), "z");
}

#[tokio::test]
async fn concurrent_deletes_from_many_tasks_all_land_in_the_registry() {
    let home = tempfile::tempdir().unwrap();
    let trash = trash_in(home.path());
    let mut handles = Vec::new();
    for i in 0..16 {
        let p = home.path().join(format!("f{i}"));
        std::fs::write(&p, "x").unwrap();
        let t = trash.clone();
        handles.push(tokio::spawn(async move {
            t.delete(&p, ItemType::File, None).await
        }));
    }
    for h in handles {
        h.await.unwrap().unwrap();
    }
    assert_eq!(trash.list(&TrashFilter::default()).await.unwrap().len(), 16);
}
