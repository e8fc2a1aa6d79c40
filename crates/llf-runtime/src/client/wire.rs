//! The JSON that goes over the wire: OpenAI's chat-completions shape plus llama-server's extras
//! (`top_k`, `repeat_penalty`, `timings`). Our own types ("bring your own types" in async-openai)
//! so that extra fields pass through and responses are read leniently.

use llf_config::schema::InferenceParams;
use llf_core::chat::{ChatMessage, Role, ToolCall};
use llf_core::tool::ToolSpec;
use serde::{Deserialize, Serialize};
use serde_json::Value;

#[derive(Debug, Serialize)]
pub(crate) struct Request {
    pub(crate) model: String,
    pub(crate) messages: Vec<Message>,
    pub(crate) stream: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) stream_options: Option<Value>,
    pub(crate) temperature: f64,
    pub(crate) top_p: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) max_tokens: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) top_k: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) repeat_penalty: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) seed: Option<i64>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub(crate) stop: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub(crate) tools: Vec<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) tool_choice: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) response_format: Option<Value>,
}

impl Request {
    pub(crate) fn new(
        model: String,
        messages: &[ChatMessage],
        params: &InferenceParams,
        tools: &[ToolSpec],
        tool_choice: Option<Value>,
        response_format: Option<Value>,
        stream: bool,
    ) -> Self {
        Self {
            model,
            messages: messages.iter().map(Message::from).collect(),
            stream,
            stream_options: stream.then(|| serde_json::json!({"include_usage": true})),
            temperature: params.temperature,
            top_p: params.top_p,
            max_tokens: params.max_tokens,
            top_k: params.top_k,
            repeat_penalty: params.repeat_penalty,
            seed: params.seed,
            stop: params.stop.clone(),
            tools: tools
                .iter()
                .map(|t| {
                    serde_json::json!({"type": "function", "function": {
                        "name": t.name, "description": t.description, "parameters": t.parameters}})
                })
                .collect(),
            tool_choice,
            response_format,
        }
    }
}

#[derive(Debug, Serialize)]
pub(crate) struct Message {
    role: Role,
    content: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    tool_calls: Vec<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    tool_call_id: Option<String>,
}

impl From<&ChatMessage> for Message {
    fn from(m: &ChatMessage) -> Self {
        let tool_calls: Vec<Value> = m
            .tool_calls
            .iter()
            .map(|c| serde_json::json!({"id": c.id, "type": "function", "function": {"name": c.name, "arguments": c.arguments}}))
            .collect();
        // An assistant message that only calls tools has null content in OpenAI's format.
        let content = if m.content.is_empty() && !tool_calls.is_empty() {
            None
        } else {
            Some(m.content.clone())
        };
        Self {
            role: m.role,
            content,
            tool_calls,
            tool_call_id: m.tool_call_id.clone(),
        }
    }
}

/// Token counts reported by the server.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Usage {
    /// Tokens in the prompt.
    #[serde(default)]
    pub prompt_tokens: u64,
    /// Tokens generated.
    #[serde(default)]
    pub completion_tokens: u64,
    /// Sum.
    #[serde(default)]
    pub total_tokens: u64,
}

#[derive(Debug, Deserialize)]
pub(crate) struct Response {
    #[serde(default)]
    pub(crate) choices: Vec<Choice>,
    #[serde(default)]
    pub(crate) usage: Option<Usage>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct Choice {
    #[serde(default)]
    pub(crate) message: Option<ResponseMessage>,
    #[serde(default)]
    pub(crate) delta: Option<Delta>,
    #[serde(default)]
    pub(crate) finish_reason: Option<String>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct ResponseMessage {
    #[serde(default)]
    pub(crate) content: Option<String>,
    #[serde(default)]
    pub(crate) tool_calls: Vec<WireToolCall>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct WireToolCall {
    #[serde(default)]
    pub(crate) index: Option<usize>,
    #[serde(default)]
    pub(crate) id: Option<String>,
    #[serde(default)]
    pub(crate) function: Option<WireFunction>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct WireFunction {
    #[serde(default)]
    pub(crate) name: Option<String>,
    #[serde(default)]
    pub(crate) arguments: Option<String>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct Delta {
    #[serde(default)]
    pub(crate) content: Option<String>,
    #[serde(default)]
    pub(crate) tool_calls: Vec<WireToolCall>,
}

impl WireToolCall {
    pub(crate) fn into_tool_call(self, fallback_id: usize) -> ToolCall {
        let f = self.function.unwrap_or(WireFunction {
            name: None,
            arguments: None,
        });
        ToolCall {
            id: self.id.unwrap_or_else(|| format!("call_{fallback_id}")),
            name: f.name.unwrap_or_default(),
            arguments: f.arguments.unwrap_or_default(),
        }
    }
}
