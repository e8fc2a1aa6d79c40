//! The tool-calling loop: the model's tool calls are run through a [`ToolExecutor`] (which
//! validates, approves, sandboxes and audits them), several calls of one turn in parallel with
//! results kept in call order, fed back, and the conversation continues until the model answers
//! or the round limit is reached.
//!
//! Two modes:
//! - [`ToolMode::Native`]: OpenAI `tools` in the request, `tool_calls` in the answer.
//! - [`ToolMode::Constrained`]: for models whose chat template has no tool support (llama-server's
//!   `/props` says so; SmolLM2 is one), the answer is constrained by a `response_format` JSON
//!   schema whose branches are the tools' argument schemas plus a final answer, so even a small
//!   model emits well-formed `{"name": …, "arguments": …}` calls.

use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use llf_config::schema::InferenceParams;
use llf_core::chat::{ChatMessage, Role, ToolCall};
use llf_core::tool::{ToolExecutor, ToolInvocation, ToolOutcome, ToolSpec};
use serde_json::{Value, json};

use crate::client::{ChatClient, ChatEvent, ChatRequest, Completion};
use crate::{Result, RuntimeError};

/// The name of the pseudo-tool that carries the answer in constrained mode. A plain verb: SmolLM2
/// calls real tools when the alternative is `reply`, where `final_answer` drew it to answer at
/// once (measured with the real model).
const FINAL_ANSWER: &str = "reply";

/// How tools are offered to the model.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ToolMode {
    /// OpenAI-style `tools` / `tool_calls`.
    Native,
    /// JSON-schema constrained output (`response_format`).
    Constrained,
}

/// What the loop is doing, for frontends that show progress.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum ToolLoopEvent {
    /// A piece of the final answer.
    Token(String),
    /// A tool call is about to run.
    ToolStarted(ToolCall),
    /// A tool call finished.
    ToolFinished(ToolOutcome),
}

/// The result of a loop.
#[derive(Debug, Clone)]
pub struct ToolLoopResult {
    /// The final answer.
    pub answer: String,
    /// Every message after the ones passed in: assistant tool calls, tool results, the answer.
    pub new_messages: Vec<ChatMessage>,
    /// Every tool outcome, in order.
    pub outcomes: Vec<ToolOutcome>,
    /// Model requests made.
    pub rounds: usize,
    /// The last completion (usage, timings).
    pub last: Completion,
}

/// Runs conversations with tools.
#[derive(Clone)]
pub struct ToolLoop {
    client: ChatClient,
    executor: Arc<dyn ToolExecutor>,
    params: InferenceParams,
    mode: ToolMode,
    max_rounds: usize,
}

impl std::fmt::Debug for ToolLoop {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ToolLoop")
            .field("mode", &self.mode)
            .field("max_rounds", &self.max_rounds)
            .finish()
    }
}

impl ToolLoop {
    /// A loop over `client` and `executor`; at most 5 model requests by default.
    pub fn new(
        client: ChatClient,
        executor: Arc<dyn ToolExecutor>,
        params: InferenceParams,
        mode: ToolMode,
    ) -> Self {
        Self {
            client,
            executor,
            params,
            mode,
            max_rounds: 5,
        }
    }

    /// Sets the maximum number of model requests.
    pub fn max_rounds(mut self, n: usize) -> Self {
        self.max_rounds = n.max(1);
        self
    }

    /// Runs the loop from `messages` (system prompt first, user message last).
    pub async fn run(
        &self,
        messages: Vec<ChatMessage>,
        mut on_event: impl FnMut(ToolLoopEvent) + Send,
    ) -> Result<ToolLoopResult> {
        let specs = self.executor.specs();
        let mut convo = messages;
        let first_new = convo.len();
        if self.mode == ToolMode::Constrained {
            add_tool_instructions(&mut convo, &specs);
        }
        let mut outcomes = Vec::new();
        let mut seen_calls: Vec<(String, Value)> = Vec::new();
        let mut force_answer = false;
        for round in 1..=self.max_rounds {
            let last_round = round == self.max_rounds;
            let offer_tools = !last_round && !force_answer && !specs.is_empty();
            let (completion, calls) = match self.mode {
                ToolMode::Native => {
                    self.native_round(&convo, &specs, offer_tools, &mut on_event)
                        .await?
                }
                ToolMode::Constrained => {
                    self.constrained_round(&convo, &specs, offer_tools).await?
                }
            };
            if calls.is_empty() {
                let answer = completion.content.clone();
                if self.mode == ToolMode::Constrained {
                    on_event(ToolLoopEvent::Token(answer.clone()));
                }
                convo.push(ChatMessage::assistant(answer.clone()));
                return Ok(ToolLoopResult {
                    answer,
                    new_messages: convo
                        .split_off(first_new)
                        .into_iter()
                        .filter(|m| m.role != Role::System)
                        .collect(),
                    outcomes,
                    rounds: round,
                    last: completion,
                });
            }
            // A small model may ask the same question again once it has the answer: do not run
            // it twice, make it answer.
            if calls
                .iter()
                .all(|c| seen_calls.contains(&(c.name.clone(), parse_args(&c.arguments))))
            {
                tracing::debug!(
                    "the model repeated tool calls it already has results for; asking for the answer"
                );
                force_answer = true;
                continue;
            }
            let mut assistant = ChatMessage::assistant(match self.mode {
                ToolMode::Native => completion.content.clone(),
                ToolMode::Constrained => String::new(),
            });
            assistant.tool_calls = calls.clone();
            convo.push(assistant);
            for c in &calls {
                on_event(ToolLoopEvent::ToolStarted(c.clone()));
            }
            let results = self.execute_all(&calls).await;
            for (call, outcome) in calls.iter().zip(&results) {
                on_event(ToolLoopEvent::ToolFinished(outcome.clone()));
                convo.push(ChatMessage::tool_result(
                    call.id.clone(),
                    outcome.to_message_content(),
                ));
                seen_calls.push((call.name.clone(), parse_args(&call.arguments)));
            }
            outcomes.extend(results);
        }
        Err(RuntimeError::Invalid(format!(
            "the model kept calling tools for {} rounds without answering",
            self.max_rounds
        )))
    }

    /// Runs every call of a turn concurrently; results come back in call order.
    async fn execute_all(&self, calls: &[ToolCall]) -> Vec<ToolOutcome> {
        let runs = calls.iter().map(|c| {
            let inv = ToolInvocation { call_id: c.id.clone(), name: c.name.clone(), arguments: c.arguments.clone() };
            let exec = Arc::clone(&self.executor);
            async move {
                tracing::info!(tool = %inv.name, call = %inv.call_id, "running tool");
                let out = exec.execute(&inv).await;
                tracing::info!(tool = %inv.name, success = out.success, ms = out.duration.as_millis() as u64, "tool finished");
                out
            }
        });
        futures::future::join_all(runs).await
    }

    async fn native_round(
        &self,
        convo: &[ChatMessage],
        specs: &[ToolSpec],
        offer_tools: bool,
        on_event: &mut (impl FnMut(ToolLoopEvent) + Send),
    ) -> Result<(Completion, Vec<ToolCall>)> {
        let mut req = ChatRequest::new(convo.to_vec()).params(self.params.clone());
        if offer_tools {
            req = req.tools(specs.to_vec());
        }
        let mut stream = self.client.stream(req).await?;
        while let Some(ev) = stream.next().await {
            match ev {
                ChatEvent::Token(t) => on_event(ToolLoopEvent::Token(t)),
                ChatEvent::Done(c) => {
                    let calls = c.tool_calls.clone();
                    return Ok((c, calls));
                }
                ChatEvent::Error { error, .. } => return Err(error),
                _ => {}
            }
        }
        Err(RuntimeError::Malformed {
            endpoint: self.client.endpoint().to_owned(),
            detail: "the stream ended without an answer".into(),
        })
    }

    async fn constrained_round(
        &self,
        convo: &[ChatMessage],
        specs: &[ToolSpec],
        offer_tools: bool,
    ) -> Result<(Completion, Vec<ToolCall>)> {
        let schema = constrained_schema(if offer_tools { specs } else { &[] });
        let format = json!({"type": "json_schema", "json_schema": {"name": "tool_call_or_answer", "strict": true, "schema": schema}});
        // Constrained models see tool results as user text: their templates know no tool role.
        let messages = convo.iter().map(as_plain_message).collect();
        let req = ChatRequest::new(messages)
            .params(self.params.clone())
            .response_format(format);
        let mut c = self.client.complete(req).await?;
        let parsed: Value = serde_json::from_str(c.content.trim()).map_err(|e| {
            let cut = if c.finish_reason.as_deref() == Some("length") {
                " (cut off at max_tokens; raise inference_params.max_tokens)"
            } else {
                ""
            };
            RuntimeError::Malformed {
                endpoint: self.client.endpoint().to_owned(),
                detail: format!(
                    "constrained answer is not JSON{cut} ({e}): {}",
                    c.content.chars().take(200).collect::<String>()
                ),
            }
        })?;
        let name = parsed
            .get("name")
            .and_then(Value::as_str)
            .unwrap_or(FINAL_ANSWER)
            .to_owned();
        let arguments = parsed.get("arguments").cloned().unwrap_or(Value::Null);
        if name == FINAL_ANSWER {
            c.content = arguments
                .get("text")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned();
            return Ok((c, Vec::new()));
        }
        let call = ToolCall {
            id: format!("call_{}", new_call_id()),
            name,
            arguments: arguments.to_string(),
        };
        Ok((c, vec![call]))
    }
}

/// The JSON schema for constrained mode: one branch per tool plus the final answer.
pub fn constrained_schema(specs: &[ToolSpec]) -> Value {
    let mut branches: Vec<Value> = specs
        .iter()
        .map(|s| {
            json!({"type": "object", "properties": {"name": {"const": s.name}, "arguments": s.parameters},
                   "required": ["name", "arguments"], "additionalProperties": false})
        })
        .collect();
    branches.push(json!({"type": "object",
        "properties": {"name": {"const": FINAL_ANSWER},
                       "arguments": {"type": "object", "properties": {"text": {"type": "string"}}, "required": ["text"], "additionalProperties": false}},
        "required": ["name", "arguments"], "additionalProperties": false}));
    if branches.len() == 1 {
        branches.remove(0)
    } else {
        json!({"oneOf": branches})
    }
}

fn add_tool_instructions(convo: &mut Vec<ChatMessage>, specs: &[ToolSpec]) {
    if specs.is_empty() {
        return;
    }
    let mut text = String::from("Tools:\n");
    for s in specs {
        text.push_str(&format!(
            "- {}: {} Arguments: {}\n",
            s.name, s.description, s.parameters
        ));
    }
    text.push_str(&format!(
        "Call a tool by replying {{\"name\": TOOL, \"arguments\": {{...}}}}; otherwise {{\"name\": \"{FINAL_ANSWER}\", \"arguments\": {{\"text\": \"...\"}}}}."
    ));
    match convo.first_mut() {
        Some(m) if m.role == Role::System => {
            m.content.push_str("\n\n");
            m.content.push_str(&text);
        }
        _ => convo.insert(0, ChatMessage::system(text)),
    }
}

fn as_plain_message(m: &ChatMessage) -> ChatMessage {
    match m.role {
        Role::Assistant if !m.tool_calls.is_empty() => ChatMessage::assistant(
            m.tool_calls
                .iter()
                .map(|c| {
                    format!(
                        "{{\"name\": \"{}\", \"arguments\": {}}}",
                        c.name, c.arguments
                    )
                })
                .collect::<Vec<_>>()
                .join("\n"),
        ),
        Role::Tool => ChatMessage::user(format!(
            "Tool result: {}\nNow answer my question using this result.",
            m.content
        )),
        _ => ChatMessage::new(m.role, m.content.clone()),
    }
}

fn parse_args(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|_| Value::String(text.to_owned()))
}

/// An id for a call the model made in constrained mode, where it gives none.
fn new_call_id() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or(Duration::ZERO)
        .as_nanos();
    format!("{nanos:x}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schema_has_a_branch_per_tool_and_the_answer() {
        let spec = ToolSpec {
            name: "get_weather".into(),
            description: "Weather".into(),
            parameters: json!({"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}),
        };
        let s = constrained_schema(&[spec]);
        let branches = s["oneOf"].as_array().unwrap();
        assert_eq!(branches.len(), 2);
        assert_eq!(branches[0]["properties"]["name"]["const"], "get_weather");
        assert_eq!(branches[1]["properties"]["name"]["const"], FINAL_ANSWER);
        assert_eq!(
            constrained_schema(&[])["properties"]["name"]["const"],
            FINAL_ANSWER
        );
    }
}
