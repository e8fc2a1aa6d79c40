//! Loading a config (typed parse, unknown-key detection, validation, path resolution) against the
//! baseline of parsing the same text into an untyped `serde_json::Value`.
//!
//! Run: `cargo bench -p llf-benches --bench config_load`
#![allow(missing_docs, clippy::unwrap_used, clippy::print_stdout)] // bench harness code

use llf_benches::{measure, report};
use llf_config::{ConfigFile, Environment};

const SAMPLE: &str = r#"{
  "llm_endpoint": {"api_base_url": "http://localhost:8000/v1", "api_key": "k", "model_name": "m", "default_local_server": "a"},
  "local_llm_servers": [
    {"name": "a", "llama_server_path": "llama-server", "model_path": "a.gguf", "port": 8001, "server_params": {"--ctx-size": 4096}},
    {"name": "b", "llama_server_path": "llama-server", "model_path": "b.gguf", "port": 8002}
  ],
  "inference_params": {"temperature": 0.7, "max_tokens": 100},
  "rag": {"cache": {"enabled": true, "embedding_cache_size": 1000}},
  "request_queue": {"max_size": 100, "max_requests_per_second": 10.0, "max_concurrent": 5},
  "multi_model": {"routing_strategy": "speed", "model_profiles": {"a": {"speed_score": 9}}},
  "legacy_key": 1
}"#;

fn main() {
    let env = Environment::with_home("/tmp/llf-bench-home");
    let baseline = measure(20_000, || {
        serde_json::from_str::<serde_json::Value>(SAMPLE).unwrap()
    });
    let llf = measure(20_000, || {
        let raw = serde_json::from_str(SAMPLE).unwrap();
        ConfigFile::from_value("/tmp/llf-bench-home/config.json".into(), raw, true, &env).unwrap()
    });
    report("config load", baseline, llf);
}
