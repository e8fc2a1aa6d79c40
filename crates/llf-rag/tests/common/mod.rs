//! Shared helpers: the real embedding model installed by scripts/setup.sh.
// Each test binary uses a subset of the helpers; a missing component should fail loudly.
#![allow(dead_code, unreachable_pub, clippy::expect_used)]

use std::path::PathBuf;

use llf_rag::embed::{Embedder, EmbedderConfig};
use tokio::sync::OnceCell;

fn dev_cache() -> PathBuf {
    std::env::var_os("LLF_DEV_CACHE")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache/llf-dev")))
        .expect("HOME is set")
}

pub fn model_dir() -> PathBuf {
    let dir = std::env::var_os("LLF_EMBED_MODEL_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| dev_cache().join("embed/all-MiniLM-L6-v2"));
    assert!(
        dir.join("model.onnx").is_file(),
        "the embedding model is missing at {}: run scripts/setup.sh",
        dir.display()
    );
    dir
}

pub fn onnxruntime() -> PathBuf {
    if let Some(p) = std::env::var_os("ORT_DYLIB_PATH") {
        return PathBuf::from(p);
    }
    let dir = dev_cache().join("onnxruntime");
    std::fs::read_dir(&dir)
        .ok()
        .and_then(|entries| {
            entries
                .filter_map(|e| e.ok().map(|e| e.path()))
                .find(|p| p.to_string_lossy().contains("libonnxruntime.so"))
        })
        .unwrap_or_else(|| {
            panic!(
                "libonnxruntime.so is missing in {}: run scripts/setup.sh",
                dir.display()
            )
        })
}

pub fn config() -> EmbedderConfig {
    EmbedderConfig::new(model_dir())
        .onnxruntime_path(onnxruntime())
        .batch_size(16)
}

static EMBEDDER: OnceCell<Embedder> = OnceCell::const_new();

/// One loaded model per test binary.
pub async fn embedder() -> Embedder {
    EMBEDDER
        .get_or_init(|| async { Embedder::load(config()).await.expect("the model loads") })
        .await
        .clone()
}
