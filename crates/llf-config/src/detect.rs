//! The default configuration that `llf config init` writes, pointed at the components
//! `scripts/setup.sh` installed when they are present.

use crate::env::Environment;
use crate::schema::Config;

/// File name of the default model the setup script installs.
pub const DEFAULT_MODEL_FILE: &str = "SmolLM2-135M-Instruct.Q4_1.gguf";

/// Defaults, with the setup script's llama-server, model and embedding files filled in when found.
pub(crate) fn default_config(env: &Environment) -> Config {
    let mut config = Config::default();
    let Some(cache) = env.dev_cache_dir() else {
        return config;
    };
    let server_bin = cache.join("bin/llama-server");
    let model = cache.join("models").join(DEFAULT_MODEL_FILE);
    if let Some(server) = config.local_llm_servers.first_mut() {
        if server_bin.is_file() {
            server.llama_server_path = server_bin;
        }
        if model.is_file() {
            server.model_path = Some(model);
        }
    }
    let embed = cache.join("embed/all-MiniLM-L6-v2");
    if embed.join("model.onnx").is_file() {
        config.rag.embedding_model_dir = Some(embed);
    }
    if let Ok(entries) = std::fs::read_dir(cache.join("onnxruntime")) {
        config.rag.onnxruntime_path = entries.filter_map(|e| e.ok().map(|e| e.path())).find(|p| {
            p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with("libonnxruntime.so"))
        });
    }
    config
}
