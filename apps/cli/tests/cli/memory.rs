//! `llf memory …` and deleted memories in `llf trash …`, through the real binary on real SQLite
//! files; two processes writing at once, and a writer killed mid-import.

use std::io::Write;
use std::process::Stdio;
use std::time::{Duration, Instant};

use predicates::prelude::*;
use serde_json::{Value, json};

use crate::{Sandbox, stderr_of, stdout_of};

fn run_json(sb: &Sandbox, args: &[&str]) -> Value {
    let out = sb.llf().args(args).assert().success().get_output().clone();
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{args:?}: {e}: {}", stdout_of(&out)))
}

fn add(sb: &Sandbox, args: &[&str]) -> String {
    let mut all = vec!["memory", "add"];
    all.extend_from_slice(args);
    all.push("--json");
    run_json(sb, &all)["id"].as_str().unwrap().to_owned()
}

fn count(sb: &Sandbox, store: &str) -> u64 {
    run_json(sb, &["memory", "stats", "--store", store, "--json"])["count"]
        .as_u64()
        .unwrap()
}

#[test]
fn add_search_show_update_delete_restore_and_stats() {
    let sb = Sandbox::new();
    let tea = add(
        &sb,
        &[
            "Alice prefers green tea",
            "--tag",
            "people",
            "--importance",
            "0.9",
        ],
    );
    add(&sb, &["The deploy runs on Fridays", "--tag", "ops"]);

    let out = sb
        .llf()
        .args(["memory", "search", "tea"])
        .assert()
        .success()
        .get_output()
        .clone();
    let text = stdout_of(&out);
    assert!(text.starts_with("ID"), "{text}");
    assert!(text.contains(&tea) && text.contains("[tea]"), "{text}");

    let hits = run_json(&sb, &["memory", "search", "--tag", "ops", "--json"]);
    assert_eq!(hits.as_array().unwrap().len(), 1);
    assert_eq!(hits[0]["memory"]["content"], "The deploy runs on Fridays");

    let shown = run_json(&sb, &["memory", "show", &tea, "--json"]);
    assert_eq!(shown["tags"], json!(["people"]));
    assert_eq!(shown["store"], "default");

    let up = run_json(
        &sb,
        &[
            "memory",
            "update",
            &tea,
            "--importance",
            "0.2",
            "--content",
            "Alice prefers black tea",
            "--json",
        ],
    );
    assert_eq!(up["importance"], 0.2);
    assert_eq!(up["content"], "Alice prefers black tea");
    assert_eq!(up["tags"], json!(["people"]));

    sb.llf()
        .args(["memory", "delete", &tea])
        .assert()
        .success()
        .stderr(predicate::str::contains("restore"));
    let hits = run_json(&sb, &["memory", "search", "tea", "--json"]);
    assert_eq!(hits, json!([]));
    sb.llf()
        .args(["memory", "show", &tea])
        .assert()
        .failure()
        .stderr(predicate::str::contains("is deleted"));
    sb.llf()
        .args(["memory", "restore", &tea])
        .assert()
        .success();
    assert_eq!(
        run_json(&sb, &["memory", "search", "black", "--json"])
            .as_array()
            .unwrap()
            .len(),
        1
    );

    let stats = run_json(&sb, &["memory", "stats", "--json"]);
    assert_eq!(stats["count"], 2);
    assert!(stats["total_accesses"].as_u64().unwrap() >= 3);
    assert!(stats["database_bytes"].as_u64().unwrap() > 0);
    let out = sb
        .llf()
        .args(["memory", "stats"])
        .assert()
        .success()
        .get_output()
        .clone();
    assert!(stdout_of(&out).contains("average importance"));

    // Stores.
    sb.llf()
        .args(["memory", "create", "work", "--description", "job"])
        .assert()
        .success();
    sb.llf()
        .args(["memory", "create", "work"])
        .assert()
        .failure()
        .stderr(predicate::str::contains("already exists"));
    add(&sb, &["standup at nine", "--store", "work"]);
    sb.llf()
        .args(["memory", "disable", "work"])
        .assert()
        .success();
    let stores = run_json(&sb, &["memory", "list", "--json"]);
    let names: Vec<&str> = stores
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["default", "work"]);
    assert_eq!(stores[1]["enabled"], false);
    assert_eq!(stores[1]["memories"], 1);
    let out = sb
        .llf()
        .args(["memory", "list"])
        .assert()
        .success()
        .get_output()
        .clone();
    assert!(stdout_of(&out).contains("work") && stdout_of(&out).contains("job"));
}

#[test]
fn bad_input_gets_clear_errors() {
    let sb = Sandbox::new();
    add(&sb, &["something to keep"]);
    for (args, msg) in [
        (vec!["memory", "add", ""], "needs some content"),
        (
            vec!["memory", "add", "x", "--importance", "1.5"],
            "between 0.0 and 1.0",
        ),
        (
            vec!["memory", "add", "x", "--store", "nope"],
            "llf memory create nope",
        ),
        (
            vec!["memory", "add", "x", "--metadata", "[1]"],
            "JSON object",
        ),
        (vec!["memory", "search", "\"( * -"], "no words to look for"),
        (
            vec!["memory", "search", "x", "--since", "yesterday"],
            "invalid date `yesterday`",
        ),
        (
            vec![
                "memory",
                "search",
                "x",
                "--since",
                "2025-02-01",
                "--until",
                "2025-01-01",
            ],
            "date range is empty",
        ),
        (
            vec!["memory", "show", "01ARZ3NDEKTSV4RRFFQ69G5FAV"],
            "no memory with id",
        ),
        (
            vec!["memory", "update", "01ARZ3NDEKTSV4RRFFQ69G5FAV"],
            "nothing to change",
        ),
        (
            vec!["memory", "create", "bad name"],
            "invalid memory store name",
        ),
    ] {
        let out = sb.llf().args(&args).assert().failure().get_output().clone();
        let err = stderr_of(&out);
        assert!(err.contains(msg), "{args:?}: {err}");
        assert!(
            !err.contains("SQL") && !err.contains("fts5"),
            "{args:?}: {err}"
        );
    }
    // Hostile FTS syntax is searched as words.
    for q in ["tea\" OR", "AND (", "NOT x*", "keep -", "🙂 keep"] {
        sb.llf()
            .args(["memory", "search", q, "--json"])
            .assert()
            .success();
    }
    assert_eq!(count(&sb, "default"), 1);
}

#[test]
fn export_import_and_python_migration() {
    let sb = Sandbox::new();
    add(&sb, &["first memory", "--tag", "a"]);
    add(&sb, &["second memory"]);
    let file = sb.dir.path().join("export.jsonl");
    sb.llf()
        .args(["memory", "export", "-o", file.to_str().unwrap()])
        .assert()
        .success();
    let exported = std::fs::read_to_string(&file).unwrap();
    assert_eq!(exported.lines().count(), 2);
    let out = sb
        .llf()
        .args(["memory", "export"])
        .assert()
        .success()
        .get_output()
        .clone();
    assert_eq!(
        stdout_of(&out),
        exported,
        "stdout and file hold the same lines"
    );

    let other = Sandbox::new();
    let r = run_json(
        &other,
        &["memory", "import", file.to_str().unwrap(), "--json"],
    );
    assert_eq!(
        (r["imported"].as_u64(), r["already_present"].as_u64()),
        (Some(2), Some(0))
    );
    let r = run_json(
        &other,
        &["memory", "import", file.to_str().unwrap(), "--json"],
    );
    assert_eq!(
        (r["imported"].as_u64(), r["already_present"].as_u64()),
        (Some(0), Some(2))
    );

    // The Python version's layout.
    let py = sb.dir.path().join("python-memory");
    std::fs::create_dir_all(&py).unwrap();
    std::fs::write(
        py.join("memory_registry.json"),
        json!({"version": "1.0", "memories": [{"name": "main_memory", "enabled": true,
            "path": py.join("main_memory.json"), "index_path": py.join("main_memory_index.json")}]})
        .to_string(),
    )
    .unwrap();
    let lines = [
        json!({"id": "mem_1", "content": "User's name is Alice", "tags": ["user_info"], "importance": 0.9, "timestamp": "2025-01-01T10:00:00Z"}).to_string(),
        "garbage".to_owned(),
        json!({"id": "mem_2", "content": "User is working on Python project", "tags": ["project"], "importance": 0.7, "timestamp": "2025-01-01T10:05:00Z"}).to_string(),
    ];
    std::fs::write(py.join("main_memory.json"), lines.join("\n")).unwrap();
    std::fs::write(
        py.join("main_memory_index.json"),
        r#"{"mem_1": {"line": 0}, "mem_2": {"line": 2}}"#,
    )
    .unwrap();

    let out = sb
        .llf()
        .args(["memory", "migrate", "--from", py.to_str().unwrap()])
        .assert()
        .success()
        .get_output()
        .clone();
    let text = stdout_of(&out);
    assert!(
        text.contains("3 read, 2 imported, 0 already present, 1 skipped"),
        "{text}"
    );
    assert!(text.contains("line 2: not a JSON object"), "{text}");
    let again = run_json(
        &sb,
        &[
            "memory",
            "migrate",
            "--from",
            py.to_str().unwrap(),
            "--json",
        ],
    );
    assert_eq!(again["stores"][0]["imported"], 0);
    assert_eq!(again["stores"][0]["already_present"], 2);
    assert_eq!(count(&sb, "main_memory"), 2);
    let hits = run_json(
        &sb,
        &[
            "memory",
            "search",
            "alice",
            "--store",
            "main_memory",
            "--json",
        ],
    );
    assert_eq!(hits[0]["memory"]["importance"], 0.9);
    sb.llf()
        .args([
            "memory",
            "migrate",
            "--from",
            sb.dir.path().to_str().unwrap(),
        ])
        .assert()
        .failure()
        .stderr(predicate::str::contains("memory_registry.json"));
}

#[test]
fn trash_lists_restores_and_purges_deleted_memories() {
    let sb = Sandbox::new();
    let id = add(&sb, &["the spare key is under the mat"]);
    let keep = add(&sb, &["keep this one"]);
    sb.llf().args(["memory", "delete", &id]).assert().success();

    let out = sb
        .llf()
        .args(["trash", "list"])
        .assert()
        .success()
        .get_output()
        .clone();
    let text = stdout_of(&out);
    assert!(
        text.contains("Deleted memories") && text.contains(&id) && text.contains("the spare key"),
        "{text}"
    );
    assert!(!text.contains(&keep), "{text}");
    let items = run_json(&sb, &["trash", "list", "--type", "memory", "--json"]);
    assert_eq!(items.as_array().unwrap().len(), 1);
    assert_eq!(items[0]["item_type"], "memory");
    assert_eq!(items[0]["store"], "default");
    assert_eq!(
        run_json(&sb, &["trash", "list", "--type", "model", "--json"]),
        json!([])
    );

    sb.llf()
        .args(["trash", "restore", &id])
        .assert()
        .success()
        .stderr(predicate::str::contains("restored memory"));
    assert_eq!(count(&sb, "default"), 2);

    // `trash empty` removes deleted memories for good.
    sb.llf().args(["memory", "delete", &id]).assert().success();
    sb.llf()
        .args(["trash", "empty", "--yes"])
        .assert()
        .success();
    sb.llf()
        .args(["memory", "restore", &id])
        .assert()
        .failure()
        .stderr(predicate::str::contains("no memory with id"));

    // With a retention of 0 days, the next command purges what was deleted.
    sb.llf()
        .args(["memory", "delete", &keep])
        .assert()
        .success();
    sb.write_config(json!({"trash": {"retention_days": 0}}));
    assert_eq!(run_json(&sb, &["trash", "list", "--json"]), json!([]));
    sb.llf()
        .args(["memory", "restore", &keep])
        .assert()
        .failure();
}

/// A JSON-lines file of `n` memories with ids `{prefix}-{i}`.
fn jsonl(sb: &Sandbox, prefix: &str, n: usize) -> std::path::PathBuf {
    let path = sb.dir.path().join(format!("{prefix}.jsonl"));
    let mut f = std::io::BufWriter::new(std::fs::File::create(&path).unwrap());
    for i in 0..n {
        writeln!(f, "{}", json!({"id": format!("{prefix}-{i}"), "content": format!("{prefix} memory number {i}"), "importance": 0.5})).unwrap();
    }
    f.flush().unwrap();
    path
}

#[test]
fn two_processes_writing_at_once_both_succeed() {
    let sb = Sandbox::new();
    sb.llf().args(["memory", "list"]).assert().success(); // creates the database
    let a = jsonl(&sb, "alpha", 20_000);
    let b = jsonl(&sb, "beta", 20_000);
    let spawn = |file: &std::path::Path| {
        sb.std_llf()
            .args(["memory", "import", file.to_str().unwrap(), "--json"])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    };
    let pa = spawn(&a);
    let pb = spawn(&b);
    // A third writer adding one memory at a time while both imports run.
    for i in 0..10 {
        let out = sb
            .llf()
            .args(["memory", "add", &format!("single add {i}")])
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", stderr_of(&out));
    }
    for p in [pa, pb] {
        let out = p.wait_with_output().unwrap();
        let err = stderr_of(&out);
        assert!(out.status.success(), "{err}");
        assert!(!err.contains("locked") && !err.contains("busy"), "{err}");
        let r: Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(r["imported"], 20_000);
    }
    assert_eq!(count(&sb, "default"), 40_010);
    assert_eq!(
        run_json(&sb, &["memory", "search", "beta", "--limit", "3", "--json"])
            .as_array()
            .unwrap()
            .len(),
        3
    );
}

#[test]
fn a_writer_killed_mid_import_loses_nothing_committed() {
    let sb = Sandbox::new();
    sb.llf().args(["memory", "list"]).assert().success();
    let n = 200_000;
    let file = jsonl(&sb, "gamma", n);
    let mut child = sb
        .std_llf()
        .args(["memory", "import", file.to_str().unwrap()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // Wait for the first committed batch, then kill -9 in the middle of the next ones.
    let start = Instant::now();
    loop {
        assert!(
            start.elapsed() < Duration::from_secs(120),
            "the import never committed a batch"
        );
        assert!(
            child.try_wait().unwrap().is_none(),
            "the import finished before it could be killed"
        );
        if count(&sb, "default") > 0 {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();

    let db = sb.home().join("memory").join("memory.db");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let mem = llf::memory::MemoryStore::open(&db).await.unwrap();
        mem.check_integrity().await.unwrap();
        mem.close().await;
    });
    let committed = count(&sb, "default");
    assert!(committed > 0 && committed < n as u64, "{committed}");
    assert_eq!(committed % 5_000, 0, "whole batches only: {committed}");

    // Running the import again completes it without duplicates.
    let r = run_json(&sb, &["memory", "import", file.to_str().unwrap(), "--json"]);
    assert_eq!(r["already_present"].as_u64().unwrap(), committed);
    assert_eq!(count(&sb, "default"), n as u64);
}
