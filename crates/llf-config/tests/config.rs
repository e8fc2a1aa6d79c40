//! llf-config against real files: Python-era configs, every validation path, environment
//! overrides, atomic 0600 saves and redaction.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failed test

use std::path::{Path, PathBuf};

use llf_config::schema::{ContextOverflow, IndexType, RoutingStrategy};
use llf_config::{ConfigError, ConfigFile, Environment, InstalledComponents, KeySource, Secret};
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
        issues[0],
        "local_llm_servers[1].port: expected 1..=65535, got 70000"
    );
    let issues = issues_of(json!({"local_llm_servers": [{"name": "a", "port": 0}]}));
    assert_eq!(
        issues[0],
        "local_llm_servers[0].port: expected 1..=65535, got 0"
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
    // The lock file of the save stays, by design (see llf_core::fs::FileLock).
    assert_eq!(names, ["blocked.json", "blocked.json.lock", "config.json"]);
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
fn init_points_at_the_given_components_and_refuses_to_clobber() {
    let (dir, mut env) = home();
    let installed = dir.path().join("installed");
    for f in [
        "bin/llama-server",
        "models/SmolLM2-135M-Instruct.Q4_1.gguf",
        "embed/all-MiniLM-L6-v2/model.onnx",
        "onnxruntime/libonnxruntime.so.1.32.0",
    ] {
        std::fs::create_dir_all(installed.join(f).parent().unwrap()).unwrap();
        std::fs::write(installed.join(f), "x").unwrap();
    }
    // A component given by the caller wins over the setup script's variables; a variable
    // pointing at nothing is ignored.
    env.installed = InstalledComponents {
        llama_server: Some(dir.path().join("gone/llama-server")),
        model: Some(installed.join("models/SmolLM2-135M-Instruct.Q4_1.gguf")),
        onnxruntime: Some(installed.join("onnxruntime/libonnxruntime.so.1.32.0")),
        embed_model: None,
    };
    let given = InstalledComponents {
        embed_model: Some(installed.join("embed/all-MiniLM-L6-v2")),
        ..InstalledComponents::default()
    };
    let file = ConfigFile::init_with(None, &env, false, given).unwrap();
    let server = file.config().server(None).unwrap();
    assert_eq!(server.llama_server_path, PathBuf::from("llama-server"));
    assert_eq!(
        server.model_file().unwrap(),
        installed.join("models/SmolLM2-135M-Instruct.Q4_1.gguf")
    );
    assert_eq!(
        file.config().rag.embedding_model_dir.as_deref(),
        Some(installed.join("embed/all-MiniLM-L6-v2").as_path())
    );
    assert_eq!(
        file.config().rag.onnxruntime_path.as_deref(),
        Some(
            installed
                .join("onnxruntime/libonnxruntime.so.1.32.0")
                .as_path()
        )
    );
    assert!(ConfigFile::load(None, &env).unwrap().warnings().is_empty());

    let err = ConfigFile::init(None, &env, false).unwrap_err();
    assert!(matches!(err, ConfigError::AlreadyExists(_)));
    ConfigFile::init(None, &env, true).unwrap();
    assert!(dir.path().join("config.json.bak").exists());

    // A component the caller names must exist.
    let missing = InstalledComponents {
        llama_server: Some(dir.path().join("nope")),
        ..InstalledComponents::default()
    };
    let err = ConfigFile::init_with(None, &env, true, missing).unwrap_err();
    assert!(
        matches!(
            err,
            ConfigError::ComponentMissing {
                what: "llama-server",
                ..
            }
        ),
        "{err}"
    );
}

#[test]
fn init_does_not_know_the_development_cache() {
    // A HOME with a setup-script cache in it is not looked into: only what the caller or the
    // environment names is used.
    let (dir, mut env) = home();
    let cache = dir.path().join(".cache/llf-dev");
    std::fs::create_dir_all(cache.join("bin")).unwrap();
    std::fs::write(cache.join("bin/llama-server"), "x").unwrap();
    env.home = Some(dir.path().to_owned());
    let file = ConfigFile::init(None, &env, false).unwrap();
    assert_eq!(
        file.config().server(None).unwrap().llama_server_path,
        PathBuf::from("llama-server")
    );
}

#[test]
fn init_picks_a_free_port_when_8000_is_taken() {
    let (_dir, env) = home();
    // Whoever holds 8000 (another home's server, another program), init must not pick it.
    let holder = std::net::TcpListener::bind(("127.0.0.1", 8000)).ok();
    let file = ConfigFile::init(None, &env, false).unwrap();
    let server = file.config().server(None).unwrap();
    assert!(
        std::net::TcpListener::bind(("127.0.0.1", server.port)).is_ok(),
        "port {} is not free",
        server.port
    );
    if holder.is_some() {
        assert_ne!(server.port, 8000);
    }
    assert_eq!(file.config().llm_endpoint.api_base_url, server.base_url());
}

#[test]
fn set_refuses_unknown_keys_and_changes_nothing() {
    let (dir, env) = home();
    let path = write(dir.path(), json!({"legacy": true}));
    let before = std::fs::read(&path).unwrap();
    let mut file = ConfigFile::load(None, &env).unwrap();
    let err = file.set("no.such.key", "5").unwrap_err();
    assert!(
        matches!(&err, ConfigError::UnknownKey { key, unknown } if key == "no.such.key" && unknown == "no"),
        "{err}"
    );
    let err = file.set("llm_endpoint.model", "x").unwrap_err();
    assert!(
        matches!(&err, ConfigError::UnknownKey { unknown, .. } if unknown == "llm_endpoint.model"),
        "{err}"
    );
    // Type errors are refused too, naming the key.
    let err = file.set("rag.top_k", "many").unwrap_err();
    assert!(err.to_string().contains("rag.top_k: invalid type"), "{err}");
    file.save().unwrap();
    let after: serde_json::Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    let before: serde_json::Value = serde_json::from_slice(&before).unwrap();
    assert_eq!(after, before, "refused sets must not reach the file");

    // Sections of free-form keys take any key.
    file.set("local_llm_servers[0].server_params.--n-gpu-layers", "0")
        .unwrap();
    file.set("tools.mcp_servers[0].command", "srv").unwrap();
    file.set("tools.mcp_servers[0].env.SOME_VAR", "1").unwrap();
    file.set("multi_model.model_profiles.big.speed_score", "3")
        .unwrap();
    file.save().unwrap();
    let c = ConfigFile::load(None, &env).unwrap();
    assert_eq!(
        c.config().local_llm_servers[0].server_params["--n-gpu-layers"],
        0
    );
    assert_eq!(c.config().tools.mcp_servers[0].env["SOME_VAR"], "1");
    assert_eq!(
        c.config().multi_model.model_profiles["big"].speed_score,
        3.0
    );
}

#[test]
fn saves_from_two_stale_copies_keep_both_changes() {
    // Two processes loaded the same file; each sets a different key and saves.
    let (dir, env) = home();
    write(dir.path(), json!({"llm_endpoint": {"model_name": "m"}}));
    let mut a = ConfigFile::load(None, &env).unwrap();
    let mut b = ConfigFile::load(None, &env).unwrap();
    a.set("inference_params.temperature", "0.1").unwrap();
    b.set("rag.top_k", "9").unwrap();
    a.save().unwrap();
    b.save().unwrap();
    let c = ConfigFile::load(None, &env).unwrap();
    assert_eq!(c.config().inference_params.temperature, 0.1);
    assert_eq!(c.config().rag.top_k, 9);
    assert_eq!(c.config().llm_endpoint.model_name, "m");
    // The saving copy sees the merged file too.
    assert_eq!(b.config().inference_params.temperature, 0.1);
}

#[test]
fn every_type_error_is_reported_not_just_the_first() {
    let issues = issues_of(json!({
        "inference_params": {"temperature": "hot", "top_p": "high"},
        "rag": {"top_k": "many", "enabled": "yes"},
        "local_llm_servers": [{"name": "a", "port": "x"}, {"name": "b", "startup_timeout": -1}],
        "request_queue": {"max_concurrent": 0}
    }));
    for key in [
        "inference_params.temperature: invalid type",
        "inference_params.top_p: invalid type",
        "rag.top_k: invalid type",
        "rag.enabled: invalid type",
        "local_llm_servers[0].port: invalid type",
        "local_llm_servers[1].startup_timeout: invalid value",
        "request_queue.max_concurrent: expected at least 1, got 0",
    ] {
        assert!(
            issues.iter().any(|i| i.starts_with(key)),
            "missing {key:?} in {issues:#?}"
        );
    }
}

#[test]
fn lists_where_objects_belong_are_errors() {
    let issues = issues_of(json!([]));
    assert_eq!(issues.len(), 1, "{issues:?}");
    assert!(
        issues[0].starts_with("(top level): expected a JSON object"),
        "{issues:?}"
    );
    let issues = issues_of(json!({"rag": [], "local_llm_servers": [[]]}));
    assert!(
        issues.contains(&"rag: invalid type: a list, expected an object {…}".to_owned()),
        "{issues:?}"
    );
    assert!(
        issues
            .iter()
            .any(|i| i.starts_with("local_llm_servers[0]: invalid type")),
        "{issues:?}"
    );
}

#[test]
fn duplicate_keys_are_errors() {
    let (dir, env) = home();
    std::fs::write(
        dir.path().join("config.json"),
        r#"{"rag": {"top_k": 3, "top_k": 5}, "llm_endpoint": {}, "llm_endpoint": {}}"#,
    )
    .unwrap();
    let err = ConfigFile::load(None, &env).unwrap_err();
    let ConfigError::Invalid { issues, .. } = err else {
        panic!("expected Invalid, got {err}")
    };
    let paths: Vec<_> = issues.iter().map(|i| i.path.as_str()).collect();
    assert_eq!(paths, ["rag.top_k", "llm_endpoint"]);
    assert!(issues[0].message.contains("duplicate key"));
}

#[test]
fn a_named_config_file_that_does_not_exist_is_an_error() {
    let (dir, mut env) = home();
    let missing = dir.path().join("missing.json");
    let err = ConfigFile::load(Some(&missing), &env).unwrap_err();
    assert!(
        matches!(&err, ConfigError::Missing(p) if p == &missing),
        "{err}"
    );
    assert!(err.to_string().contains("missing.json"));
    env.llf_config = Some(missing.clone());
    assert!(matches!(
        ConfigFile::load(None, &env).unwrap_err(),
        ConfigError::Missing(_)
    ));
    // The default location may be missing: that is a fresh install.
    let (_dir, env) = home();
    assert!(!ConfigFile::load(None, &env).unwrap().exists());
}

#[test]
fn no_key_of_the_schema_but_the_api_key_is_secret() {
    // Every key the configuration has, with every optional one filled in.
    let mut c = llf_config::Config::default();
    c.llm_endpoint.api_key = Some(Secret::new("k"));
    let s = &mut c.local_llm_servers[0];
    s.model_path = Some("m.gguf".into());
    s.model_dir = Some("models".into());
    s.threads = Some(2);
    s.server_params.insert("--ctx-size".into(), json!(1));
    let ip = &mut c.inference_params;
    ip.max_tokens = Some(1);
    ip.top_k = Some(1);
    ip.repeat_penalty = Some(1.0);
    ip.seed = Some(1);
    ip.stop = vec!["x".into()];
    c.rag.embedding_model_dir = Some("e".into());
    c.rag.onnxruntime_path = Some("o".into());
    c.rag.embedding_threads = Some(1);
    c.rag.attached_stores = vec!["d".into()];
    c.request_queue.burst_size = Some(1);
    c.tools.builtin_dir = Some("t".into());
    c.tools.allowed_roots = vec!["r".into()];
    c.tools.mcp_servers = vec![llf_config::schema::McpServerSettings {
        requests_per_minute: Some(1),
        ..Default::default()
    }];
    c.multi_model
        .model_profiles
        .insert("p".into(), Default::default());
    c.model_dir = Some("x".into());
    c.data_stores_dir = Some("x".into());
    c.memory_dir = Some("x".into());
    c.tools_dir = Some("x".into());
    c.templates_dir = Some("x".into());
    c.cache_dir = Some("x".into());
    c.log_dir = Some("x".into());
    c.trash_dir = Some("x".into());

    fn walk(v: &serde_json::Value, path: &str, out: &mut Vec<(String, String)>) {
        match v {
            serde_json::Value::Object(m) => {
                for (k, child) in m {
                    let p = if path.is_empty() {
                        k.clone()
                    } else {
                        format!("{path}.{k}")
                    };
                    out.push((p.clone(), k.clone()));
                    walk(child, &p, out);
                }
            }
            serde_json::Value::Array(items) => {
                for (i, child) in items.iter().enumerate() {
                    walk(child, &format!("{path}[{i}]"), out);
                }
            }
            _ => {}
        }
    }
    let mut keys = Vec::new();
    walk(&serde_json::to_value(&c).unwrap(), "", &mut keys);
    assert!(keys.len() > 100, "{}", keys.len());
    let secret: Vec<_> = keys
        .iter()
        .filter(|(_, name)| llf_config::is_secret_key(name))
        .map(|(path, _)| path.as_str())
        .collect();
    assert_eq!(secret, ["llm_endpoint.api_key"]);

    // And what `get` shows: max_tokens is a number, the key is hidden.
    let (dir, env) = home();
    write(
        dir.path(),
        json!({"llm_endpoint": {"api_key": "sk-1"}, "inference_params": {"max_tokens": 77}}),
    );
    let file = ConfigFile::load(None, &env).unwrap();
    assert_eq!(file.get("inference_params.max_tokens").unwrap(), 77);
    assert_eq!(file.get("llm_endpoint.api_key").unwrap(), "***");
}

#[test]
fn threads_is_an_optional_server_key() {
    let (dir, env) = home();
    write(
        dir.path(),
        json!({"llm_endpoint": {"default_local_server": "a"},
               "local_llm_servers": [{"name": "a", "threads": 3}, {"name": "b", "port": 8001}]}),
    );
    let file = ConfigFile::load(None, &env).unwrap();
    assert_eq!(file.config().local_llm_servers[0].threads, Some(3));
    assert_eq!(file.config().local_llm_servers[1].threads, None);
    assert!(file.warnings().is_empty());
    let issues = issues_of(json!({"local_llm_servers": [{"name": "default", "threads": 0}]}));
    assert_eq!(
        issues,
        ["local_llm_servers[0].threads: expected at least 1, got 0"]
    );
}

#[test]
fn server_api_has_loopback_defaults_and_checks_its_values() {
    let (dir, env) = home();
    let file = ConfigFile::load(Some(&write(dir.path(), json!({}))), &env).unwrap();
    let api = &file.config().server_api;
    assert_eq!((api.host.as_str(), api.port), ("127.0.0.1", 8090));
    assert!(api.cors_origins.is_empty());
    assert_eq!(api.max_body_kb, 4096);

    let path = write(
        dir.path(),
        json!({"server_api": {"cors_origins": ["https://ok.example", "ftp://nope"], "max_body_kb": 0}}),
    );
    let ConfigError::Invalid { issues, .. } = ConfigFile::load(Some(&path), &env).unwrap_err()
    else {
        panic!("expected invalid")
    };
    let text: Vec<String> = issues.iter().map(ToString::to_string).collect();
    assert!(
        text.iter()
            .any(|t| t.contains("server_api.cors_origins[1]")),
        "{text:?}"
    );
    assert!(
        text.iter().any(|t| t.contains("server_api.max_body_kb")),
        "{text:?}"
    );
    assert!(
        !text.iter().any(|t| t.contains("cors_origins[0]")),
        "{text:?}"
    );
}
