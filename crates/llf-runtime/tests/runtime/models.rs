//! Models: GGUF headers of the real model, downloads from a loopback fake hub (resume, checksum),
//! listing and deleting to the trash.

use std::sync::{Arc, Mutex};

use llf_runtime::RuntimeError;
use llf_runtime::models::{ModelHub, ModelStore, read_info, sha256_of};
use llf_testkit::{FakeServer, Reply, components};
use serde_json::json;

#[test]
fn the_real_model_header_is_read() {
    let info = read_info(&components::model()).unwrap();
    assert_eq!(info.architecture.as_deref(), Some("llama"));
    assert_eq!(info.quantization.as_deref(), Some("Q4_1"));
    assert_eq!(info.context_length, Some(8192));
    assert_eq!(info.layers, Some(30));
    assert!(info.has_chat_template);
    assert!(info.tensor_count > 100);
}

/// A hub serving one repository with two GGUF files; the first download of `data` is cut halfway.
async fn hub(
    data: Vec<u8>,
    advertised_sha: String,
    cut_first: bool,
) -> (FakeServer, Arc<Mutex<Vec<Option<String>>>>) {
    let ranges = Arc::new(Mutex::new(Vec::new()));
    let seen = ranges.clone();
    let size = data.len();
    let server = FakeServer::start(move |req, _| {
        if req.path == "/api/models/acme/tiny-GGUF/tree/main" {
            return Reply::Json(200, json!([
                {"type": "file", "path": "README.md", "size": 10},
                {"type": "file", "path": "tiny.Q4_K_M.gguf", "size": 133, "lfs": {"oid": advertised_sha, "size": size}},
                {"type": "file", "path": "tiny.Q8_0.gguf", "size": 133, "lfs": {"oid": "00", "size": 5}}
            ]));
        }
        if req.path == "/acme/tiny-GGUF/resolve/main/tiny.Q4_K_M.gguf" {
            let range = req.header("range").map(str::to_owned);
            let first = {
                let mut r = seen.lock().unwrap();
                r.push(range.clone());
                r.len() == 1
            };
            return match range.and_then(|r| r.strip_prefix("bytes=").and_then(|s| s.trim_end_matches('-').parse::<usize>().ok())) {
                Some(start) => Reply::Bytes {
                    status: 206,
                    headers: vec![("content-range".into(), format!("bytes {start}-{}/{size}", size - 1))],
                    body: data[start..].to_vec(),
                    cut_after: None,
                },
                None => Reply::Bytes { status: 200, headers: vec![], body: data.clone(), cut_after: (cut_first && first).then_some(size / 2) },
            };
        }
        Reply::error(404, "not found")
    })
    .await;
    (server, ranges)
}

fn sha_hex(bytes: &[u8]) -> String {
    let dir = llf_testkit::components::TestHome::new();
    let p = dir.path().join("x");
    std::fs::write(&p, bytes).unwrap();
    sha256_of(&p).unwrap()
}

#[tokio::test]
async fn an_interrupted_download_resumes_and_is_verified() {
    let data: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
    let (server, ranges) = hub(data.clone(), sha_hex(&data), true).await;
    let hub = ModelHub::new(format!("http://{}", server.addr()));
    let files = hub.gguf_files("acme/tiny-GGUF").await.unwrap();
    assert_eq!(files.len(), 2, "README is not a model");
    let file = ModelHub::choose(&files, None, Some("q4_k_m"))
        .unwrap()
        .clone();
    let dest = tempfile::tempdir().unwrap();

    let err = hub
        .download("acme/tiny-GGUF", &file, dest.path(), |_| {})
        .await
        .unwrap_err();
    assert!(err.to_string().contains("run it again to resume"), "{err}");
    let part = dest.path().join("tiny.Q4_K_M.gguf.part");
    assert_eq!(std::fs::metadata(&part).unwrap().len(), 100_000);

    let last = Mutex::new(None);
    let path = hub
        .download("acme/tiny-GGUF", &file, dest.path(), |p| {
            *last.lock().unwrap() = Some(p)
        })
        .await
        .unwrap();
    assert_eq!(std::fs::read(&path).unwrap(), data);
    assert!(!part.exists());
    let p = last.into_inner().unwrap().unwrap();
    assert_eq!((p.downloaded, p.total), (200_000, 200_000));
    assert_eq!(
        ranges.lock().unwrap().as_slice(),
        [None, Some("bytes=100000-".to_owned())]
    );

    // Already there: nothing is fetched again.
    hub.download("acme/tiny-GGUF", &file, dest.path(), |_| {})
        .await
        .unwrap();
    assert_eq!(ranges.lock().unwrap().len(), 2);
}

#[tokio::test]
async fn a_checksum_mismatch_deletes_the_file() {
    let data = vec![7u8; 5000];
    let (server, _) = hub(data, "ab".repeat(32), false).await;
    let hub = ModelHub::new(format!("http://{}", server.addr()));
    let files = hub.gguf_files("acme/tiny-GGUF").await.unwrap();
    let file = ModelHub::choose(&files, Some("tiny.Q4_K_M.gguf"), None)
        .unwrap()
        .clone();
    let dest = tempfile::tempdir().unwrap();
    let err = hub
        .download("acme/tiny-GGUF", &file, dest.path(), |_| {})
        .await
        .unwrap_err();
    assert!(matches!(err, RuntimeError::Corrupt { .. }), "{err}");
    assert_eq!(std::fs::read_dir(dest.path()).unwrap().count(), 0);
}

#[tokio::test]
async fn choosing_files_and_unknown_repositories() {
    let (server, _) = hub(vec![1], sha_hex(&[1]), false).await;
    let hub = ModelHub::new(format!("http://{}", server.addr()));
    let files = hub.gguf_files("acme/tiny-GGUF").await.unwrap();
    let err = ModelHub::choose(&files, None, None)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("--quant") && err.contains("tiny.Q8_0.gguf"),
        "{err}"
    );
    assert!(
        ModelHub::choose(&files, None, Some("gguf"))
            .unwrap_err()
            .to_string()
            .contains("several")
    );
    assert!(
        ModelHub::choose(&files, None, Some("Q2_K"))
            .unwrap_err()
            .to_string()
            .contains("no file matches")
    );
    assert!(ModelHub::choose(&files, Some("nope.gguf"), None).is_err());
    let err = hub.gguf_files("acme/missing").await.unwrap_err();
    assert!(err.to_string().contains("not found"), "{err}");
    assert!(hub.gguf_files("../etc").await.is_err());
}

#[tokio::test]
async fn list_find_and_delete_to_the_trash() {
    let dir = llf_testkit::components::TestHome::new();
    let file = crate::local_config(dir.path(), &["smol"], json!({}));
    let models = file.paths().models.clone();
    std::fs::create_dir_all(models.join("acme__tiny")).unwrap();
    std::fs::write(models.join("acme__tiny/tiny.Q4_K_M.gguf"), b"GGUF....").unwrap();
    let store = ModelStore::new(file.config(), file.paths());
    let list = store.list().unwrap();
    let names: Vec<_> = list.iter().map(|m| m.name.as_str()).collect();
    assert_eq!(names, ["SmolLM2-135M-Instruct.Q4_1", "tiny.Q4_K_M"]);
    assert_eq!(list[0].used_by, ["smol"]);

    // The configured model is protected.
    let err = store
        .delete("SmolLM2-135M-Instruct.Q4_1", false)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("--force"), "{err}");
    let item = store.delete("tiny.Q4_K_M", false).await.unwrap();
    assert!(!models.join("acme__tiny/tiny.Q4_K_M.gguf").exists());
    assert_eq!(item.item_type, llf_core::trash::ItemType::Model);
    assert!(store.find("tiny.Q4_K_M").is_err());
}
