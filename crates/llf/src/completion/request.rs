//! An OpenAI chat-completions request as clients send it, with LLF's optional `llf` object, and
//! what is wrong with one ([`BadRequest`]).

use llf_config::schema::InferenceParams;
use llf_core::chat::{ChatMessage, Role, ToolCall};
use llf_core::tool::ToolSpec;
use serde::Deserialize;
use serde_json::Value;

/// `POST /v1/chat/completions`: the fields LLF honours. Others (`user`, `logprobs`, …) are
/// accepted and ignored, as OpenAI-compatible servers do.
#[derive(Debug, Clone, Deserialize)]
pub struct CompletionRequest {
    /// A local server's name, its model's name, the remote endpoint's model, or `auto` (routed
    /// by `multi_model.routing_strategy`).
    pub model: String,
    /// The conversation.
    pub messages: Vec<RequestMessage>,
    /// Stream the answer as chunks.
    #[serde(default)]
    pub stream: Option<bool>,
    /// `{"include_usage": true}`: a last chunk with the token counts and no choices.
    #[serde(default)]
    pub stream_options: Option<StreamOptions>,
    /// Functions the client runs itself; their calls come back to it.
    #[serde(default)]
    pub tools: Option<Vec<RequestTool>>,
    /// Passed to the model as given.
    #[serde(default)]
    pub tool_choice: Option<Value>,
    /// Passed to the model as given (e.g. a `json_schema`).
    #[serde(default)]
    pub response_format: Option<Value>,
    /// Only 1 is supported.
    #[serde(default)]
    pub n: Option<u32>,
    /// Stop sequences: one or several.
    #[serde(default)]
    pub stop: Option<Stop>,
    /// Sampling seed.
    #[serde(default)]
    pub seed: Option<i64>,
    /// Longest answer (the older name).
    #[serde(default)]
    pub max_tokens: Option<u32>,
    /// Longest answer.
    #[serde(default)]
    pub max_completion_tokens: Option<u32>,
    /// 0..=2.
    #[serde(default)]
    pub temperature: Option<f64>,
    /// 0..=1.
    #[serde(default)]
    pub top_p: Option<f64>,
    /// LLF's additions; OpenAI clients send them as an extra body field.
    #[serde(default)]
    pub llf: Option<LlfOptions>,
}

/// `stream_options`.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct StreamOptions {
    /// Send the usage in a last chunk.
    #[serde(default)]
    pub include_usage: Option<bool>,
}

/// `stop`: a string or a list.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum Stop {
    /// One sequence.
    One(String),
    /// Several.
    Many(Vec<String>),
}

/// The `llf` object of a request.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct LlfOptions {
    /// Continue this saved conversation (an id or a unique prefix), or `"new"` to start one; the
    /// turn is saved in the history like a chat of `llf chat`. Only the last (user) message of
    /// the request is sent: the saved conversation is the rest.
    #[serde(default)]
    pub conversation_id: Option<String>,
    /// Draw on long-term memory.
    #[serde(default)]
    pub memory: Option<bool>,
    /// Retrieve from these data stores.
    #[serde(default)]
    pub datastores: Option<Vec<String>>,
}

/// One message of the request.
#[derive(Debug, Clone, Deserialize)]
pub struct RequestMessage {
    /// `system`, `developer`, `user`, `assistant` or `tool`.
    pub role: String,
    /// Text, or content parts (only `text` parts are understood).
    #[serde(default)]
    pub content: Option<Content>,
    /// An assistant message's tool calls.
    #[serde(default)]
    pub tool_calls: Option<Vec<RequestToolCall>>,
    /// A tool message's call id.
    #[serde(default)]
    pub tool_call_id: Option<String>,
}

/// A message's content.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum Content {
    /// Plain text.
    Text(String),
    /// Parts.
    Parts(Vec<ContentPart>),
}

/// One content part.
#[derive(Debug, Clone, Deserialize)]
pub struct ContentPart {
    /// `text` (others are refused).
    #[serde(rename = "type")]
    pub kind: String,
    /// The text of a `text` part.
    #[serde(default)]
    pub text: Option<String>,
}

/// A tool offered by the client.
#[derive(Debug, Clone, Deserialize)]
pub struct RequestTool {
    /// `function`.
    #[serde(rename = "type")]
    pub kind: String,
    /// The function.
    pub function: FunctionDef,
}

/// A function the client offers.
#[derive(Debug, Clone, Deserialize)]
pub struct FunctionDef {
    /// Its name.
    pub name: String,
    /// What it does.
    #[serde(default)]
    pub description: Option<String>,
    /// JSON Schema of its arguments.
    #[serde(default)]
    pub parameters: Option<Value>,
}

/// A tool call in an assistant message of the request.
#[derive(Debug, Clone, Deserialize)]
pub struct RequestToolCall {
    /// The call id.
    pub id: String,
    /// The function called.
    pub function: CalledFunction,
}

/// The function of a tool call.
#[derive(Debug, Clone, Deserialize)]
pub struct CalledFunction {
    /// Its name.
    pub name: String,
    /// Its arguments, JSON text.
    #[serde(default)]
    pub arguments: String,
}

/// What is wrong with a request; the client's mistake (HTTP 400).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum BadRequest {
    /// `messages` is empty.
    #[error("`messages` must hold at least one message")]
    NoMessages,
    /// `n` other than 1.
    #[error("only n=1 is supported, got n={0}")]
    UnsupportedN(u32),
    /// A number outside its range.
    #[error("`{param}` must be within 0..={max}, got {value}")]
    OutOfRange {
        /// The field.
        param: &'static str,
        /// The value sent.
        value: f64,
        /// Its upper bound.
        max: f64,
    },
    /// An unknown role.
    #[error(
        "messages[{index}]: unknown role `{role}` (expected system, developer, user, assistant or tool)"
    )]
    UnknownRole {
        /// The message.
        index: usize,
        /// The role sent.
        role: String,
    },
    /// A content part LLF cannot use (images, audio).
    #[error("messages[{index}]: content parts of type `{kind}` are not supported, only `text`")]
    UnsupportedContent {
        /// The message.
        index: usize,
        /// The part's type.
        kind: String,
    },
    /// A tool message without `tool_call_id`.
    #[error("messages[{index}]: a tool message needs `tool_call_id`")]
    MissingToolCallId {
        /// The message.
        index: usize,
    },
    /// A tool that is not a function.
    #[error("tools[{index}]: only tools of type `function` are supported, got `{kind}`")]
    UnsupportedToolType {
        /// The tool.
        index: usize,
        /// Its type.
        kind: String,
    },
    /// The last message of a saved conversation's turn must be the user's.
    #[error("with `llf.conversation_id`, the last message must be a user message with text")]
    NoUserMessage,
    /// Client-side tools or a response format with a saved conversation.
    #[error("`{0}` cannot be combined with `llf.conversation_id`")]
    NotWithConversation(&'static str),
    /// An embeddings request without text.
    #[error("`input` must be a non-empty string or a non-empty list of non-empty strings")]
    EmptyInput,
    /// An `encoding_format` other than `float` or `base64`.
    #[error("`encoding_format` must be `float` or `base64`, got `{0}`")]
    UnsupportedEncoding(String),
}

impl BadRequest {
    /// The request field at fault, as OpenAI's `param` names it.
    pub fn param(&self) -> Option<String> {
        Some(match self {
            BadRequest::NoMessages => "messages".into(),
            BadRequest::UnsupportedN(_) => "n".into(),
            BadRequest::OutOfRange { param, .. } => (*param).into(),
            BadRequest::UnknownRole { index, .. } => format!("messages[{index}].role"),
            BadRequest::UnsupportedContent { index, .. } => format!("messages[{index}].content"),
            BadRequest::MissingToolCallId { index } => format!("messages[{index}].tool_call_id"),
            BadRequest::UnsupportedToolType { index, .. } => format!("tools[{index}].type"),
            BadRequest::NoUserMessage => "messages".into(),
            BadRequest::NotWithConversation(p) => (*p).into(),
            BadRequest::EmptyInput => "input".into(),
            BadRequest::UnsupportedEncoding(_) => "encoding_format".into(),
        })
    }
}

impl CompletionRequest {
    /// Whether the answer is streamed.
    pub fn streams(&self) -> bool {
        self.stream.unwrap_or(false)
    }

    /// Whether a streamed answer ends with a usage chunk.
    pub fn include_usage(&self) -> bool {
        self.stream_options
            .as_ref()
            .and_then(|o| o.include_usage)
            .unwrap_or(false)
    }

    /// Checks what serde cannot: counts, ranges, roles, content types.
    pub fn validate(&self) -> Result<(), BadRequest> {
        if self.messages.is_empty() {
            return Err(BadRequest::NoMessages);
        }
        if let Some(n) = self.n.filter(|n| *n != 1) {
            return Err(BadRequest::UnsupportedN(n));
        }
        for (param, value, max) in [
            ("temperature", self.temperature, 2.0),
            ("top_p", self.top_p, 1.0),
        ] {
            if let Some(v) = value
                && !(0.0..=max).contains(&v)
            {
                return Err(BadRequest::OutOfRange {
                    param,
                    value: v,
                    max,
                });
            }
        }
        for (i, t) in self.tools.iter().flatten().enumerate() {
            if t.kind != "function" {
                return Err(BadRequest::UnsupportedToolType {
                    index: i,
                    kind: t.kind.clone(),
                });
            }
        }
        self.chat_messages().map(|_| ())?;
        if self
            .llf
            .as_ref()
            .is_some_and(|l| l.conversation_id.is_some())
        {
            if self.tools.as_ref().is_some_and(|t| !t.is_empty()) {
                return Err(BadRequest::NotWithConversation("tools"));
            }
            if self.response_format.is_some() {
                return Err(BadRequest::NotWithConversation("response_format"));
            }
            self.last_user_text()?;
        }
        Ok(())
    }

    /// The messages as LLF's chat messages (`developer` read as `system`).
    pub fn chat_messages(&self) -> Result<Vec<ChatMessage>, BadRequest> {
        self.messages
            .iter()
            .enumerate()
            .map(|(index, m)| {
                let role = match m.role.as_str() {
                    "system" | "developer" => Role::System,
                    "user" => Role::User,
                    "assistant" => Role::Assistant,
                    "tool" => Role::Tool,
                    other => {
                        return Err(BadRequest::UnknownRole {
                            index,
                            role: other.to_owned(),
                        });
                    }
                };
                let content = match &m.content {
                    None => String::new(),
                    Some(Content::Text(t)) => t.clone(),
                    Some(Content::Parts(parts)) => {
                        let mut text = String::new();
                        for p in parts {
                            if p.kind != "text" {
                                return Err(BadRequest::UnsupportedContent {
                                    index,
                                    kind: p.kind.clone(),
                                });
                            }
                            text.push_str(p.text.as_deref().unwrap_or_default());
                        }
                        text
                    }
                };
                if role == Role::Tool && m.tool_call_id.is_none() {
                    return Err(BadRequest::MissingToolCallId { index });
                }
                let mut message = ChatMessage::new(role, content);
                message.tool_call_id = m.tool_call_id.clone();
                message.tool_calls = m
                    .tool_calls
                    .iter()
                    .flatten()
                    .map(|c| ToolCall {
                        id: c.id.clone(),
                        name: c.function.name.clone(),
                        arguments: c.function.arguments.clone(),
                    })
                    .collect();
                Ok(message)
            })
            .collect()
    }

    /// The text of the last message when it is a user message.
    pub fn last_user_text(&self) -> Result<String, BadRequest> {
        let messages = self.chat_messages()?;
        match messages.last() {
            Some(m) if m.role == Role::User && !m.content.trim().is_empty() => {
                Ok(m.content.clone())
            }
            _ => Err(BadRequest::NoUserMessage),
        }
    }

    /// The client's tools as LLF's tool specs.
    pub fn tool_specs(&self) -> Vec<ToolSpec> {
        self.tools
            .iter()
            .flatten()
            .map(|t| ToolSpec {
                name: t.function.name.clone(),
                description: t.function.description.clone().unwrap_or_default(),
                parameters: t
                    .function
                    .parameters
                    .clone()
                    .unwrap_or_else(|| serde_json::json!({"type": "object", "properties": {}})),
            })
            .collect()
    }

    /// `defaults` (the configured `inference_params`) with the request's sampling fields.
    pub fn params(&self, defaults: &InferenceParams) -> InferenceParams {
        let mut p = defaults.clone();
        if let Some(t) = self.temperature {
            p.temperature = t;
        }
        if let Some(t) = self.top_p {
            p.top_p = t;
        }
        if let Some(m) = self.max_completion_tokens.or(self.max_tokens) {
            p.max_tokens = Some(m);
        }
        if let Some(s) = self.seed {
            p.seed = Some(s);
        }
        match &self.stop {
            Some(Stop::One(s)) => p.stop = vec![s.clone()],
            Some(Stop::Many(v)) => p.stop = v.clone(),
            None => {}
        }
        p
    }
}
