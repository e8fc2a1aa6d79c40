//! [`PluginTools`]: a tool executor whose calls pass through the plugins' tool hooks.

use std::sync::{Arc, Mutex};
use std::time::Instant;

use llf_core::tool::{ToolExecutor, ToolInvocation, ToolOutcome, ToolSpec};

use crate::error::PluginError;
use crate::host::{Flow, PluginHost};

/// Runs tool calls through `pre_tool_execution` (rewrite the arguments, answer in the tool's
/// place, or stop) and `post_tool_execution` (rewrite the outcome) around another executor.
///
/// A tool call never fails the tool loop, so a plugin that stops the turn (or a required plugin
/// that fails) answers the call with a failure and leaves its error in [`PluginTools::take_stop`],
/// which the turn checks after each round of calls.
pub struct PluginTools {
    inner: Arc<dyn ToolExecutor>,
    host: std::sync::RwLock<PluginHost>,
    stop: Mutex<Option<PluginError>>,
}

impl PluginTools {
    /// Wraps `inner`.
    pub fn new(inner: Arc<dyn ToolExecutor>, host: PluginHost) -> Self {
        Self {
            inner,
            host: std::sync::RwLock::new(host),
            stop: Mutex::new(None),
        }
    }

    /// Runs the calls from now on through `host` (after the plugins were reloaded).
    pub fn set_host(&self, host: PluginHost) {
        *self.host.write().unwrap_or_else(|p| p.into_inner()) = host;
    }

    fn host(&self) -> PluginHost {
        self.host.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// The error that stopped a call since the last time this was asked, if any.
    pub fn take_stop(&self) -> Option<PluginError> {
        self.stop.lock().unwrap_or_else(|p| p.into_inner()).take()
    }

    fn stopped(&self, call: &ToolInvocation, error: PluginError, started: Instant) -> ToolOutcome {
        let outcome = ToolOutcome::failure(call, error.to_string(), started.elapsed());
        let mut slot = self.stop.lock().unwrap_or_else(|p| p.into_inner());
        slot.get_or_insert(error);
        outcome
    }
}

#[async_trait::async_trait]
impl ToolExecutor for PluginTools {
    fn specs(&self) -> Vec<ToolSpec> {
        self.inner.specs()
    }

    async fn execute(&self, call: &ToolInvocation) -> ToolOutcome {
        let started = Instant::now();
        let host = self.host();
        let outcome = match host.pre_tool_execution(call.clone()).await {
            Ok(Flow::Go(call)) => self.inner.execute(&call).await,
            Ok(Flow::Skip { value, .. }) => ToolOutcome {
                call_id: call.call_id.clone(),
                name: call.name.clone(),
                // A guard that answers with `{"error": …}` reports a failed call.
                success: value.get("error").is_none(),
                content: value,
                duration: started.elapsed(),
            },
            Err(e) => return self.stopped(call, e, started),
        };
        match host.post_tool_execution(outcome).await {
            Ok(outcome) => outcome,
            Err(e) => self.stopped(call, e, started),
        }
    }
}
