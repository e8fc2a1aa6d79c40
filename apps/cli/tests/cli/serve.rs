//! `llf serve` through the binary: API keys shown once and stored as hashes, a public address
//! refused without keys, and the server answering until SIGTERM.

use std::io::{Read, Write};
use std::time::{Duration, Instant};

use serde_json::json;

use crate::{Sandbox, stderr_of, stdout_of};

#[test]
fn keys_are_created_once_listed_without_secrets_and_revoked() {
    let sb = Sandbox::new();
    sb.write_config(json!({}));
    let out = sb
        .llf()
        .args([
            "serve", "keys", "create", "laptop", "--scope", "chat", "--scope", "read",
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    let secret = stdout_of(&out).trim().to_owned();
    assert!(secret.starts_with("llf-") && secret.len() == 68, "{secret}");
    assert!(stderr_of(&out).contains("shown only now"));

    let out = sb
        .llf()
        .args(["serve", "keys", "list", "--json"])
        .output()
        .unwrap();
    let list: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(list[0]["name"], "laptop");
    assert_eq!(list[0]["scopes"], json!(["read", "chat"]));
    assert!(!stdout_of(&out).contains(&secret));
    let stored = std::fs::read_to_string(sb.home().join("state/api_keys.json")).unwrap();
    assert!(!stored.contains(&secret));

    let out = sb
        .llf()
        .args(["serve", "keys", "create", "x", "--scope", "root"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(stderr_of(&out).contains("unknown scope `root`"));

    sb.llf()
        .args(["serve", "keys", "revoke", "laptop"])
        .assert()
        .success();
    let out = sb
        .llf()
        .args(["serve", "keys", "list", "--json"])
        .output()
        .unwrap();
    assert_eq!(
        serde_json::from_slice::<serde_json::Value>(&out.stdout).unwrap(),
        json!([])
    );
}

#[test]
fn a_public_address_is_refused_without_keys() {
    let sb = Sandbox::new();
    sb.write_config(json!({}));
    let out = sb
        .llf()
        .args(["serve", "--host", "0.0.0.0", "--port", "0"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr_of(&out).contains("llf serve keys create"),
        "{}",
        stderr_of(&out)
    );
}

fn get(port: u16, path: &str) -> Option<String> {
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).ok()?;
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut text = String::new();
    s.read_to_string(&mut text).ok()?;
    Some(text)
}

#[test]
fn llf_serve_answers_until_sigterm() {
    let sb = Sandbox::new();
    sb.write_config(
        json!({"local_llm_servers": [], "llm_endpoint": {"default_local_server": null}}),
    );
    let port = llf_testkit::components::free_port();
    let child = sb
        .std_llf()
        .args(["serve", "--port", &port.to_string()])
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let started = Instant::now();
    let health = loop {
        if let Some(t) = get(port, "/healthz") {
            break t;
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "llf serve did not start"
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    assert!(health.starts_with("HTTP/1.1 200"), "{health}");
    let models = get(port, "/v1/models").unwrap();
    assert!(models.contains("\"SmolLM2-135M-Instruct\""), "{models}");
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(child.id() as i32),
        nix::sys::signal::Signal::SIGTERM,
    )
    .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert!(stderr_of(&out).contains(&format!("http://127.0.0.1:{port}/v1")));
}
