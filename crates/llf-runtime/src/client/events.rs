//! What a chat request produces: streamed events, and the final completion with its metrics.

use std::time::Duration;

use llf_core::chat::ToolCall;
use serde::Serialize;

pub use super::wire::Usage;
use super::wire::{Response, WireToolCall};
use crate::RuntimeError;

/// One event of a streamed answer.
#[derive(Debug)]
#[non_exhaustive]
pub enum ChatEvent {
    /// A piece of the answer's text.
    Token(String),
    /// A piece of a tool call: `arguments` arrive in fragments to be concatenated per `index`.
    ToolCallDelta {
        /// Which call of this answer.
        index: usize,
        /// The call id (first fragment only).
        id: Option<String>,
        /// The tool name (first fragment only).
        name: Option<String>,
        /// A fragment of the JSON arguments.
        arguments: String,
    },
    /// Token counts, as reported by the server.
    Usage(Usage),
    /// The answer is complete. Always the last event of a successful stream.
    Done(Completion),
    /// The stream failed; the last event. Text received before it is in `partial`.
    Error {
        /// What went wrong.
        error: RuntimeError,
        /// What had arrived before the failure.
        partial: Box<Completion>,
    },
}

/// Timings of one request.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Metrics {
    /// Time spent waiting in the request queue.
    pub queue_wait: Duration,
    /// Time from sending the request to the first token (to the response when not streaming).
    pub time_to_first_token: Duration,
    /// Time from sending the request to the end of the answer.
    pub total: Duration,
    /// Generated tokens per second after the first token.
    pub tokens_per_second: f64,
}

/// A finished answer.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Completion {
    /// The model that answered.
    pub model: String,
    /// The text.
    pub content: String,
    /// Tool calls the model asked for, in order.
    pub tool_calls: Vec<ToolCall>,
    /// Why generation stopped (`stop`, `length`, `tool_calls`), when the server said.
    pub finish_reason: Option<String>,
    /// Token counts: the server's when it reported them, else counted (see `usage_reported`).
    pub usage: Usage,
    /// Whether `usage` came from the server.
    pub usage_reported: bool,
    /// Timings.
    pub metrics: Metrics,
}

/// Builds a [`Completion`] from streamed chunks.
#[derive(Debug, Default)]
pub(crate) struct Accumulator {
    pub(crate) completion: Completion,
    /// Number of content pieces: llama-server sends one token per piece, so this counts tokens
    /// when the server reports no usage.
    pieces: u64,
    calls: Vec<ToolCall>,
}

impl Accumulator {
    pub(crate) fn new(model: String) -> Self {
        Self {
            completion: Completion {
                model,
                ..Completion::default()
            },
            ..Self::default()
        }
    }

    /// Folds one chunk in and returns the events it carries.
    pub(crate) fn apply(&mut self, chunk: Response) -> Vec<ChatEvent> {
        let mut events = Vec::new();
        for choice in chunk.choices {
            if let Some(delta) = choice.delta {
                if let Some(text) = delta.content.filter(|t| !t.is_empty()) {
                    self.pieces += 1;
                    self.completion.content.push_str(&text);
                    events.push(ChatEvent::Token(text));
                }
                for (n, tc) in delta.tool_calls.into_iter().enumerate() {
                    let index = tc.index.unwrap_or(n);
                    events.push(self.apply_tool_delta(index, tc));
                }
            }
            if let Some(reason) = choice.finish_reason {
                self.completion.finish_reason = Some(reason);
            }
        }
        if let Some(usage) = chunk.usage {
            self.completion.usage = usage;
            self.completion.usage_reported = true;
            events.push(ChatEvent::Usage(usage));
        }
        events
    }

    fn apply_tool_delta(&mut self, index: usize, tc: WireToolCall) -> ChatEvent {
        while self.calls.len() <= index {
            self.calls.push(ToolCall {
                id: String::new(),
                name: String::new(),
                arguments: String::new(),
            });
        }
        let (name, arguments) = tc
            .function
            .map(|f| (f.name, f.arguments.unwrap_or_default()))
            .unwrap_or((None, String::new()));
        let call = &mut self.calls[index];
        if let Some(id) = &tc.id {
            call.id.clone_from(id);
        }
        if let Some(n) = &name {
            call.name.push_str(n);
        }
        call.arguments.push_str(&arguments);
        ChatEvent::ToolCallDelta {
            index,
            id: tc.id,
            name,
            arguments,
        }
    }

    /// The completion so far, with counted tokens when the server reported none.
    pub(crate) fn finish(&mut self, metrics: Metrics) -> Completion {
        let mut c = std::mem::take(&mut self.completion);
        c.tool_calls = std::mem::take(&mut self.calls)
            .into_iter()
            .enumerate()
            .map(|(i, mut call)| {
                if call.id.is_empty() {
                    call.id = format!("call_{i}");
                }
                call
            })
            .collect();
        if !c.usage_reported {
            c.usage.completion_tokens = self.pieces;
            c.usage.total_tokens = c.usage.prompt_tokens + self.pieces;
        }
        c.metrics = metrics;
        c
    }
}

/// Tokens per second over the generation phase (after the first token).
pub(crate) fn tokens_per_second(tokens: u64, ttft: Duration, total: Duration) -> f64 {
    let generating = total.saturating_sub(ttft).as_secs_f64();
    if tokens <= 1 || generating <= 0.0 {
        0.0
    } else {
        (tokens - 1) as f64 / generating
    }
}
