//! Tools in five steps: load the built-in tools, register an in-process tool, run three calls
//! concurrently (validation → sandbox → audit), see a validation failure the model could fix, and
//! verify the audit log's hash chain.
//!
//! Run: `cargo run -p example-tools-basics`
#![allow(clippy::print_stdout)] // an example prints what it does

use std::sync::Arc;

use llf_core::tool::{ToolExecutor, ToolInvocation, ToolSpec};
use llf_tools::audit::AuditLog;
use llf_tools::{NativeTool, ToolRegistry, ToolSet, builtin, execute_batch};
use serde_json::{Value, json};

/// An in-process tool: no subprocess, but the same validation, rate limits and audit.
struct WordCount;

#[async_trait::async_trait]
impl NativeTool for WordCount {
    fn spec(&self) -> ToolSpec {
        ToolSpec {
            name: "word_count".into(),
            description: "Count the words of a text".into(),
            parameters: json!({
                "type": "object",
                "properties": {"text": {"type": "string"}},
                "required": ["text"]
            }),
        }
    }

    async fn call(&self, arguments: Value) -> Result<Value, String> {
        let text = arguments["text"].as_str().unwrap_or_default();
        Ok(json!(text.split_whitespace().count()))
    }
}

fn call(id: &str, name: &str, args: Value) -> ToolInvocation {
    ToolInvocation {
        call_id: id.into(),
        name: name.into(),
        arguments: args.to_string(),
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let home = tempfile::tempdir()?;
    // 1. The built-in tools (unpacked from the binary) plus an (empty) user tools directory.
    let builtin = builtin::install(&home.path().join("builtin"))?;
    let mut tools = ToolSet::load(&home.path().join("tools"), Some(&builtin))?;
    // 2. An in-process tool.
    tools.register_native(Arc::new(WordCount));
    let registry = ToolRegistry::builder(tools)
        .work_root(home.path().join("runs"))
        .audit(AuditLog::new(home.path().join("audit.jsonl"), 1 << 20, 3))
        .build();
    let names: Vec<String> = registry.specs().into_iter().map(|s| s.name).collect();
    println!("offered to the model: {}", names.join(", "));

    // 3. Three calls of one model turn, run concurrently, results in call order.
    let calls = [
        call("1", "calculator", json!({"expression": "2 * (3 + 4)"})),
        call(
            "2",
            "datetime",
            json!({"operation": "diff_days", "date": "2024-01-01", "other_date": "2024-12-25"}),
        ),
        call("3", "word_count", json!({"text": "tools run in a sandbox"})),
    ];
    for outcome in execute_batch(&registry, &calls).await {
        println!(
            "{:<11} {:>5} ms  {}",
            outcome.name,
            outcome.duration.as_millis(),
            outcome.to_message_content()
        );
    }

    // 4. A bad call comes back as a message the model can act on.
    let bad = registry
        .execute(&call(
            "4",
            "calculator",
            json!({"expression": "__import__('os')"}),
        ))
        .await;
    println!("invalid call -> {}", bad.to_message_content());

    // 5. Every event is in the audit log, hash-chained.
    let log = registry
        .audit_log()
        .ok_or_else(|| anyhow::anyhow!("no audit log"))?;
    let report = log.verify()?;
    println!("audit log: {} events, chain intact", report.lines);
    Ok(())
}
