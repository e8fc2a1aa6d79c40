//! Approval, rate limits, audit lines and parallel execution.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use llf_core::tool::ToolExecutor;
use llf_tools::approval::{ApprovalDecision, ApprovalPrompt, ApprovalRequest, ApprovalStore};
use llf_tools::audit::AuditLog;
use llf_tools::execute_batch;
use serde_json::json;

use crate::{Bench, call, error_of};

const OK: &str = "#!/bin/sh\ncat > /dev/null\necho '{\"success\": true, \"result\": \"done\"}'\n";

struct Counting {
    answer: ApprovalDecision,
    asked: AtomicUsize,
}

#[async_trait::async_trait]
impl ApprovalPrompt for Counting {
    async fn ask(&self, request: &ApprovalRequest) -> ApprovalDecision {
        assert_eq!(
            request.arguments["api_key"], "***",
            "secrets reach the prompt redacted"
        );
        self.asked.fetch_add(1, Ordering::SeqCst);
        self.answer
    }
}

fn prompt(answer: ApprovalDecision) -> Arc<Counting> {
    Arc::new(Counting {
        answer,
        asked: AtomicUsize::new(0),
    })
}

#[tokio::test]
async fn approval_deny_once_session_always_and_revoke() {
    let b = Bench::new();
    b.add(
        "guarded",
        OK,
        json!({"api_key": {"type": "string"}}),
        json!({"requires_approval": true}),
    );
    let store_path = b.dir.path().join("approvals.json");
    let args = json!({"api_key": "hunter2"});

    // Default (non-interactive): denied, and the model is told.
    let r = b.registry();
    let err = error_of(&r.execute(&call("guarded", args.clone())).await);
    assert!(err.contains("did not approve"), "{err}");

    // Once: asked every time.
    let p = prompt(ApprovalDecision::Once);
    let r = b
        .builder()
        .approvals(ApprovalStore::load(&store_path).unwrap())
        .approval_prompt(p.clone())
        .build();
    assert!(r.execute(&call("guarded", args.clone())).await.success);
    assert!(r.execute(&call("guarded", args.clone())).await.success);
    assert_eq!(p.asked.load(Ordering::SeqCst), 2);

    // Session: asked once, not persisted.
    let p = prompt(ApprovalDecision::Session);
    let r = b
        .builder()
        .approvals(ApprovalStore::load(&store_path).unwrap())
        .approval_prompt(p.clone())
        .build();
    assert!(r.execute(&call("guarded", args.clone())).await.success);
    assert!(r.execute(&call("guarded", args.clone())).await.success);
    assert_eq!(p.asked.load(Ordering::SeqCst), 1);
    assert!(
        !ApprovalStore::load(&store_path)
            .unwrap()
            .is_approved("guarded")
    );

    // Always: persisted across registries until revoked.
    let p = prompt(ApprovalDecision::Always);
    let r = b
        .builder()
        .approvals(ApprovalStore::load(&store_path).unwrap())
        .approval_prompt(p.clone())
        .build();
    assert!(r.execute(&call("guarded", args.clone())).await.success);
    let deny = prompt(ApprovalDecision::Deny);
    let r = b
        .builder()
        .approvals(ApprovalStore::load(&store_path).unwrap())
        .approval_prompt(deny.clone())
        .build();
    assert!(r.execute(&call("guarded", args.clone())).await.success);
    assert_eq!(deny.asked.load(Ordering::SeqCst), 0);
    assert!(
        ApprovalStore::load(&store_path)
            .unwrap()
            .revoke("guarded")
            .unwrap()
    );
    let r = b
        .builder()
        .approvals(ApprovalStore::load(&store_path).unwrap())
        .approval_prompt(deny.clone())
        .build();
    assert!(!r.execute(&call("guarded", args)).await.success);
    assert_eq!(deny.asked.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn rate_limit_is_a_token_bucket_per_tool() {
    let b = Bench::new();
    b.add(
        "limited",
        OK,
        json!({}),
        json!({"rate_limit": {"enabled": true, "requests_per_minute": 60, "burst_size": 2}}),
    );
    b.add("free", OK, json!({}), json!({}));
    let r = b.registry();
    assert!(r.execute(&call("limited", json!({}))).await.success);
    assert!(r.execute(&call("limited", json!({}))).await.success);
    let err = error_of(&r.execute(&call("limited", json!({}))).await);
    assert!(
        err.contains("rate limit") && err.contains("retry in"),
        "{err}"
    );
    // Other tools are not affected.
    assert!(r.execute(&call("free", json!({}))).await.success);
    // One token per second comes back.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert!(r.execute(&call("limited", json!({}))).await.success);
}

#[tokio::test]
async fn audit_lines_cover_each_event_and_verify_detects_tampering() {
    let b = Bench::new();
    b.add(
        "ok",
        OK,
        json!({"token": {"type": "string"}, "n": {"type": "integer"}}),
        json!({}),
    );
    b.add(
        "loop",
        "#!/bin/sh\nwhile :; do :; done\n",
        json!({}),
        json!({"timeout": 1}),
    );
    b.add(
        "limited",
        OK,
        json!({}),
        json!({"rate_limit": {"requests_per_minute": 1, "burst_size": 1}}),
    );
    b.add("guarded", OK, json!({}), json!({"requires_approval": true}));
    let path = b.dir.path().join("logs/audit.jsonl");
    let r = b.builder().audit(AuditLog::new(&path, 1 << 20, 3)).build();
    assert!(
        r.execute(&call("ok", json!({"token": "s3cret-value", "n": 1})))
            .await
            .success
    );
    r.execute(&call("ok", json!({"n": "x"}))).await;
    r.execute(&call("loop", json!({}))).await;
    r.execute(&call("limited", json!({}))).await;
    r.execute(&call("limited", json!({}))).await;
    r.execute(&call("guarded", json!({}))).await;
    r.execute(&call("nope", json!({}))).await;

    let log = r.audit_log().unwrap();
    let all = log.tail(100, None).unwrap();
    let types: Vec<&str> = all.iter().map(|e| e.event_type.as_str()).collect();
    for t in [
        "tool_execution",
        "validation_failed",
        "sandbox_violation",
        "rate_limit_exceeded",
        "tool_blocked",
    ] {
        assert!(types.contains(&t), "{t} missing from {types:?}");
    }
    let first = &all[0];
    assert_eq!(first.details["arguments"]["token"], "***");
    assert_eq!(first.details["success"], true);
    assert!(first.details["duration_ms"].is_u64());
    assert!(
        !std::fs::read_to_string(&path)
            .unwrap()
            .contains("s3cret-value")
    );
    assert_eq!(log.tail(2, Some("rate_limit_exceeded")).unwrap().len(), 1);
    assert_eq!(log.verify().unwrap().lines, all.len());

    // Edit one line: detected.
    let text = std::fs::read_to_string(&path).unwrap();
    std::fs::write(
        &path,
        text.replacen("\"success\":true", "\"success\":false", 1),
    )
    .unwrap();
    let err = log.verify().unwrap_err().to_string();
    assert!(err.contains("line 1") && err.contains("edited"), "{err}");
    // Remove one line: detected.
    let lines: Vec<&str> = text.lines().collect();
    let without: String = lines
        .iter()
        .enumerate()
        .filter(|(i, _)| *i != 2)
        .map(|(_, l)| format!("{l}\n"))
        .collect();
    std::fs::write(&path, without).unwrap();
    let err = log.verify().unwrap_err().to_string();
    assert!(err.contains("removed"), "{err}");
}

#[tokio::test]
async fn audit_log_rotates_by_size_and_the_chain_continues() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.jsonl");
    let log = AuditLog::new(&path, 600, 2);
    for i in 0..20 {
        log.record(llf_tools::audit::AuditEvent::new(
            llf_tools::audit::AuditEventType::ConfigChanged,
            "t",
            json!({"i": i}),
        ))
        .await
        .unwrap();
    }
    assert!(dir.path().join("audit.jsonl.1").exists());
    assert!(dir.path().join("audit.jsonl.2").exists());
    assert!(!dir.path().join("audit.jsonl.3").exists());
    let report = log.verify().unwrap();
    assert_eq!(report.files.len(), 3);
    // The newest entry is kept; the oldest rotated away.
    let tail = log.tail(1, None).unwrap();
    assert_eq!(tail[0].details["i"], 19);
    // A fresh writer (new process) continues the chain from disk.
    let again = AuditLog::new(&path, 600, 2);
    again
        .record(llf_tools::audit::AuditEvent::new(
            llf_tools::audit::AuditEventType::ConfigChanged,
            "t",
            json!({"i": 20}),
        ))
        .await
        .unwrap();
    again.verify().unwrap();
}

#[tokio::test]
async fn three_one_second_tools_run_in_parallel_in_call_order() {
    let b = Bench::new();
    for name in ["a", "b", "c"] {
        b.add(
            name,
            &format!("#!/bin/sh\ncat > /dev/null\nsleep 1\necho '{{\"success\": true, \"result\": \"{name}\"}}'\n"),
            json!({}),
            json!({}),
        );
    }
    let r = b.registry();
    let calls = vec![
        call("c", json!({})),
        call("a", json!({})),
        call("b", json!({})),
    ];
    let started = Instant::now();
    let outcomes = execute_batch(&r, &calls).await;
    let took = started.elapsed();
    let names: Vec<_> = outcomes.iter().map(|o| o.content.clone()).collect();
    assert_eq!(names, vec![json!("c"), json!("a"), json!("b")]);
    assert!(took < Duration::from_millis(2500), "took {took:?}");
}

#[tokio::test]
async fn native_tools_go_through_validation_and_audit() {
    struct Add;
    #[async_trait::async_trait]
    impl llf_tools::NativeTool for Add {
        fn spec(&self) -> llf_core::tool::ToolSpec {
            llf_core::tool::ToolSpec {
                name: "add".into(),
                description: "adds".into(),
                parameters: json!({"type": "object", "properties": {"a": {"type": "integer"}, "b": {"type": "integer"}}, "required": ["a", "b"]}),
            }
        }
        async fn call(&self, args: serde_json::Value) -> Result<serde_json::Value, String> {
            Ok(json!(
                args["a"].as_i64().unwrap() + args["b"].as_i64().unwrap()
            ))
        }
    }
    let b = Bench::new();
    let mut set = b.set();
    set.register_native(Arc::new(Add));
    let path = b.dir.path().join("audit.jsonl");
    let r = llf_tools::ToolRegistry::builder(set)
        .audit(AuditLog::new(&path, 1 << 20, 2))
        .build();
    assert!(r.specs().iter().any(|s| s.name == "add"));
    let out = r.execute(&call("add", json!({"a": 2, "b": 40}))).await;
    assert_eq!(out.content, json!(42));
    let err = error_of(&r.execute(&call("add", json!({"a": 2}))).await);
    assert!(err.contains("required"), "{err}");
    assert_eq!(r.audit_log().unwrap().tail(10, None).unwrap().len(), 2);
}
