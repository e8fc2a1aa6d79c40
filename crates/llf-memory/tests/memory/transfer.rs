//! Export/import as JSON lines, and migration from the Python version's files.

use std::path::Path;

use llf_memory::{MemoryError, NewMemory, SearchQuery, TagMode};
use serde_json::json;

use crate::db;

#[tokio::test]
async fn export_then_import_round_trips_and_is_idempotent() {
    let d = db().await;
    d.mem
        .add("notes", NewMemory::new("first").tags(["a"]).importance(0.7))
        .await
        .unwrap();
    d.mem
        .add("notes", NewMemory::new("second line\nwith a newline"))
        .await
        .unwrap();
    let gone = d
        .mem
        .add("notes", NewMemory::new("deleted one"))
        .await
        .unwrap();
    d.mem.delete(&gone.id).await.unwrap();

    let mut out = Vec::new();
    assert_eq!(
        d.mem.export("notes", &mut out).await.unwrap(),
        2,
        "deleted memories are not exported"
    );
    let text = String::from_utf8(out.clone()).unwrap();
    assert_eq!(text.lines().count(), 2);
    let first: serde_json::Value = serde_json::from_str(text.lines().next().unwrap()).unwrap();
    assert_eq!(first["content"], "first");
    assert_eq!(first["tags"], json!(["a"]));

    d.mem.create_store("copy", "").await.unwrap();
    // Ids are globally unique: importing into another store of the same database finds them.
    let r = d.mem.import("copy", out.as_slice()).await.unwrap();
    assert_eq!((r.read, r.imported, r.already_present), (2, 0, 2));

    let other = db().await;
    let r = other.mem.import("notes", out.as_slice()).await.unwrap();
    assert_eq!((r.read, r.imported, r.already_present), (2, 2, 0));
    assert!(r.skipped.is_empty());
    let r = other.mem.import("notes", out.as_slice()).await.unwrap();
    assert_eq!(
        (r.imported, r.already_present),
        (0, 2),
        "a second import adds nothing"
    );
    let mut again = Vec::new();
    other.mem.export("notes", &mut again).await.unwrap();
    assert_eq!(again, out, "export → import → export is lossless");
}

#[tokio::test]
async fn import_skips_bad_lines_with_reasons() {
    let d = db().await;
    let input = [
        r#"{"id":"x1","content":"good one"}"#,
        "",
        "not json",
        r#"{"id":"x2","content":""}"#,
        r#"{"id":"x3","content":"too important","importance":3}"#,
        r#"{"content":"no id"}"#,
        r#"{"id":"x4","content":"good two","tags":["T"]}"#,
    ]
    .join("\n");
    let mut seen = Vec::new();
    let r = d
        .mem
        .import_with_progress("notes", input.as_bytes(), |r| seen.push(r.imported))
        .await
        .unwrap();
    assert_eq!(seen.last(), Some(&2), "progress reports the final counts");
    assert_eq!(r.read, 6);
    assert_eq!(r.imported, 2);
    let lines: Vec<u64> = r.skipped.iter().map(|s| s.line).collect();
    assert_eq!(lines, [3, 4, 5, 6]);
    assert!(
        r.skipped[2].reason.contains("between 0.0 and 1.0"),
        "{:?}",
        r.skipped
    );
    assert!(matches!(
        d.mem.import("nope", input.as_bytes()).await,
        Err(MemoryError::UnknownStore(_))
    ));
}

/// Writes the Python version's layout: a registry, a JSON-lines data file and an index per store.
fn write_python_fixture(dir: &Path) {
    let mem_dir = dir.join("memory");
    std::fs::create_dir_all(&mem_dir).unwrap();
    let registry = json!({
        "version": "1.0",
        "memories": [
            {
                "name": "test_memory",
                "enabled": true,
                "path": mem_dir.join("test_memory.json"),
                "index_path": mem_dir.join("test_memory_index.json")
            },
            {
                "name": "old notes",
                "enabled": false,
                "path": "old_notes.json",
                "index_path": "old_notes_index.json"
            },
            {
                "name": "missing",
                "enabled": true,
                "path": "missing.json",
                "index_path": "missing_index.json"
            }
        ]
    });
    std::fs::write(
        mem_dir.join("memory_registry.json"),
        serde_json::to_vec_pretty(&registry).unwrap(),
    )
    .unwrap();
    let lines = [
        json!({"id": "mem_1", "content": "User's name is Alice", "tags": ["user_info"], "importance": 0.9, "timestamp": "2025-01-01T10:00:00Z"}).to_string(),
        json!({"id": "mem_2", "content": "User is working on Python project", "tags": ["project"], "importance": 0.7, "timestamp": "2025-01-01T10:05:00Z"}).to_string(),
        "{broken".to_owned(),
        json!({"id": "mem_3", "content": "naive timestamp", "tags": [], "importance": 0.5, "timestamp": "2025-01-02T08:00:00.123456"}).to_string(),
    ];
    std::fs::write(mem_dir.join("test_memory.json"), lines.join("\n") + "\n").unwrap();
    let index = json!({"mem_1": {"line": 0, "tags": ["user_info"]}, "mem_2": {"line": 1, "tags": ["project"]}, "mem_3": {"line": 3, "tags": []}});
    std::fs::write(mem_dir.join("test_memory_index.json"), index.to_string()).unwrap();
    std::fs::write(
        mem_dir.join("old_notes.json"),
        json!({"id": "n1", "content": "an old note", "tags": ["x"], "importance": 0.2, "timestamp": "2024-06-01T00:00:00Z"}).to_string() + "\n",
    )
    .unwrap();
    std::fs::write(
        mem_dir.join("old_notes_index.json"),
        r#"{"n1": {"line": 0, "tags": ["x"]}}"#,
    )
    .unwrap();
}

fn snapshot(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut files: Vec<(String, Vec<u8>)> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| {
            let p = e.unwrap().path();
            (p.display().to_string(), std::fs::read(&p).unwrap())
        })
        .collect();
    files.sort();
    files
}

#[tokio::test]
async fn python_migration_imports_reports_and_is_idempotent() {
    let d = db().await;
    let src = tempfile::tempdir().unwrap();
    write_python_fixture(src.path());
    let mem_dir = src.path().join("memory");
    let before = snapshot(&mem_dir);

    let r = d.mem.migrate_python(&mem_dir).await.unwrap();
    assert_eq!(r.stores.len(), 3);
    let t = &r.stores[0];
    assert!(t.created && t.error.is_none());
    assert_eq!(t.import.store, "test_memory");
    assert_eq!(
        (t.import.read, t.import.imported, t.import.already_present),
        (4, 3, 0)
    );
    assert_eq!(t.import.skipped.len(), 1);
    assert_eq!(t.import.skipped[0].line, 3);
    let o = &r.stores[1];
    assert_eq!(
        o.import.store, "old_notes",
        "free-text names are made valid"
    );
    assert_eq!(o.import.imported, 1);
    assert!(
        r.stores[2]
            .error
            .as_deref()
            .unwrap()
            .contains("missing.json")
    );

    let stores = d.mem.list_stores().await.unwrap();
    let old = stores.iter().find(|s| s.name == "old_notes").unwrap();
    assert!(!old.enabled, "the enabled flag is carried over");

    let hits = d
        .mem
        .search(
            "test_memory",
            &SearchQuery::new()
                .text("alice")
                .tags(["user_info"], TagMode::Any),
        )
        .await
        .unwrap();
    assert_eq!(hits.len(), 1);
    let m = &hits[0].memory;
    assert_eq!(m.importance, 0.9);
    assert_eq!(m.created_at.to_rfc3339(), "2025-01-01T10:00:00+00:00");

    let again = d.mem.migrate_python(&mem_dir).await.unwrap();
    assert!(!again.stores[0].created);
    assert_eq!(
        (
            again.stores[0].import.imported,
            again.stores[0].import.already_present
        ),
        (0, 3)
    );
    assert_eq!(again.stores[1].import.imported, 0);
    assert_eq!(d.mem.stats("test_memory").await.unwrap().count, 3);
    assert_eq!(snapshot(&mem_dir), before, "the source is left untouched");

    let err = d.mem.migrate_python(src.path()).await.unwrap_err();
    assert!(err.to_string().contains("memory_registry.json"), "{err}");
}

/// Import and export take tokio's async readers and writers, so waiting for a slow source or
/// sink suspends the task. Proof: on a runtime with a single thread, the other end of the pipe
/// is a task of that same runtime, which can only run while the import or export waits.
#[tokio::test(flavor = "current_thread")]
async fn import_and_export_wait_without_blocking_the_runtime() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let d = db().await;
    let (mut tx, rx) = tokio::io::duplex(256);
    let writer = tokio::spawn(async move {
        for i in 0..2_000 {
            let line = format!(
                "{}\n",
                json!({"id": format!("p{i}"), "content": format!("piped memory {i}")})
            );
            tx.write_all(line.as_bytes()).await.unwrap();
        }
    });
    let report = d
        .mem
        .import("notes", tokio::io::BufReader::new(rx))
        .await
        .unwrap();
    writer.await.unwrap();
    assert_eq!((report.read, report.imported), (2_000, 2_000));

    let (mut out, mut from_export) = tokio::io::duplex(256);
    let reader = tokio::spawn(async move {
        let mut all = String::new();
        from_export.read_to_string(&mut all).await.unwrap();
        all
    });
    let n = d.mem.export("notes", &mut out).await.unwrap();
    drop(out);
    let text = reader.await.unwrap();
    assert_eq!(n, 2_000);
    assert_eq!(text.lines().count(), 2_000);
    assert!(text.contains("piped memory 1999"));
}
