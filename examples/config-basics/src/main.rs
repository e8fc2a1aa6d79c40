//! Load a Python-era `config.json`, read typed values, change one and save it atomically.
//!
//! Run: `cargo run -p example-config-basics`
#![allow(clippy::print_stdout)] // an example prints what it does

use llf_config::{ConfigFile, Environment};

fn main() -> anyhow::Result<()> {
    // Everything under one directory, as LLF_HOME would do.
    let home = tempfile::tempdir()?;
    let env = Environment::with_home(home.path());
    std::fs::write(
        home.path().join("config.json"),
        r#"{
          "llm_endpoint": {"api_base_url": "http://localhost:8000/v1", "api_key": "sk-demo", "model_name": "smol",
                           "default_local_server": "main"},
          "local_llm_servers": [{"name": "main", "llama_server_path": "llama-server",
                                 "model_path": "models/smol.gguf", "server_params": {"--port": 8001}}],
          "inference_params": {"temperature": 0.7, "max_tokens": 100},
          "gui_theme": "dark"
        }"#,
    )?;

    let mut file = ConfigFile::load(None, &env)?;
    for w in file.warnings() {
        println!("warning: {w}"); // gui_theme: unknown key, ignored
    }
    let server = file
        .config()
        .server(None)
        .ok_or_else(|| anyhow::anyhow!("no server"))?;
    println!(
        "default server {} on port {} -> {}",
        server.name,
        server.port,
        server.base_url()
    );
    println!("model file: {:?}", server.model_file());
    println!("models dir: {}", file.paths().models.display());
    println!("redacted: {}", file.redacted()["llm_endpoint"]);

    file.set("inference_params.temperature", "0.2")?;
    file.save()?;
    println!(
        "saved; temperature is now {}",
        file.get("inference_params.temperature")?
    );

    // Bad values are refused with the key path, and nothing is written.
    if let Err(err) = file.set("local_llm_servers[0].port", "70000") {
        println!("refused: {err}");
    }
    Ok(())
}
