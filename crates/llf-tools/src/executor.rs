//! [`ToolRegistry`]: the tool set plus everything a call goes through — validation, approval,
//! rate limit, the sandboxed (or in-process) run and the audit log. It implements
//! [`llf_core::tool::ToolExecutor`] for the runtime's tool-calling loop.

use std::collections::HashMap;
use std::num::NonZeroU32;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use llf_config::schema::ToolSandboxSettings;
use llf_core::tool::{ToolExecutor, ToolInvocation, ToolOutcome, ToolSpec};
use serde_json::{Value, json};

use crate::approval::{
    ApprovalDecision, ApprovalPrompt, ApprovalRequest, ApprovalStore, FixedApproval,
};
use crate::audit::{AuditEvent, AuditEventType, AuditLog};
use crate::manifest::{Launch, ToolManifest};
use crate::redact::redact_value;
use crate::registry::{ToolKind, ToolSet};
use crate::sandbox::{PYTHON_RUNNER, RunRequest, Sandbox};
use crate::validate::validate_arguments;

/// Builds a [`ToolRegistry`].
pub struct ToolRegistryBuilder {
    tools: ToolSet,
    sandbox: ToolSandboxSettings,
    work_root: PathBuf,
    allowed_roots: Vec<PathBuf>,
    audit: Option<AuditLog>,
    approvals: Option<ApprovalStore>,
    prompt: Arc<dyn ApprovalPrompt>,
}

impl ToolRegistryBuilder {
    /// Sandbox limits (default: `ToolSandboxSettings::default()`).
    pub fn sandbox(mut self, settings: ToolSandboxSettings) -> Self {
        self.sandbox = settings;
        self
    }

    /// Where per-run working directories are made (default: the system temp dir).
    pub fn work_root(mut self, dir: impl Into<PathBuf>) -> Self {
        self.work_root = dir.into();
        self
    }

    /// Directories path arguments must stay inside.
    pub fn allowed_roots(mut self, roots: Vec<PathBuf>) -> Self {
        self.allowed_roots = roots;
        self
    }

    /// Record events in this log.
    pub fn audit(mut self, log: AuditLog) -> Self {
        self.audit = Some(log);
        self
    }

    /// Remembered approvals (default: nothing remembered).
    pub fn approvals(mut self, store: ApprovalStore) -> Self {
        self.approvals = Some(store);
        self
    }

    /// Who decides about tools that need approval (default: deny).
    pub fn approval_prompt(mut self, prompt: Arc<dyn ApprovalPrompt>) -> Self {
        self.prompt = prompt;
        self
    }

    /// The registry.
    pub fn build(self) -> ToolRegistry {
        let mut limiters = HashMap::new();
        for t in self.tools.list() {
            let Some(rl) = t.rate_limit() else {
                continue;
            };
            let Some(rate) = NonZeroU32::new(rl.requests_per_minute) else {
                continue;
            };
            if !rl.enabled {
                continue;
            }
            let burst = rl.burst_size.and_then(NonZeroU32::new).unwrap_or(rate);
            limiters.insert(
                t.name.clone(),
                RateLimiter::direct(Quota::per_minute(rate).allow_burst(burst)),
            );
        }
        ToolRegistry {
            tools: self.tools,
            sandbox: Sandbox::new(self.sandbox, self.work_root),
            allowed_roots: self.allowed_roots,
            audit: self.audit,
            approvals: self.approvals,
            prompt: self.prompt,
            limiters,
        }
    }
}

/// Tools ready to run. See the crate docs for an example.
pub struct ToolRegistry {
    tools: ToolSet,
    sandbox: Sandbox,
    allowed_roots: Vec<PathBuf>,
    audit: Option<AuditLog>,
    approvals: Option<ApprovalStore>,
    prompt: Arc<dyn ApprovalPrompt>,
    limiters: HashMap<String, DefaultDirectRateLimiter>,
}

impl std::fmt::Debug for ToolRegistry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ToolRegistry")
            .field("tools", &self.tools)
            .field("allowed_roots", &self.allowed_roots)
            .finish_non_exhaustive()
    }
}

impl ToolRegistry {
    /// A builder over a loaded tool set.
    pub fn builder(tools: ToolSet) -> ToolRegistryBuilder {
        ToolRegistryBuilder {
            tools,
            sandbox: ToolSandboxSettings::default(),
            work_root: std::env::temp_dir(),
            allowed_roots: Vec::new(),
            audit: None,
            approvals: None,
            prompt: Arc::new(FixedApproval(ApprovalDecision::Deny)),
        }
    }

    /// The tool set.
    pub fn tools(&self) -> &ToolSet {
        &self.tools
    }

    /// The sandbox.
    pub fn sandbox(&self) -> &Sandbox {
        &self.sandbox
    }

    /// The audit log, if any.
    pub fn audit_log(&self) -> Option<&AuditLog> {
        self.audit.as_ref()
    }

    /// Runs a tool by name even when it is disabled (for `llf tool run` and tests).
    pub async fn run_named(&self, call: &ToolInvocation) -> ToolOutcome {
        self.execute_inner(call, true).await
    }

    async fn audit(&self, event_type: AuditEventType, tool: &str, details: Value) {
        if let Some(log) = &self.audit
            && let Err(e) = log.record(AuditEvent::new(event_type, tool, details)).await
        {
            tracing::error!(error = %e, "cannot write the audit log");
        }
    }

    async fn execute_inner(&self, call: &ToolInvocation, allow_disabled: bool) -> ToolOutcome {
        let started = Instant::now();
        let fail = |msg: String| ToolOutcome::failure(call, msg, started.elapsed());
        let entry = match self.tools.get(&call.name) {
            Some(e) if e.enabled || allow_disabled => e,
            _ => {
                let names: Vec<&str> = self
                    .tools
                    .list()
                    .filter(|t| t.enabled)
                    .map(|t| t.name.as_str())
                    .collect();
                self.audit(
                    AuditEventType::ToolBlocked,
                    &call.name,
                    json!({"call_id": call.call_id, "reason": "unknown or disabled tool"}),
                )
                .await;
                return fail(format!(
                    "unknown tool `{}`; available tools: {}",
                    call.name,
                    names.join(", ")
                ));
            }
        };
        let raw = if call.arguments.trim().is_empty() {
            "{}"
        } else {
            call.arguments.as_str()
        };
        let args: Value = match serde_json::from_str(raw) {
            Ok(v) => v,
            Err(e) => {
                self.audit(
                    AuditEventType::ValidationFailed,
                    &call.name,
                    json!({"call_id": call.call_id, "error": "arguments are not valid JSON"}),
                )
                .await;
                return fail(format!(
                    "arguments are not valid JSON ({e}); send a JSON object matching the tool's parameters"
                ));
            }
        };
        let redacted = redact_value(&args);
        let rules = entry
            .manifest()
            .map(|m| m.config.validation_schema.clone())
            .unwrap_or_default();
        let args =
            match validate_arguments(&entry.spec.parameters, &rules, &self.allowed_roots, &args) {
                Ok(a) => a,
                Err(msg) => {
                    self.audit(
                        AuditEventType::ValidationFailed,
                        &call.name,
                        json!({"call_id": call.call_id, "arguments": redacted, "error": msg}),
                    )
                    .await;
                    return fail(msg);
                }
            };
        let needs_approval = entry.needs_approval();
        if needs_approval && !self.approved(entry, call, &redacted).await {
            return fail(format!(
                "the user did not approve running `{}`; do not retry it, answer without it",
                call.name
            ));
        }
        if let Some(limiter) = self.limiters.get(&call.name)
            && let Err(not_until) = limiter.check()
        {
            let wait = not_until.wait_time_from(governor::clock::Clock::now(
                &governor::clock::DefaultClock::default(),
            ));
            self.audit(
                AuditEventType::RateLimitExceeded,
                &call.name,
                json!({"call_id": call.call_id, "retry_after_ms": wait.as_millis() as u64}),
            )
            .await;
            return fail(format!(
                "rate limit of `{}` reached; retry in {:.1} s",
                call.name,
                wait.as_secs_f64()
            ));
        }
        let outcome = match &entry.kind {
            ToolKind::Native(tool) => match tool.call(args).await {
                Ok(v) => ToolOutcome {
                    call_id: call.call_id.clone(),
                    name: call.name.clone(),
                    success: true,
                    content: v,
                    duration: started.elapsed(),
                },
                Err(e) => fail(e),
            },
            ToolKind::External(m) => self.run_external(m, call, &args, started).await,
        };
        self.audit(
            AuditEventType::ToolExecution,
            &call.name,
            json!({
                "call_id": call.call_id,
                "arguments": redacted,
                "success": outcome.success,
                "duration_ms": outcome.duration.as_millis() as u64,
                "error": if outcome.success { Value::Null } else { outcome.content.get("error").cloned().unwrap_or(Value::Null) },
            }),
        )
        .await;
        outcome
    }

    async fn approved(
        &self,
        entry: &crate::registry::ToolEntry,
        call: &ToolInvocation,
        redacted: &Value,
    ) -> bool {
        if self
            .approvals
            .as_ref()
            .is_some_and(|s| s.is_approved(&call.name))
        {
            return true;
        }
        let request = ApprovalRequest {
            tool: call.name.clone(),
            description: entry.spec.description.clone(),
            arguments: redacted.clone(),
        };
        let decision = self.prompt.ask(&request).await;
        if let Some(store) = &self.approvals
            && let Err(e) = store.remember(&call.name, decision)
        {
            tracing::error!(error = %e, "cannot save the approval");
        }
        let kind = if decision == ApprovalDecision::Deny {
            AuditEventType::ToolBlocked
        } else {
            AuditEventType::Approval
        };
        self.audit(
            kind,
            &call.name,
            json!({"call_id": call.call_id, "decision": decision}),
        )
        .await;
        decision != ApprovalDecision::Deny
    }

    async fn run_external(
        &self,
        m: &ToolManifest,
        call: &ToolInvocation,
        args: &Value,
        started: Instant,
    ) -> ToolOutcome {
        let fail = |msg: String| ToolOutcome::failure(call, msg, started.elapsed());
        let settings = self.sandbox.settings();
        let timeout = Duration::from_secs(
            m.config
                .timeout_secs()
                .map_or(settings.timeout, |t| t.min(settings.timeout))
                .max(1),
        );
        let argv = match &m.launch {
            Launch::Program(p) => vec![p.clone().into_os_string()],
            Launch::PythonExecute(p) => vec![
                "python3".into(),
                "-c".into(),
                PYTHON_RUNNER.into(),
                p.clone().into_os_string(),
            ],
        };
        let roots: Vec<String> = self
            .allowed_roots
            .iter()
            .filter_map(|r| r.canonicalize().ok())
            .map(|r| r.to_string_lossy().into_owned())
            .collect();
        let req = RunRequest {
            argv,
            tool_dir: m.dir.clone(),
            stdin: args.to_string().into_bytes(),
            timeout,
            isolate: m.config.allow_sandbox,
            network: m.config.requires_network,
            env: vec![
                ("LLF_TOOL_NAME".into(), m.config.name.clone()),
                ("LLF_TOOL_ROOTS".into(), roots.join(":")),
            ],
        };
        let report = match self.sandbox.run(req).await {
            Ok(r) => r,
            Err(e) => return fail(format!("the tool could not be started: {e}")),
        };
        if !report.stderr.is_empty() {
            let tail: String = report.stderr.chars().take(4000).collect();
            tracing::debug!(tool = %m.config.name, stderr = %tail, "tool stderr");
        }
        if let Some(v) = report.violation {
            let message = v.describe(settings, timeout);
            self.audit(
                AuditEventType::SandboxViolation,
                &m.config.name,
                json!({"call_id": call.call_id, "violation": v, "message": message, "signal": report.signal}),
            )
            .await;
            return fail(message);
        }
        let text = String::from_utf8_lossy(&report.stdout);
        let parsed: Option<Value> = serde_json::from_str(text.trim()).ok();
        match parsed {
            Some(Value::Object(obj)) => {
                let success = obj.get("success").and_then(Value::as_bool).unwrap_or(false);
                let content = if success {
                    obj.get("result").cloned().unwrap_or(Value::Null)
                } else {
                    json!({"error": obj.get("error").cloned().unwrap_or_else(|| Value::from("the tool reported a failure without an error message"))})
                };
                ToolOutcome {
                    call_id: call.call_id.clone(),
                    name: call.name.clone(),
                    success,
                    content,
                    duration: started.elapsed(),
                }
            }
            _ => {
                let code = report.code.map_or_else(
                    || format!("signal {}", report.signal.unwrap_or(0)),
                    |c| format!("exit code {c}"),
                );
                let last = report.stderr.lines().last().unwrap_or("").to_owned();
                fail(format!(
                    "the tool did not print a JSON object ({code}){}",
                    if last.is_empty() {
                        String::new()
                    } else {
                        format!(": {last}")
                    }
                ))
            }
        }
    }
}

#[async_trait::async_trait]
impl ToolExecutor for ToolRegistry {
    fn specs(&self) -> Vec<ToolSpec> {
        self.tools
            .list()
            .filter(|t| t.enabled)
            .map(|t| t.spec.clone())
            .collect()
    }

    async fn execute(&self, call: &ToolInvocation) -> ToolOutcome {
        self.execute_inner(call, false).await
    }
}

/// Runs several calls concurrently and returns their outcomes in call order.
pub async fn execute_batch<E: ToolExecutor + ?Sized>(
    executor: &E,
    calls: &[ToolInvocation],
) -> Vec<ToolOutcome> {
    futures::future::join_all(calls.iter().map(|c| executor.execute(c))).await
}
