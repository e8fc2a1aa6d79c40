//! `config.json` values for tests: local servers running the real llama-server and model, or a
//! remote endpoint (usually a [`crate::FakeServer`]), and a deep merge for extra keys.

use serde_json::{Value, json};

use crate::components;

/// Local servers named `names`, each on a free port, all running the real llama-server with the
/// real SmolLM2 (2,048-token window, one thread, 180 s to start); the first is the default.
/// Deterministic sampling (temperature 0, seed 42) and short answers (24 tokens).
pub fn local_servers(names: &[&str]) -> Value {
    let servers: Vec<Value> = names
        .iter()
        .map(|n| {
            json!({"name": n, "llama_server_path": components::llama_server(), "model_path": components::model(),
                   "port": components::free_port(), "startup_timeout": 180,
                   "server_params": {"--ctx-size": 2048, "--threads": 1}})
        })
        .collect();
    json!({
        "llm_endpoint": {"default_local_server": names.first(), "request_timeout": 120},
        "local_llm_servers": servers,
        "inference_params": {"temperature": 0.0, "max_tokens": 24, "seed": 42},
    })
}

/// The remote endpoint at `base_url` (model `fake-model`, no retries), and no local server.
pub fn remote(base_url: &str) -> Value {
    json!({
        "llm_endpoint": {"api_base_url": base_url, "model_name": "fake-model", "default_local_server": null,
                         "request_timeout": 30, "max_retries": 0},
        "local_llm_servers": []
    })
}

/// Merges `extra` into `base`: objects key by key, anything else replaced.
pub fn merge(base: &mut Value, extra: Value) {
    if let (Some(b), Value::Object(e)) = (base.as_object_mut(), extra) {
        for (k, v) in e {
            match (b.get_mut(&k), v) {
                (Some(existing @ Value::Object(_)), v @ Value::Object(_)) => merge(existing, v),
                (_, v) => {
                    b.insert(k, v);
                }
            }
        }
    }
}

/// `base` with `extra` merged in.
pub fn with(mut base: Value, extra: Value) -> Value {
    merge(&mut base, extra);
    base
}
