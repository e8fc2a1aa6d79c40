//! Tools served by Model Context Protocol servers over stdio (`rmcp`). Each server declared in
//! `tools.mcp_servers` is started once; its tools join the registry as [`NativeTool`]s, so they
//! get the same validation, approval, rate limits and audit as local tools. The server runs as a
//! long-lived process of the user's choosing in the tool sandbox
//! ([`crate::sandbox::Sandbox::long_lived`]: `nobody` when LLF runs as root, namespaces, limits, no
//! network unless its entry says `network: true`), with an environment of only `PATH`, `HOME` and
//! the variables its entry declares.

use std::ffi::OsString;
use std::sync::Arc;
use std::time::Duration;

use llf_config::schema::McpServerSettings;
use llf_core::tool::ToolSpec;
use rmcp::model::{CallToolRequestParam, RawContent};
use rmcp::service::RunningService;
use rmcp::transport::TokioChildProcess;
use rmcp::{RoleClient, ServiceExt};
use serde_json::Value;

use crate::error::{Result, ToolError};
use crate::manifest::RateLimitConfig;
use crate::registry::NativeTool;
use crate::sandbox::Sandbox;

/// A running MCP server and the tools it offers.
pub struct McpServer {
    settings: McpServerSettings,
    service: Arc<RunningService<RoleClient, ()>>,
    tools: Vec<rmcp::model::Tool>,
    /// The server's private working directory, kept while it runs.
    _work: tempfile::TempDir,
}

impl std::fmt::Debug for McpServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("McpServer")
            .field("name", &self.settings.name)
            .field("tools", &self.tools.len())
            .finish_non_exhaustive()
    }
}

/// Whether `command` names an executable file: a path, or a name on the sandbox's `PATH`.
fn program_exists(command: &str) -> bool {
    use std::os::unix::fs::PermissionsExt;
    let runnable = |p: &std::path::Path| {
        std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
    };
    if command.contains('/') {
        return runnable(std::path::Path::new(command));
    }
    crate::sandbox::SAFE_PATH
        .split(':')
        .any(|dir| runnable(&std::path::Path::new(dir).join(command)))
}

impl McpServer {
    /// Starts the server in `sandbox`, performs the MCP handshake and lists its tools (within
    /// `timeout`).
    pub async fn connect(settings: &McpServerSettings, sandbox: &Sandbox) -> Result<Self> {
        let refused = |what: String| {
            ToolError::Refused(format!(
                "mcp server `{}` ({}): {what}",
                settings.name, settings.command
            ))
        };
        // The launcher would start even when the program does not exist; say so now instead of
        // failing the handshake.
        if !program_exists(&settings.command) {
            return Err(refused(format!(
                "cannot start it: `{}` is not an executable file (or not on PATH)",
                settings.command
            )));
        }
        let argv = std::iter::once(&settings.command)
            .chain(&settings.args)
            .map(OsString::from)
            .collect();
        let env: Vec<(String, String)> = settings
            .env
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        let (cmd, work) = sandbox
            .long_lived(argv, &env, settings.network)
            .await
            .map_err(|e| refused(format!("cannot prepare its sandbox: {e}")))?;
        let transport =
            TokioChildProcess::new(cmd).map_err(|e| refused(format!("cannot start it: {e}")))?;
        let limit = Duration::from_secs(settings.timeout.max(1));
        let service = tokio::time::timeout(limit, ().serve(transport))
            .await
            .map_err(|_| refused("no answer to the MCP handshake".into()))?
            .map_err(|e| refused(format!("handshake failed: {e}")))?;
        let tools = tokio::time::timeout(limit, service.list_all_tools())
            .await
            .map_err(|_| refused("no answer to tools/list".into()))?
            .map_err(|e| refused(format!("tools/list failed: {e}")))?;
        tracing::info!(server = %settings.name, tools = tools.len(), "mcp server connected");
        Ok(Self {
            settings: settings.clone(),
            service: Arc::new(service),
            tools,
            _work: work,
        })
    }

    /// The server's tools, ready for [`crate::ToolSet::register_native`].
    pub fn native_tools(&self) -> Vec<Arc<dyn NativeTool>> {
        self.tools
            .iter()
            .map(|t| {
                Arc::new(McpTool {
                    server: self.settings.clone(),
                    service: self.service.clone(),
                    spec: ToolSpec {
                        name: t.name.to_string(),
                        description: t
                            .description
                            .as_deref()
                            .map(str::to_owned)
                            .unwrap_or_default(),
                        parameters: Value::Object((*t.input_schema).clone()),
                    },
                }) as Arc<dyn NativeTool>
            })
            .collect()
    }
}

/// One tool of an MCP server.
struct McpTool {
    server: McpServerSettings,
    service: Arc<RunningService<RoleClient, ()>>,
    spec: ToolSpec,
}

#[async_trait::async_trait]
impl NativeTool for McpTool {
    fn spec(&self) -> ToolSpec {
        self.spec.clone()
    }

    fn requires_approval(&self) -> bool {
        self.server.requires_approval
    }

    fn rate_limit(&self) -> Option<RateLimitConfig> {
        self.server.requests_per_minute.map(|n| RateLimitConfig {
            enabled: true,
            requests_per_minute: n,
            burst_size: None,
        })
    }

    async fn call(&self, arguments: Value) -> std::result::Result<Value, String> {
        let request = CallToolRequestParam {
            name: self.spec.name.clone().into(),
            arguments: arguments.as_object().cloned(),
        };
        let limit = Duration::from_secs(self.server.timeout.max(1));
        let result = tokio::time::timeout(limit, self.service.call_tool(request))
            .await
            .map_err(|_| {
                format!(
                    "the mcp server `{}` did not answer within {} s",
                    self.server.name,
                    limit.as_secs()
                )
            })?
            .map_err(|e| format!("the mcp server `{}` failed: {e}", self.server.name))?;
        let text: Vec<String> = result
            .content
            .iter()
            .filter_map(|c| match &c.raw {
                RawContent::Text(t) => Some(t.text.clone()),
                _ => None,
            })
            .collect();
        let joined = text.join("\n");
        if result.is_error == Some(true) {
            return Err(if joined.is_empty() {
                "the tool reported an error".into()
            } else {
                joined
            });
        }
        Ok(match result.structured_content {
            Some(v) => v,
            // A text answer that is JSON is passed on as JSON.
            None => serde_json::from_str(&joined).unwrap_or(Value::String(joined)),
        })
    }
}
