//! `llf chat`, `llf server` and `llf performance` through the binary: against a scripted remote
//! endpoint for exact output, and against the real llama-server with SmolLM2.

use std::io::{BufRead, BufReader, Write};
use std::process::Stdio;
use std::time::Duration;

use llf_testkit::{FakeServer, Reply, chunk, components};
use predicates::prelude::*;
use serde_json::json;

use crate::{Sandbox, read_json, stdout_of};

fn real_config(sb: &Sandbox) -> u16 {
    let port = components::free_port();
    sb.write_config(json!({
        "llm_endpoint": {"default_local_server": "smol"},
        "local_llm_servers": [{"name": "smol", "llama_server_path": components::llama_server(),
            "model_path": components::model(), "port": port, "server_params": {"--ctx-size": 2048, "--threads": 1}}],
        "inference_params": {"temperature": 0.0, "max_tokens": 16, "seed": 1}
    }));
    port
}

#[test]
fn one_shot_streams_the_answer_and_sends_the_system_prompt() {
    let rt = crate::tokio_rt();
    let fake = rt.block_on(FakeServer::scripted(vec![Reply::stream_text(&[
        "Hello", ", ", "world",
    ])]));
    let sb = Sandbox::new();
    sb.remote_config(&fake.base_url(), Some("You are terse."));
    sb.llf()
        .args(["chat", "say", "hello"])
        .assert()
        .success()
        .stdout("Hello, world\n");
    let req = &fake.requests()[0];
    assert_eq!(req.body["stream"], true);
    assert_eq!(
        req.body["messages"][0],
        json!({"role": "system", "content": "You are terse."})
    );
    assert_eq!(
        req.body["messages"][1],
        json!({"role": "user", "content": "say hello"})
    );
}

#[test]
fn piped_stdin_is_the_message_and_json_reports_usage() {
    let rt = crate::tokio_rt();
    let fake = rt.block_on(FakeServer::scripted(vec![Reply::completion("4")]));
    let sb = Sandbox::new();
    sb.remote_config(&fake.base_url(), Some("You are terse."));
    let out = sb
        .llf()
        .args(["chat", "--json"])
        .write_stdin("What is 2+2?\n")
        .assert()
        .success()
        .get_output()
        .clone();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["content"], "4");
    assert_eq!(v["usage"]["completion_tokens"], 3);
    assert_eq!(v["usage_reported"], true);
    assert!(v["metrics"]["total_ms"].as_f64().unwrap() > 0.0);
    assert_eq!(
        fake.requests()[0].body["messages"][1]["content"],
        "What is 2+2?\n"
    );
    assert_eq!(fake.requests()[0].body["stream"], false);

    sb.llf()
        .args(["chat"])
        .write_stdin("   \n")
        .assert()
        .failure()
        .stderr(predicate::str::contains("stdin was empty"));
}

#[test]
fn errors_from_the_endpoint_are_clear() {
    let rt = crate::tokio_rt();
    let fake = rt.block_on(FakeServer::scripted(vec![Reply::error(
        401,
        "invalid api key",
    )]));
    let sb = Sandbox::new();
    sb.remote_config(&fake.base_url(), Some("You are terse."));
    sb.llf()
        .args(["chat", "hi"])
        .assert()
        .failure()
        .code(1)
        .stderr(
            predicate::str::contains("HTTP 401").and(predicate::str::contains("invalid api key")),
        );
    // Nothing listens here: the message says how to check.
    sb.remote_config(
        &format!("http://127.0.0.1:{}/v1", components::free_port()),
        Some("You are terse."),
    );
    sb.llf()
        .args(["chat", "hi"])
        .assert()
        .failure()
        .stderr(predicate::str::contains("cannot connect"));
}

#[test]
fn repl_over_stdin_keeps_context_and_handles_slash_commands() {
    let rt = crate::tokio_rt();
    let fake = rt.block_on(FakeServer::numbered("answer"));
    let sb = Sandbox::new();
    sb.remote_config(&fake.base_url(), Some("You are terse."));
    let saved = sb.dir.path().join("conv.json");
    let script = format!(
        "first question\n/system Talk like a pirate.\nsecond \\\nline\n/model nosuchserver\n/help\n/save {}\n/clear\n/load {}\nthird\n/exit\n",
        saved.display(),
        saved.display()
    );
    let out = sb
        .llf()
        .args(["chat", "-i"])
        .write_stdin(script)
        .assert()
        .success()
        .get_output()
        .clone();
    assert_eq!(stdout_of(&out), "answer 0\nanswer 1\nanswer 2\n");
    let err = crate::stderr_of(&out);
    assert!(err.contains("no server named `nosuchserver`"), "{err}");
    assert!(err.contains("/system [TEXT]"), "help printed: {err}");
    assert!(err.contains("saved 4 messages"), "{err}");

    let reqs = fake.requests();
    // Second request: new system prompt, the first exchange, and the joined multi-line message.
    let m = &reqs[1].body["messages"];
    assert_eq!(m[0]["content"], "Talk like a pirate.");
    assert_eq!(m[1]["content"], "first question");
    assert_eq!(m[2]["content"], "answer 0");
    assert_eq!(m[3]["content"], "second \nline");
    // After /clear and /load the saved conversation is back.
    let m = reqs[2].body["messages"].as_array().unwrap();
    assert_eq!(m.len(), 6, "{m:?}");
    assert_eq!(m[5]["content"], "third");
    let file = read_json(&saved);
    assert_eq!(file["system_prompt"], "Talk like a pirate.");
}

#[test]
fn ctrl_c_stops_the_answer_and_keeps_the_conversation() {
    let rt = crate::tokio_rt();
    let slow: Vec<String> = (0..50)
        .map(|i| {
            chunk(
                json!({"content": format!("w{i} ")}),
                serde_json::Value::Null,
            )
            .to_string()
        })
        .collect();
    let fake = rt.block_on(FakeServer::start(move |_, i| {
        if i == 0 {
            Reply::Sse {
                events: slow.clone(),
                delay: Duration::from_millis(100),
            }
        } else {
            Reply::stream_text(&["done"])
        }
    }));
    let sb = Sandbox::new();
    sb.remote_config(&fake.base_url(), Some("You are terse."));
    let saved = sb.dir.path().join("after.json");
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("llf"))
        .args(["chat", "-i"])
        .env("LLF_HOME", sb.home())
        .env("HOME", sb.dir.path())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    writeln!(stdin, "tell me a long story").unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    // Wait for the first streamed words, then press Ctrl-C.
    let mut seen = Vec::new();
    while !String::from_utf8_lossy(&seen).contains("w1 ") {
        let buf = stdout.fill_buf().unwrap();
        assert!(!buf.is_empty(), "stream ended early");
        let n = buf.len();
        seen.extend_from_slice(buf);
        stdout.consume(n);
    }
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(child.id() as i32),
        nix::sys::signal::Signal::SIGINT,
    )
    .unwrap();
    writeln!(stdin, "next").unwrap();
    writeln!(stdin, "/save {}", saved.display()).unwrap();
    writeln!(stdin, "/exit").unwrap();
    drop(stdin);
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{out:?}");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("[interrupted; the partial answer is kept]"),
        "{err}"
    );
    let conv = read_json(&saved);
    let msgs = conv["messages"].as_array().unwrap();
    assert_eq!(msgs.len(), 4);
    let partial = msgs[1]["content"].as_str().unwrap();
    assert!(partial.starts_with("w0 w1 "), "{partial}");
    assert!(!partial.contains("w49"), "the answer was cut: {partial}");
    assert_eq!(msgs[3]["content"], "done");
}

#[test]
fn real_server_chat_status_logs_and_stop() {
    let sb = Sandbox::new();
    let port = real_config(&sb);
    // `llf chat` starts the default server itself.
    let out = sb
        .llf()
        .args(["chat", "What is the capital of France? One word."])
        .timeout(Duration::from_secs(300))
        .assert()
        .success()
        .get_output()
        .clone();
    assert!(
        stdout_of(&out).to_lowercase().contains("paris"),
        "{}",
        stdout_of(&out)
    );
    assert!(crate::stderr_of(&out).contains("started llama-server `smol`"));

    let out = sb
        .llf()
        .args(["server", "status", "--json"])
        .assert()
        .success()
        .get_output()
        .clone();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let s = &v["servers"][0];
    assert_eq!(s["status"]["status"], "running");
    assert_eq!(s["status"]["port"], port);
    assert_eq!(s["context_size"], 2048);
    assert_eq!(v["recent_requests"]["requests"], 1);
    let pid = s["status"]["pid"].as_u64().unwrap() as u32;

    // A second chat reuses the running server (no "started" note), non-streaming this time.
    let out = sb
        .llf()
        .args(["chat", "--no-stream", "Say OK."])
        .assert()
        .success()
        .get_output()
        .clone();
    assert!(!crate::stderr_of(&out).contains("started llama-server"));
    assert!(!stdout_of(&out).trim().is_empty());

    sb.llf()
        .args(["server", "list"])
        .assert()
        .success()
        .stdout(predicate::str::contains("* smol").and(predicate::str::contains("running")));
    sb.llf()
        .args(["server", "logs", "-n", "200"])
        .assert()
        .success()
        .stdout(predicate::str::contains("llf: starting `smol`"));
    let out = sb
        .llf()
        .args(["performance", "stats", "--json"])
        .assert()
        .success()
        .get_output()
        .clone();
    let stats: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(stats["requests"], 2);
    assert!(stats["completion_tokens"].as_u64().unwrap() > 0);
    let csv = sb.dir.path().join("perf.csv");
    sb.llf()
        .args(["performance", "export", "-o"])
        .arg(&csv)
        .assert()
        .success();
    assert_eq!(std::fs::read_to_string(&csv).unwrap().lines().count(), 3);

    sb.llf()
        .args(["server", "stop"])
        .assert()
        .success()
        .stderr(predicate::str::contains("stopped `smol`"));
    assert!(
        !std::path::Path::new(&format!("/proc/{pid}")).exists() || {
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
            stat.contains(") Z")
        }
    );
    sb.llf()
        .args(["server", "status"])
        .assert()
        .success()
        .stdout(predicate::str::contains("smol: stopped"));
}

#[test]
fn server_start_restart_switch_and_errors() {
    let sb = Sandbox::new();
    real_config(&sb);
    sb.llf()
        .args(["server", "start"])
        .timeout(Duration::from_secs(300))
        .assert()
        .success()
        .stderr(predicate::str::contains("ready at"));
    sb.llf()
        .args(["server", "restart", "smol"])
        .timeout(Duration::from_secs(300))
        .assert()
        .success();
    sb.llf()
        .args(["server", "stop", "--all"])
        .assert()
        .success()
        .stderr(predicate::str::contains("stopped `smol`"));
    sb.llf()
        .args(["server", "stop"])
        .assert()
        .success()
        .stderr(predicate::str::contains("was not running"));
    sb.llf()
        .args(["server", "switch", "ghost"])
        .assert()
        .failure()
        .stderr(predicate::str::contains("no server named `ghost`"));

    // Switching writes the default into config.json.
    let mut cfg = sb.read_config();
    let second = json!({"name": "other", "llama_server_path": components::llama_server(), "model_path": "/missing.gguf", "port": components::free_port()});
    cfg["local_llm_servers"]
        .as_array_mut()
        .unwrap()
        .push(second);
    sb.write_config(cfg);
    sb.llf()
        .args(["server", "switch", "other"])
        .assert()
        .success();
    assert_eq!(
        sb.read_config()["llm_endpoint"]["default_local_server"],
        "other"
    );
    sb.llf()
        .args(["server", "start"])
        .assert()
        .failure()
        .stderr(
            predicate::str::contains("/missing.gguf does not exist")
                .and(predicate::str::contains("llf model download")),
        );
}

fn two_real_servers(sb: &Sandbox, extra: serde_json::Value) {
    let server = |name: &str| {
        json!({"name": name, "llama_server_path": components::llama_server(), "model_path": components::model(),
               "port": components::free_port(), "server_params": {"--ctx-size": 1024, "--threads": 1}})
    };
    let mut cfg = json!({
        "llm_endpoint": {"default_local_server": "a"},
        "local_llm_servers": [server("a"), server("b")],
        "inference_params": {"temperature": 0.0, "max_tokens": 12, "seed": 3}
    });
    if let (Some(c), Some(e)) = (cfg.as_object_mut(), extra.as_object()) {
        for (k, v) in e {
            c.insert(k.clone(), v.clone());
        }
    }
    sb.write_config(cfg);
}

#[test]
fn compare_runs_two_real_servers_in_parallel_with_an_ensemble() {
    let sb = Sandbox::new();
    two_real_servers(
        &sb,
        json!({"multi_model": {"model_profiles": {"a": {"quality_score": 3}, "b": {"quality_score": 8}}}}),
    );
    let out = sb
        .llf()
        .args([
            "chat",
            "compare",
            "--models",
            "a,b",
            "--ensemble",
            "concat",
            "--json",
            "Name",
            "a",
            "colour.",
        ])
        .timeout(Duration::from_secs(300))
        .assert()
        .success()
        .get_output()
        .clone();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let answers = v["answers"].as_array().unwrap();
    assert_eq!(answers.len(), 2);
    for (a, name) in answers.iter().zip(["a", "b"]) {
        assert_eq!(a["target"], name);
        assert!(
            !a["completion"]["content"].as_str().unwrap().is_empty(),
            "{a}"
        );
    }
    let ens = v["ensemble"].as_str().unwrap();
    assert!(
        ens.starts_with("### a\n") && ens.contains("\n\n### b\n"),
        "{ens}"
    );
    // Human-readable form, best-rated answer as the ensemble.
    sb.llf()
        .args([
            "chat",
            "compare",
            "--models",
            "a,b",
            "--ensemble",
            "best",
            "Name a colour.",
        ])
        .assert()
        .success()
        .stdout(
            predicate::str::contains("=== a —")
                .and(predicate::str::contains("=== b —"))
                .and(predicate::str::contains("=== ensemble")),
        );
    sb.llf()
        .args(["chat", "compare", "--models", "a,zz", "hi"])
        .assert()
        .failure()
        .stderr(predicate::str::contains("no server named `zz`"));
    sb.llf()
        .args(["server", "stop", "--all"])
        .assert()
        .success();
}

#[test]
fn routing_by_speed_picks_the_profiled_server() {
    let sb = Sandbox::new();
    two_real_servers(
        &sb,
        json!({"multi_model": {"routing_strategy": "speed",
               "model_profiles": {"a": {"speed_score": 2}, "b": {"speed_score": 9}}}}),
    );
    sb.llf()
        .args(["chat", "Say hi."])
        .timeout(Duration::from_secs(300))
        .assert()
        .success()
        .stderr(predicate::str::contains("using server `b`"));
    let out = sb
        .llf()
        .args(["server", "status", "--json"])
        .assert()
        .success()
        .get_output()
        .clone();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        v["servers"][0]["status"]["status"], "stopped",
        "a was not needed"
    );
    assert_eq!(v["servers"][1]["status"]["status"], "running");
    sb.llf()
        .args(["server", "stop", "--all"])
        .assert()
        .success();
}
