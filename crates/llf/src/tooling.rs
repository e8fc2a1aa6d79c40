//! Tools wired to the configuration: where the tools, the audit log, the remembered approvals,
//! the sandboxes' working directories and the MCP servers' home live, and the registry a chat
//! (or `llf tool run`) executes calls through.

use std::path::PathBuf;
use std::sync::Arc;

use llf_tools::approval::{ApprovalPrompt, ApprovalStore};
use llf_tools::audit::{AuditEvent, AuditEventType, AuditLog};
use llf_tools::{ToolRegistry, ToolSet};

use crate::{Llf, Result};

impl Llf {
    /// The directory of the built-in tools: `tools.builtin_dir` when configured, else the tools
    /// shipped inside LLF, unpacked once under the cache directory.
    pub fn builtin_tools_dir(&self) -> Result<PathBuf> {
        match &self.config().tools.builtin_dir {
            Some(d) => Ok(d.clone()),
            None => Ok(llf_tools::builtin::install(
                &self.locations().builtin_tools(),
            )?),
        }
    }

    /// The external tools: the built-in ones and the user's (user wins). Tool directories that
    /// cannot be loaded are logged as warnings and listed in [`ToolSet::problems`].
    pub fn tool_set(&self) -> Result<ToolSet> {
        let set = ToolSet::load(&self.locations().tools(), Some(&self.builtin_tools_dir()?))?;
        for p in set.problems() {
            tracing::warn!(dir = %p.dir.display(), "{}", p.message);
        }
        Ok(set)
    }

    /// [`Llf::tool_set`] plus the in-process tools: `memory_store` and `memory_search` (once a
    /// memory database exists) and the tools of the configured MCP servers. An MCP server that
    /// does not start is logged and skipped, so the other tools stay usable.
    pub async fn full_tool_set(&self) -> Result<ToolSet> {
        #[allow(unused_mut)] // mutated only with the `memory` feature
        let mut set = self.tool_set()?;
        #[cfg(feature = "memory")]
        if let Some(store) = self.memory_if_exists().await? {
            let memory =
                llf_memory::MemoryContext::new(store.clone(), self.config().memory.clone());
            let approve = self.config().tools.approve_memory_writes;
            for tool in llf_tools::memory::memory_tools(memory, approve) {
                set.register_native(tool);
            }
        }
        let servers = &self.config().tools.mcp_servers;
        if !servers.is_empty() {
            let sandbox = self.sandbox();
            for server in servers {
                match llf_tools::mcp::McpServer::connect(server, &sandbox).await {
                    Ok(mcp) => {
                        for tool in mcp.native_tools() {
                            set.register_native(tool);
                        }
                    }
                    Err(e) => {
                        tracing::warn!(server = %server.name, error = %e, "MCP server unavailable")
                    }
                }
            }
        }
        Ok(set)
    }

    /// The sandbox external tools, MCP servers and plugins run in, with the configured limits.
    pub fn sandbox(&self) -> llf_tools::sandbox::Sandbox {
        llf_tools::sandbox::Sandbox::new(
            self.config().tool_sandbox.clone(),
            self.locations().tool_runs(),
        )
    }

    /// The hash-chained audit log of tool activity.
    pub fn audit_log(&self) -> AuditLog {
        let t = &self.config().tools;
        AuditLog::new(
            self.locations().audit_log(),
            t.audit_max_kb * 1024,
            t.audit_keep_files,
        )
    }

    /// The remembered "always" approvals.
    pub fn approval_store(&self) -> Result<ApprovalStore> {
        Ok(ApprovalStore::load(self.locations().tool_approvals())?)
    }

    /// Records a change of tool configuration (import, enable, remove, revoked approval) in the
    /// audit log.
    pub async fn audit_config_change(&self, tool: &str, change: &str) -> Result<()> {
        self.audit_log()
            .record(AuditEvent::new(
                AuditEventType::ConfigChanged,
                tool,
                serde_json::json!({ "change": change }),
            ))
            .await?;
        Ok(())
    }

    /// The registry that runs tool calls (validation → approval through `prompt` → rate limit →
    /// sandbox → audit) over [`Llf::full_tool_set`], with the configured limits.
    pub async fn tool_registry(&self, prompt: Arc<dyn ApprovalPrompt>) -> Result<ToolRegistry> {
        let cfg = self.config();
        Ok(ToolRegistry::builder(self.full_tool_set().await?)
            .sandbox(cfg.tool_sandbox.clone())
            .work_root(self.locations().tool_runs())
            .allowed_roots(cfg.tools.allowed_roots.clone())
            .audit(self.audit_log())
            .approvals(self.approval_store()?)
            .approval_prompt(prompt)
            .build())
    }
}
