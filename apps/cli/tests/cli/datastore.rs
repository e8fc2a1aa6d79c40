//! `llf datastore …` with the real embedding model and real FAISS.

use std::path::PathBuf;

use crate::{Sandbox, stderr_of, stdout_of};

fn dev_cache() -> PathBuf {
    std::env::var_os("LLF_DEV_CACHE")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(std::env::var_os("HOME").unwrap()).join(".cache/llf-dev"))
}

pub(crate) fn model_dir() -> PathBuf {
    let dir = std::env::var_os("LLF_EMBED_MODEL_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| dev_cache().join("embed/all-MiniLM-L6-v2"));
    assert!(
        dir.join("model.onnx").is_file(),
        "embedding model missing at {}: run scripts/setup.sh",
        dir.display()
    );
    dir
}

pub(crate) fn onnxruntime() -> PathBuf {
    if let Some(p) = std::env::var_os("ORT_DYLIB_PATH") {
        return PathBuf::from(p);
    }
    std::fs::read_dir(dev_cache().join("onnxruntime"))
        .expect("onnxruntime missing: run scripts/setup.sh")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .find(|p| p.to_string_lossy().contains("libonnxruntime.so"))
        .expect("libonnxruntime.so missing: run scripts/setup.sh")
}

fn sandbox() -> Sandbox {
    let sb = Sandbox::new();
    sb.write_config(serde_json::json!({
        "rag": {
            "embedding_model_dir": model_dir(),
            "onnxruntime_path": onnxruntime(),
            "embedding_threads": 1,
            "chunk_size": 300,
            "chunk_overlap": 50
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

fn json(sb: &Sandbox, args: &[&str]) -> serde_json::Value {
    serde_json::from_slice(&run(sb, args).stdout).unwrap()
}

#[test]
fn create_query_attach_and_delete_a_store() {
    let sb = sandbox();
    let docs = sb.dir.path().join("docs");
    std::fs::create_dir_all(&docs).unwrap();
    std::fs::write(
        docs.join("wifi.md"),
        "# Office\n\nThe guest wifi password is written on the whiteboard in room 4.",
    )
    .unwrap();
    std::fs::write(
        docs.join("plants.txt"),
        "Water the ferns every Monday and keep cacti dry in winter.",
    )
    .unwrap();
    std::fs::write(
        docs.join("codes.jsonl"),
        "{\"code\": \"QX-7731\", \"meaning\": \"printer out of toner\"}\n",
    )
    .unwrap();
    let docs_s = docs.to_str().unwrap();

    let created = json(&sb, &["datastore", "create", "office", docs_s, "--json"]);
    assert_eq!(created["report"]["files_added"], 3);
    assert_eq!(created["manifest"]["model_id"], "all-MiniLM-L6-v2");
    assert_eq!(created["manifest"]["dimension"], 384);

    // Adding the same directory again embeds nothing.
    let again = json(&sb, &["datastore", "add", "office", docs_s, "--json"]);
    assert_eq!(again["report"]["files_unchanged"], 3);
    assert_eq!(again["report"]["chunks_embedded"], 0);

    let list = stdout_of(&run(&sb, &["datastore", "list"]));
    assert!(list.contains("office") && list.contains("flat"), "{list}");
    let info = json(&sb, &["datastore", "info", "office", "--json"]);
    assert_eq!(info["files"], 3);

    let hits = json(
        &sb,
        &[
            "datastore",
            "query",
            "where can I find the wifi password",
            "--store",
            "office",
            "-k",
            "1",
            "--json",
        ],
    );
    assert!(
        hits["hits"][0]["source"]
            .as_str()
            .unwrap()
            .ends_with("wifi.md"),
        "{hits}"
    );
    let text = stdout_of(&run(
        &sb,
        &[
            "datastore",
            "query",
            "QX-7731",
            "-s",
            "office",
            "--mode",
            "hybrid",
            "-k",
            "1",
            "--threshold",
            "0",
        ],
    ));
    assert!(
        text.contains("codes.jsonl#0") && text.contains("toner"),
        "{text}"
    );

    // The second identical query is answered from the caches, across processes.
    let cached = json(
        &sb,
        &[
            "datastore",
            "query",
            "where can I find the wifi password",
            "--store",
            "office",
            "-k",
            "1",
            "--json",
        ],
    );
    assert_eq!(cached["results_cached"], true);
    let stats = json(&sb, &["datastore", "cache-stats", "--json"]);
    assert_eq!(stats["results"]["hits"], 1);
    assert_eq!(stats["embeddings"]["hits"], 1);
    run(&sb, &["datastore", "cache-stats", "--clear"]);
    let stats = json(&sb, &["datastore", "cache-stats", "--json"]);
    assert_eq!(stats["results"]["hits"], 0);
    assert_eq!(stats["embeddings"]["entries"], 0);

    // Attach: recorded in the config, used when no --store is given.
    run(&sb, &["datastore", "attach", "office"]);
    assert_eq!(
        sb.read_config()["rag"]["attached_stores"],
        serde_json::json!(["office"])
    );
    assert_eq!(sb.read_config()["rag"]["enabled"], true);
    let hits = json(
        &sb,
        &[
            "datastore",
            "query",
            "how often should ferns be watered",
            "-k",
            "1",
            "--json",
        ],
    );
    assert!(
        hits["hits"][0]["source"]
            .as_str()
            .unwrap()
            .ends_with("plants.txt"),
        "{hits}"
    );
    run(&sb, &["datastore", "detach", "office"]);
    assert_eq!(
        sb.read_config()["rag"]["attached_stores"],
        serde_json::json!([])
    );
    let out = sb
        .llf()
        .args(["datastore", "query", "ferns", "--json"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        stderr_of(&out).contains("llf datastore attach"),
        "{}",
        stderr_of(&out)
    );

    // Delete goes to the trash.
    run(&sb, &["datastore", "delete", "office"]);
    let trash = stdout_of(&run(&sb, &["trash", "list", "--type", "datastore"]));
    assert!(trash.contains("office"), "{trash}");
    let out = sb
        .llf()
        .args(["datastore", "info", "office"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        stderr_of(&out).contains("no data store named `office`"),
        "{}",
        stderr_of(&out)
    );
}

#[test]
fn bad_input_is_reported_and_changes_nothing() {
    let sb = sandbox();
    let out = sb
        .llf()
        .args(["datastore", "create", "bad/name"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        stderr_of(&out).contains("invalid data store name"),
        "{}",
        stderr_of(&out)
    );
    let out = sb
        .llf()
        .args(["datastore", "create", "x", "--index-type", "tree"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        stderr_of(&out).contains("flat, hnsw or ivf"),
        "{}",
        stderr_of(&out)
    );
    let missing = sb.dir.path().join("missing.txt");
    let out = sb
        .llf()
        .args(["datastore", "create", "x", missing.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        stderr_of(&out).contains("missing.txt"),
        "{}",
        stderr_of(&out)
    );
    assert_eq!(
        json(&sb, &["datastore", "list", "--json"]),
        serde_json::json!([])
    );
    let out = sb
        .llf()
        .args(["datastore", "attach", "nope"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(sb.read_config()["rag"].get("attached_stores").is_none());
}
