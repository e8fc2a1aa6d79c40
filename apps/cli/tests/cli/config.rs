//! `llf config …`

use predicates::prelude::*;
use serde_json::json;

use crate::{Sandbox, read_json, stdout_of};

#[test]
fn init_writes_a_private_config_pointing_at_the_installed_components() {
    let sb = Sandbox::new();
    let cache = sb.dir.path().join("dev");
    for f in ["bin/llama-server", "models/SmolLM2-135M-Instruct.Q4_1.gguf"] {
        std::fs::create_dir_all(cache.join(f).parent().unwrap()).unwrap();
        std::fs::write(cache.join(f), "x").unwrap();
    }
    let out = sb
        .llf()
        .env("LLF_LLAMA_SERVER", cache.join("bin/llama-server"))
        .arg("config")
        .arg("init")
        .arg("--model")
        .arg(cache.join("models/SmolLM2-135M-Instruct.Q4_1.gguf"))
        .assert()
        .success()
        .get_output()
        .clone();
    let path = sb.home().join("config.json");
    assert_eq!(stdout_of(&out).trim(), path.to_str().unwrap());
    let written = read_json(&path);
    assert_eq!(
        written["local_llm_servers"][0]["llama_server_path"],
        cache.join("bin/llama-server").to_str().unwrap()
    );
    assert_eq!(
        written["local_llm_servers"][0]["model_path"],
        cache
            .join("models/SmolLM2-135M-Instruct.Q4_1.gguf")
            .to_str()
            .unwrap()
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }
    sb.llf()
        .args(["config", "init"])
        .assert()
        .failure()
        .code(78)
        .stderr(
            predicate::str::contains("already exists").and(predicate::str::contains("--force")),
        );
    sb.llf()
        .args(["config", "init", "--force"])
        .assert()
        .success();
    assert!(sb.home().join("config.json.bak").exists());
}

#[test]
fn show_redacts_secrets_from_file_and_environment() {
    let sb = Sandbox::new();
    sb.write_config(json!({"llm_endpoint": {"api_key": "sk-from-file-123"}}));
    let out = sb
        .llf()
        .args(["config", "show"])
        .assert()
        .success()
        .get_output()
        .clone();
    let shown: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(shown["llm_endpoint"]["api_key"], "***");
    assert!(!stdout_of(&out).contains("sk-from-file-123"));

    let out = sb
        .llf()
        .env("LLF_API_KEY", "sk-env-456")
        .args(["--debug", "config", "show"])
        .assert()
        .success()
        .get_output()
        .clone();
    let all = format!("{}{}", stdout_of(&out), crate::stderr_of(&out));
    assert!(!all.contains("sk-env-456"), "secret leaked: {all}");
    assert!(all.contains("api_key comes from $LLF_API_KEY"), "{all}");
    // Nor in the debug log file.
    let logs = sb.home().join("state/logs");
    for entry in std::fs::read_dir(&logs).unwrap() {
        let text = std::fs::read_to_string(entry.unwrap().path()).unwrap();
        assert!(!text.contains("sk-env-456") && !text.contains("sk-from-file-123"));
    }
}

#[test]
fn show_without_a_file_shows_defaults_and_says_so() {
    let sb = Sandbox::new();
    let out = sb
        .llf()
        .args(["config", "show"])
        .assert()
        .success()
        .get_output()
        .clone();
    let shown: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(shown["local_llm_servers"][0]["port"], 8000);
    assert!(crate::stderr_of(&out).contains("llf config init"));
}

#[test]
fn path_prints_the_file_and_all_directories() {
    let sb = Sandbox::new();
    sb.llf()
        .args(["config", "path"])
        .assert()
        .success()
        .stdout(format!("{}\n", sb.home().join("config.json").display()));
    let out = sb
        .llf()
        .args(["config", "path", "--all"])
        .assert()
        .success()
        .get_output()
        .clone();
    let text = stdout_of(&out);
    for (key, dir) in [
        ("models", "models"),
        ("trash", "trash"),
        ("logs", "state/logs"),
        ("data_stores", "data_stores"),
    ] {
        assert!(
            text.contains(&format!("{key:<12} {}", sb.home().join(dir).display())),
            "{text}"
        );
    }
    let other = sb.dir.path().join("custom.json");
    sb.llf()
        .arg("--config")
        .arg(&other)
        .args(["config", "path"])
        .assert()
        .success()
        .stdout(format!("{}\n", other.display()));
}

#[test]
fn validate_reports_every_problem_with_its_key_and_exit_code_78() {
    let sb = Sandbox::new();
    sb.write_config(json!({
        "local_llm_servers": [{"name": "a", "port": 8001}, {"name": "b", "port": 70000}]
    }));
    sb.llf()
        .args(["config", "validate"])
        .assert()
        .code(78)
        .stderr(predicate::str::contains(
            "local_llm_servers[1].port: expected 1..=65535, got 70000",
        ));

    let bad = sb.dir.path().join("bad.json");
    std::fs::write(
        &bad,
        r#"{"inference_params": {"temperature": 5}, "rag": {"chunk_overlap": 5000}}"#,
    )
    .unwrap();
    sb.llf()
        .args(["config", "validate"])
        .arg(&bad)
        .assert()
        .code(78)
        .stderr(
            predicate::str::contains("inference_params.temperature: expected 0..=2, got 5").and(
                predicate::str::contains("rag.chunk_overlap: expected less than rag.chunk_size"),
            ),
        );

    sb.write_config(json!({"llm_endpoint": {"model_name": "m"}, "gui": {"theme": "dark"}}));
    sb.llf()
        .args(["config", "validate"])
        .assert()
        .success()
        .stdout(predicate::str::contains("is valid"))
        .stderr(predicate::str::contains("gui: unknown key, ignored"));
}

#[test]
fn validate_of_a_missing_file_is_an_error() {
    let sb = Sandbox::new();
    sb.llf()
        .args(["config", "validate"])
        .assert()
        .failure()
        .stderr(predicate::str::contains("llf config init"));
}

#[test]
fn get_and_set_round_trip_and_refuse_bad_values() {
    let sb = Sandbox::new();
    sb.write_config(
        json!({"local_llm_servers": [{"name": "default", "port": 8000}], "legacy": true}),
    );
    sb.llf()
        .args(["config", "set", "local_llm_servers[0].port", "8123"])
        .assert()
        .success();
    sb.llf()
        .args(["config", "get", "local_llm_servers[0].port"])
        .assert()
        .success()
        .stdout("8123\n");
    sb.llf()
        .args(["config", "set", "llm_endpoint.model_name", "qwen 7b"])
        .assert()
        .success();
    sb.llf()
        .args(["config", "get", "llm_endpoint.model_name"])
        .assert()
        .success()
        .stdout("qwen 7b\n");

    let before = std::fs::read(sb.home().join("config.json")).unwrap();
    sb.llf()
        .args(["config", "set", "local_llm_servers[0].port", "70000"])
        .assert()
        .code(78)
        .stderr(predicate::str::contains(
            "local_llm_servers[0].port: expected 1..=65535, got 70000",
        ));
    assert_eq!(
        std::fs::read(sb.home().join("config.json")).unwrap(),
        before,
        "a refused set must not write"
    );
    assert_eq!(sb.read_config()["legacy"], true, "unknown keys survive set");

    sb.llf()
        .args(["config", "get", "no.such.key"])
        .assert()
        .failure()
        .stderr(predicate::str::contains("no key `no.such.key`"));
    sb.llf()
        .args(["config", "set", "rag.top_k[", "1"])
        .assert()
        .failure()
        .stderr(predicate::str::contains("invalid key"));
}

#[test]
fn set_creates_the_file_when_missing() {
    let sb = Sandbox::new();
    sb.llf()
        .args(["config", "set", "inference_params.temperature", "0.1"])
        .assert()
        .success();
    assert_eq!(
        sb.read_config(),
        json!({"inference_params": {"temperature": 0.1}})
    );
}

#[test]
fn broken_config_is_reported_for_commands_that_need_it() {
    let sb = Sandbox::new();
    std::fs::create_dir_all(sb.home()).unwrap();
    std::fs::write(sb.home().join("config.json"), "{ nope").unwrap();
    sb.llf().args(["trash", "list"]).assert().code(78).stderr(
        predicate::str::contains("is not valid JSON").and(predicate::str::contains("line 1")),
    );
    // init --force still repairs it.
    sb.llf()
        .args(["config", "init", "--force"])
        .assert()
        .success();
    sb.llf().args(["trash", "list"]).assert().success();
}

#[test]
fn schema_prints_the_json_schema_of_the_config() {
    let sb = Sandbox::new();
    // Even a broken config file does not stop it: the schema is what fixes one.
    std::fs::create_dir_all(sb.home()).unwrap();
    std::fs::write(sb.home().join("config.json"), "{ not json").unwrap();
    let out = sb.llf().args(["config", "schema"]).output().unwrap();
    assert!(out.status.success(), "{}", crate::stderr_of(&out));
    let schema: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(schema["type"], "object");
    assert!(schema["properties"]["inference_params"].is_object());
    assert!(
        schema["$defs"]["InferenceParams"]["properties"]["max_tokens"]["description"].is_string()
    );
}
