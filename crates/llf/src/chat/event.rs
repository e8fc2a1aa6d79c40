//! What a turn reports while it runs.

use std::time::Duration;

use llf_core::chat::{Role, ToolCall};
use llf_core::context::ContextItem;
use llf_core::tool::ToolOutcome;
use llf_runtime::Completion;
use llf_runtime::server::StartPhase;

use crate::Error;

/// One event of a turn ([`crate::chat::Chat::send`] and friends), in the order things happen.
///
/// A turn ends with exactly one of [`TurnEvent::Done`], [`TurnEvent::Failed`] or
/// [`TurnEvent::Cancelled`]; every message it saved was announced by a [`TurnEvent::Saved`]
/// before the turn moved on.
#[derive(Debug)]
#[non_exhaustive]
pub enum TurnEvent {
    /// The local server is starting (the first turn of a chat whose server was not running).
    ServerStarting {
        /// The server's name.
        server: String,
        /// How far it got.
        phase: StartPhase,
    },
    /// Routing chose this local server for the message (`multi_model.routing_strategy`).
    Routed {
        /// The server.
        server: String,
    },
    /// A context provider (memory, retrieval, or one of an embedder's) added to the prompt.
    Context {
        /// The provider's name (`memory`, `rag`, …).
        provider: String,
        /// The prompt section's title.
        title: String,
        /// What it added, most relevant first, with citations.
        items: Vec<ContextItem>,
        /// How long it took.
        elapsed: Duration,
    },
    /// The prompt is built and about to be sent.
    PromptReady {
        /// Messages in the request.
        messages: usize,
        /// Its tokens, when counted exactly.
        prompt_tokens: Option<usize>,
        /// Oldest messages dropped to fit the context window.
        trimmed: usize,
        /// Time spent building it (context providers, counting).
        elapsed: Duration,
    },
    /// A message is in the history (before the turn went on).
    Saved(SavedMessage),
    /// A piece of the answer.
    Token(String),
    /// The model asked for a tool call; it runs next (after approval when the tool needs it).
    ToolCall(ToolCall),
    /// The user (or the approval policy) decided on a call that needs approval.
    ToolApproval {
        /// The tool.
        tool: String,
        /// Whether it may run.
        approved: bool,
    },
    /// A tool call finished (successfully or not: a failure is information the model gets).
    ToolResult(ToolOutcome),
    /// The turn is over.
    Done(Box<TurnSummary>),
    /// The turn failed; what arrived before is kept (and saved when the chat is saved).
    Failed {
        /// What went wrong.
        error: Error,
        /// The text of the answer received before the failure.
        partial: String,
    },
    /// The turn was cancelled (the stream was dropped or [`crate::chat::TurnStream::cancel`]
    /// called); what arrived is kept.
    Cancelled {
        /// The text of the answer received before the cancellation.
        partial: String,
    },
}

/// A message the turn saved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SavedMessage {
    /// The conversation.
    pub conversation: String,
    /// The message's id in the history.
    pub id: i64,
    /// Who wrote it.
    pub role: Role,
    /// Whether the message is complete (`false` for an answer still streaming; it is saved again
    /// as it grows and sealed at the end).
    pub complete: bool,
}

/// The end of a successful turn.
#[derive(Debug, Clone)]
pub struct TurnSummary {
    /// The answer.
    pub answer: String,
    /// The model request that produced the answer: model, usage, timings.
    pub completion: Completion,
    /// Every tool call of the turn with its outcome, in order.
    pub tool_outcomes: Vec<ToolOutcome>,
    /// Model requests made (more than one when tools were called).
    pub rounds: usize,
    /// Time spent building the prompt.
    pub prompt_build: Duration,
    /// The conversation the turn was saved in.
    pub conversation: Option<String>,
    /// The saved answer's id.
    pub answer_id: Option<i64>,
}
