//! `llf tool`, `llf audit` and `llf dev create-tool`, through the real binary.

use std::path::Path;

use serde_json::{Value, json};

use crate::{Sandbox, read_json, stderr_of, stdout_of};

fn run_json(sb: &Sandbox, args: &[&str]) -> (bool, Value) {
    let out = sb.llf().args(args).output().unwrap();
    let text = stdout_of(&out);
    let v = serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {text}\n{}", stderr_of(&out)));
    (out.status.success(), v)
}

#[test]
fn list_shows_the_builtin_tools() {
    let sb = Sandbox::new();
    let (ok, v) = run_json(&sb, &["tool", "list", "--json"]);
    assert!(ok);
    let names: Vec<&str> = v
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    for n in ["calculator", "datetime", "file_access", "web_fetch"] {
        assert!(names.contains(&n), "{names:?}");
    }
    let table = stdout_of(&sb.llf().args(["tool", "list"]).output().unwrap());
    assert!(table.starts_with("NAME"), "{table}");
    assert!(
        table.contains("file_access") && table.contains("ask"),
        "{table}"
    );
}

#[test]
fn run_prints_the_result_and_fails_on_tool_errors() {
    let sb = Sandbox::new();
    let (ok, v) = run_json(
        &sb,
        &[
            "tool",
            "run",
            "calculator",
            "--args",
            r#"{"expression": "6 * 7"}"#,
        ],
    );
    assert!(ok, "{v}");
    assert_eq!(v, json!({"success": true, "result": 42}));
    let (ok, v) = run_json(
        &sb,
        &[
            "tool",
            "run",
            "calculator",
            "--args",
            r#"{"expression": 7}"#,
        ],
    );
    assert!(!ok);
    assert!(v["error"].as_str().unwrap().contains("/expression"), "{v}");
    let (ok, v) = run_json(&sb, &["tool", "run", "nope"]);
    assert!(!ok);
    assert!(v["error"].as_str().unwrap().contains("unknown tool"), "{v}");
}

#[test]
fn approval_is_denied_without_a_terminal_unless_yes() {
    let sb = Sandbox::new();
    let files = sb.dir.path().join("files");
    std::fs::create_dir_all(&files).unwrap();
    std::fs::write(files.join("a.txt"), "content").unwrap();
    sb.write_config(json!({"tools": {"allowed_roots": [files]}}));
    let args = r#"{"operation": "read", "path": "a.txt"}"#;
    let (ok, v) = run_json(&sb, &["tool", "run", "file_access", "--args", args]);
    assert!(!ok);
    assert!(
        v["error"].as_str().unwrap().contains("did not approve"),
        "{v}"
    );
    let (ok, v) = run_json(
        &sb,
        &["tool", "run", "file_access", "--yes", "--args", args],
    );
    assert!(ok, "{v}");
    assert_eq!(v["result"]["content"], "content");
}

#[test]
fn created_tools_pass_their_tests_and_can_be_managed() {
    let sb = Sandbox::new();
    for (name, lang) in [
        ("py_tool", "python"),
        ("sh_tool", "bash"),
        ("rs_tool", "rust"),
    ] {
        // The Rust scaffold runs the developer's cargo, which needs its toolchain homes.
        let real_home = std::path::PathBuf::from(std::env::var_os("HOME").unwrap());
        let rustup = std::env::var_os("RUSTUP_HOME").map_or(real_home.join(".rustup"), Into::into);
        let cargo = std::env::var_os("CARGO_HOME").map_or(real_home.join(".cargo"), Into::into);
        let out = sb
            .llf()
            .env("RUSTUP_HOME", rustup)
            .env("CARGO_HOME", cargo)
            .args([
                "dev",
                "create-tool",
                name,
                "--lang",
                lang,
                "--no-interactive",
                "--description",
                "Demo",
                "--category",
                "demo",
                "--param",
                "city:string:City",
                "--param",
                "days:integer?",
            ])
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", stderr_of(&out));
        let dir = sb.home().join("tools").join(name);
        assert!(dir.join("README.md").is_file());
        let def = read_json(&dir.join("tool_definition.json"));
        assert_eq!(def["function"]["parameters"]["required"], json!(["city"]));
        let out = sb.llf().args(["tool", "test", name]).output().unwrap();
        assert!(
            out.status.success(),
            "{}{}",
            stdout_of(&out),
            stderr_of(&out)
        );
        assert!(stdout_of(&out).contains("1 passed, 0 failed"));
    }
    // Enable / disable are remembered.
    assert!(
        sb.llf()
            .args(["tool", "enable", "py_tool"])
            .output()
            .unwrap()
            .status
            .success()
    );
    let (_, v) = run_json(&sb, &["tool", "list", "--json"]);
    let t = v
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == "py_tool")
        .unwrap()
        .clone();
    assert_eq!(t["enabled"], true);
    assert!(
        sb.llf()
            .args(["tool", "disable", "calculator"])
            .output()
            .unwrap()
            .status
            .success()
    );
    let (_, v) = run_json(&sb, &["tool", "list", "--json"]);
    let t = v
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == "calculator")
        .unwrap()
        .clone();
    assert_eq!(t["enabled"], false);
    // Removing goes to the trash; built-ins cannot be removed.
    let out = sb
        .llf()
        .args(["tool", "remove", "py_tool"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert!(!sb.home().join("tools/py_tool").exists());
    let trash = stdout_of(&sb.llf().args(["trash", "list", "--json"]).output().unwrap());
    assert!(trash.contains("py_tool"), "{trash}");
    let out = sb
        .llf()
        .args(["tool", "remove", "calculator"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        stderr_of(&out).contains("disable it"),
        "{}",
        stderr_of(&out)
    );
    // A scaffold that exists is refused.
    let out = sb
        .llf()
        .args(["dev", "create-tool", "sh_tool", "--no-interactive"])
        .output()
        .unwrap();
    assert!(!out.status.success());
}

#[test]
fn import_copies_a_tool_directory() {
    let sb = Sandbox::new();
    let src = sb.dir.path().join("elsewhere");
    let out = sb
        .llf()
        .args(["dev", "create-tool", "shared_tool", "--no-interactive"])
        .output()
        .unwrap();
    assert!(out.status.success());
    std::fs::rename(sb.home().join("tools/shared_tool"), &src).unwrap();
    let out = sb
        .llf()
        .args(["tool", "import"])
        .arg(&src)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert!(sb.home().join("tools/shared_tool/config.json").is_file());
    let out = sb
        .llf()
        .args(["tool", "import"])
        .arg(&src)
        .output()
        .unwrap();
    assert!(
        stderr_of(&out).contains("already exists"),
        "{}",
        stderr_of(&out)
    );
}

#[test]
fn audit_lists_filters_and_verifies() {
    let sb = Sandbox::new();
    run_json(
        &sb,
        &[
            "tool",
            "run",
            "calculator",
            "--args",
            r#"{"expression": "1+1"}"#,
        ],
    );
    run_json(
        &sb,
        &[
            "tool",
            "run",
            "calculator",
            "--args",
            r#"{"expression": "1;2"}"#,
        ],
    );
    assert!(
        sb.llf()
            .args(["tool", "disable", "datetime"])
            .output()
            .unwrap()
            .status
            .success()
    );
    let out = sb.llf().args(["audit", "-n", "10"]).output().unwrap();
    let text = stdout_of(&out);
    assert_eq!(text.lines().count(), 3, "{text}");
    let out = sb
        .llf()
        .args(["audit", "--type", "validation_failed", "--json"])
        .output()
        .unwrap();
    let lines: Vec<Value> = stdout_of(&out)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 1);
    assert_eq!(lines[0]["tool"], "calculator");
    let out = sb.llf().args(["audit", "verify"]).output().unwrap();
    assert!(out.status.success());
    assert!(stderr_of(&out).contains("3 events"), "{}", stderr_of(&out));
    // Tampering is reported with a failing exit status.
    let path = sb.home().join("state/logs/audit.jsonl");
    let text = std::fs::read_to_string(&path).unwrap();
    std::fs::write(&path, text.replacen("1+1", "2+2", 1)).unwrap();
    let out = sb.llf().args(["audit", "verify"]).output().unwrap();
    assert!(!out.status.success());
    assert!(stderr_of(&out).contains("line 1"), "{}", stderr_of(&out));
}

/// What a non-root user gets: the same binary run as `nobody` when the tests run as root (as the
/// current user otherwise).
#[test]
fn non_root_users_get_namespaces_and_process_limits() {
    // `nobody` needs to reach the binary and its home.
    let public = tempfile::tempdir().unwrap();
    chmod(public.path(), 0o755);
    let bin = public.path().join("llf");
    std::fs::copy(assert_cmd::cargo::cargo_bin("llf"), &bin).unwrap();
    let home = public.path().join("home");
    sb_config(&home);
    if is_root() {
        let chown = std::process::Command::new("chown")
            .args(["-R", "65534:65534"])
            .arg(&home)
            .status()
            .unwrap();
        assert!(chown.success());
    }
    let llf = |args: &[&str]| {
        let mut cmd = if is_root() {
            let mut c = std::process::Command::new("setpriv");
            c.args(["--reuid=65534", "--regid=65534", "--clear-groups", "--"])
                .arg(&bin);
            c
        } else {
            std::process::Command::new(&bin)
        };
        cmd.args(args)
            .env_clear()
            .env("PATH", "/usr/local/bin:/usr/bin:/bin")
            .env("HOME", &home)
            .env("LLF_HOME", home.join("llf"))
            .output()
            .unwrap()
    };
    let out = llf(&[
        "tool",
        "run",
        "calculator",
        "--args",
        r#"{"expression": "2+3"}"#,
    ]);
    assert!(
        out.status.success(),
        "{}{}",
        stdout_of(&out),
        stderr_of(&out)
    );
    let out = llf(&["tool", "info", "calculator", "--json"]);
    let info: Value = serde_json::from_str(&stdout_of(&out)).unwrap();
    assert_eq!(info["sandbox"]["runs_as_nobody"], false);
    // A fork bomb is held to the process limit of the config (8) and stopped.
    let out = llf(&[
        "dev",
        "create-tool",
        "bomb",
        "--lang",
        "bash",
        "--no-interactive",
    ]);
    assert!(out.status.success(), "{}", stderr_of(&out));
    let run = home.join("llf/tools/bomb/run");
    std::fs::write(&run, "#!/bin/bash\nb() { b | b & }; b\nsleep 100\n").unwrap();
    let out = llf(&["tool", "run", "bomb", "--args", r#"{"input": "x"}"#]);
    assert!(!out.status.success());
    let v: Value = serde_json::from_str(&stdout_of(&out)).unwrap();
    let err = v["error"].as_str().unwrap();
    assert!(
        err.contains("more than 8 processes") || err.contains("timeout"),
        "{err}"
    );
}

fn sb_config(home: &Path) {
    std::fs::create_dir_all(home.join("llf")).unwrap();
    let cfg = json!({"tool_sandbox": {"max_processes": 8, "timeout": 3}});
    std::fs::write(home.join("llf/config.json"), cfg.to_string()).unwrap();
}

fn chmod(p: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode)).unwrap();
}

fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .unwrap()
        .lines()
        .any(|l| l.starts_with("Uid:") && l.split_whitespace().nth(2) == Some("0"))
}

#[test]
fn memory_tools_appear_once_a_memory_database_exists() {
    let sb = Sandbox::new();
    let (_, v) = run_json(&sb, &["tool", "list", "--json"]);
    assert!(!v.to_string().contains("memory_store"));
    let out = sb
        .llf()
        .args(["memory", "add", "The user's cat is called Miso"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    let (_, v) = run_json(&sb, &["tool", "list", "--json"]);
    let names: Vec<&str> = v
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert!(
        names.contains(&"memory_store") && names.contains(&"memory_search"),
        "{names:?}"
    );
    let (ok, v) = run_json(
        &sb,
        &[
            "tool",
            "run",
            "memory_search",
            "--args",
            r#"{"query": "cat"}"#,
        ],
    );
    assert!(ok, "{v}");
    assert_eq!(v["result"][0]["content"], "The user's cat is called Miso");
}

#[test]
fn mcp_server_tools_join_the_registry() {
    let sb = Sandbox::new();
    let script = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../crates/llf-tools/tests/it/mcp_server.py")
        .canonicalize()
        .unwrap();
    sb.write_config(json!({"tools": {"mcp_servers": [
        {"name": "test", "command": "python3", "args": [script], "timeout": 10},
        {"name": "broken", "command": "/nonexistent/server"}
    ]}}));
    let (ok, v) = run_json(&sb, &["tool", "list", "--json"]);
    assert!(ok);
    let t = v
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == "reverse")
        .unwrap()
        .clone();
    assert_eq!(t["source"], "native");
    let (ok, v) = run_json(
        &sb,
        &["tool", "run", "reverse", "--args", r#"{"text": "llf"}"#],
    );
    assert!(ok, "{v}");
    assert_eq!(v["result"], "fll");
    // The broken server is reported on stderr without stopping the others.
    let out = sb.llf().args(["tool", "list"]).output().unwrap();
    assert!(out.status.success());
    assert!(stderr_of(&out).contains("broken"), "{}", stderr_of(&out));
}

#[test]
fn tools_settings_are_validated() {
    let sb = Sandbox::new();
    sb.write_config(
        json!({"tools": {"max_tool_rounds": 0, "mcp_servers": [{"name": "x", "command": ""}]}}),
    );
    let out = sb.llf().args(["config", "validate"]).output().unwrap();
    assert!(!out.status.success());
    let text = format!("{}{}", stdout_of(&out), stderr_of(&out));
    assert!(text.contains("tools.max_tool_rounds"), "{text}");
    assert!(text.contains("tools.mcp_servers[0].command"), "{text}");
}

#[test]
fn an_installed_binary_brings_its_builtin_tools_into_a_fresh_home() {
    // The binary copied elsewhere, as `cargo install` does: the built-in tools come from inside
    // it, unpacked under the home's cache, not from the source tree it was built in.
    let sb = Sandbox::new();
    let bin = sb.dir.path().join("bin/llf");
    std::fs::create_dir_all(bin.parent().unwrap()).unwrap();
    std::fs::copy(assert_cmd::cargo::cargo_bin("llf"), &bin).unwrap();
    let run = |args: &[&str]| {
        std::process::Command::new(&bin)
            .args(args)
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", sb.dir.path())
            .env("LLF_HOME", sb.home())
            .current_dir(sb.dir.path())
            .output()
            .unwrap()
    };
    let out = run(&["tool", "info", "calculator", "--json"]);
    assert!(out.status.success(), "{}", stderr_of(&out));
    let info: Value = serde_json::from_slice(&out.stdout).unwrap();
    let dir = info["dir"].as_str().unwrap();
    assert!(
        dir.starts_with(sb.home().join("cache").to_str().unwrap()),
        "{dir}"
    );
    let out = run(&[
        "tool",
        "run",
        "calculator",
        "--args",
        r#"{"expression": "6 * 7"}"#,
    ]);
    assert!(out.status.success(), "{}", stderr_of(&out));
    let result: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(result["result"], json!(42));
}
