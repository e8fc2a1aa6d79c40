//! `llf dev create-tool`: writes a new tool that works as generated — `config.json`,
//! `tool_definition.json`, the program, a README and `tests.json` — and runs a tool's tests
//! ([`run_tool_tests`]) through the same path the model's calls take.

use std::path::{Path, PathBuf};

use llf_core::tool::ToolInvocation;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::error::{Result, ToolError};
use crate::executor::ToolRegistry;
use crate::manifest::is_valid_name;

/// The language of a generated tool.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ToolLang {
    /// `execute.py` with `execute(params) -> dict`, run through LLF's Python runner.
    Python,
    /// An executable `run` shell script.
    Bash,
    /// A Cargo project (std only) built to `target/release/<name>` by [`build_rust_tool`].
    Rust,
}

/// One parameter of a generated tool.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ParamSpec {
    /// Name.
    pub name: String,
    /// JSON Schema type: `string`, `integer`, `number` or `boolean`.
    #[serde(rename = "type")]
    pub param_type: String,
    /// What it means.
    pub description: String,
    /// Must be given.
    pub required: bool,
}

impl ParamSpec {
    /// Parses `name:type[:description]`, e.g. `city:string:City name` (required unless the type
    /// ends with `?`, e.g. `units:string?`).
    pub fn parse(text: &str) -> Result<Self> {
        let mut parts = text.splitn(3, ':');
        let name = parts.next().unwrap_or_default().trim().to_owned();
        let ty = parts.next().unwrap_or("string").trim();
        let description = parts.next().unwrap_or("").trim().to_owned();
        let (ty, required) = match ty.strip_suffix('?') {
            Some(t) => (t, false),
            None => (ty, true),
        };
        if !is_valid_name(&name) {
            return Err(ToolError::Refused(format!(
                "parameter `{text}`: write it as name:type[:description], name of letters, digits and _"
            )));
        }
        if !matches!(ty, "string" | "integer" | "number" | "boolean") {
            return Err(ToolError::Refused(format!(
                "parameter `{name}`: type `{ty}` is not one of string, integer, number, boolean"
            )));
        }
        Ok(Self {
            description: if description.is_empty() {
                name.replace('_', " ")
            } else {
                description
            },
            name,
            param_type: ty.to_owned(),
            required,
        })
    }

    fn sample(&self) -> Value {
        match self.param_type.as_str() {
            "integer" => json!(1),
            "number" => json!(1.5),
            "boolean" => json!(true),
            _ => json!("example"),
        }
    }
}

/// What to generate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ToolTemplate {
    /// Tool name.
    pub name: String,
    /// Language.
    pub lang: ToolLang,
    /// Description for the model.
    pub description: String,
    /// Category.
    pub category: String,
    /// Parameters.
    pub params: Vec<ParamSpec>,
}

/// `tests.json` of a tool.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToolTests {
    /// The cases.
    pub cases: Vec<TestCase>,
}

/// One test case.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TestCase {
    /// Case name.
    pub name: String,
    /// Arguments sent.
    pub arguments: Value,
    /// Expected success.
    pub expect_success: bool,
    /// Expected result (compared when present).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expect_result: Option<Value>,
}

/// A case's outcome.
#[derive(Debug, Clone, PartialEq)]
pub struct TestResult {
    /// Case name.
    pub name: String,
    /// Passed.
    pub passed: bool,
    /// Why it failed.
    pub message: Option<String>,
}

/// Writes the tool into `tools_dir/<name>` and returns that directory.
pub fn create_tool(tools_dir: &Path, t: &ToolTemplate) -> Result<PathBuf> {
    if !is_valid_name(&t.name) {
        return Err(ToolError::Refused(format!(
            "`{}` is not a valid tool name: use letters, digits, `_` and `-`",
            t.name
        )));
    }
    let dir = tools_dir.join(&t.name);
    if dir.exists() {
        return Err(ToolError::Exists(t.name.clone()));
    }
    let mut properties = serde_json::Map::new();
    let mut required = Vec::new();
    for p in &t.params {
        properties.insert(
            p.name.clone(),
            json!({"type": p.param_type, "description": p.description}),
        );
        if p.required {
            required.push(Value::from(p.name.clone()));
        }
    }
    let mut config = json!({
        "name": t.name,
        "type": "llm_invokable",
        "description": t.description,
        "version": "0.1.0",
        "author": "",
        "metadata": {"category": t.category, "enabled": false},
        "requires_approval": false,
        "timeout": 30,
        "allow_sandbox": true
    });
    let definition = json!({
        "type": "function",
        "function": {
            "name": t.name,
            "description": t.description,
            "parameters": {"type": "object", "properties": properties, "required": required}
        }
    });
    let args: serde_json::Map<String, Value> = t
        .params
        .iter()
        .map(|p| (p.name.clone(), p.sample()))
        .collect();
    let key = match t.lang {
        ToolLang::Python => "echo",
        ToolLang::Bash | ToolLang::Rust => "received",
    };
    let tests = ToolTests {
        cases: vec![TestCase {
            name: "echoes its arguments".into(),
            arguments: Value::Object(args.clone()),
            expect_success: true,
            expect_result: Some(json!({ key: Value::Object(args) })),
        }],
    };
    if t.lang == ToolLang::Rust {
        config["executable"] = Value::from(format!("target/release/{}", t.name));
    }
    write(&dir.join("config.json"), &pretty(&config)?, 0o644)?;
    write(
        &dir.join("tool_definition.json"),
        &pretty(&definition)?,
        0o644,
    )?;
    write(
        &dir.join("tests.json"),
        &pretty(&serde_json::to_value(&tests).unwrap_or_default())?,
        0o644,
    )?;
    let (file, body, mode) = match t.lang {
        ToolLang::Python => ("execute.py", python_source(t), 0o644),
        ToolLang::Bash => ("run", bash_source(t), 0o755),
        ToolLang::Rust => {
            write(&dir.join("Cargo.toml"), &cargo_toml(t), 0o644)?;
            ("src/main.rs", rust_source(t), 0o644)
        }
    };
    write(&dir.join(file), &body, mode)?;
    write(&dir.join("README.md"), &readme(t, file), 0o644)?;
    Ok(dir)
}

fn pretty(v: &Value) -> Result<String> {
    serde_json::to_string_pretty(v)
        .map(|s| s + "\n")
        .map_err(|e| ToolError::Refused(format!("cannot serialise the tool files: {e}")))
}

fn write(path: &Path, text: &str, mode: u32) -> Result<()> {
    llf_core::fs::atomic_write(path, text.as_bytes(), mode)?;
    Ok(())
}

fn python_source(t: &ToolTemplate) -> String {
    format!(
        r#""""{name}: {description}

LLF calls execute(params) with the validated arguments and sends the returned dict to the model.
Return {{"success": True, "result": ...}} or {{"success": False, "error": "..."}}.
"""


def execute(params):
    # Replace this with the tool's work; print() output goes to LLF's log, not to the model.
    return {{"success": True, "result": {{"echo": params}}}}
"#,
        name = t.name,
        description = t.description
    )
}

fn bash_source(t: &ToolTemplate) -> String {
    format!(
        r#"#!/usr/bin/env bash
# {name}: {description}
#
# LLF writes the arguments as one JSON object on stdin and reads one JSON object from stdout:
# {{"success": true, "result": ...}} or {{"success": false, "error": "..."}}. Messages for the log
# go to stderr.
set -euo pipefail
input="$(cat)"
echo "{name} called" >&2
# Replace this with the tool's work.
printf '{{"success": true, "result": {{"received": %s}}}}\n' "$input"
"#,
        name = t.name,
        description = t.description
    )
}

fn cargo_toml(t: &ToolTemplate) -> String {
    format!(
        "[package]\nname = \"{name}\"\nversion = \"0.1.0\"\nedition = \"2024\"\npublish = false\n\n\
         # A tool of its own, not a member of any surrounding workspace.\n[workspace]\n\n\
         [dependencies]\n",
        name = t.name
    )
}

fn rust_source(t: &ToolTemplate) -> String {
    format!(
        r#"//! {name}: {description}
//!
//! LLF writes the arguments as one JSON object on stdin and reads one JSON object from stdout:
//! {{"success": true, "result": ...}} or {{"success": false, "error": "..."}}. Messages for the
//! log go to stderr. Rebuild after editing: cargo build --release

use std::io::Read;

fn main() {{
    let mut input = String::new();
    if let Err(e) = std::io::stdin().read_to_string(&mut input) {{
        println!("{{{{\"success\": false, \"error\": \"cannot read arguments: {{e}}\"}}}}");
        return;
    }}
    eprintln!("{name} called");
    // Replace this with the tool's work (add serde_json to Cargo.toml to parse the arguments).
    println!("{{{{\"success\": true, \"result\": {{{{\"received\": {{}}}}}}}}}}", input.trim());
}}
"#,
        name = t.name,
        description = t.description
    )
}

/// Builds a generated Rust tool (`cargo build --release --offline` into the tool's own
/// `target/`); returns cargo's error output on failure.
pub async fn build_rust_tool(dir: &Path) -> Result<()> {
    let out = tokio::process::Command::new("cargo")
        .args([
            "build",
            "--release",
            "--offline",
            "--quiet",
            "--manifest-path",
        ])
        .arg(dir.join("Cargo.toml"))
        .arg("--target-dir")
        .arg(dir.join("target"))
        .output()
        .await
        .map_err(|e| ToolError::io("running cargo for", dir, e))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(ToolError::Refused(format!(
            "building the tool failed (fix it and run `cargo build --release` in {}): {}",
            dir.display(),
            String::from_utf8_lossy(&out.stderr).trim()
        )))
    }
}

fn readme(t: &ToolTemplate, program: &str) -> String {
    let params: String = t
        .params
        .iter()
        .map(|p| {
            format!(
                "- `{}` ({}{}): {}\n",
                p.name,
                p.param_type,
                if p.required { ", required" } else { "" },
                p.description
            )
        })
        .collect();
    format!(
        "# {name}\n\n{description}\n\nCategory: {category}\n\n## Parameters\n\n{params}\n\
         ## Files\n\n- `config.json`: name, policy (approval, timeout, sandbox, rate limit, validation rules)\n\
         - `tool_definition.json`: the function definition the model sees\n\
         - `{program}`: the program\n- `tests.json`: test cases run by `llf tool test {name}`\n\n\
         ## Use\n\n```sh\nllf tool test {name}\nllf tool run {name} --args '{{...}}'\nllf tool enable {name}\n```\n",
        name = t.name,
        description = t.description,
        category = t.category,
    )
}

/// Runs the cases of `tests.json` through the registry (validation and sandbox included).
pub async fn run_tool_tests(registry: &ToolRegistry, name: &str) -> Result<Vec<TestResult>> {
    let entry = registry
        .tools()
        .get(name)
        .ok_or_else(|| ToolError::NotFound(name.to_owned()))?;
    let dir = entry.manifest().map(|m| m.dir.clone()).ok_or_else(|| {
        ToolError::Refused(format!("`{name}` is an in-process tool without tests.json"))
    })?;
    let path = dir.join("tests.json");
    if !path.exists() {
        return Err(ToolError::Refused(format!(
            "`{name}` has no tests.json; add one with {{\"cases\": [{{\"name\", \"arguments\", \"expect_success\"}}]}}"
        )));
    }
    let tests: ToolTests = crate::manifest::read_json(&path)?;
    let mut out = Vec::new();
    for (i, case) in tests.cases.iter().enumerate() {
        let call = ToolInvocation {
            call_id: format!("test-{i}"),
            name: name.to_owned(),
            arguments: case.arguments.to_string(),
        };
        let outcome = registry.run_named(&call).await;
        let message = if outcome.success != case.expect_success {
            Some(format!(
                "expected success={} but got {}",
                case.expect_success,
                outcome.to_message_content()
            ))
        } else if let Some(want) = &case.expect_result
            && outcome.success
            && &outcome.content != want
        {
            Some(format!(
                "expected result {want} but got {}",
                outcome.content
            ))
        } else {
            None
        };
        out.push(TestResult {
            name: case.name.clone(),
            passed: message.is_none(),
            message,
        });
    }
    Ok(out)
}
