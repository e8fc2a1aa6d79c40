//! Each sandbox limit, with a real misbehaving process.

use std::time::{Duration, Instant};

use llf_config::schema::ToolSandboxSettings;
use llf_core::tool::ToolExecutor;
use serde_json::json;

use crate::{Bench, call, error_of};

fn tight() -> ToolSandboxSettings {
    ToolSandboxSettings {
        timeout: 5,
        max_cpu_time: 2,
        max_memory_mb: 256,
        max_file_size_mb: 1,
        max_processes: 16,
        max_output_kb: 64,
        ..ToolSandboxSettings::default()
    }
}

#[tokio::test]
async fn infinite_loop_is_killed_at_the_timeout_with_its_children() {
    let b = Bench::new();
    // The background sleeper shares the group and must die with it. Its duration names this test
    // process, so another `sleep 300` on the machine is not mistaken for a leftover.
    let sleeper = format!("sleep 300.{}", std::process::id());
    b.add(
        "spin",
        &format!("#!/bin/sh\n{sleeper} &\necho $! > /dev/null\nwhile :; do :; done\n"),
        json!({}),
        json!({"timeout": 1}),
    );
    let r = b
        .builder_with(ToolSandboxSettings {
            max_cpu_time: 30,
            ..tight()
        })
        .build();
    let started = Instant::now();
    let out = r.execute(&call("spin", json!({}))).await;
    let err = error_of(&out);
    assert!(err.contains("timeout"), "{err}");
    assert!(started.elapsed() < Duration::from_secs(5));
    // No sleeper left behind.
    let ps = std::process::Command::new("pgrep")
        .args(["-f", &format!("^{sleeper}$")])
        .output()
        .unwrap();
    assert!(
        ps.stdout.is_empty(),
        "leftover: {}",
        String::from_utf8_lossy(&ps.stdout)
    );
}

#[tokio::test]
async fn cpu_limit_stops_a_busy_tool() {
    let b = Bench::new();
    b.add(
        "burn",
        "#!/bin/sh\nwhile :; do :; done\n",
        json!({}),
        json!({}),
    );
    let r = b
        .builder_with(ToolSandboxSettings {
            max_cpu_time: 1,
            timeout: 20,
            ..tight()
        })
        .build();
    let out = r.execute(&call("burn", json!({}))).await;
    let err = error_of(&out);
    assert!(err.contains("CPU time"), "{err}");
}

#[tokio::test]
async fn memory_hog_runs_out_of_address_space() {
    let b = Bench::new();
    b.add(
        "hog",
        "#!/usr/bin/env python3\nimport json\nx = bytearray(2 * 1024 * 1024 * 1024)\nprint(json.dumps({'success': True, 'result': len(x)}))\n",
        json!({}),
        json!({}),
    );
    let out = b
        .builder_with(tight())
        .build()
        .execute(&call("hog", json!({})))
        .await;
    let err = error_of(&out);
    assert!(err.contains("out of memory"), "{err}");
}

#[tokio::test]
async fn huge_write_hits_the_file_size_limit() {
    let b = Bench::new();
    b.add(
        "writer",
        "#!/bin/sh\nexec head -c 10G /dev/zero > big.bin\n",
        json!({}),
        json!({}),
    );
    let out = b
        .builder_with(tight())
        .build()
        .execute(&call("writer", json!({})))
        .await;
    let err = error_of(&out);
    assert!(err.contains("file larger than 1 MiB"), "{err}");
}

#[tokio::test]
async fn output_flood_is_cut_at_the_cap() {
    let b = Bench::new();
    b.add("flood", "#!/bin/sh\nexec yes\n", json!({}), json!({}));
    let started = Instant::now();
    let out = b
        .builder_with(tight())
        .build()
        .execute(&call("flood", json!({})))
        .await;
    let err = error_of(&out);
    assert!(err.contains("more than 64 KiB"), "{err}");
    assert!(started.elapsed() < Duration::from_secs(5));
}

#[tokio::test]
async fn fork_bomb_is_contained_and_llf_keeps_running() {
    let b = Bench::new();
    b.add(
        "bomb",
        "#!/bin/bash\nb() { b | b & }; b\nsleep 100\n",
        json!({}),
        json!({"timeout": 3}),
    );
    b.add(
        "ok",
        "#!/bin/sh\necho '{\"success\": true, \"result\": \"alive\"}'\n",
        json!({}),
        json!({}),
    );
    let r = b.builder_with(tight()).build();
    let out = r.execute(&call("bomb", json!({}))).await;
    let err = error_of(&out);
    assert!(
        err.contains("more than 16 processes") || err.contains("timeout"),
        "{err}"
    );
    // LLF (this process) can still start tools.
    let ok = r.execute(&call("ok", json!({}))).await;
    assert!(ok.success, "{ok:?}");
    assert_eq!(ok.content, json!("alive"));
}

#[tokio::test]
async fn environment_is_cleared_and_workdir_is_private() {
    let b = Bench::new();
    b.add(
        "env",
        "#!/usr/bin/env python3\nimport json, os\nprint(json.dumps({'success': True, 'result': {'env': sorted(os.environ), 'cwd': os.getcwd(), 'uid': os.getuid()}}))\n",
        json!({}),
        json!({}),
    );
    let r = b.registry();
    let out = r.execute(&call("env", json!({}))).await;
    assert!(out.success, "{out:?}");
    let env: Vec<String> = serde_json::from_value(out.content["env"].clone()).unwrap();
    for var in &env {
        assert!(
            [
                "PATH",
                "HOME",
                "TMPDIR",
                "LANG",
                "LLF_TOOL_NAME",
                "LLF_TOOL_ROOTS",
                "PWD",
                "LC_CTYPE"
            ]
            .contains(&var.as_str()),
            "unexpected variable {var} in {env:?}"
        );
    }
    let cwd = out.content["cwd"].as_str().unwrap();
    assert!(
        cwd.starts_with(b.work().canonicalize().unwrap().to_str().unwrap()),
        "{cwd}"
    );
    // The per-run directory is gone afterwards.
    assert_eq!(std::fs::read_dir(b.work()).unwrap().count(), 0);
}

#[tokio::test]
async fn network_is_cut_off_when_the_kernel_allows_it() {
    let b = Bench::new();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    b.add(
        "net",
        &format!("#!/usr/bin/env python3\nimport json, socket\ntry:\n    socket.create_connection(('127.0.0.1', {port}), timeout=2)\n    r = 'connected'\nexcept OSError as e:\n    r = 'blocked'\nprint(json.dumps({{'success': True, 'result': r}}))\n"),
        json!({}),
        json!({}),
    );
    let r = b.registry();
    let iso = r.sandbox().isolation().await;
    let out = r.execute(&call("net", json!({}))).await;
    assert!(out.success, "{out:?}");
    if iso.namespaces {
        assert_eq!(out.content, json!("blocked"));
    } else {
        // The note explains why the tool could connect.
        assert!(iso.note.unwrap().contains("network"));
        assert_eq!(out.content, json!("connected"));
    }
}

#[tokio::test]
async fn root_runs_tools_as_nobody() {
    let b = Bench::new();
    b.add(
        "who",
        "#!/usr/bin/env python3\nimport json, os\nprint(json.dumps({'success': True, 'result': open('/proc/self/uid_map').read().split()}))\n",
        json!({}),
        json!({}),
    );
    let r = b.registry();
    let iso = r.sandbox().isolation().await;
    let out = r.execute(&call("who", json!({}))).await;
    assert!(out.success, "{out:?}");
    let map: Vec<String> = serde_json::from_value(out.content).unwrap();
    if iso.drops_root && iso.namespaces {
        // Inside: uid 0 maps to nobody (65534) outside, not to root.
        assert_eq!(map[1], "65534", "{map:?}");
    }
    assert_eq!(iso.drops_root, nix_is_root());
}

fn nix_is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .unwrap()
        .lines()
        .find(|l| l.starts_with("Uid:"))
        .unwrap()
        .split_whitespace()
        .nth(2)
        == Some("0")
}

#[tokio::test]
async fn a_crashing_or_silent_tool_is_a_readable_failure() {
    let b = Bench::new();
    b.add(
        "crash",
        "#!/bin/sh\necho 'boom' >&2\nexit 3\n",
        json!({}),
        json!({}),
    );
    b.add(
        "prose",
        "#!/bin/sh\necho 'hello there'\n",
        json!({}),
        json!({}),
    );
    let r = b.registry();
    let err = error_of(&r.execute(&call("crash", json!({}))).await);
    assert!(err.contains("exit code 3") && err.contains("boom"), "{err}");
    let err = error_of(&r.execute(&call("prose", json!({}))).await);
    assert!(err.contains("did not print a JSON object"), "{err}");
}

#[tokio::test]
async fn tools_run_when_the_work_root_is_under_a_private_directory() {
    let b = Bench::new();
    b.add(
        "ok",
        "#!/bin/sh\necho '{\"success\": true, \"result\": 1}'\n",
        serde_json::json!({}),
        serde_json::json!({}),
    );
    let private = b.dir.path().join("private");
    std::fs::create_dir_all(private.join("runs")).unwrap();
    crate::set_mode(&private, 0o700);
    crate::set_mode(&b.tools_dir(), 0o700);
    let r = b.builder().work_root(private.join("runs")).build();
    let out = r.execute(&call("ok", serde_json::json!({}))).await;
    assert!(out.success, "{out:?}");
}
