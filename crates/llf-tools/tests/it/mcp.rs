//! Tools of a real MCP server (a Python process speaking MCP over stdio) in the registry.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use llf_config::schema::McpServerSettings;
use llf_core::tool::ToolExecutor;
use llf_tools::approval::{ApprovalDecision, ApprovalPrompt, ApprovalRequest};
use llf_tools::audit::AuditLog;
use llf_tools::mcp::McpServer;
use serde_json::json;

use crate::{Bench, call, error_of};

fn server(requires_approval: bool) -> McpServerSettings {
    McpServerSettings {
        name: "test".into(),
        command: "python3".into(),
        args: vec![concat!(env!("CARGO_MANIFEST_DIR"), "/tests/it/mcp_server.py").into()],
        requires_approval,
        timeout: 10,
        requests_per_minute: Some(60),
        ..McpServerSettings::default()
    }
}

struct Count(AtomicUsize);

#[async_trait::async_trait]
impl ApprovalPrompt for Count {
    async fn ask(&self, _request: &ApprovalRequest) -> ApprovalDecision {
        self.0.fetch_add(1, Ordering::SeqCst);
        ApprovalDecision::Once
    }
}

#[tokio::test]
async fn mcp_tools_run_with_validation_approval_and_audit() {
    let b = Bench::new();
    let mcp = McpServer::connect(&server(true), &b.sandbox())
        .await
        .unwrap();
    let mut set = b.set();
    for t in mcp.native_tools() {
        set.register_native(t);
    }
    let prompt = Arc::new(Count(AtomicUsize::new(0)));
    let log = b.dir.path().join("audit.jsonl");
    let r = llf_tools::ToolRegistry::builder(set)
        .work_root(b.work())
        .audit(AuditLog::new(&log, 1 << 20, 2))
        .approval_prompt(prompt.clone())
        .build();
    let names: Vec<String> = r.specs().into_iter().map(|s| s.name).collect();
    assert!(names.contains(&"reverse".to_string()), "{names:?}");

    let out = r.execute(&call("reverse", json!({"text": "abc"}))).await;
    assert_eq!(out.content, json!("cba"), "{out:?}");
    let out = r.execute(&call("shout", json!({"text": "hi"}))).await;
    assert_eq!(out.content, json!({"upper": "HI"}), "{out:?}");
    let err = error_of(&r.execute(&call("fail", json!({}))).await);
    assert_eq!(err, "this tool always fails");
    // The server's own schema is enforced before the call leaves LLF.
    let err = error_of(
        &r.execute(&call("reverse", json!({"text": "x".repeat(30)})))
            .await,
    );
    assert!(err.contains("/text"), "{err}");
    assert_eq!(
        prompt.0.load(Ordering::SeqCst),
        3,
        "approval asked for each call that ran"
    );
    let events = r
        .audit_log()
        .unwrap()
        .tail(20, Some("tool_execution"))
        .unwrap();
    assert_eq!(events.len(), 3);
}

#[tokio::test]
async fn a_missing_mcp_server_is_a_clear_error() {
    let b = Bench::new();
    let mut s = server(false);
    s.command = "/nonexistent/mcp-server".into();
    let err = McpServer::connect(&s, &b.sandbox())
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("mcp server `test`") && err.contains("cannot start"),
        "{err}"
    );
}

#[tokio::test]
async fn mcp_servers_run_in_the_tool_sandbox_without_network_unless_allowed() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let b = Bench::new();
    for network in [false, true] {
        let s = McpServerSettings {
            network,
            ..server(false)
        };
        let mcp = McpServer::connect(&s, &b.sandbox()).await.unwrap();
        let mut set = b.set();
        for t in mcp.native_tools() {
            set.register_native(t);
        }
        let r = llf_tools::ToolRegistry::builder(set)
            .work_root(b.work())
            .build();
        let out = r.execute(&call("sandbox", json!({"port": port}))).await;
        assert!(out.success, "{out:?}");
        assert_eq!(out.content["net"], json!(network), "{out:?}");
        // Its home is a private directory of its own, not LLF's.
        let home = out.content["home"].as_str().unwrap();
        assert!(home.contains("llf-process-"), "{home}");
        if nix::unistd::Uid::effective().is_root() {
            assert_eq!(out.content["uid"], json!(65534), "runs as nobody, not root");
        }
    }
}

#[tokio::test]
async fn mcp_tools_have_rate_limits() {
    let b = Bench::new();
    let mut s = server(false);
    s.requests_per_minute = Some(1);
    let mcp = McpServer::connect(&s, &b.sandbox()).await.unwrap();
    let mut set = b.set();
    for t in mcp.native_tools() {
        set.register_native(t);
    }
    let r = llf_tools::ToolRegistry::builder(set)
        .work_root(b.work())
        .build();
    assert!(
        r.execute(&call("reverse", json!({"text": "a"})))
            .await
            .success
    );
    let err = error_of(&r.execute(&call("reverse", json!({"text": "a"}))).await);
    assert!(err.contains("rate limit"), "{err}");
}
