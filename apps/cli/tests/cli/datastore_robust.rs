//! `llf datastore …` under stress, through the real binary: two processes racing on one store,
//! progress when stderr is not a terminal, awkward files, and a bad index to import.

use std::io::Read;
use std::process::Stdio;
use std::time::{Duration, Instant};

use crate::datastore::{model_dir, onnxruntime};
use crate::{Sandbox, stderr_of, stdout_of};

fn sandbox() -> Sandbox {
    let sb = Sandbox::new();
    sb.write_config(serde_json::json!({
        "rag": {
            "embedding_model_dir": model_dir(),
            "onnxruntime_path": onnxruntime(),
            "embedding_threads": 1,
            "chunk_size": 200,
            "chunk_overlap": 20
        }
    }));
    sb
}

fn run(sb: &Sandbox, args: &[&str]) -> std::process::Output {
    let out = sb.llf().args(args).output().unwrap();
    assert!(
        out.status.success(),
        "llf {args:?} failed: {}",
        stderr_of(&out)
    );
    out
}

fn info(sb: &Sandbox, name: &str) -> serde_json::Value {
    serde_json::from_slice(&run(sb, &["datastore", "info", name, "--json"]).stdout).unwrap()
}

/// Whether another process holds the write lock of store `name`.
fn locked(sb: &Sandbox, name: &str) -> bool {
    let path = sb
        .home()
        .join("data_stores/.locks")
        .join(format!("{name}.lock"));
    let Ok(file) = std::fs::OpenOptions::new().write(true).open(path) else {
        return false;
    };
    match file.try_lock() {
        Ok(()) => {
            file.unlock().unwrap();
            false
        }
        Err(_) => true,
    }
}

#[test]
fn delete_during_a_running_add_is_refused_and_the_store_stays_whole() {
    let sb = sandbox();
    let docs = sb.dir.path().join("docs");
    std::fs::create_dir_all(&docs).unwrap();
    // A few hundred distinct chunks: seconds of embedding on one thread.
    let notes: String = (0..900)
        .map(|i| {
            format!(
                "Entry {i}: the shipment for order {} left warehouse {}.\n",
                i * 31,
                i % 17
            )
        })
        .collect();
    std::fs::write(docs.join("shipments.txt"), notes).unwrap();
    std::fs::write(docs.join("hello.md"), "Hello from the second file.").unwrap();
    run(&sb, &["datastore", "create", "ops"]);

    let mut add = std::process::Command::new(env!("CARGO_BIN_EXE_llf"));
    add.env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", sb.dir.path())
        .env("LLF_HOME", sb.home())
        .args(["datastore", "add", "ops", docs.to_str().unwrap()])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = add.spawn().unwrap();
    let deadline = Instant::now() + Duration::from_secs(120);
    while !locked(&sb, "ops") {
        assert!(
            child.try_wait().unwrap().is_none(),
            "the add ended before it was seen holding the lock"
        );
        assert!(Instant::now() < deadline, "the add never took the lock");
        std::thread::sleep(Duration::from_millis(20));
    }

    let out = sb
        .llf()
        .args(["datastore", "delete", "ops"])
        .output()
        .unwrap();
    let deleted_while_adding = out.status.success();
    let status = child.wait().unwrap();
    let mut err = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    assert!(status.success(), "the add failed: {err}");
    assert!(
        !deleted_while_adding,
        "delete went through during the add: {}",
        stderr_of(&out)
    );
    assert!(
        stderr_of(&out).contains("is being changed by another process"),
        "{}",
        stderr_of(&out)
    );
    // stderr is a pipe here, not a terminal: progress still shows, as plain lines.
    assert!(err.contains("embedding: "), "{err}");
    assert!(err.contains("indexing: done"), "{err}");

    let whole = info(&sb, "ops");
    assert_eq!(whole["files"], 2);
    let chunks = whole["chunks"].as_u64().unwrap();
    assert!(chunks > 100, "{whole}");

    // Now the delete goes through, and a store re-created under the name is new and empty.
    run(&sb, &["datastore", "delete", "ops"]);
    run(&sb, &["datastore", "create", "ops"]);
    assert_eq!(info(&sb, "ops")["chunks"], 0);
    let hits: serde_json::Value = serde_json::from_slice(
        &run(
            &sb,
            &[
                "datastore",
                "query",
                "shipment for order",
                "-s",
                "ops",
                "--threshold",
                "0",
                "--json",
            ],
        )
        .stdout,
    )
    .unwrap();
    assert_eq!(hits["hits"], serde_json::json!([]));
}

#[test]
fn a_directory_with_awkward_files_is_added_with_every_skip_reported() {
    let sb = sandbox();
    let docs = sb.dir.path().join("docs");
    std::fs::create_dir_all(&docs).unwrap();
    std::fs::write(docs.join("notes.md"), "Meeting moved to Thursday.").unwrap();
    std::fs::write(
        docs.join("latin1.txt"),
        b"Les cr\xeapes se servent avec du beurre sal\xe9 et du sucre.",
    )
    .unwrap();
    std::fs::write(docs.join("data.txt"), b"\x00\x01\x02binary\x00").unwrap();
    std::os::unix::fs::symlink(docs.join("notes.md"), docs.join("alias.md")).unwrap();
    let out = run(
        &sb,
        &["datastore", "create", "mixed", docs.to_str().unwrap()],
    );
    let err = stderr_of(&out);
    assert!(err.contains("data.txt: binary content, not text"), "{err}");
    assert!(err.contains("alias.md: same file as"), "{err}");
    assert!(
        err.contains("latin1.txt is not UTF-8; read it as windows-1252"),
        "{err}"
    );
    assert!(stdout_of(&out).contains("2 new"), "{}", stdout_of(&out));
    let hits: serde_json::Value = serde_json::from_slice(
        &run(
            &sb,
            &[
                "datastore",
                "query",
                "crêpes au beurre salé",
                "-s",
                "mixed",
                "-k",
                "1",
                "--json",
            ],
        )
        .stdout,
    )
    .unwrap();
    let text = hits["hits"][0]["text"].as_str().unwrap();
    assert!(text.contains("crêpes") && text.contains("salé"), "{hits}");
}

#[test]
fn importing_a_bad_index_says_what_is_wrong_once() {
    let sb = sandbox();
    let index = sb.dir.path().join("texts-by-mistake.json");
    std::fs::write(&index, "[\"one\"]").unwrap();
    let out = sb
        .llf()
        .args([
            "datastore",
            "import",
            "old",
            "--index",
            index.to_str().unwrap(),
            "--texts",
            index.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = stderr_of(&out);
    assert!(err.contains(&index.display().to_string()), "{err}");
    assert!(err.contains("faiss.write_index"), "{err}");
    assert_eq!(err.matches("faiss.write_index").count(), 1, "{err}");
    for internal in ["Error in", ".cpp", ".cargo", "caused by"] {
        assert!(!err.contains(internal), "{err}");
    }
}
