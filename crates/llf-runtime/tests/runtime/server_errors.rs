//! Clear errors for what goes wrong around starting a server.

use std::os::unix::fs::PermissionsExt;
use std::sync::Arc;
use std::time::Duration;

use llf_runtime::server::{RestartPolicy, ServerStatus, Supervisor, SupervisorEvent};
use llf_runtime::{Runtime, RuntimeError};
use llf_testkit::components;
use serde_json::json;

use crate::local_config;

fn script(dir: &std::path::Path, name: &str, body: &str) -> std::path::PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, format!("#!/bin/sh\n{body}\n")).unwrap();
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
    p
}

#[tokio::test]
async fn missing_binary_missing_model_and_unknown_server() {
    let dir = llf_testkit::components::TestHome::new();
    let file = local_config(
        dir.path(),
        &["x"],
        json!({"local_llm_servers": [{"name": "x", "llama_server_path": "/nonexistent/llama-server", "model_path": components::model()}]}),
    );
    let rt = Runtime::new(file.config(), file.paths());
    let err = rt.servers().start(Some("x"), |_| {}).await.unwrap_err();
    assert!(matches!(err, RuntimeError::ServerBinaryMissing(_)), "{err}");
    assert!(err.to_string().contains("scripts/setup.sh"));

    let file = local_config(
        dir.path(),
        &["y"],
        json!({"local_llm_servers": [{"name": "y", "llama_server_path": components::llama_server(), "model_path": "/nope/model.gguf"}]}),
    );
    let rt = Runtime::new(file.config(), file.paths());
    let err = rt.servers().start(Some("y"), |_| {}).await.unwrap_err();
    assert!(matches!(err, RuntimeError::ModelMissing(_)), "{err}");
    assert!(err.to_string().contains("/nope/model.gguf"));

    let err = rt.servers().start(Some("zzz"), |_| {}).await.unwrap_err();
    assert!(
        err.to_string().contains("no server named `zzz`") && err.to_string().contains("y"),
        "{err}"
    );
}

#[tokio::test]
async fn port_in_use_is_reported() {
    let dir = llf_testkit::components::TestHome::new();
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port();
    let file = local_config(
        dir.path(),
        &["p"],
        json!({"local_llm_servers": [{"name": "p", "port": port}]}),
    );
    // merge replaced the server entry: restore binary and model.
    let mut file = file;
    file.set(
        "local_llm_servers[0].llama_server_path",
        components::llama_server().to_str().unwrap(),
    )
    .unwrap();
    file.set(
        "local_llm_servers[0].model_path",
        components::model().to_str().unwrap(),
    )
    .unwrap();
    let rt = Runtime::new(file.config(), file.paths());
    let err = rt.servers().start(Some("p"), |_| {}).await.unwrap_err();
    assert!(
        matches!(err, RuntimeError::PortInUse { port: p, .. } if p == port),
        "{err}"
    );
}

#[tokio::test]
async fn a_server_dying_at_start_shows_its_last_log_lines() {
    let dir = llf_testkit::components::TestHome::new();
    let fake = script(
        dir.path(),
        "llama-server",
        "echo 'error: unsupported model architecture: foo' >&2\nexit 3",
    );
    let file = local_config(
        dir.path(),
        &["d"],
        json!({"local_llm_servers": [{"name": "d", "llama_server_path": fake, "model_path": components::model(), "port": components::free_port()}]}),
    );
    let rt = Runtime::new(file.config(), file.paths());
    let err = rt.servers().start(Some("d"), |_| {}).await.unwrap_err();
    match &err {
        RuntimeError::ServerDied { tail, status, .. } => {
            assert!(tail.contains("unsupported model architecture"), "{tail}");
            assert!(status.contains('3'), "{status}");
        }
        other => panic!("{other}"),
    }
    assert_eq!(
        rt.servers().status("d").await.unwrap(),
        ServerStatus::Stopped
    );
}

#[tokio::test]
async fn a_stale_state_file_is_detected_and_removed() {
    let dir = llf_testkit::components::TestHome::new();
    let file = local_config(dir.path(), &["s"], json!({}));
    let rt = Runtime::new(file.config(), file.paths());
    // A state file left by a crashed llf, naming a pid that is not our server (this test's pid).
    let servers = file.paths().state.join("servers");
    std::fs::create_dir_all(&servers).unwrap();
    std::fs::write(
        servers.join("s.json"),
        json!({"name": "s", "pid": std::process::id(), "host": "127.0.0.1", "port": 1, "model": "/m.gguf",
               "started_at": "2026-01-01T00:00:00Z", "log_file": "/tmp/x.log"})
        .to_string(),
    )
    .unwrap();
    assert_eq!(
        rt.servers().status("s").await.unwrap(),
        ServerStatus::Stopped
    );
    assert!(!servers.join("s.json").exists());
}

#[tokio::test]
async fn a_crash_loop_is_reported_instead_of_retried_forever() {
    let dir = llf_testkit::components::TestHome::new();
    // A "server" that is healthy long enough to start, then dies; every restart fails the same way.
    let fake = script(dir.path(), "llama-server", "exit 1");
    let file = local_config(
        dir.path(),
        &["c"],
        json!({"local_llm_servers": [{"name": "c", "llama_server_path": fake, "model_path": components::model(), "port": components::free_port()}]}),
    );
    let rt = Runtime::new(file.config(), file.paths());
    // Pretend it was running: a state file for a dead pid is what a crash leaves behind.
    let servers = file.paths().state.join("servers");
    std::fs::create_dir_all(&servers).unwrap();
    std::fs::write(
        servers.join("c.json"),
        json!({"name": "c", "pid": 999_999, "host": "127.0.0.1", "port": 1, "model": components::model(),
               "started_at": "2026-01-01T00:00:00Z", "log_file": dir.path().join("c.log")})
        .to_string(),
    )
    .unwrap();
    let policy = RestartPolicy {
        poll: Duration::from_millis(50),
        max_restarts: 3,
        initial_backoff: Duration::from_millis(10),
        max_backoff: Duration::from_millis(40),
        ..RestartPolicy::default()
    };
    let mut sup = Supervisor::start(Arc::clone(rt.servers()), "c".into(), policy);
    let mut failures = 0;
    loop {
        let ev = tokio::time::timeout(Duration::from_secs(30), sup.next_event())
            .await
            .unwrap()
            .unwrap();
        match ev {
            SupervisorEvent::RestartFailed { error } => {
                failures += 1;
                assert!(error.contains("exited during start-up"), "{error}");
            }
            SupervisorEvent::CrashLoop { restarts, .. } => {
                assert_eq!(restarts, 3);
                break;
            }
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(failures, 3);
    assert_eq!(
        tokio::time::timeout(Duration::from_secs(5), sup.next_event())
            .await
            .unwrap(),
        None
    );
}

#[tokio::test]
async fn a_failed_start_quotes_only_its_own_log_lines() {
    let dir = llf_testkit::components::TestHome::new();
    let marker = dir.path().join("started-once");
    let fake = script(
        dir.path(),
        "llama-server",
        &format!(
            "if [ -e {m} ]; then echo 'second start: bad flag' >&2; else touch {m}; echo 'first start: out of memory' >&2; fi\nexit 3",
            m = marker.display()
        ),
    );
    let file = local_config(
        dir.path(),
        &["d"],
        json!({"local_llm_servers": [{"name": "d", "llama_server_path": fake, "model_path": components::model(), "port": components::free_port()}]}),
    );
    let rt = Runtime::new(file.config(), file.paths());
    let first = rt.servers().start(Some("d"), |_| {}).await.unwrap_err();
    assert!(first.to_string().contains("first start"), "{first}");
    let second = rt.servers().start(Some("d"), |_| {}).await.unwrap_err();
    let RuntimeError::ServerDied { tail, log, .. } = &second else {
        panic!("{second}")
    };
    assert!(tail.contains("second start: bad flag"), "{tail}");
    assert!(
        !tail.contains("first start"),
        "an earlier start's lines: {tail}"
    );
    // The log itself keeps both.
    let all = std::fs::read_to_string(log).unwrap();
    assert!(all.contains("first start") && all.contains("second start"));
}
