//! llf-runtime against the real llama-server with SmolLM2, and against a scripted fake server for
//! what a small model cannot do on demand (errors, hangs, malformed streams, tool calls).
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failed test

mod fake_endpoint;
mod models;
mod real_server;
mod server_errors;
mod tool_loop;

use std::path::Path;

use llf_config::{ConfigFile, Environment};
use llf_testkit::components;
use serde_json::json;

/// A config in a temp LLF_HOME with local servers on free ports, all using the real binary and
/// model. Returns the loaded config file (keep the TempDir alive).
pub(crate) fn local_config(dir: &Path, names: &[&str], extra: serde_json::Value) -> ConfigFile {
    let servers: Vec<_> = names
        .iter()
        .map(|n| {
            json!({"name": n, "llama_server_path": components::llama_server(), "model_path": components::model(),
                   "port": components::free_port(), "startup_timeout": 180,
                   "server_params": {"--ctx-size": 2048, "--threads": 1}})
        })
        .collect();
    let mut raw = json!({
        "llm_endpoint": {"default_local_server": names[0], "request_timeout": 120},
        "local_llm_servers": servers,
        "inference_params": {"temperature": 0.0, "max_tokens": 24, "seed": 42},
    });
    merge(&mut raw, extra);
    ConfigFile::from_value(
        dir.join("config.json"),
        raw,
        true,
        &Environment::with_home(dir),
    )
    .unwrap()
}

pub(crate) fn merge(base: &mut serde_json::Value, extra: serde_json::Value) {
    if let (Some(b), serde_json::Value::Object(e)) = (base.as_object_mut(), extra) {
        for (k, v) in e {
            match (b.get_mut(&k), v) {
                (
                    Some(existing @ serde_json::Value::Object(_)),
                    v @ serde_json::Value::Object(_),
                ) => merge(existing, v),
                (_, v) => {
                    b.insert(k, v);
                }
            }
        }
    }
}

pub(crate) fn pid_alive(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .map(|s| {
            !matches!(
                s.rsplit_once(')')
                    .and_then(|(_, r)| r.split_whitespace().next()),
                Some("Z") | Some("X")
            )
        })
        .unwrap_or(false)
}
