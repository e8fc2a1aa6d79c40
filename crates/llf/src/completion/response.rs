//! What a chat completion produces, in OpenAI's shapes: streamed chunks, the whole answer, and
//! [`collect`] that turns the first into the second.

use futures::StreamExt;
use llf_runtime::Usage;
use serde::Serialize;
use serde_json::Value;

use super::CompletionStream;
use crate::Result;

/// One `chat.completion.chunk`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CompletionChunk {
    /// The completion's id (the same in every chunk).
    pub id: String,
    /// `chat.completion.chunk`.
    pub object: &'static str,
    /// Unix time the completion started.
    pub created: i64,
    /// The model answering.
    pub model: String,
    /// One choice, or none in the usage chunk.
    pub choices: Vec<ChunkChoice>,
    /// Token counts, in the last chunk when the client asked for them.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub usage: Option<Usage>,
    /// What LLF adds (saved conversation, sources), in the chunk that finishes the answer.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub llf: Option<LlfInfo>,
}

/// A choice of a chunk.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ChunkChoice {
    /// Always 0 (`n` = 1).
    pub index: u32,
    /// What this chunk adds.
    pub delta: Delta,
    /// Set in the chunk that ends the answer.
    pub finish_reason: Option<String>,
    /// Not computed; `null`.
    pub logprobs: Option<Value>,
}

/// What a chunk adds to the answer.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Delta {
    /// `assistant`, in the first chunk.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub role: Option<&'static str>,
    /// A piece of the text.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub content: Option<String>,
    /// Pieces of tool calls.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tool_calls: Option<Vec<ToolCallDelta>>,
}

/// A piece of a tool call: the first of each call carries its `id`, `type` and `name` (with
/// empty `arguments`), the next ones pieces of `arguments`, as OpenAI streams them.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ToolCallDelta {
    /// Which call of the answer.
    pub index: usize,
    /// The call's id (first piece).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// `function` (first piece).
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    pub kind: Option<&'static str>,
    /// The function.
    pub function: FunctionDelta,
}

/// A piece of a called function.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FunctionDelta {
    /// The name (first piece).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// A piece of the JSON arguments.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub arguments: Option<String>,
}

/// What LLF adds to an answer.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct LlfInfo {
    /// The saved conversation the turn went into.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub conversation_id: Option<String>,
    /// The saved answer's message id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message_id: Option<i64>,
    /// What memory and retrieval added to the prompt.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub sources: Vec<Source>,
}

/// One piece of context the prompt drew on.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Source {
    /// `memory` or `rag`.
    pub provider: String,
    /// Where it comes from (file and position, memory id).
    pub citation: Option<String>,
    /// Relevance.
    pub score: f64,
}

/// A whole `chat.completion`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CompletionResponse {
    /// The completion's id.
    pub id: String,
    /// `chat.completion`.
    pub object: &'static str,
    /// Unix time the completion started.
    pub created: i64,
    /// The model that answered.
    pub model: String,
    /// The answer.
    pub choices: Vec<Choice>,
    /// Token counts.
    pub usage: Usage,
    /// What LLF adds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub llf: Option<LlfInfo>,
}

/// The answer of a whole completion.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Choice {
    /// 0.
    pub index: u32,
    /// The assistant's message.
    pub message: ResponseMessage,
    /// `stop`, `length` or `tool_calls`.
    pub finish_reason: String,
    /// Not computed; `null`.
    pub logprobs: Option<Value>,
}

/// The assistant's message of a whole completion.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ResponseMessage {
    /// `assistant`.
    pub role: &'static str,
    /// The text (`null` when the model only called tools).
    pub content: Option<String>,
    /// The tool calls, when any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tool_calls: Option<Vec<ResponseToolCall>>,
}

/// A tool call of a whole completion.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ResponseToolCall {
    /// The call id.
    pub id: String,
    /// `function`.
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// The function.
    pub function: CalledFunctionOut,
}

/// The function of a tool call.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CalledFunctionOut {
    /// Its name.
    pub name: String,
    /// Its arguments, JSON text.
    pub arguments: String,
}

/// Runs `stream` to its end and assembles the whole completion; `usage` comes from the stream's
/// usage chunk, which [`crate::Llf::chat_completion`] always adds when the request does not
/// stream.
pub async fn collect(mut stream: CompletionStream) -> Result<CompletionResponse> {
    let mut response = CompletionResponse {
        id: String::new(),
        object: "chat.completion",
        created: 0,
        model: String::new(),
        choices: Vec::new(),
        usage: Usage::default(),
        llf: None,
    };
    let mut content = String::new();
    let mut calls: Vec<ResponseToolCall> = Vec::new();
    let mut finish = None;
    while let Some(chunk) = stream.next().await {
        let chunk = chunk?;
        response.id = chunk.id;
        response.created = chunk.created;
        response.model = chunk.model;
        if let Some(u) = chunk.usage {
            response.usage = u;
        }
        if chunk.llf.is_some() {
            response.llf = chunk.llf;
        }
        for choice in chunk.choices {
            if let Some(t) = choice.delta.content {
                content.push_str(&t);
            }
            for d in choice.delta.tool_calls.into_iter().flatten() {
                while calls.len() <= d.index {
                    calls.push(ResponseToolCall {
                        id: String::new(),
                        kind: "function",
                        function: CalledFunctionOut {
                            name: String::new(),
                            arguments: String::new(),
                        },
                    });
                }
                let call = &mut calls[d.index];
                if let Some(id) = d.id {
                    call.id = id;
                }
                if let Some(n) = d.function.name {
                    call.function.name.push_str(&n);
                }
                if let Some(a) = d.function.arguments {
                    call.function.arguments.push_str(&a);
                }
            }
            if choice.finish_reason.is_some() {
                finish = choice.finish_reason;
            }
        }
    }
    let has_calls = !calls.is_empty();
    response.choices.push(Choice {
        index: 0,
        message: ResponseMessage {
            role: "assistant",
            content: (!content.is_empty() || !has_calls).then_some(content),
            tool_calls: has_calls.then_some(calls),
        },
        finish_reason: finish.unwrap_or_else(|| "stop".to_owned()),
        logprobs: None,
    });
    Ok(response)
}
