//! A tool call through LLF (JSON Schema + rule validation, launcher chain with rlimits, user and
//! network namespaces, root drop, process group, output parsing) against the baseline of starting
//! the same tool program directly with `std::process::Command`.
//!
//! Run: `cargo bench -p llf-benches --bench tools`
#![allow(missing_docs, clippy::unwrap_used, clippy::print_stdout)] // bench harness code

use std::io::Write;
use std::process::{Command, Stdio};

use llf_benches::{measure, report};
use llf_core::tool::{ToolExecutor, ToolInvocation};
use llf_tools::{ToolRegistry, ToolSet, builtin};

const ARGS: &str = r#"{"expression": "2 * (3 + 4)"}"#;

fn main() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let home = tempfile::tempdir().unwrap();
    let builtin = builtin::install(&home.path().join("builtin")).unwrap();
    let program = builtin.join("calculator/run");

    let baseline = measure(40, || {
        let mut child = Command::new(&program)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(ARGS.as_bytes())
            .unwrap();
        let out = child.wait_with_output().unwrap();
        assert!(String::from_utf8_lossy(&out.stdout).contains("14"));
    });

    // A user copy of the calculator without its rate limit, which a tight loop would hit.
    let user = home.path().join("tools");
    let mut tools = ToolSet::load(&user, None).unwrap();
    tools.import(&builtin.join("calculator")).unwrap();
    let cfg = user.join("calculator/config.json");
    let mut v: serde_json::Value = serde_json::from_slice(&std::fs::read(&cfg).unwrap()).unwrap();
    v.as_object_mut().unwrap().remove("rate_limit");
    std::fs::write(&cfg, v.to_string()).unwrap();
    let tools = ToolSet::load(&user, None).unwrap();
    let registry = ToolRegistry::builder(tools)
        .work_root(home.path().join("runs"))
        .build();
    let call = ToolInvocation {
        call_id: "b".into(),
        name: "calculator".into(),
        arguments: ARGS.into(),
    };
    let llf = measure(40, || {
        let outcome = rt.block_on(registry.execute(&call));
        assert!(outcome.success, "{outcome:?}");
    });
    report("sandboxed tool call (calculator)", baseline, llf);

    // A shell tool that does nothing: the fixed cost of the launcher chain shows plainly.
    let dir = user.join("noop");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("config.json"),
        r#"{"name": "noop", "metadata": {"enabled": true}}"#,
    )
    .unwrap();
    std::fs::write(
        dir.join("tool_definition.json"),
        r#"{"type": "function", "function": {"name": "noop", "parameters": {"type": "object"}}}"#,
    )
    .unwrap();
    let noop = dir.join("run");
    std::fs::write(
        &noop,
        "#!/bin/sh\ncat > /dev/null\necho '{\"success\": true, \"result\": 1}'\n",
    )
    .unwrap();
    std::fs::set_permissions(&noop, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let baseline = measure(100, || {
        let mut child = Command::new(&noop)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        child.stdin.take().unwrap().write_all(b"{}").unwrap();
        assert!(child.wait_with_output().unwrap().status.success());
    });
    let registry = ToolRegistry::builder(ToolSet::load(&user, None).unwrap())
        .work_root(home.path().join("runs"))
        .build();
    let call = ToolInvocation {
        call_id: "n".into(),
        name: "noop".into(),
        arguments: "{}".into(),
    };
    let llf = measure(100, || {
        let outcome = rt.block_on(registry.execute(&call));
        assert!(outcome.success, "{outcome:?}");
    });
    report("sandboxed tool call (no-op shell tool)", baseline, llf);
}
