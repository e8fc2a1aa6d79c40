//! `llf model …` through the binary: the real model's header, downloads from a loopback hub,
//! delete to the trash, and the setup wizard run non-interactively.

use llf_testkit::{FakeServer, Reply, components};
use predicates::prelude::*;
use serde_json::json;

use crate::{Sandbox, stdout_of};

#[test]
fn list_and_info_show_the_real_model() {
    let sb = Sandbox::new();
    sb.write_config(
        json!({"local_llm_servers": [{"name": "default", "model_path": components::model()}]}),
    );
    sb.llf().args(["model", "list"]).assert().success().stdout(
        predicate::str::contains("SmolLM2-135M-Instruct.Q4_1")
            .and(predicate::str::contains("default")),
    );
    let out = sb
        .llf()
        .args(["model", "info", "SmolLM2-135M-Instruct.Q4_1", "--json"])
        .assert()
        .success()
        .get_output()
        .clone();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["architecture"], "llama");
    assert_eq!(v["quantization"], "Q4_1");
    assert_eq!(v["context_length"], 8192);
    sb.llf()
        .args(["model", "info", "nothing-here"])
        .assert()
        .failure()
        .stderr(predicate::str::contains("llf model list"));
}

#[test]
fn download_use_and_delete() {
    let rt = crate::tokio_rt();
    let data = b"GGUF-not-really-but-bytes".repeat(1000);
    let sha = {
        let d = tempfile::tempdir().unwrap();
        std::fs::write(d.path().join("x"), &data).unwrap();
        llf_runtime::models::sha256_of(&d.path().join("x")).unwrap()
    };
    let body = data.clone();
    let size = data.len();
    let fake = rt.block_on(FakeServer::start(move |req, _| match req.path.as_str() {
        "/api/models/acme/tiny-GGUF/tree/main" => Reply::Json(200, json!([
            {"type": "file", "path": "tiny.Q4_K_M.gguf", "size": 1, "lfs": {"oid": sha, "size": size}}
        ])),
        "/acme/tiny-GGUF/resolve/main/tiny.Q4_K_M.gguf" => Reply::Bytes { status: 200, headers: vec![], body: body.clone(), cut_after: None },
        _ => Reply::error(404, "no"),
    }));
    let sb = Sandbox::new();
    sb.write_config(json!({"models": {"hub_url": format!("http://{}", fake.addr())},
                           "local_llm_servers": [{"name": "default", "model_path": components::model()}]}));
    let out = sb
        .llf()
        .args(["model", "download", "acme/tiny-GGUF", "--use-it"])
        .assert()
        .success()
        .get_output()
        .clone();
    let path = std::path::PathBuf::from(stdout_of(&out).trim());
    assert_eq!(
        path,
        sb.home().join("models/acme__tiny-GGUF/tiny.Q4_K_M.gguf")
    );
    assert_eq!(std::fs::read(&path).unwrap(), data);
    assert_eq!(
        sb.read_config()["local_llm_servers"][0]["model_path"],
        path.to_str().unwrap()
    );

    sb.llf()
        .args(["model", "delete", "tiny.Q4_K_M"])
        .assert()
        .failure()
        .stderr(predicate::str::contains("--force"));
    sb.llf()
        .args(["model", "delete", "tiny.Q4_K_M", "--force"])
        .assert()
        .success()
        .stderr(predicate::str::contains("trash"));
    assert!(!path.exists());
    sb.llf()
        .args(["trash", "list"])
        .assert()
        .success()
        .stdout(predicate::str::contains("tiny.Q4_K_M"));
    sb.llf()
        .args(["model", "download", "acme/missing"])
        .assert()
        .failure()
        .stderr(predicate::str::contains("not found"));
}

#[test]
fn auto_setup_local_with_a_real_test_inference() {
    let sb = Sandbox::new();
    sb.write_config(json!({"local_llm_servers": [{"name": "default", "llama_server_path": components::llama_server(),
        "port": components::free_port(), "server_params": {"--ctx-size": 1024}}]}));
    sb.llf()
        .args(["model", "auto-setup", "--provider", "local", "--model-path"])
        .arg(components::model())
        .timeout(std::time::Duration::from_secs(300))
        .assert()
        .success()
        .stderr(
            predicate::str::contains("model answered:")
                .and(predicate::str::contains("Next: `llf chat`")),
        );
    let cfg = sb.read_config();
    assert_eq!(
        cfg["local_llm_servers"][0]["model_path"],
        components::model().to_str().unwrap()
    );
    assert_eq!(cfg["llm_endpoint"]["default_local_server"], "default");
    sb.llf().args(["server", "stop"]).assert().success();
}

#[test]
fn auto_setup_remote_and_its_non_interactive_errors() {
    let rt = crate::tokio_rt();
    let fake = rt.block_on(FakeServer::scripted(vec![Reply::completion("OK")]));
    let sb = Sandbox::new();
    sb.llf()
        .args(["model", "auto-setup"])
        .assert()
        .failure()
        .stderr(predicate::str::contains("--provider"));
    sb.llf()
        .args(["model", "auto-setup", "--provider", "local"])
        .assert()
        .failure()
        .stderr(predicate::str::contains("--model-path"));
    sb.llf()
        .args([
            "model",
            "auto-setup",
            "--provider",
            "remote",
            "--api-base",
            &fake.base_url(),
            "--model-name",
            "gpt-x",
            "--api-key",
            "sk-abc-123",
        ])
        .assert()
        .success()
        .stderr(predicate::str::contains("model answered: OK"));
    let cfg = sb.read_config();
    assert_eq!(cfg["llm_endpoint"]["api_base_url"], fake.base_url());
    assert_eq!(
        cfg["llm_endpoint"]["default_local_server"],
        serde_json::Value::Null
    );
    assert_eq!(
        fake.requests()[0].header("authorization"),
        Some("Bearer sk-abc-123")
    );
    assert_eq!(fake.requests()[0].body["model"], "gpt-x");
}
