//! llf-config against real files: Python-era configs, every validation path, environment
//! overrides, atomic 0600 saves and redaction.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failed test

use std::path::{Path, PathBuf};

use llf_config::schema::{ContextOverflow, IndexType, RoutingStrategy};
use llf_config::{ConfigError, ConfigFile, Environment, KeySource, Secret};
use serde_json::json;

fn home() -> (tempfile::TempDir, Environment) {
    let dir = tempfile::tempdir().unwrap();
    let env = Environment::with_home(dir.path());
    (dir, env)
}

fn write(dir: &Path, value: serde_json::Value) -> PathBuf {
    let path = dir.join("config.json");
    std::fs::write(&path, serde_json::to_vec_pretty(&value).unwrap()).unwrap();
    path
}

/// The keys of the design document, as the Python version wrote them.
fn python_era() -> serde_json::Value {
    json!({
        "llm_endpoint": {
            "api_base_url": "http://localhost:8000/v1",
            "api_key": "test_key",
            "model_name": "test_model",
            "default_local_server": "server2"
        },
        "local_llm_servers": [
            {"name": "server1", "llama_server_path": "/path/to/llama-server", "server_params": {"--port": 8001}},
            {"name": "server2", "llama_server_path": "bin/llama-server", "model_dir": "models",
             "model_path": "qwen.gguf", "host": "127.0.0.1", "port": 8002,
             "server_params": {"--ctx-size": 4096, "--jinja": true}}
        ],
        "inference_params": {"temperature": 0.7, "max_tokens": 100},
        "rag": {"cache": {"enabled": true, "embedding_cache_size": 1000, "embedding_ttl": 3600,
                           "results_cache_size": 100, "results_ttl": 1800, "similarity_threshold": 0.95}},
        "request_queue": {"max_size": 100, "max_requests_per_second": 10.0, "max_concurrent": 5},
        "tool_sandbox": {"enabled": true, "max_memory_mb": 512, "max_cpu_time": 30, "max_file_size_mb": 10, "timeout": 60},
        "multi_model": {"routing_strategy": "complexity", "model_profiles": {
            "gpt-4": {"complexity_score": 10, "speed_score": 5, "cost_score": 2, "quality_score": 10, "context_window": 8192},
            "gpt-3.5-turbo": {"complexity_score": 7, "speed_score": 9, "cost_score": 9, "quality_score": 7, "context_window": 4096}
        }},
        "model_dir": "models",
        "log_dir": "~/llf-logs",
        "active_server": "local",
        "config": {"log_dir": "~/.llf/message_logs"}
    })
}

#[test]
fn python_era_config_loads_unchanged() {
    let (dir, mut env) = home();
    env.home = Some(PathBuf::from("/home/someone"));
    let path = write(dir.path(), python_era());
    let file = ConfigFile::load(None, &env).unwrap();
    let c = file.config();
    assert_eq!(file.path(), path);
    assert!(file.exists());
    assert_eq!(c.llm_endpoint.model_name, "test_model");
    assert_eq!(
        c.llm_endpoint.api_key.as_ref().map(Secret::expose),
        Some("test_key")
    );
    assert_eq!(file.key_source(), Some(KeySource::File));
    // Port lifted from server_params, as the Python version started it.
    assert_eq!(c.local_llm_servers[0].port, 8001);
    let s2 = c.server(None).unwrap();
    assert_eq!(s2.name, "server2");
    assert_eq!(s2.server_params["--ctx-size"], 4096);
    // Relative paths resolve against the config file's directory.
    assert_eq!(s2.llama_server_path, dir.path().join("bin/llama-server"));
    assert_eq!(
        s2.model_file().unwrap(),
        dir.path().join("models/qwen.gguf")
    );
    assert_eq!(s2.base_url(), "http://127.0.0.1:8002/v1");
    assert_eq!(
        c.server(Some("server1")).unwrap().llama_server_path,
        PathBuf::from("/path/to/llama-server")
    );
    assert_eq!(c.inference_params.max_tokens, Some(100));
    assert_eq!(c.multi_model.routing_strategy, RoutingStrategy::Complexity);
    assert_eq!(c.multi_model.model_profiles["gpt-4"].context_window, 8192);
    assert_eq!(c.rag.cache.similarity_threshold, 0.95);
    assert_eq!(file.paths().models, dir.path().join("models"));
    assert_eq!(file.paths().logs, PathBuf::from("/home/someone/llf-logs"));
    // Keys the Rust version does not know are warnings with their full path.
    let warned: Vec<_> = file.warnings().iter().map(|w| w.path.as_str()).collect();
    assert_eq!(warned, ["active_server", "config"]);
}

#[test]
fn missing_file_gives_defaults_under_llf_home() {
    let (dir, env) = home();
    let file = ConfigFile::load(None, &env).unwrap();
    assert!(!file.exists());
    assert_eq!(file.path(), dir.path().join("config.json"));
    let c = file.config();
    assert_eq!(c.local_llm_servers.len(), 1);
    assert_eq!(c.server(None).unwrap().host, "127.0.0.1");
    assert_eq!(c.prompt.context_overflow, ContextOverflow::Error);
    assert_eq!(c.rag.index_type, IndexType::Flat);
    assert_eq!(c.trash.retention_days, 30);
    let p = file.paths();
    for (got, want) in [
        (&p.models, "models"),
        (&p.data_stores, "data_stores"),
        (&p.memory, "memory"),
        (&p.tools, "tools"),
        (&p.templates, "templates"),
        (&p.cache, "cache"),
        (&p.trash, "trash"),
        (&p.logs, "state/logs"),
    ] {
        assert_eq!(got, &dir.path().join(want));
    }
}

#[test]
fn platform_directories_are_used_without_llf_home() {
    let env = Environment {
        platform: Some(llf_config::PlatformDirs {
            config: "/x/config/llf".into(),
            data: "/x/data/llf".into(),
            cache: "/x/cache/llf".into(),
            state: "/x/state/llf".into(),
        }),
        ..Environment::default()
    };
    let file = ConfigFile::load(None, &env).unwrap();
    assert_eq!(file.path(), Path::new("/x/config/llf/config.json"));
    assert_eq!(file.paths().models, Path::new("/x/data/llf/models"));
    assert_eq!(file.paths().cache, Path::new("/x/cache/llf"));
    assert_eq!(file.paths().logs, Path::new("/x/state/llf/logs"));
    let err = ConfigFile::load(None, &Environment::default()).unwrap_err();
    assert!(matches!(err, ConfigError::NoHome), "{err}");
}

#[test]
fn explicit_path_and_llf_config_pick_the_file() {
    let (dir, mut env) = home();
    let other = dir.path().join("elsewhere.json");
    std::fs::write(&other, r#"{"llm_endpoint": {"model_name": "from-other"}}"#).unwrap();
    assert_eq!(
        ConfigFile::load(Some(&other), &env)
            .unwrap()
            .config()
            .llm_endpoint
            .model_name,
        "from-other"
    );
    env.llf_config = Some(other.clone());
    assert_eq!(ConfigFile::load(None, &env).unwrap().path(), other);
}

fn issues_of(value: serde_json::Value) -> Vec<String> {
    let (dir, env) = home();
    write(dir.path(), value);
    match ConfigFile::load(None, &env).unwrap_err() {
        ConfigError::Invalid { issues, .. } => issues.iter().map(ToString::to_string).collect(),
        other => panic!("expected Invalid, got {other}"),
    }
}

#[test]
fn port_out_of_range_names_the_key() {
    let issues = issues_of(
        json!({"local_llm_servers": [{"name": "a", "port": 8001}, {"name": "b", "port": 70000}]}),
    );
    assert_eq!(
        issues,
        ["local_llm_servers[1].port: expected 1..=65535, got 70000"]
    );
    let issues = issues_of(json!({"local_llm_servers": [{"name": "a", "port": 0}]}));
    assert_eq!(
        issues,
        ["local_llm_servers[0].port: expected 1..=65535, got 0"]
    );
}

#[test]
fn wrong_types_name_the_key() {
    let issues = issues_of(json!({"inference_params": {"temperature": "hot"}}));
    assert_eq!(issues.len(), 1);
    assert!(
        issues[0].starts_with("inference_params.temperature: invalid type: string \"hot\""),
        "{issues:?}"
    );
    let issues = issues_of(json!({"multi_model": {"routing_strategy": "random"}}));
    assert!(
        issues[0].starts_with("multi_model.routing_strategy: unknown variant `random`"),
        "{issues:?}"
    );
    let issues = issues_of(json!({"local_llm_servers": {"name": "a"}}));
    assert!(
        issues[0].starts_with("local_llm_servers: invalid type: map"),
        "{issues:?}"
    );
}

#[test]
fn semantic_errors_are_all_reported_together() {
    let issues = issues_of(json!({
        "llm_endpoint": {"api_base_url": "localhost:8000", "model_name": " ", "default_local_server": "ghost", "request_timeout": 0},
        "local_llm_servers": [
            {"name": "a", "port": 8001, "server_params": {"ctx-size": 1, "--lora": ["x"]}},
            {"name": "a", "port": 8001, "host": "", "llama_server_path": "", "startup_timeout": 0}
        ],
        "inference_params": {"temperature": 2.5, "top_p": -0.1, "max_tokens": 0},
        "rag": {"chunk_size": 100, "chunk_overlap": 100, "top_k": 0, "batch_size": 0, "score_threshold": 3.0,
                "embedding_threads": 0, "cache": {"similarity_threshold": 1.5}},
        "memory": {"default_store": "", "min_score": 2},
        "request_queue": {"max_size": 0, "max_concurrent": 0, "max_requests_per_second": 0, "burst_size": 0},
        "tool_sandbox": {"max_memory_mb": 0, "timeout": 0},
        "multi_model": {"model_profiles": {"m": {"speed_score": 11, "context_window": 0}}}
    }));
    let expected = [
        "llm_endpoint.api_base_url: expected an http:// or https:// URL, got \"localhost:8000\"",
        "llm_endpoint.model_name: expected a non-empty string",
        "llm_endpoint.request_timeout: expected at least 1, got 0",
        "llm_endpoint.default_local_server: no server named \"ghost\" in local_llm_servers (have: [\"a\", \"a\"])",
        "local_llm_servers[0].server_params.ctx-size: expected a flag such as \"--ctx-size\"",
        "local_llm_servers[0].server_params.--lora: expected a string, number, boolean or null",
        "local_llm_servers[1].name: duplicate server name \"a\"",
        "local_llm_servers[1].host: expected a non-empty string",
        "local_llm_servers[1].llama_server_path: expected a path to the llama-server executable",
        "local_llm_servers[1].startup_timeout: expected at least 1, got 0",
        "inference_params.temperature: expected 0..=2, got 2.5",
        "inference_params.max_tokens: expected at least 1, got 0",
        "rag.batch_size: expected at least 1, got 0",
        "rag.chunk_overlap: expected less than rag.chunk_size (100), got 100",
        "rag.top_k: expected at least 1, got 0",
        "rag.score_threshold: expected -1..=1, got 3",
        "rag.cache.similarity_threshold: expected 0..=1, got 1.5",
        "rag.embedding_threads: expected at least 1, got 0",
        "memory.default_store: expected a non-empty string",
        "memory.min_score: expected 0..=1, got 2",
        "request_queue.max_size: expected at least 1, got 0",
        "request_queue.max_concurrent: expected at least 1, got 0",
        "request_queue.max_requests_per_second: expected a number above 0, got 0",
        "request_queue.burst_size: expected at least 1, got 0",
        "tool_sandbox.max_memory_mb: expected at least 1, got 0",
        "tool_sandbox.timeout: expected at least 1, got 0",
        "multi_model.model_profiles.m.speed_score: expected 0..=10, got 11",
        "multi_model.model_profiles.m.context_window: expected at least 1, got 0",
    ];
    for e in expected {
        assert!(
            issues.iter().any(|i| i == e),
            "missing {e:?} in {issues:#?}"
        );
    }
    // top_p below zero too (float formatting aside).
    assert!(
        issues
            .iter()
            .any(|i| i.starts_with("inference_params.top_p: expected 0..=1, got -0.1")),
        "{issues:#?}"
    );
}

#[test]
fn syntax_errors_give_line_and_column() {
    let (dir, env) = home();
    std::fs::write(
        dir.path().join("config.json"),
        "{\n  \"llm_endpoint\": {,\n}",
    )
    .unwrap();
    let err = ConfigFile::load(None, &env).unwrap_err();
    assert!(matches!(err, ConfigError::Syntax { .. }));
    assert!(err.to_string().contains("line 2"), "{err}");
}

#[test]
fn environment_overrides_the_api_key() {
    let (dir, mut env) = home();
    write(
        dir.path(),
        json!({"llm_endpoint": {"api_key": "from-file"}}),
    );
    env.openai_api_key = Some(Secret::new("from-openai"));
    let file = ConfigFile::load(None, &env).unwrap();
    assert_eq!(
        file.config()
            .llm_endpoint
            .api_key
            .as_ref()
            .unwrap()
            .expose(),
        "from-openai"
    );
    assert_eq!(file.key_source(), Some(KeySource::Env("OPENAI_API_KEY")));
    env.llf_api_key = Some(Secret::new("from-llf"));
    let file = ConfigFile::load(None, &env).unwrap();
    assert_eq!(
        file.config()
            .llm_endpoint
            .api_key
            .as_ref()
            .unwrap()
            .expose(),
        "from-llf"
    );
    assert_eq!(file.key_source(), Some(KeySource::Env("LLF_API_KEY")));
    // The override never reaches the file on save.
    let mut file = file;
    file.set("llm_endpoint.model_name", "x").unwrap();
    file.save().unwrap();
    let on_disk: serde_json::Value =
        serde_json::from_slice(&std::fs::read(file.path()).unwrap()).unwrap();
    assert_eq!(on_disk["llm_endpoint"]["api_key"], "from-file");
}

#[test]
fn empty_key_in_file_means_no_key() {
    let (dir, env) = home();
    write(dir.path(), json!({"llm_endpoint": {"api_key": ""}}));
    let file = ConfigFile::load(None, &env).unwrap();
    assert!(file.config().llm_endpoint.api_key.is_none());
    assert_eq!(file.key_source(), None);
}

#[test]
fn redaction_hides_secrets_everywhere() {
    let (dir, env) = home();
    write(
        dir.path(),
        json!({"llm_endpoint": {"api_key": "sk-very-secret"}}),
    );
    let file = ConfigFile::load(None, &env).unwrap();
    let shown = file.redacted().to_string();
    assert!(!shown.contains("sk-very-secret"), "{shown}");
    assert_eq!(file.redacted()["llm_endpoint"]["api_key"], "***");
    assert_eq!(file.get("llm_endpoint.api_key").unwrap(), "***");
    assert!(!format!("{:?}", file.config()).contains("sk-very-secret"));
}

#[test]
fn set_validates_and_save_is_atomic_with_mode_0600() {
    let (dir, env) = home();
    let path = write(dir.path(), python_era());
    let before = std::fs::read(&path).unwrap();
    let mut file = ConfigFile::load(None, &env).unwrap();

    // Invalid: nothing changes, in memory or on disk.
    let err = file.set("local_llm_servers[1].port", "70000").unwrap_err();
    assert!(
        err.to_string()
            .contains("local_llm_servers[1].port: expected 1..=65535, got 70000"),
        "{err}"
    );
    assert_eq!(file.config().local_llm_servers[1].port, 8002);
    assert_eq!(std::fs::read(&path).unwrap(), before);

    file.set("local_llm_servers[1].port", "9000").unwrap();
    file.set("llm_endpoint.model_name", "123").unwrap(); // a string key keeps text
    file.set("rag.attached_stores", r#"["docs","code"]"#)
        .unwrap();
    // `null` unsets a text key instead of becoming the text "null".
    file.set("llm_endpoint.default_local_server", "null")
        .unwrap();
    assert_eq!(file.config().llm_endpoint.default_local_server, None);
    file.save().unwrap();

    let on_disk: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    assert_eq!(on_disk["local_llm_servers"][1]["port"], 9000);
    assert_eq!(on_disk["llm_endpoint"]["model_name"], "123");
    assert_eq!(on_disk["rag"]["attached_stores"], json!(["docs", "code"]));
    // Unknown keys of the Python version survive the round trip.
    assert_eq!(on_disk["active_server"], "local");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }
    let reloaded = ConfigFile::load(None, &env).unwrap();
    assert_eq!(reloaded.config().local_llm_servers[1].port, 9000);
}

#[test]
fn failed_save_leaves_the_old_file() {
    let (dir, env) = home();
    let path = write(dir.path(), json!({"llm_endpoint": {"model_name": "old"}}));
    // The final rename cannot replace a non-empty directory, so the save fails at the last step,
    // after the temp file was fully written (this holds for root too, unlike permission tricks).
    let blocked = dir.path().join("blocked.json");
    std::fs::create_dir(&blocked).unwrap();
    std::fs::write(blocked.join("keep"), "x").unwrap();
    let mut file = ConfigFile::from_value(
        blocked.clone(),
        json!({"llm_endpoint": {"model_name": "new"}}),
        true,
        &env,
    )
    .unwrap();
    assert!(file.save().is_err());
    assert!(blocked.join("keep").exists());
    // The neighbouring config is untouched and no temp file is left behind.
    let on_disk: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    assert_eq!(on_disk["llm_endpoint"]["model_name"], "old");
    let mut names: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    names.sort();
    assert_eq!(names, ["blocked.json", "config.json"]);
}

#[test]
fn get_reports_unknown_keys() {
    let (_dir, env) = home();
    let file = ConfigFile::load(None, &env).unwrap();
    assert_eq!(file.get("local_llm_servers[0].port").unwrap(), 8000);
    assert_eq!(file.get("local_llm_servers.0.host").unwrap(), "127.0.0.1");
    let err = file.get("nope.nothing").unwrap_err();
    assert!(err.to_string().contains("no key `nope.nothing`"), "{err}");
}

#[test]
fn init_points_at_the_setup_cache_and_refuses_to_clobber() {
    let (dir, mut env) = home();
    let cache = dir.path().join("dev-cache");
    for f in [
        "bin/llama-server",
        "models/SmolLM2-135M-Instruct.Q4_1.gguf",
        "embed/all-MiniLM-L6-v2/model.onnx",
        "onnxruntime/libonnxruntime.so.1.32.0",
    ] {
        std::fs::create_dir_all(cache.join(f).parent().unwrap()).unwrap();
        std::fs::write(cache.join(f), "x").unwrap();
    }
    env.dev_cache = Some(cache.clone());
    let file = ConfigFile::init(None, &env, false).unwrap();
    let server = file.config().server(None).unwrap();
    assert_eq!(server.llama_server_path, cache.join("bin/llama-server"));
    assert_eq!(
        server.model_file().unwrap(),
        cache.join("models/SmolLM2-135M-Instruct.Q4_1.gguf")
    );
    assert_eq!(
        file.config().rag.embedding_model_dir.as_deref(),
        Some(cache.join("embed/all-MiniLM-L6-v2").as_path())
    );
    assert_eq!(
        file.config().rag.onnxruntime_path.as_deref(),
        Some(cache.join("onnxruntime/libonnxruntime.so.1.32.0").as_path())
    );
    assert!(ConfigFile::load(None, &env).unwrap().warnings().is_empty());

    let err = ConfigFile::init(None, &env, false).unwrap_err();
    assert!(matches!(err, ConfigError::AlreadyExists(_)));
    ConfigFile::init(None, &env, true).unwrap();
    assert!(dir.path().join("config.json.bak").exists());
}
