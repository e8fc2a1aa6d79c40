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

use crate::client::{ChatClient, ChatEvent, ChatRequest, ChatStream, Completion};
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
    stream: bool,
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
            stream: true,
        }
    }

    /// Streams the model's answers (the default), or asks for each answer whole.
    pub fn stream(mut self, on: bool) -> Self {
        self.stream = on;
        self
    }

    /// Sets the maximum number of model requests.
    pub fn max_rounds(mut self, n: usize) -> Self {
        self.max_rounds = n.max(1);
        self
    }

    /// The way tools are offered.
    pub fn mode(&self) -> ToolMode {
        self.mode
    }

    /// Starts a turn from `messages` (system prompt first, user message last) that the caller
    /// drives step by step, e.g. to save every step before the next one (see [`ToolTurn`]).
    pub fn start(&self, messages: Vec<ChatMessage>) -> ToolTurn {
        let specs = self.executor.specs();
        let mut convo = messages;
        if self.mode == ToolMode::Constrained {
            add_tool_instructions(&mut convo, &specs);
        }
        ToolTurn {
            lp: self.clone(),
            specs,
            convo,
            round: 0,
            seen: Vec::new(),
            force_answer: false,
        }
    }

    /// Runs the loop from `messages` (system prompt first, user message last) to the answer,
    /// reporting progress to `on_event`.
    pub async fn run(
        &self,
        messages: Vec<ChatMessage>,
        mut on_event: impl FnMut(ToolLoopEvent) + Send,
    ) -> Result<ToolLoopResult> {
        let mut turn = self.start(messages);
        let mut new_messages = Vec::new();
        let mut outcomes = Vec::new();
        loop {
            let mut stream = turn.request().await?;
            let mut completion = None;
            while let Some(ev) = stream.next().await {
                match ev {
                    ChatEvent::Token(t) => on_event(ToolLoopEvent::Token(t)),
                    ChatEvent::Done(c) => completion = Some(c),
                    ChatEvent::Error { error, .. } => return Err(error),
                    _ => {}
                }
            }
            let completion = completion.ok_or_else(|| RuntimeError::Malformed {
                endpoint: self.client.endpoint().to_owned(),
                detail: "the stream ended without an answer".into(),
            })?;
            match turn.accept(completion)? {
                Step::Answer(last) => {
                    new_messages.push(ChatMessage::assistant(last.content.clone()));
                    return Ok(ToolLoopResult {
                        answer: last.content.clone(),
                        new_messages,
                        outcomes,
                        rounds: turn.rounds(),
                        last,
                    });
                }
                Step::Repeated(_) => {}
                Step::ToolCalls { message, calls, .. } => {
                    new_messages.push(message);
                    for c in &calls {
                        on_event(ToolLoopEvent::ToolStarted(c.clone()));
                    }
                    let mut results = turn.run_tools(calls);
                    while let Some((call, outcome)) = results.next().await {
                        on_event(ToolLoopEvent::ToolFinished(outcome.clone()));
                        new_messages.push(turn.record_result(&call, &outcome));
                        outcomes.push(outcome);
                    }
                }
            }
        }
    }
}

/// What the model's answer in one round of a [`ToolTurn`] asks for.
#[derive(Debug)]
pub enum Step {
    /// The final answer: the turn is over.
    Answer(Completion),
    /// The model called tools: `message` is the assistant message carrying `calls` (already part
    /// of the turn's conversation). Run them with [`ToolTurn::run_tools`] and hand each result to
    /// [`ToolTurn::record_result`], then request the next round.
    ToolCalls {
        /// The model's answer.
        completion: Completion,
        /// The assistant message with the calls, as it belongs in the history.
        message: ChatMessage,
        /// The calls, in order.
        calls: Vec<ToolCall>,
    },
    /// The model repeated calls it already has the results of: they are not run again, and the
    /// next round asks for the answer without offering tools. The completion is not part of the
    /// conversation.
    Repeated(Completion),
}

/// One turn with tools, driven by the caller: [`ToolTurn::request`] a round, read its events,
/// [`ToolTurn::accept`] its completion, run the tools it asks for, record their results, repeat
/// until [`Step::Answer`]. Nothing happens between the calls, so a caller can save each step
/// before the next one starts.
pub struct ToolTurn {
    lp: ToolLoop,
    specs: Vec<ToolSpec>,
    convo: Vec<ChatMessage>,
    round: usize,
    seen: Vec<(String, Value)>,
    force_answer: bool,
}

impl std::fmt::Debug for ToolTurn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ToolTurn")
            .field("round", &self.round)
            .field("messages", &self.convo.len())
            .finish()
    }
}

impl ToolTurn {
    /// Model requests made so far.
    pub fn rounds(&self) -> usize {
        self.round
    }

    /// Sends the next model request. In native mode the answer streams; in constrained mode it
    /// arrives whole (it is JSON) and the stream carries its text as one token. Either way the
    /// stream ends with [`ChatEvent::Done`] or [`ChatEvent::Error`], and the completion's
    /// `tool_calls` hold the calls the model made.
    pub async fn request(&mut self) -> Result<ChatStream> {
        self.round += 1;
        let last_round = self.round >= self.lp.max_rounds;
        let offer_tools = !last_round && !self.force_answer && !self.specs.is_empty();
        match self.lp.mode {
            ToolMode::Native => {
                let mut req = ChatRequest::new(self.convo.clone()).params(self.lp.params.clone());
                if offer_tools {
                    req = req.tools(self.specs.clone());
                }
                if self.lp.stream {
                    self.lp.client.stream(req).await
                } else {
                    self.lp.client.complete_as_stream(req).await
                }
            }
            ToolMode::Constrained => {
                let events = match self.constrained_round(offer_tools).await {
                    Ok(c) => {
                        let mut events = Vec::new();
                        if c.tool_calls.is_empty() && !c.content.is_empty() {
                            events.push(ChatEvent::Token(c.content.clone()));
                        }
                        events.push(ChatEvent::Done(c));
                        events
                    }
                    Err(e) => return Err(e),
                };
                Ok(Box::pin(futures::stream::iter(events)))
            }
        }
    }

    /// Takes the completion of the round just requested and says what comes next.
    pub fn accept(&mut self, completion: Completion) -> Result<Step> {
        let calls = completion.tool_calls.clone();
        if calls.is_empty() {
            self.convo
                .push(ChatMessage::assistant(completion.content.clone()));
            return Ok(Step::Answer(completion));
        }
        if self.round >= self.lp.max_rounds {
            return Err(RuntimeError::Invalid(format!(
                "the model kept calling tools for {} rounds without answering",
                self.lp.max_rounds
            )));
        }
        // A small model may ask the same question again once it has the answer: do not run
        // it twice, make it answer.
        if calls.iter().all(|c| {
            self.seen
                .contains(&(c.name.clone(), parse_args(&c.arguments)))
        }) {
            tracing::debug!(
                "the model repeated tool calls it already has results for; asking for the answer"
            );
            self.force_answer = true;
            return Ok(Step::Repeated(completion));
        }
        let mut message = ChatMessage::assistant(match self.lp.mode {
            ToolMode::Native => completion.content.clone(),
            ToolMode::Constrained => String::new(),
        });
        message.tool_calls = calls.clone();
        self.convo.push(message.clone());
        Ok(Step::ToolCalls {
            completion,
            message,
            calls,
        })
    }

    /// Runs `calls` concurrently; the stream yields each call with its outcome, in call order.
    /// It owns what it needs, so the turn can record results while it runs.
    pub fn run_tools(
        &self,
        calls: Vec<ToolCall>,
    ) -> impl futures::Stream<Item = (ToolCall, ToolOutcome)> + Send + 'static {
        let runs: futures::stream::FuturesOrdered<_> = calls
            .into_iter()
            .map(|c| {
                let exec = Arc::clone(&self.lp.executor);
                async move {
                    let inv = ToolInvocation {
                        call_id: c.id.clone(),
                        name: c.name.clone(),
                        arguments: c.arguments.clone(),
                    };
                    tracing::info!(tool = %inv.name, call = %inv.call_id, "running tool");
                    let out = exec.execute(&inv).await;
                    tracing::info!(tool = %inv.name, success = out.success, ms = out.duration.as_millis() as u64, "tool finished");
                    (c, out)
                }
            })
            .collect();
        runs
    }

    /// Adds a tool's result to the turn; returns the tool message, as it belongs in the history.
    pub fn record_result(&mut self, call: &ToolCall, outcome: &ToolOutcome) -> ChatMessage {
        let message = ChatMessage::tool_result(call.id.clone(), outcome.to_message_content());
        self.convo.push(message.clone());
        self.seen
            .push((call.name.clone(), parse_args(&call.arguments)));
        message
    }

    async fn constrained_round(&self, offer_tools: bool) -> Result<Completion> {
        let lp = &self.lp;
        let specs: &[ToolSpec] = if offer_tools { &self.specs } else { &[] };
        let schema = constrained_schema(specs);
        let format = json!({"type": "json_schema", "json_schema": {"name": "tool_call_or_answer", "strict": true, "schema": schema}});
        // Constrained models see tool results as user text: their templates know no tool role.
        let messages = self.convo.iter().map(as_plain_message).collect();
        let req = ChatRequest::new(messages)
            .params(lp.params.clone())
            .response_format(format);
        let mut c = lp.client.complete(req).await?;
        let parsed: Value = serde_json::from_str(c.content.trim()).map_err(|e| {
            let cut = if c.finish_reason.as_deref() == Some("length") {
                " (cut off at max_tokens; raise inference_params.max_tokens)"
            } else {
                ""
            };
            RuntimeError::Malformed {
                endpoint: lp.client.endpoint().to_owned(),
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
            c.tool_calls = Vec::new();
            return Ok(c);
        }
        c.content = String::new();
        c.tool_calls = vec![ToolCall {
            id: format!("call_{}", new_call_id()),
            name,
            arguments: arguments.to_string(),
        }];
        Ok(c)
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
