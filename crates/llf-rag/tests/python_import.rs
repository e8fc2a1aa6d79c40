//! Stores of the Python version: an index written by real Python FAISS plus its texts.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failed test

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use llf_config::schema::SearchMode;
use llf_rag::catalog::import_python_store;
use llf_rag::progress::NoProgress;
use llf_rag::search::QueryOptions;
use llf_rag::{ImportProblem, Metric, RagError, Retriever};

fn python() -> PathBuf {
    let venv = std::env::var_os("LLF_DEV_CACHE")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(std::env::var_os("HOME").unwrap()).join(".cache/llf-dev"))
        .join("venv/bin/python");
    assert!(
        venv.is_file(),
        "the setup venv is missing at {}: run scripts/setup.sh",
        venv.display()
    );
    venv
}

/// Writes `vectors` into a Python FAISS index of `kind` (`IndexFlatIP` or `IndexFlatL2`).
fn python_faiss_index(dir: &Path, kind: &str, vectors: &[Vec<f32>]) -> PathBuf {
    let vec_file = dir.join(format!("{kind}.vectors.json"));
    std::fs::write(&vec_file, serde_json::to_vec(vectors).unwrap()).unwrap();
    let out = dir.join(format!("{kind}.index"));
    let script = r#"
import json, sys
import faiss, numpy as np
kind, vec_file, out = sys.argv[1:4]
x = np.array(json.load(open(vec_file)), dtype="float32")
index = getattr(faiss, kind)(x.shape[1])
index.add(x)
faiss.write_index(index, out)
"#;
    let status = Command::new(python())
        .args(["-c", script, kind])
        .arg(&vec_file)
        .arg(&out)
        .status()
        .unwrap();
    assert!(
        status.success(),
        "python faiss failed (is faiss-cpu installed? run scripts/setup.sh)"
    );
    out
}

#[tokio::test]
async fn an_index_written_by_python_faiss_is_opened_and_queried() {
    let dir = tempfile::tempdir().unwrap();
    let e = common::embedder().await;
    let texts = [
        "The Eiffel Tower is in Paris.",
        "Photosynthesis turns light into chemical energy in plants.",
        "Invoices are due within thirty days.",
        "The goalkeeper saved a penalty in the final minute.",
    ];
    let vectors = e
        .embed_documents(texts.iter().map(|t| t.to_string()).collect())
        .await
        .unwrap();
    let root = dir.path().join("stores");

    // JSON array of objects with sources, for IndexFlatIP.
    let json = dir.path().join("texts.json");
    let items: Vec<_> = texts
        .iter()
        .enumerate()
        .map(|(i, t)| serde_json::json!({"text": t, "metadata": {"source": format!("doc{i}.txt")}}))
        .collect();
    std::fs::write(&json, serde_json::to_vec(&items).unwrap()).unwrap();
    let ip = python_faiss_index(dir.path(), "IndexFlatIP", &vectors);
    let store = import_python_store(&root, "py-ip", e.model(), &ip, &json, &NoProgress)
        .await
        .unwrap();
    assert_eq!(store.manifest().chunks, 4);
    assert_eq!(store.manifest().metric, Metric::InnerProduct);

    // JSONL of plain strings, for IndexFlatL2.
    let jsonl = dir.path().join("texts.jsonl");
    std::fs::write(
        &jsonl,
        texts
            .iter()
            .map(|t| serde_json::to_string(t).unwrap() + "\n")
            .collect::<String>(),
    )
    .unwrap();
    let l2 = python_faiss_index(dir.path(), "IndexFlatL2", &vectors);
    let store_l2 = import_python_store(&root, "py-l2", e.model(), &l2, &jsonl, &NoProgress)
        .await
        .unwrap();
    assert_eq!(store_l2.manifest().metric, Metric::L2);

    let r = Retriever::new(e.clone(), vec![store, store_l2]).unwrap();
    for mode in [SearchMode::Vector, SearchMode::Hybrid] {
        let res = r
            .search(
                "when must invoices be paid",
                &QueryOptions::default().top_k(2).threshold(0.0).mode(mode),
            )
            .await
            .unwrap();
        assert_eq!(res.hits.len(), 2);
        for h in &res.hits {
            assert_eq!(h.text, texts[2], "{mode:?}: {h:?}");
        }
        let ip_hit = res.hits.iter().find(|h| h.store == "py-ip").unwrap();
        let l2_hit = res.hits.iter().find(|h| h.store == "py-l2").unwrap();
        assert_eq!(ip_hit.source, "doc2.txt");
        assert!(
            (ip_hit.score - l2_hit.score).abs() < 1e-3,
            "L2 distances map to cosine"
        );
    }

    // Mismatched text counts and non-flat indexes are refused with a reason.
    std::fs::write(&jsonl, "\"only one\"\n").unwrap();
    let err = import_python_store(&root, "bad", e.model(), &ip, &jsonl, &NoProgress)
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("1 texts but the index holds 4"),
        "{err}"
    );
    assert!(!root.join("bad").exists());
    let err = import_python_store(&root, "bad", e.model(), &jsonl, &json, &NoProgress)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("FAISS"), "{err}");
}

#[tokio::test]
async fn a_bad_index_is_named_with_what_to_do_and_no_faiss_internals() {
    let dir = tempfile::tempdir().unwrap();
    let e = common::embedder().await;
    let root = dir.path().join("stores");
    let texts = dir.path().join("texts.json");
    std::fs::write(&texts, "[\"one\"]").unwrap();
    let garbage = dir.path().join("store.index");
    std::fs::write(&garbage, b"IxFI this is not really an index at all").unwrap();
    let err = import_python_store(&root, "bad", e.model(), &garbage, &texts, &NoProgress)
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            RagError::ImportIndex {
                problem: ImportProblem::NotAnIndex,
                ..
            }
        ),
        "{err:?}"
    );
    let msg = err.to_string();
    assert!(msg.contains(&garbage.display().to_string()), "{msg}");
    assert!(
        msg.contains("faiss.write_index") && msg.contains("--index"),
        "{msg}"
    );
    assert!(
        std::error::Error::source(&err).is_none(),
        "said once: {msg}"
    );
    for internal in ["Error in", ".cpp", ".cargo", "faiss::"] {
        assert!(!msg.contains(internal), "{msg}");
    }
    assert!(!root.join("bad").exists());

    // An index of another dimension says which model to use.
    let small = python_faiss_index(dir.path(), "IndexFlatIP", &[vec![0.5, 0.5]]);
    let err = import_python_store(&root, "bad", e.model(), &small, &texts, &NoProgress)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("2 dimensions"), "{err}");
    assert!(err.to_string().contains("rag.embedding_model_dir"), "{err}");
}
