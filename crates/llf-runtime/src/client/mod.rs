//! The chat client: OpenAI-compatible chat completions over `async-openai`, streaming and not,
//! behind the endpoint's [`RequestQueue`], with retries on transient errors (429, 5xx, connection
//! failures; exponential backoff), a timeout on the response and on every streamed piece, and a
//! [`ProfileRecord`] per request.

mod events;
mod wire;

use std::pin::Pin;
use std::time::{Duration, Instant};

use async_openai::config::OpenAIConfig;
use async_openai::error::OpenAIError;
use async_openai::middleware::ReqwestService;
use async_openai::middleware::retry::OpenAIRetryLayer;
use futures::{Stream, StreamExt};
use llf_config::Secret;
use llf_config::schema::InferenceParams;
use llf_core::chat::ChatMessage;
use llf_core::tool::ToolSpec;

pub use events::{ChatEvent, Completion, Metrics, Usage};

use crate::profile::{ProfileLog, ProfileRecord};
use crate::queue::{QueuePermit, RequestQueue};
use crate::server::ServerState;
use crate::{Result, RuntimeError};
use events::{Accumulator, tokens_per_second};

/// Where requests go.
#[derive(Clone)]
pub struct EndpointSpec {
    /// Base URL including `/v1`.
    pub base_url: String,
    /// API key, if the endpoint needs one.
    pub api_key: Option<Secret>,
    /// Model name sent with requests.
    pub model: String,
    /// Longest wait for a response, and between two pieces of a streamed response.
    pub timeout: Duration,
    /// Retries of transient failures before the first byte of the answer.
    pub max_retries: u32,
}

impl std::fmt::Debug for EndpointSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EndpointSpec")
            .field("base_url", &self.base_url)
            .field("api_key", &self.api_key.as_ref().map(|_| Secret::REDACTED))
            .field("model", &self.model)
            .field("timeout", &self.timeout)
            .field("max_retries", &self.max_retries)
            .finish()
    }
}

/// One chat request.
#[derive(Debug, Clone, Default)]
pub struct ChatRequest {
    /// The conversation, system prompt first.
    pub messages: Vec<ChatMessage>,
    /// Sampling parameters.
    pub params: InferenceParams,
    /// Tools offered to the model.
    pub tools: Vec<ToolSpec>,
    /// Which of them the model must or may call (OpenAI's `tool_choice`: `"auto"`, `"none"`,
    /// `"required"` or `{"type": "function", "function": {"name": …}}`), sent as given.
    pub tool_choice: Option<serde_json::Value>,
    /// A `response_format` (e.g. a JSON schema the answer must follow).
    pub response_format: Option<serde_json::Value>,
    /// Time already spent building the prompt, recorded in the profile.
    pub prompt_build: Duration,
}

impl ChatRequest {
    /// A request for `messages` with default parameters.
    pub fn new(messages: Vec<ChatMessage>) -> Self {
        Self {
            messages,
            ..Self::default()
        }
    }

    /// Sets the sampling parameters.
    pub fn params(mut self, params: InferenceParams) -> Self {
        self.params = params;
        self
    }

    /// Offers tools.
    pub fn tools(mut self, tools: Vec<ToolSpec>) -> Self {
        self.tools = tools;
        self
    }

    /// Constrains the answer's format.
    pub fn response_format(mut self, format: serde_json::Value) -> Self {
        self.response_format = Some(format);
        self
    }
}

/// A streamed answer: [`ChatEvent`]s ending with `Done` or `Error`. Dropping it cancels the
/// request (the connection closes and the server stops generating).
pub type ChatStream = Pin<Box<dyn Stream<Item = ChatEvent> + Send>>;

/// A client for one OpenAI-compatible endpoint.
#[derive(Clone)]
pub struct ChatClient {
    spec: EndpointSpec,
    client: async_openai::Client<OpenAIConfig>,
    queue: RequestQueue,
    profile: Option<ProfileLog>,
    /// The local server behind the endpoint, to tell a dead server from a network failure.
    server: Option<ServerState>,
}

impl std::fmt::Debug for ChatClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChatClient")
            .field("spec", &self.spec)
            .finish()
    }
}

impl ChatClient {
    /// A client for `spec` whose requests pass through `queue`.
    pub fn new(spec: EndpointSpec, queue: RequestQueue) -> Self {
        let mut config = OpenAIConfig::new().with_api_base(spec.base_url.trim_end_matches('/'));
        // A local server takes any key; sending none avoids leaking a remote key to it.
        config = config.with_api_key(
            spec.api_key
                .as_ref()
                .map(|k| k.expose().to_owned())
                .unwrap_or_default(),
        );
        let http = crate::http::for_url(&spec.base_url);
        let service = tower::ServiceBuilder::new()
            .layer(OpenAIRetryLayer::new(spec.max_retries as usize))
            .service(ReqwestService::new(http.clone()));
        // `build`, not `with_config`: that one builds a default reqwest client of its own, which
        // reads every system CA certificate before the first request.
        let client = async_openai::Client::build(http, config).with_http_service(service);
        Self {
            spec,
            client,
            queue,
            profile: None,
            server: None,
        }
    }

    /// Names the local server behind the endpoint: when a request fails because that server is
    /// gone, the error is [`RuntimeError::ServerStopped`] with the server's last log lines.
    pub fn with_server(mut self, state: ServerState) -> Self {
        self.server = Some(state);
        self
    }

    /// Records every request in `log`.
    pub fn with_profile(mut self, log: ProfileLog) -> Self {
        self.profile = Some(log);
        self
    }

    /// The endpoint's base URL.
    pub fn endpoint(&self) -> &str {
        &self.spec.base_url
    }

    /// The model name requests use.
    pub fn model(&self) -> &str {
        &self.spec.model
    }

    /// The request queue.
    pub fn queue(&self) -> &RequestQueue {
        &self.queue
    }

    /// Sends `request` and waits for the whole answer.
    pub async fn complete(&self, request: ChatRequest) -> Result<Completion> {
        let permit = self.queue.acquire().await?;
        let wire = self.wire_request(&request, false);
        let sent = Instant::now();
        let chat = self.client.chat();
        let call = chat.create_byot::<_, wire::Response>(wire);
        let outcome = match tokio::time::timeout(self.spec.timeout, call).await {
            Err(_) => Err(self.timeout_error()),
            Ok(Err(e)) => Err(self.explain(self.request_error(e)).await),
            Ok(Ok(resp)) => Ok(resp),
        };
        let total = sent.elapsed();
        let result = outcome.map(|mut resp| {
            let choice = resp.choices.first_mut();
            let finish_reason = choice.as_ref().and_then(|c| c.finish_reason.clone());
            let message = choice.and_then(|c| c.message.take());
            let (content, calls) = message
                .map(|m| (m.content.unwrap_or_default(), m.tool_calls))
                .unwrap_or_default();
            let usage = resp.usage.unwrap_or_default();
            let secs = total.as_secs_f64();
            Completion {
                model: self.spec.model.clone(),
                content,
                tool_calls: calls
                    .into_iter()
                    .enumerate()
                    .map(|(i, tc)| tc.into_tool_call(i))
                    .collect(),
                finish_reason,
                usage,
                usage_reported: resp.usage.is_some(),
                metrics: Metrics {
                    queue_wait: permit.waited,
                    // Not streamed: the first token arrives with the last.
                    time_to_first_token: total,
                    total,
                    tokens_per_second: if secs > 0.0 {
                        usage.completion_tokens as f64 / secs
                    } else {
                        0.0
                    },
                },
            }
        });
        self.record(&request, &permit, result.as_ref().ok(), total, total, false);
        result
    }

    /// Sends `request` without streaming and presents the answer as a stream: its text as one
    /// [`ChatEvent::Token`] (when there is any), then [`ChatEvent::Done`]. For callers that
    /// consume streams but talk to an endpoint (or a user) that wants the answer whole.
    pub async fn complete_as_stream(&self, request: ChatRequest) -> Result<ChatStream> {
        let c = self.complete(request).await?;
        let mut events = Vec::with_capacity(2);
        if !c.content.is_empty() {
            events.push(ChatEvent::Token(c.content.clone()));
        }
        events.push(ChatEvent::Done(c));
        Ok(Box::pin(futures::stream::iter(events)))
    }

    /// Sends `request` and streams the answer. Errors before the answer starts (queue full,
    /// connection refused after retries, HTTP errors) are returned here; errors during the answer
    /// arrive as [`ChatEvent::Error`].
    pub async fn stream(&self, request: ChatRequest) -> Result<ChatStream> {
        let permit = self.queue.acquire().await?;
        let wire = self.wire_request(&request, true);
        let sent = Instant::now();
        let chat = self.client.chat();
        let call = chat.create_stream_byot::<_, wire::Response>(wire);
        let inner = match tokio::time::timeout(self.spec.timeout, call).await {
            Err(_) => return Err(self.timeout_error()),
            Ok(Err(e)) => return Err(self.explain(self.request_error(e)).await),
            Ok(Ok(s)) => s,
        };
        let state = StreamState {
            inner,
            acc: Accumulator::new(self.spec.model.clone()),
            pending: std::collections::VecDeque::new(),
            done: false,
            sent,
            first_token: None,
            chunks: 0,
            client: self.clone(),
            request,
            permit,
        };
        Ok(Box::pin(futures::stream::unfold(state, StreamState::next)))
    }

    fn wire_request(&self, r: &ChatRequest, stream: bool) -> wire::Request {
        wire::Request::new(
            self.spec.model.clone(),
            &r.messages,
            &r.params,
            &r.tools,
            r.tool_choice.clone(),
            r.response_format.clone(),
            stream,
        )
    }

    fn timeout_error(&self) -> RuntimeError {
        RuntimeError::Timeout {
            endpoint: self.spec.base_url.clone(),
            secs: self.spec.timeout.as_secs(),
        }
    }

    fn request_error(&self, e: OpenAIError) -> RuntimeError {
        let endpoint = self.spec.base_url.clone();
        match e {
            OpenAIError::ApiError(api) => RuntimeError::Request {
                endpoint,
                status: Some(api.status_code.as_u16()),
                message: format!(
                    "HTTP {}: {}",
                    api.status_code.as_u16(),
                    api.api_error.message
                ),
            },
            OpenAIError::JSONDeserialize(err, body) => RuntimeError::Malformed {
                endpoint,
                detail: format!("{err} in {}", body.chars().take(200).collect::<String>()),
            },
            // eventsource's transport errors arrive as text; they mean the connection broke.
            OpenAIError::StreamError(s) => match *s {
                async_openai::error::StreamError::EventStream(detail)
                    if detail.contains("Transport") =>
                {
                    RuntimeError::ConnectionLost { endpoint, detail }
                }
                other => RuntimeError::Malformed {
                    endpoint,
                    detail: other.to_string(),
                },
            },
            OpenAIError::Reqwest(err) => {
                let status = err.status().map(|s| s.as_u16());
                let message = if err.is_connect() {
                    format!("cannot connect ({err}); is the server running? (`llf server status`)")
                } else {
                    err.to_string()
                };
                RuntimeError::Request {
                    endpoint,
                    message,
                    status,
                }
            }
            other => RuntimeError::Request {
                endpoint,
                message: other.to_string(),
                status: None,
            },
        }
    }

    /// Turns a failure that a dead local server explains into [`RuntimeError::ServerStopped`].
    /// HTTP errors and timeouts come from a living server and stay as they are.
    async fn explain(&self, error: RuntimeError) -> RuntimeError {
        let Some(server) = &self.server else {
            return error;
        };
        let may_be_dead = matches!(
            error,
            RuntimeError::ConnectionLost { .. }
                | RuntimeError::Malformed { .. }
                | RuntimeError::Request { status: None, .. }
        );
        if !may_be_dead {
            return error;
        }
        // The connection breaks while the process exits, a moment before /proc shows it gone.
        for _ in 0..10 {
            if !server.is_alive() {
                return RuntimeError::ServerStopped {
                    name: server.name.clone(),
                    log: server.log_file.clone(),
                    tail: server.log_tail(15),
                };
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        error
    }

    fn record(
        &self,
        request: &ChatRequest,
        permit: &QueuePermit,
        done: Option<&Completion>,
        ttft: Duration,
        total: Duration,
        streamed: bool,
    ) {
        let Some(log) = &self.profile else { return };
        let (usage, reported, model, tps) = match done {
            Some(c) => (
                c.usage,
                c.usage_reported,
                c.model.clone(),
                c.metrics.tokens_per_second,
            ),
            None => (Usage::default(), false, self.spec.model.clone(), 0.0),
        };
        let prompt_tokens = if reported {
            usage.prompt_tokens
        } else {
            // Rough estimate when the server reports nothing: four characters a token.
            (request
                .messages
                .iter()
                .map(|m| m.content.len())
                .sum::<usize>()
                / 4) as u64
        };
        let record = ProfileRecord {
            timestamp: chrono::Utc::now(),
            endpoint: self.spec.base_url.clone(),
            model,
            prompt_tokens,
            completion_tokens: usage.completion_tokens,
            usage_reported: reported,
            prompt_build_ms: request.prompt_build.as_secs_f64() * 1e3,
            queue_wait_ms: permit.waited.as_secs_f64() * 1e3,
            ttft_ms: ttft.as_secs_f64() * 1e3,
            total_ms: total.as_secs_f64() * 1e3,
            tokens_per_second: tps,
            streamed,
            success: done.is_some(),
        };
        if let Err(e) = log.append(&record) {
            tracing::warn!(error = %e, "cannot record performance figures");
        }
    }
}

struct StreamState {
    inner: async_openai::types::stream::StreamResponse<wire::Response>,
    acc: Accumulator,
    pending: std::collections::VecDeque<ChatEvent>,
    done: bool,
    sent: Instant,
    first_token: Option<Duration>,
    chunks: usize,
    client: ChatClient,
    request: ChatRequest,
    permit: QueuePermit,
}

impl StreamState {
    async fn next(mut self) -> Option<(ChatEvent, Self)> {
        loop {
            if let Some(ev) = self.pending.pop_front() {
                return Some((ev, self));
            }
            if self.done {
                return None;
            }
            match tokio::time::timeout(self.client.spec.timeout, self.inner.next()).await {
                Ok(Some(Ok(chunk))) => {
                    self.chunks += 1;
                    let events = self.acc.apply(chunk);
                    if self.first_token.is_none()
                        && events.iter().any(|e| {
                            matches!(e, ChatEvent::Token(_) | ChatEvent::ToolCallDelta { .. })
                        })
                    {
                        self.first_token = Some(self.sent.elapsed());
                    }
                    self.pending.extend(events);
                }
                Ok(Some(Err(e))) => {
                    let error = self.client.request_error(e);
                    let error = self.client.explain(error).await;
                    return Some((self.fail(error), self));
                }
                Ok(None) if self.chunks == 0 => {
                    // Not one event: the server did not stream (a plain JSON body, an HTML page).
                    let error = RuntimeError::Malformed {
                        endpoint: self.client.spec.base_url.clone(),
                        detail: "the server sent no streamed events; is it OpenAI-compatible?"
                            .into(),
                    };
                    let error = self.client.explain(error).await;
                    return Some((self.fail(error), self));
                }
                // An answer cut short without a finish reason: a local server that died says why.
                Ok(None)
                    if self.acc.completion.finish_reason.is_none()
                        && self.client.server.is_some() =>
                {
                    let cut = RuntimeError::ConnectionLost {
                        endpoint: self.client.spec.base_url.clone(),
                        detail: "the stream ended before the answer was complete".into(),
                    };
                    let error = self.client.explain(cut).await;
                    if matches!(error, RuntimeError::ServerStopped { .. }) {
                        return Some((self.fail(error), self));
                    }
                    let completion = self.finish(true);
                    return Some((ChatEvent::Done(completion), self));
                }
                Ok(None) => {
                    let completion = self.finish(true);
                    return Some((ChatEvent::Done(completion), self));
                }
                Err(_) => {
                    let error = self.client.timeout_error();
                    return Some((self.fail(error), self));
                }
            }
        }
    }

    fn finish(&mut self, success: bool) -> Completion {
        self.done = true;
        let total = self.sent.elapsed();
        let ttft = self.first_token.unwrap_or(total);
        let completion_tokens = if self.acc.completion.usage_reported {
            self.acc.completion.usage.completion_tokens
        } else {
            0
        };
        let mut metrics = Metrics {
            queue_wait: self.permit.waited,
            time_to_first_token: ttft,
            total,
            tokens_per_second: 0.0,
        };
        let mut c = self.acc.finish(metrics);
        let tokens = if completion_tokens > 0 {
            completion_tokens
        } else {
            c.usage.completion_tokens
        };
        metrics.tokens_per_second = tokens_per_second(tokens, ttft, total);
        c.metrics = metrics;
        self.client.record(
            &self.request,
            &self.permit,
            success.then_some(&c),
            ttft,
            total,
            true,
        );
        c
    }

    fn fail(&mut self, error: RuntimeError) -> ChatEvent {
        tracing::warn!(endpoint = %self.client.spec.base_url, error = %error, "streamed answer failed");
        let partial = self.finish(false);
        ChatEvent::Error {
            error,
            partial: Box::new(partial),
        }
    }
}
