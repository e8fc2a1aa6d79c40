//! Each validation rule, through the executor: a failure is a readable outcome, never a crash.

use llf_core::tool::ToolExecutor;
use serde_json::{Value, json};

use crate::{Bench, call, error_of};

/// A tool that echoes its (validated, rewritten) arguments.
fn echo_bench(rules: Value, params: Value, roots_dir: bool) -> (Bench, llf_tools::ToolRegistry) {
    let b = Bench::new();
    b.add(
        "echo",
        "#!/usr/bin/env python3\nimport json, sys\nprint(json.dumps({'success': True, 'result': json.load(sys.stdin)}))\n",
        params,
        json!({"validation_schema": rules}),
    );
    let root = b.dir.path().join("root");
    std::fs::create_dir_all(root.join("sub")).unwrap();
    std::fs::write(root.join("sub/a.txt"), "hi").unwrap();
    std::fs::write(b.dir.path().join("secret.txt"), "no").unwrap();
    let mut builder = b.builder();
    if roots_dir {
        builder = builder.allowed_roots(vec![root]);
    }
    let r = builder.build();
    (b, r)
}

#[tokio::test]
async fn json_schema_errors_are_reported_with_their_location() {
    let (_b, r) = echo_bench(
        json!({}),
        json!({"n": {"type": "integer"}, "s": {"type": "string", "enum": ["a", "b"]}}),
        false,
    );
    let err = error_of(&r.execute(&call("echo", json!({"n": "x"}))).await);
    assert!(err.contains("/n"), "{err}");
    let err = error_of(&r.execute(&call("echo", json!({"s": "c"}))).await);
    assert!(err.contains("/s"), "{err}");
    let mut bad = call("echo", json!({}));
    bad.arguments = "{not json".into();
    let err = error_of(&r.execute(&bad).await);
    assert!(err.contains("not valid JSON"), "{err}");
    let ok = r.execute(&call("echo", json!({"n": 3, "s": "a"}))).await;
    assert!(ok.success, "{ok:?}");
}

#[tokio::test]
async fn strings_lengths_patterns_enums_and_ranges() {
    let rules = json!({
        "name": {"type": "string", "required": true, "min_length": 2, "max_length": 5, "pattern": "[a-z]+"},
        "mode": {"type": "enum", "allowed_values": ["fast", "slow"]},
        "count": {"type": "integer", "min_value": 1, "max_value": 10},
        "ratio": {"type": "float", "min_value": 0.0, "max_value": 1.0}
    });
    let (_b, r) = echo_bench(rules, json!({}), false);
    let cases = [
        (json!({}), "missing required argument `name`"),
        (json!({"name": "a"}), "too short"),
        (json!({"name": "abcdef"}), "too long"),
        (json!({"name": "ab1"}), "does not match"),
        (json!({"name": "a;rm"}), "does not match"),
        (json!({"name": "ab", "mode": "turbo"}), "must be one of"),
        (json!({"name": "ab", "count": 0}), "at least 1"),
        (json!({"name": "ab", "count": 11}), "at most 10"),
        (json!({"name": "ab", "count": 1.5}), "must be an integer"),
        (json!({"name": "ab", "ratio": 1.5}), "at most 1"),
    ];
    for (args, want) in cases {
        let err = error_of(&r.execute(&call("echo", args.clone())).await);
        assert!(err.contains(want), "{args}: {err}");
    }
    let ok = r
        .execute(&call(
            "echo",
            json!({"name": "abc", "mode": "slow", "count": 10, "ratio": 0.5}),
        ))
        .await;
    assert!(ok.success, "{ok:?}");
}

#[tokio::test]
async fn paths_are_confined_after_dotdot_and_symlinks() {
    let rules = json!({"path": {"type": "path", "required": true, "allowed_extensions": [".txt"]}});
    let (b, r) = echo_bench(rules, json!({}), true);
    let root = b.dir.path().join("root");
    std::os::unix::fs::symlink(b.dir.path().join("secret.txt"), root.join("link.txt")).unwrap();
    std::os::unix::fs::symlink(b.dir.path(), root.join("up")).unwrap();
    for bad in [
        "../secret.txt",
        "sub/../../secret.txt",
        "link.txt",
        "up/secret.txt",
        "/etc/passwd.txt",
        "new/../../../secret.txt",
    ] {
        let err = error_of(&r.execute(&call("echo", json!({"path": bad}))).await);
        assert!(
            err.contains("outside") || err.contains("cannot resolve"),
            "{bad}: {err}"
        );
    }
    let err = error_of(&r.execute(&call("echo", json!({"path": "sub/a.md"}))).await);
    assert!(err.contains("extension"), "{err}");
    // Inside: accepted and rewritten to the resolved absolute path.
    let ok = r
        .execute(&call("echo", json!({"path": "sub/../sub/a.txt"})))
        .await;
    assert!(ok.success, "{ok:?}");
    let want = root.canonicalize().unwrap().join("sub/a.txt");
    assert_eq!(ok.content["path"], json!(want.to_str().unwrap()));
    // A file that does not exist yet (for writes) is fine inside the root.
    let ok = r
        .execute(&call("echo", json!({"path": "sub/new.txt"})))
        .await;
    assert!(ok.success, "{ok:?}");
}

#[tokio::test]
async fn paths_without_allowed_roots_are_refused() {
    let rules = json!({"path": {"type": "path", "required": true}});
    let (_b, r) = echo_bench(rules, json!({}), false);
    let err = error_of(&r.execute(&call("echo", json!({"path": "a.txt"}))).await);
    assert!(err.contains("tools.allowed_roots"), "{err}");
}

#[tokio::test]
async fn urls_schemes_domains_and_tricks() {
    let rules =
        json!({"url": {"type": "url", "required": true, "allowed_domains": ["example.org"]}});
    let (_b, r) = echo_bench(rules, json!({}), false);
    for bad in [
        "ftp://example.org/x",
        "file:///etc/passwd",
        "https://example.org@evil.test/",
        "https://example.org.evil.test/",
        "https://notexample.org/",
        "http://127.0.0.1/",
        "not a url",
    ] {
        let out = r.execute(&call("echo", json!({"url": bad}))).await;
        let _ = error_of(&out);
    }
    for good in ["https://example.org/a?b=1", "http://docs.EXAMPLE.org/"] {
        let out = r.execute(&call("echo", json!({"url": good}))).await;
        assert!(out.success, "{good}: {out:?}");
    }
}
