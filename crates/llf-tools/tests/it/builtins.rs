//! The built-in tools embedded in llf-tools, run for real.

use llf_core::tool::ToolExecutor;
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::{Bench, call, error_of};

#[tokio::test]
async fn builtin_tools_load_without_problems() {
    let b = Bench::new();
    let set = b.set();
    assert!(set.problems().is_empty(), "{:?}", set.problems());
    for name in ["calculator", "datetime", "file_access", "web_fetch"] {
        assert!(set.get(name).is_some(), "{name} missing");
    }
}

#[tokio::test]
async fn calculator_evaluates_and_refuses_code() {
    let b = Bench::new();
    let r = b.registry();
    let out = r
        .execute(&call("calculator", json!({"expression": "2 * (3 + 4)"})))
        .await;
    assert_eq!(out.content, json!(14), "{out:?}");
    let out = r
        .execute(&call("calculator", json!({"expression": "sqrt(16) + 0.5"})))
        .await;
    assert_eq!(out.content, json!(4.5), "{out:?}");
    let err = error_of(
        &r.execute(&call("calculator", json!({"expression": "1/0"})))
            .await,
    );
    assert!(err.contains("division by zero"), "{err}");
    // Rejected by the validation pattern before it runs.
    let err = error_of(
        &r.execute(&call(
            "calculator",
            json!({"expression": "__import__('os')"}),
        ))
        .await,
    );
    assert!(err.contains("pattern"), "{err}");
    // Passes the pattern but is not arithmetic.
    let err = error_of(
        &r.execute(&call("calculator", json!({"expression": "open(1)"})))
            .await,
    );
    assert!(err.contains("cannot evaluate"), "{err}");
}

#[tokio::test]
async fn datetime_runs_through_the_python_runner() {
    let b = Bench::new();
    let r = b.registry();
    let out = r
        .execute(&call(
            "datetime",
            json!({"operation": "diff_days", "date": "2024-02-28", "other_date": "2024-03-01"}),
        ))
        .await;
    assert_eq!(out.content, json!(2), "{out:?}");
    let out = r
        .execute(&call(
            "datetime",
            json!({"operation": "add_days", "date": "2024-12-31", "days": 1}),
        ))
        .await;
    assert_eq!(out.content, json!("2025-01-01"), "{out:?}");
    let out = r
        .execute(&call("datetime", json!({"operation": "now"})))
        .await;
    assert!(out.success, "{out:?}");
    let today = chrono::Utc::now().date_naive().to_string();
    assert_eq!(out.content["date"], json!(today));
    let err = error_of(
        &r.execute(&call(
            "datetime",
            json!({"operation": "add_days", "date": "not a date", "days": 1}),
        ))
        .await,
    );
    assert!(err.contains("Invalid isoformat"), "{err}");
}

#[tokio::test]
async fn file_access_reads_lists_and_writes_inside_the_root_only() {
    let b = Bench::new();
    let root = b.dir.path().join("files");
    std::fs::create_dir_all(&root).unwrap();
    std::fs::write(root.join("notes.txt"), "first line\n").unwrap();
    std::fs::write(b.dir.path().join("outside.txt"), "private").unwrap();
    let mut set = b.set();
    set.set_enabled("file_access", true).unwrap();
    let r = llf_tools::ToolRegistry::builder(set)
        .work_root(b.work())
        .allowed_roots(vec![root.clone()])
        .approval_prompt(std::sync::Arc::new(llf_tools::approval::FixedApproval(
            llf_tools::approval::ApprovalDecision::Once,
        )))
        .build();
    let out = r
        .execute(&call(
            "file_access",
            json!({"operation": "read", "path": "notes.txt"}),
        ))
        .await;
    assert_eq!(out.content["content"], "first line\n", "{out:?}");
    let out = r
        .execute(&call(
            "file_access",
            json!({"operation": "write", "path": "out/new.md", "content": "written"}),
        ))
        .await;
    assert!(out.success, "{out:?}");
    assert_eq!(
        std::fs::read_to_string(root.join("out/new.md")).unwrap(),
        "written"
    );
    let out = r
        .execute(&call(
            "file_access",
            json!({"operation": "list", "path": "."}),
        ))
        .await;
    let names: Vec<_> = out
        .content
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["name"].clone())
        .collect();
    assert_eq!(names, vec![json!("notes.txt"), json!("out")]);
    let err = error_of(
        &r.execute(&call(
            "file_access",
            json!({"operation": "read", "path": "../outside.txt"}),
        ))
        .await,
    );
    assert!(err.contains("outside"), "{err}");
}

/// A real HTTP server on 127.0.0.1 with three pages.
async fn serve() -> u16 {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        loop {
            let (mut sock, _) = listener.accept().await.unwrap();
            tokio::spawn(async move {
                let mut buf = vec![0u8; 4096];
                let n = sock.read(&mut buf).await.unwrap_or(0);
                let req = String::from_utf8_lossy(&buf[..n]).to_string();
                let path = req.split_whitespace().nth(1).unwrap_or("/").to_owned();
                let resp = match path.as_str() {
                    "/big" => {
                        let body = "x".repeat(5000);
                        format!("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}", body.len())
                    }
                    "/redirect" => format!("HTTP/1.1 302 Found\r\nLocation: http://localhost:{port}/\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"),
                    _ => "HTTP/1.1 200 OK\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: 19\r\nConnection: close\r\n\r\nhello from loopback".to_string(),
                };
                let _ = sock.write_all(resp.as_bytes()).await;
            });
        }
    });
    port
}

#[tokio::test]
async fn web_fetch_gets_allowed_pages_with_a_size_cap() {
    let port = serve().await;
    let b = Bench::new();
    // The user's copy of web_fetch, with the loopback server on its allowlist.
    let mut set = b.set();
    let dest = b.tools_dir().join("web_fetch");
    set.import(&b.builtin().join("web_fetch")).unwrap();
    let cfg_path = dest.join("config.json");
    let mut cfg: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&cfg_path).unwrap()).unwrap();
    cfg["validation_schema"]["url"]["allowed_domains"] = json!(["127.0.0.1"]);
    cfg["metadata"]["enabled"] = json!(true);
    std::fs::write(&cfg_path, cfg.to_string()).unwrap();
    let r = b.registry();

    let out = r
        .execute(&call(
            "web_fetch",
            json!({"url": format!("http://127.0.0.1:{port}/")}),
        ))
        .await;
    assert!(out.success, "{out:?}");
    assert_eq!(out.content["text"], "hello from loopback");
    assert_eq!(out.content["status"], 200);
    let out = r
        .execute(&call(
            "web_fetch",
            json!({"url": format!("http://127.0.0.1:{port}/big"), "max_bytes": 100}),
        ))
        .await;
    assert_eq!(out.content["text"].as_str().unwrap().len(), 100, "{out:?}");
    assert_eq!(out.content["truncated"], true);
    // Not on the allowlist: refused before running.
    let err = error_of(
        &r.execute(&call(
            "web_fetch",
            json!({"url": format!("http://localhost:{port}/")}),
        ))
        .await,
    );
    assert!(err.contains("not allowed"), "{err}");
    // An allowed page redirecting elsewhere: refused by the tool.
    let err = error_of(
        &r.execute(&call(
            "web_fetch",
            json!({"url": format!("http://127.0.0.1:{port}/redirect")}),
        ))
        .await,
    );
    assert!(err.contains("redirect"), "{err}");
}

#[tokio::test]
async fn memory_tools_store_and_find_facts_in_a_real_database() {
    let b = Bench::new();
    let store = llf_memory::MemoryStore::open(b.dir.path().join("memory.db"))
        .await
        .unwrap();
    let memory =
        llf_memory::MemoryContext::new(store, llf_config::schema::MemorySettings::default());
    let mut set = b.set();
    for t in llf_tools::memory::memory_tools(memory, false) {
        set.register_native(t);
    }
    let r = llf_tools::ToolRegistry::builder(set)
        .work_root(b.work())
        .build();
    let out = r
        .execute(&call(
            "memory_store",
            json!({"content": "The user's cat is called Miso"}),
        ))
        .await;
    assert!(out.success, "{out:?}");
    let out = r
        .execute(&call("memory_search", json!({"query": "cat name"})))
        .await;
    assert!(out.success, "{out:?}");
    let hits = out.content.as_array().unwrap();
    assert_eq!(hits.len(), 1, "{hits:?}");
    assert_eq!(hits[0]["content"], "The user's cat is called Miso");
    let err = error_of(
        &r.execute(&call("memory_store", json!({"content": ""})))
            .await,
    );
    assert!(err.contains("/content"), "{err}");
}

#[tokio::test]
async fn memory_writes_need_approval_by_default() {
    let b = Bench::new();
    let store = llf_memory::MemoryStore::open(b.dir.path().join("memory.db"))
        .await
        .unwrap();
    let memory = llf_memory::MemoryContext::new(
        store.clone(),
        llf_config::schema::MemorySettings::default(),
    );
    let approve = llf_config::schema::ToolsSettings::default().approve_memory_writes;
    assert!(approve);
    let mut set = b.set();
    for t in llf_tools::memory::memory_tools(memory.clone(), approve) {
        set.register_native(t);
    }
    // No one to ask (a non-interactive run): the write is refused and nothing is stored.
    let r = llf_tools::ToolRegistry::builder(set)
        .work_root(b.work())
        .build();
    let out = r
        .execute(&call("memory_store", json!({"content": "2024-03-01"})))
        .await;
    assert!(!out.success);
    assert!(error_of(&out).contains("did not approve"), "{out:?}");
    assert!(memory.recall("2024").await.unwrap().is_empty());
    // Reading needs no approval.
    let out = r
        .execute(&call("memory_search", json!({"query": "anything"})))
        .await;
    assert!(out.success, "{out:?}");
}
