//! Defects a tester found by pushing the binary: parallel writers, refused edits that still wrote,
//! truncated audit logs, crafted model files, stale log lines, busy ports and cold starts.

use std::process::Stdio;

use llf_testkit::components;
use predicates::prelude::*;
use serde_json::json;

use crate::{Sandbox, stderr_of, stdout_of};

#[test]
fn parallel_config_sets_are_all_kept() {
    let sb = Sandbox::new();
    sb.write_config(json!({"llm_endpoint": {"model_name": "m"}}));
    let children: Vec<_> = (0..8)
        .map(|i| {
            sb.std_llf()
                .args([
                    "config",
                    "set",
                    &format!("multi_model.model_profiles.p{i}.speed_score"),
                    &i.to_string(),
                ])
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for child in children {
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success(), "{}", stderr_of(&out));
    }
    let profiles = sb.read_config()["multi_model"]["model_profiles"].clone();
    for i in 0..8 {
        assert_eq!(profiles[format!("p{i}")]["speed_score"], i, "{profiles}");
    }
    assert_eq!(sb.read_config()["llm_endpoint"]["model_name"], "m");
}

#[test]
fn a_refused_config_set_writes_nothing() {
    let sb = Sandbox::new();
    sb.write_config(json!({"llm_endpoint": {"model_name": "m"}}));
    let before = std::fs::read(sb.home().join("config.json")).unwrap();
    sb.llf()
        .args(["config", "set", "no.such.key", "5"])
        .assert()
        .code(78)
        .stderr(predicate::str::contains("unknown key `no.such.key`"));
    sb.llf()
        .args(["config", "set", "inference_params.temperature", "hot"])
        .assert()
        .code(78)
        .stderr(predicate::str::contains("inference_params.temperature"));
    assert_eq!(
        std::fs::read(sb.home().join("config.json")).unwrap(),
        before
    );
    // No later command complains about a key that was never written.
    let out = sb.llf().args(["config", "show"]).output().unwrap();
    assert!(out.status.success());
    assert!(
        !stderr_of(&out).contains("unknown key"),
        "{}",
        stderr_of(&out)
    );

    // Without a file, a refused set does not create one.
    let fresh = Sandbox::new();
    fresh
        .llf()
        .args(["config", "set", "no.such.key", "5"])
        .assert()
        .code(78);
    assert!(!fresh.home().join("config.json").exists());
}

#[test]
fn max_tokens_is_not_a_secret() {
    let sb = Sandbox::new();
    sb.write_config(json!({"llm_endpoint": {"api_key": "sk-hidden-1"}}));
    sb.llf()
        .args(["config", "set", "inference_params.max_tokens", "64"])
        .assert()
        .success()
        .stderr(predicate::str::contains("inference_params.max_tokens = 64"));
    sb.llf()
        .args(["config", "get", "inference_params.max_tokens"])
        .assert()
        .success()
        .stdout("64\n");
    let out = sb.llf().args(["config", "show"]).output().unwrap();
    let shown: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(shown["inference_params"]["max_tokens"], 64);
    assert_eq!(shown["llm_endpoint"]["api_key"], "***");
    assert!(!stdout_of(&out).contains("sk-hidden-1"));
    // Unsetting a key says so instead of failing after the write.
    sb.llf()
        .args(["config", "set", "inference_params.max_tokens", "null"])
        .assert()
        .success()
        .stderr(predicate::str::contains(
            "unset inference_params.max_tokens",
        ));
}

#[test]
fn validate_reports_every_problem_once() {
    let sb = Sandbox::new();
    sb.write_config(json!({
        "inference_params": {"temperature": "hot", "top_p": "high"},
        "rag": {"top_k": 0},
        "gui": {"theme": "dark"}
    }));
    let out = sb.llf().args(["config", "validate"]).output().unwrap();
    assert_eq!(out.status.code(), Some(78));
    let err = stderr_of(&out);
    for wanted in [
        "inference_params.temperature: invalid type",
        "inference_params.top_p: invalid type",
        "rag.top_k: expected at least 1, got 0",
    ] {
        assert!(err.contains(wanted), "{wanted} missing from {err}");
    }

    sb.write_config(json!({"llm_endpoint": {"model_name": "m"}, "gui": {"theme": "dark"}}));
    let out = sb.llf().args(["config", "validate"]).output().unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert_eq!(
        stderr_of(&out).matches("gui: unknown key").count(),
        1,
        "{}",
        stderr_of(&out)
    );

    let list = sb.dir.path().join("list.json");
    std::fs::write(&list, "[]").unwrap();
    sb.llf()
        .args(["config", "validate"])
        .arg(&list)
        .assert()
        .code(78)
        .stderr(predicate::str::contains("expected a JSON object"));

    let dup = sb.dir.path().join("dup.json");
    std::fs::write(&dup, r#"{"rag": {"top_k": 3, "top_k": 5}}"#).unwrap();
    sb.llf()
        .args(["config", "validate"])
        .arg(&dup)
        .assert()
        .code(78)
        .stderr(predicate::str::contains("rag.top_k: duplicate key"));
}

#[test]
fn a_missing_config_named_on_the_command_line_is_an_error() {
    let sb = Sandbox::new();
    let missing = sb.dir.path().join("missing.json");
    for args in [
        vec!["config", "show"],
        vec!["config", "validate"],
        vec!["trash", "list"],
    ] {
        sb.llf()
            .arg("--config")
            .arg(&missing)
            .args(&args)
            .assert()
            .code(78)
            .stderr(predicate::str::contains(missing.to_str().unwrap()));
    }
    sb.llf()
        .env("LLF_CONFIG", &missing)
        .args(["config", "show"])
        .assert()
        .code(78);
    // `config init` creates it.
    sb.llf()
        .arg("--config")
        .arg(&missing)
        .args(["config", "init"])
        .assert()
        .success();
    assert!(missing.exists());
}

#[test]
fn config_init_takes_the_installed_paths_and_avoids_a_busy_port() {
    let sb = Sandbox::new();
    let installed = sb.dir.path().join("installed");
    let (server, model, ort, embed) = (
        installed.join("llama-server"),
        installed.join("model.gguf"),
        installed.join("libonnxruntime.so"),
        installed.join("embed"),
    );
    std::fs::create_dir_all(&embed).unwrap();
    for f in [&server, &model, &ort] {
        std::fs::write(f, "x").unwrap();
    }
    // Whatever listens on 8000 (this test, or something else), init must pick another port.
    let _holder = std::net::TcpListener::bind(("127.0.0.1", 8000));
    let out = sb
        .llf()
        .args(["config", "init", "--llama-server"])
        .arg(&server)
        .arg("--model")
        .arg(&model)
        .arg("--onnxruntime")
        .arg(&ort)
        .arg("--embed-model")
        .arg(&embed)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    let cfg = sb.read_config();
    let s = &cfg["local_llm_servers"][0];
    assert_eq!(s["llama_server_path"], server.to_str().unwrap());
    assert_eq!(s["model_path"], model.to_str().unwrap());
    assert_eq!(cfg["rag"]["onnxruntime_path"], ort.to_str().unwrap());
    assert_eq!(cfg["rag"]["embedding_model_dir"], embed.to_str().unwrap());
    let port = s["port"].as_u64().unwrap();
    assert_ne!(port, 8000);
    assert!(
        stderr_of(&out).contains(&format!(
            "port:         {port} (port 8000 is already in use)"
        )),
        "{}",
        stderr_of(&out)
    );

    // The variables the setup script exports are used when no flag is given.
    let env_sb = Sandbox::new();
    env_sb
        .llf()
        .env("LLF_LLAMA_SERVER", &server)
        .env("LLF_TEST_MODEL", &model)
        .args(["config", "init"])
        .assert()
        .success();
    assert_eq!(
        env_sb.read_config()["local_llm_servers"][0]["model_path"],
        model.to_str().unwrap()
    );

    // A path given on the command line must exist.
    let bad = Sandbox::new();
    bad.llf()
        .args(["config", "init", "--model", "/no/such/model.gguf"])
        .assert()
        .code(78)
        .stderr(predicate::str::contains("/no/such/model.gguf"));
}

/// Three audited events: two calculator runs and a `tool disable`.
fn audited(sb: &Sandbox) {
    for expr in ["1+1", "2+2"] {
        let out = sb
            .llf()
            .args(["tool", "run", "calculator", "--args"])
            .arg(json!({"expression": expr}).to_string())
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", stderr_of(&out));
    }
    sb.llf()
        .args(["tool", "disable", "datetime"])
        .assert()
        .success();
}

#[test]
fn a_shortened_audit_log_fails_verification() {
    let sb = Sandbox::new();
    audited(&sb);
    sb.llf()
        .args(["audit", "verify"])
        .assert()
        .success()
        .stderr(predicate::str::contains("3 events"));
    let path = sb.home().join("state/logs/audit.jsonl");
    let text = std::fs::read_to_string(&path).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    for kept in [2, 0] {
        let cut: String = lines[..kept].iter().map(|l| format!("{l}\n")).collect();
        std::fs::write(&path, cut).unwrap();
        sb.llf()
            .args(["audit", "verify"])
            .assert()
            .failure()
            .stderr(predicate::str::contains(format!(
                "{} event(s) missing",
                3 - kept
            )));
    }
}

#[test]
fn an_unknown_audit_type_is_a_usage_error() {
    let sb = Sandbox::new();
    sb.llf()
        .args(["audit", "--type", "nope"])
        .assert()
        .code(2)
        .stderr(
            predicate::str::contains("nope")
                .and(predicate::str::contains("tool_execution"))
                .and(predicate::str::contains("config_changed")),
        );
}

#[test]
fn a_crafted_gguf_is_an_error_not_a_crash() {
    let sb = Sandbox::new();
    let path = sb.dir.path().join("crafted.gguf");
    let mut b = b"GGUF".to_vec();
    b.extend(3u32.to_le_bytes());
    b.extend(0u64.to_le_bytes());
    b.extend(1u64.to_le_bytes());
    b.extend(1u64.to_le_bytes());
    b.push(b'k');
    // One key holding an array of arrays of arrays ... nested 100,000 deep.
    b.extend(9u32.to_le_bytes());
    for _ in 0..100_000 {
        b.extend(9u32.to_le_bytes());
        b.extend(1u64.to_le_bytes());
    }
    b.extend(0u32.to_le_bytes());
    b.extend(0u64.to_le_bytes());
    std::fs::write(&path, &b).unwrap();
    sb.llf()
        .args(["model", "info"])
        .arg(&path)
        .assert()
        .code(1)
        .stderr(predicate::str::contains("is not a GGUF model"));

    // A count whose size overflows.
    let mut b = b"GGUF".to_vec();
    b.extend(3u32.to_le_bytes());
    b.extend(0u64.to_le_bytes());
    b.extend(1u64.to_le_bytes());
    b.extend(1u64.to_le_bytes());
    b.push(b'k');
    b.extend(9u32.to_le_bytes());
    b.extend(10u32.to_le_bytes());
    b.extend((u64::MAX / 4).to_le_bytes());
    std::fs::write(&path, &b).unwrap();
    sb.llf()
        .args(["model", "info"])
        .arg(&path)
        .assert()
        .code(1)
        .stderr(predicate::str::contains("array length"));
}

#[test]
fn server_start_shows_only_this_starts_log_lines() {
    use std::os::unix::fs::PermissionsExt;
    let sb = Sandbox::new();
    let marker = sb.dir.path().join("started-once");
    let fake = sb.dir.path().join("llama-server");
    std::fs::write(
        &fake,
        format!(
            "#!/bin/sh\nif [ -e {m} ]; then echo 'second start: bad flag' >&2; else touch {m}; echo 'first start: out of memory' >&2; fi\nexit 3\n",
            m = marker.display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&fake, std::fs::Permissions::from_mode(0o755)).unwrap();
    let model = sb.dir.path().join("m.gguf");
    std::fs::write(&model, "x").unwrap();
    sb.write_config(
        json!({"local_llm_servers": [{"name": "default", "llama_server_path": fake,
        "model_path": model, "port": components::free_port()}]}),
    );
    let first = sb.llf().args(["server", "start"]).output().unwrap();
    assert!(
        stderr_of(&first).contains("first start"),
        "{}",
        stderr_of(&first)
    );
    let second = sb.llf().args(["server", "start"]).output().unwrap();
    assert!(!second.status.success());
    let err = stderr_of(&second);
    assert!(err.contains("second start: bad flag"), "{err}");
    assert!(!err.contains("first start"), "{err}");
}

#[test]
fn two_cold_one_shot_chats_at_once_both_answer() {
    let sb = Sandbox::new();
    sb.write_config(json!({
        "llm_endpoint": {"default_local_server": "smol", "max_retries": 0},
        "local_llm_servers": [{"name": "smol", "llama_server_path": components::llama_server(),
            "model_path": components::model(), "port": components::free_port(),
            "server_params": {"--ctx-size": 2048}}],
        "inference_params": {"temperature": 0.0, "max_tokens": 8, "seed": 1}
    }));
    let children: Vec<_> = (0..2)
        .map(|_| {
            sb.std_llf()
                .args(["chat", "hi"])
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for child in children {
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success(), "{}", stderr_of(&out));
        assert!(!stdout_of(&out).trim().is_empty());
    }
    // One server served both, and it runs with an explicit thread count.
    let servers = std::fs::read_dir(sb.home().join("state/servers"))
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .path()
                .extension()
                .is_some_and(|x| x == "json")
        })
        .count();
    assert_eq!(servers, 1);
    let state = crate::read_json(&sb.home().join("state/servers/smol.json"));
    let cmdline = std::fs::read(format!("/proc/{}/cmdline", state["pid"])).unwrap();
    assert!(
        String::from_utf8_lossy(&cmdline).contains("--threads"),
        "{}",
        String::from_utf8_lossy(&cmdline)
    );
    sb.llf().args(["server", "stop"]).assert().success();
}
