//! OpenAI-style chat completions over LLF: a [`CompletionRequest`] (OpenAI's request body, with
//! LLF's optional `llf` object) becomes a [`CompletionStream`] of [`CompletionChunk`]s in
//! OpenAI's streaming shape, or, through [`collect`], one [`CompletionResponse`]. The HTTP API
//! only serialises them; every decision lives here.
//!
//! Two paths:
//! - **Direct** (no `llf.conversation_id`): the request's messages go to the model as they are,
//!   with the client's own `tools`, `tool_choice` and `response_format` passed through; the
//!   model's tool calls come back to the client, streamed as OpenAI streams them. With
//!   `llf.memory` or `llf.datastores`, memory and retrieval add their context to the system
//!   prompt first. Nothing is saved.
//! - **Saved** (`llf.conversation_id`: an id, or `"new"`): the last user message becomes a turn of
//!   a [`crate::chat::Chat`] that saves everything in the history, as `llf chat` does; the answer
//!   carries the conversation's id in its `llf` object.
//!
//! Dropping the stream cancels the upstream request (the model stops generating; a saved turn
//! keeps what arrived).

mod models;
mod request;
mod response;

use std::collections::VecDeque;
use std::pin::Pin;
use std::sync::Arc;

use futures::{Stream, StreamExt};
use llf_core::chat::{ChatMessage, Role};
use llf_runtime::{ChatEvent, ChatRequest, ChatStream, Completion, Target};

pub use models::{ModelEntry, ModelKind};
pub use request::{
    BadRequest, CalledFunction, CompletionRequest, Content, ContentPart, FunctionDef, LlfOptions,
    RequestMessage, RequestTool, RequestToolCall, Stop, StreamOptions,
};
pub use response::{
    CalledFunctionOut, Choice, ChunkChoice, CompletionChunk, CompletionResponse, Delta,
    FunctionDelta, LlfInfo, ResponseMessage, ResponseToolCall, Source, ToolCallDelta, collect,
};

use crate::chat::{ChatOptions, TurnEvent, TurnStream};
use crate::{Error, Llf, Result};

/// The chunks of one completion; an `Err` item ends it (the error happened mid-answer).
pub type CompletionStream = Pin<Box<dyn Stream<Item = Result<CompletionChunk>> + Send>>;

/// `llf.conversation_id` that starts a new saved conversation.
pub const NEW_CONVERSATION: &str = "new";

impl Llf {
    /// Starts a chat completion: checks the request, resolves its model (starting a local server
    /// when it is not running), and returns the answer's chunks. Errors before the answer
    /// starts (a bad request, an unknown model or conversation, a server that cannot start, the
    /// endpoint refusing) are returned here; later ones end the stream.
    ///
    /// The stream ends with a usage chunk (no choices) when the request streams with
    /// `stream_options.include_usage`, and always when it does not stream, so that [`collect`]
    /// can report the usage.
    pub async fn chat_completion(&self, request: CompletionRequest) -> Result<CompletionStream> {
        request.validate()?;
        let last_user = request.last_user_text().ok();
        let (target, model) = self.resolve_chat_model(&request.model, last_user.as_deref())?;
        let chunker = Chunker {
            id: format!("chatcmpl-{}", ulid::Ulid::new()),
            created: chrono::Utc::now().timestamp(),
            model,
            include_usage: request.include_usage() || !request.streams(),
            started_calls: Vec::new(),
            sources: Vec::new(),
        };
        let conversation = request.llf.as_ref().and_then(|l| l.conversation_id.clone());
        let source = match conversation {
            Some(id) => self.saved_turn(&request, target, &id).await?,
            None => self.direct(&request, target).await?,
        };
        let mut state = State {
            chunker,
            source,
            pending: VecDeque::new(),
            done: false,
        };
        let first = state.chunker.chunk(
            Delta {
                role: Some("assistant"),
                content: Some(String::new()),
                tool_calls: None,
            },
            None,
        );
        state.pending.push_back(Ok(first));
        Ok(Box::pin(futures::stream::unfold(state, State::next)))
    }

    /// The request's messages to the model, with memory and retrieval when asked for.
    async fn direct(&self, request: &CompletionRequest, target: Target) -> Result<Upstream> {
        let conn = self.runtime().connect(&target, |_| {}).await?;
        let mut messages = request.chat_messages()?;
        let opts = request.llf.clone().unwrap_or_default();
        let mut sources = Vec::new();
        let wants_context = opts.memory == Some(true) || opts.datastores.is_some();
        if wants_context && messages.last().is_some_and(|m| m.role == Role::User) {
            let builder = self.context_builder(&messages, &opts).await?;
            let last = messages.pop().map(|m| m.content).unwrap_or_default();
            let built = builder.build(&messages, &last, None).await?;
            sources = built
                .context
                .iter()
                .flat_map(|c| {
                    c.section.items.iter().map(|i| Source {
                        provider: c.provider.clone(),
                        citation: i.citation.clone(),
                        score: i.score,
                    })
                })
                .collect();
            messages = built.messages;
        }
        let chat = ChatRequest {
            messages,
            params: request.params(&self.config().inference_params),
            tools: request.tool_specs(),
            tool_choice: request.tool_choice.clone(),
            response_format: request.response_format.clone(),
            ..ChatRequest::default()
        };
        let stream = conn.client.stream(chat).await?;
        Ok(Upstream::Direct { stream, sources })
    }

    /// A prompt builder whose system prompt is the client's and whose providers are the memory
    /// and data stores the request asks for.
    async fn context_builder(
        &self,
        messages: &[ChatMessage],
        opts: &LlfOptions,
    ) -> Result<llf_runtime::PromptBuilder> {
        let system: Vec<&str> = messages
            .iter()
            .filter(|m| m.role == Role::System)
            .map(|m| m.content.as_str())
            .collect();
        #[allow(unused_mut)] // providers are added only with some features
        let mut builder = llf_runtime::PromptBuilder::default();
        builder.set_system_prompt((!system.is_empty()).then(|| system.join("\n\n")));
        if opts.memory == Some(true) {
            #[cfg(feature = "memory")]
            {
                builder = builder.with_provider(Arc::new(self.memory_context().await?));
            }
            #[cfg(not(feature = "memory"))]
            return Err(Error::FeatureOff("memory"));
        }
        if let Some(names) = &opts.datastores {
            #[cfg(feature = "rag")]
            if let Some(rag) = self.rag_context(Some(names)).await? {
                builder = builder.with_provider(Arc::new(rag));
            }
            #[cfg(not(feature = "rag"))]
            {
                let _ = names;
                return Err(Error::FeatureOff("rag"));
            }
        }
        Ok(builder)
    }

    /// A turn of a saved conversation: `id` resumed, or a new one (`"new"`).
    async fn saved_turn(
        &self,
        request: &CompletionRequest,
        target: Target,
        id: &str,
    ) -> Result<Upstream> {
        let text = request.last_user_text()?;
        let opts = request.llf.clone().unwrap_or_default();
        let mut options = ChatOptions::new()
            .target(target)
            .save(true)
            .params(request.params(&self.config().inference_params));
        let messages = request.chat_messages()?;
        let new = id == NEW_CONVERSATION;
        let system: Vec<&str> = messages
            .iter()
            .filter(|m| m.role == Role::System)
            .map(|m| m.content.as_str())
            .collect();
        if new && !system.is_empty() {
            options = options.system(system.join("\n\n"));
        }
        if !new {
            options = options.resume(id);
        }
        if let Some(m) = opts.memory {
            options = options.memory(m);
        }
        if let Some(d) = opts.datastores {
            options = options.datastores(d);
        }
        let chat = self.chat(options).await?;
        if new {
            // Earlier turns the client sent start the new conversation's context.
            let earlier: Vec<ChatMessage> = messages
                .iter()
                .take(messages.len().saturating_sub(1))
                .filter(|m| m.role != Role::System)
                .cloned()
                .collect();
            if !earlier.is_empty() {
                chat.replace_messages(None, earlier).await;
            }
        }
        // Starting the server (or failing to) happens before the answer, so it is an error of
        // the request rather than of the stream.
        chat.connect(Some(&text), |_, _| {}).await?;
        let turn = chat.send(text);
        Ok(Upstream::Turn { turn })
    }
}

/// Where the answer comes from.
enum Upstream {
    Direct {
        stream: ChatStream,
        sources: Vec<Source>,
    },
    Turn {
        turn: TurnStream,
    },
}

/// Builds chunks in OpenAI's streaming shape.
struct Chunker {
    id: String,
    created: i64,
    model: String,
    include_usage: bool,
    /// Which tool calls got their first piece (with id and name) already.
    started_calls: Vec<bool>,
    sources: Vec<Source>,
}

impl Chunker {
    fn chunk(&self, delta: Delta, finish_reason: Option<String>) -> CompletionChunk {
        CompletionChunk {
            id: self.id.clone(),
            object: "chat.completion.chunk",
            created: self.created,
            model: self.model.clone(),
            choices: vec![ChunkChoice {
                index: 0,
                delta,
                finish_reason,
                logprobs: None,
            }],
            usage: None,
            llf: None,
        }
    }

    fn content(&self, text: String) -> CompletionChunk {
        self.chunk(
            Delta {
                content: Some(text),
                ..Delta::default()
            },
            None,
        )
    }

    fn tool_pieces(
        &mut self,
        index: usize,
        id: Option<String>,
        name: Option<String>,
        arguments: String,
    ) -> Vec<CompletionChunk> {
        let piece = |d: ToolCallDelta| Delta {
            tool_calls: Some(vec![d]),
            ..Delta::default()
        };
        let mut out = Vec::new();
        if self.started_calls.len() <= index {
            self.started_calls.resize(index + 1, false);
        }
        if !self.started_calls[index] {
            self.started_calls[index] = true;
            let id = id
                .filter(|i| !i.is_empty())
                .unwrap_or_else(|| format!("call_{}", ulid::Ulid::new()));
            out.push(self.chunk(
                piece(ToolCallDelta {
                    index,
                    id: Some(id),
                    kind: Some("function"),
                    function: FunctionDelta {
                        name: Some(name.unwrap_or_default()),
                        arguments: Some(String::new()),
                    },
                }),
                None,
            ));
        }
        if !arguments.is_empty() {
            out.push(self.chunk(
                piece(ToolCallDelta {
                    index,
                    id: None,
                    kind: None,
                    function: FunctionDelta {
                        name: None,
                        arguments: Some(arguments),
                    },
                }),
                None,
            ));
        }
        out
    }

    /// The chunk that ends the answer, then the usage chunk when wanted.
    fn finish(&self, c: &Completion, info: LlfInfo) -> Vec<CompletionChunk> {
        let reason = c.finish_reason.clone().unwrap_or_else(|| {
            if self.started_calls.is_empty() {
                "stop".to_owned()
            } else {
                "tool_calls".to_owned()
            }
        });
        let mut last = self.chunk(Delta::default(), Some(reason));
        let mut info = info;
        if info.sources.is_empty() {
            info.sources = self.sources.clone();
        }
        if info != LlfInfo::default() {
            last.llf = Some(info);
        }
        let mut out = vec![last];
        if self.include_usage {
            let mut usage = c.usage;
            usage.total_tokens = usage.prompt_tokens + usage.completion_tokens;
            out.push(CompletionChunk {
                choices: Vec::new(),
                usage: Some(usage),
                ..self.chunk(Delta::default(), None)
            });
        }
        out
    }
}

struct State {
    chunker: Chunker,
    source: Upstream,
    pending: VecDeque<Result<CompletionChunk>>,
    done: bool,
}

impl State {
    async fn next(mut self) -> Option<(Result<CompletionChunk>, Self)> {
        loop {
            if let Some(item) = self.pending.pop_front() {
                return Some((item, self));
            }
            if self.done {
                return None;
            }
            match &mut self.source {
                Upstream::Direct { stream, sources } => {
                    if !sources.is_empty() {
                        self.chunker.sources = std::mem::take(sources);
                    }
                    match stream.next().await {
                        Some(event) => self.on_model(event),
                        None => self.done = true,
                    }
                }
                Upstream::Turn { turn } => match turn.next().await {
                    Some(event) => self.on_turn(event),
                    None => self.done = true,
                },
            }
        }
    }

    fn on_model(&mut self, event: ChatEvent) {
        match event {
            ChatEvent::Token(t) => {
                let c = self.chunker.content(t);
                self.pending.push_back(Ok(c));
            }
            ChatEvent::ToolCallDelta {
                index,
                id,
                name,
                arguments,
            } => {
                for c in self.chunker.tool_pieces(index, id, name, arguments) {
                    self.pending.push_back(Ok(c));
                }
            }
            ChatEvent::Done(c) => {
                for chunk in self.chunker.finish(&c, LlfInfo::default()) {
                    self.pending.push_back(Ok(chunk));
                }
                self.done = true;
            }
            ChatEvent::Error { error, .. } => {
                self.pending.push_back(Err(Error::Runtime(error)));
                self.done = true;
            }
            _ => {}
        }
    }

    fn on_turn(&mut self, event: TurnEvent) {
        match event {
            TurnEvent::Token(t) => {
                let c = self.chunker.content(t);
                self.pending.push_back(Ok(c));
            }
            TurnEvent::Context {
                provider, items, ..
            } => self
                .chunker
                .sources
                .extend(items.into_iter().map(|i| Source {
                    provider: provider.clone(),
                    citation: i.citation,
                    score: i.score,
                })),
            TurnEvent::Done(summary) => {
                let info = LlfInfo {
                    conversation_id: summary.conversation.clone(),
                    message_id: summary.answer_id,
                    sources: Vec::new(),
                };
                for chunk in self.chunker.finish(&summary.completion, info) {
                    self.pending.push_back(Ok(chunk));
                }
                self.done = true;
            }
            TurnEvent::Failed { error, .. } => {
                self.pending.push_back(Err(error));
                self.done = true;
            }
            TurnEvent::Cancelled { .. } => self.done = true,
            _ => {}
        }
    }
}
