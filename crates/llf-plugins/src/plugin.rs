//! The [`Plugin`] trait: hooks a chat turn calls, each answering with a [`Decision`].

use llf_core::chat::ChatMessage;
use llf_core::tool::{ToolInvocation, ToolOutcome};
use serde::{Deserialize, Serialize};

/// An error a plugin's hook returns (any error type).
pub type HookError = Box<dyn std::error::Error + Send + Sync>;

/// What a hook returns.
pub type HookResult<T> = Result<T, HookError>;

/// A hook's answer: go on, go on with a rewritten value, answer without calling the model or the
/// tool, or stop the turn with an error.
#[derive(Debug, Clone, PartialEq)]
pub enum Decision<R, S = R> {
    /// Leave the value as it is.
    Continue,
    /// Go on with this value instead (the next plugin sees it).
    Replace(R),
    /// Do not call the model (or the tool): this is the answer (or the tool's result).
    Skip(S),
    /// End the turn with this reason, reported as an error.
    Stop(String),
}

/// The hooks, by the names the Python-era plugins used (plus `on_token`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Hook {
    /// Before the prompt goes to the model: the messages.
    PreRequest,
    /// After the model answered: the answer's text.
    PostRequest,
    /// Before a tool runs: the call and its arguments.
    PreToolExecution,
    /// After a tool ran: its outcome.
    PostToolExecution,
    /// A message joined the conversation (the user's, the answer, a tool result).
    OnMessage,
    /// A piece of a streamed answer.
    OnToken,
    /// A turn failed.
    OnError,
    /// The plugin host started.
    OnStartup,
    /// The plugin host is shutting down.
    OnShutdown,
}

impl Hook {
    /// Every hook.
    pub const ALL: [Hook; 9] = [
        Hook::PreRequest,
        Hook::PostRequest,
        Hook::PreToolExecution,
        Hook::PostToolExecution,
        Hook::OnMessage,
        Hook::OnToken,
        Hook::OnError,
        Hook::OnStartup,
        Hook::OnShutdown,
    ];

    /// The hook's name (`pre_request`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            Hook::PreRequest => "pre_request",
            Hook::PostRequest => "post_request",
            Hook::PreToolExecution => "pre_tool_execution",
            Hook::PostToolExecution => "post_tool_execution",
            Hook::OnMessage => "on_message",
            Hook::OnToken => "on_token",
            Hook::OnError => "on_error",
            Hook::OnStartup => "on_startup",
            Hook::OnShutdown => "on_shutdown",
        }
    }

    /// The hook named `name`.
    pub fn from_name(name: &str) -> Option<Hook> {
        Hook::ALL.into_iter().find(|h| h.as_str() == name)
    }
}

impl std::fmt::Display for Hook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A plugin. Every hook has a default that continues, so a plugin implements only the hooks it
/// needs (and says which in [`Plugin::wants`], so the others cost nothing).
///
/// ```
/// use llf_plugins::{Decision, HookResult, Plugin};
/// use llf_core::chat::ChatMessage;
///
/// /// Adds a line to every prompt's last message.
/// struct Signature;
///
/// #[async_trait::async_trait]
/// impl Plugin for Signature {
///     fn name(&self) -> &str {
///         "signature"
///     }
///
///     async fn pre_request(
///         &self,
///         messages: &[ChatMessage],
///     ) -> HookResult<Decision<Vec<ChatMessage>, String>> {
///         let mut messages = messages.to_vec();
///         if let Some(last) = messages.last_mut() {
///             last.content.push_str("\n(Answer in English.)");
///         }
///         Ok(Decision::Replace(messages))
///     }
/// }
/// ```
#[async_trait::async_trait]
pub trait Plugin: Send + Sync {
    /// The plugin's name, in logs, statistics and errors.
    fn name(&self) -> &str;

    /// Whether the plugin implements `hook` (others are not called). All by default.
    fn wants(&self, hook: Hook) -> bool {
        let _ = hook;
        true
    }

    /// Before the prompt goes to the model. `Replace` rewrites the messages the model receives;
    /// `Skip` answers the turn with the given text without calling the model.
    async fn pre_request(
        &self,
        messages: &[ChatMessage],
    ) -> HookResult<Decision<Vec<ChatMessage>, String>> {
        let _ = messages;
        Ok(Decision::Continue)
    }

    /// After the model answered. `Replace` (or `Skip`) rewrites the answer that is saved and
    /// returned (the tokens already streamed are not taken back).
    async fn post_request(&self, answer: &str) -> HookResult<Decision<String>> {
        let _ = answer;
        Ok(Decision::Continue)
    }

    /// Before a tool runs. `Replace` rewrites its arguments (JSON text); `Skip` answers the call
    /// with the given result without running the tool.
    async fn pre_tool_execution(
        &self,
        call: &ToolInvocation,
    ) -> HookResult<Decision<String, serde_json::Value>> {
        let _ = call;
        Ok(Decision::Continue)
    }

    /// After a tool ran. `Replace` (or `Skip`) rewrites the outcome the model gets.
    async fn post_tool_execution(
        &self,
        outcome: &ToolOutcome,
    ) -> HookResult<Decision<ToolOutcome>> {
        let _ = outcome;
        Ok(Decision::Continue)
    }

    /// A message joined the conversation. `Stop` ends the turn.
    async fn on_message(&self, message: &ChatMessage) -> HookResult<Decision<()>> {
        let _ = message;
        Ok(Decision::Continue)
    }

    /// A piece of a streamed answer. `Replace` rewrites the piece shown (and saved).
    async fn on_token(&self, token: &str) -> HookResult<Decision<String>> {
        let _ = token;
        Ok(Decision::Continue)
    }

    /// A turn failed with `error` (its message).
    async fn on_error(&self, error: &str) -> HookResult<()> {
        let _ = error;
        Ok(())
    }

    /// The host started the plugin.
    async fn on_startup(&self) -> HookResult<()> {
        Ok(())
    }

    /// The host is shutting down.
    async fn on_shutdown(&self) -> HookResult<()> {
        Ok(())
    }
}
