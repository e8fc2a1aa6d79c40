//! Tools for LLF models: a registry of tools on disk and in process, argument validation, a
//! sandbox for external tool programs, per-tool rate limits, approval and a tamper-evident audit
//! log.
//!
//! - [`ToolSet`]: the tools found in the user's tools directory and the built-in tools embedded in
//!   LLF ([`builtin::install`] unpacks them), plus [`NativeTool`]s registered in process. Each external
//!   tool is a directory with `config.json`, `tool_definition.json` (an OpenAI function definition)
//!   and a program that reads JSON arguments on stdin and prints one JSON object
//!   (`{"success": true, "result": …}` or `{"success": false, "error": …}`); Python-era
//!   `execute.py` tools run through LLF's Python runner.
//! - [`ToolRegistry`]: implements [`llf_core::tool::ToolExecutor`]; every call goes validation
//!   ([`validate`]) → approval ([`approval`]) → rate limit → sandboxed run ([`sandbox`]) → audit
//!   ([`audit`]). A failure at any step is a failed `ToolOutcome` the model can read.
//! - [`execute_batch`]: several calls of one model turn in parallel, results in call order.
//! - [`scaffold`]: writes a new working tool with a README and a test.
//! - `mcp` (feature `mcp`, on by default): tools of Model Context Protocol servers over stdio.
//! - `memory` (feature `memory`, on by default): `memory_store` / `memory_search` over llf-memory.
//!
//! # Example
//!
//! ```
//! use llf_core::tool::{ToolExecutor, ToolInvocation};
//! use llf_tools::{ToolRegistry, ToolSet, builtin};
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let home = tempfile::tempdir()?;
//! let builtin = builtin::install(&home.path().join("builtin"))?;
//! let mut tools = ToolSet::load(&home.path().join("tools"), Some(&builtin))?;
//! tools.set_enabled("calculator", true)?;
//! let registry = ToolRegistry::builder(tools).build();
//! let call = ToolInvocation {
//!     call_id: "1".into(),
//!     name: "calculator".into(),
//!     arguments: r#"{"expression": "2 * (3 + 4)"}"#.into(),
//! };
//! let outcome = registry.execute(&call).await;
//! assert!(outcome.success);
//! assert_eq!(outcome.content, serde_json::json!(14));
//! # Ok(())
//! # }
//! ```
#![doc(test(attr(deny(warnings))))]

pub mod approval;
pub mod audit;
pub mod builtin;
mod error;
mod executor;
pub mod manifest;
#[cfg(feature = "mcp")]
pub mod mcp;
#[cfg(feature = "memory")]
pub mod memory;
pub mod redact;
mod registry;
pub mod sandbox;
pub mod scaffold;
pub mod validate;

pub use error::{Result, ToolError};
pub use executor::{ToolRegistry, ToolRegistryBuilder, execute_batch};
pub use registry::{LoadProblem, NativeTool, ToolEntry, ToolKind, ToolSet, ToolSource};
