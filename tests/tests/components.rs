//! The real components installed by `scripts/setup.sh` are present and work: the later crates'
//! tests depend on them, so a broken install should fail here first, with a clear message.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failed test

use std::path::PathBuf;
use std::process::Command;

fn component(var: &str, default_rel: &str) -> PathBuf {
    let path = std::env::var_os(var).map(PathBuf::from).unwrap_or_else(|| {
        let cache = std::env::var_os("LLF_DEV_CACHE")
            .map(PathBuf::from)
            .unwrap_or_else(|| {
                PathBuf::from(std::env::var_os("HOME").unwrap()).join(".cache/llf-dev")
            });
        cache.join(default_rel)
    });
    assert!(
        path.exists(),
        "{} is missing: run scripts/setup.sh (or source its env.sh)",
        path.display()
    );
    path
}

#[test]
fn llama_server_runs() {
    let bin = component("LLF_LLAMA_SERVER", "bin/llama-server");
    let out = Command::new(&bin).arg("--version").output().unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.status.success(),
        "llama-server --version failed: {text}"
    );
    assert!(text.contains("version"), "unexpected output: {text}");
}

#[test]
fn default_model_is_a_gguf_file() {
    let model = component("LLF_TEST_MODEL", "models/SmolLM2-135M-Instruct.Q4_1.gguf");
    let bytes = std::fs::read(&model).unwrap();
    assert_eq!(&bytes[..4], b"GGUF");
    assert!(
        bytes.len() > 50_000_000,
        "model is only {} bytes",
        bytes.len()
    );
}

#[test]
fn embedding_model_and_onnxruntime_are_installed() {
    let dir = component("LLF_EMBED_MODEL_DIR", "embed/all-MiniLM-L6-v2");
    for f in [
        "model.onnx",
        "tokenizer.json",
        "config.json",
        "special_tokens_map.json",
        "tokenizer_config.json",
    ] {
        let len = std::fs::metadata(dir.join(f)).map(|m| m.len()).unwrap_or(0);
        assert!(len > 0, "{f} missing or empty in {}", dir.display());
    }
    let tok: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("tokenizer.json")).unwrap()).unwrap();
    assert!(
        tok["model"]["vocab"]["[CLS]"].is_number(),
        "tokenizer.json has no [CLS] in its vocabulary"
    );
    let ort = component("ORT_DYLIB_PATH", "onnxruntime/libonnxruntime.so.1.32.0");
    assert_eq!(&std::fs::read(&ort).unwrap()[..4], b"\x7fELF");
}
