//! [`UsageEvent`]: what one model request used and how it went.

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// One model request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UsageEvent {
    /// When it ended.
    pub at: DateTime<Utc>,
    /// The conversation it belongs to, when saved.
    pub conversation: Option<String>,
    /// The model that answered (or was asked).
    pub model: String,
    /// The local server's name or the endpoint's URL.
    pub endpoint: String,
    /// Prompt tokens.
    pub prompt_tokens: u64,
    /// Completion tokens.
    pub completion_tokens: u64,
    /// Time to the first token (none when the request failed before it).
    pub time_to_first_token: Option<Duration>,
    /// Time from sending the request to its end.
    pub total: Duration,
    /// Generated tokens per second after the first token.
    pub tokens_per_second: f64,
    /// The tool calls it asked for, with how they went.
    pub tools: Vec<ToolUse>,
    /// Why it failed, when it did.
    pub error: Option<String>,
    /// What it cost (0 for local models).
    pub cost: f64,
}

/// One tool call.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToolUse {
    /// The tool.
    pub name: String,
    /// Whether it succeeded.
    pub success: bool,
    /// How long it ran.
    pub duration: Duration,
}

/// The header of [`UsageEvent::csv_row`].
pub const CSV_HEADER: &str = "time,conversation,model,endpoint,prompt_tokens,completion_tokens,ttft_ms,total_ms,tokens_per_second,tool_calls,tool_failures,error,cost";

impl UsageEvent {
    /// The event as one CSV line (RFC 4180 quoting), under [`CSV_HEADER`].
    pub fn csv_row(&self) -> String {
        let quote = |s: &str| {
            if s.contains([',', '"', '\n', '\r']) {
                format!("\"{}\"", s.replace('"', "\"\""))
            } else {
                s.to_owned()
            }
        };
        let ms = |d: Duration| format!("{:.3}", d.as_secs_f64() * 1000.0);
        [
            self.at.to_rfc3339(),
            quote(self.conversation.as_deref().unwrap_or_default()),
            quote(&self.model),
            quote(&self.endpoint),
            self.prompt_tokens.to_string(),
            self.completion_tokens.to_string(),
            self.time_to_first_token.map(ms).unwrap_or_default(),
            ms(self.total),
            format!("{:.3}", self.tokens_per_second),
            self.tools.len().to_string(),
            self.tools.iter().filter(|t| !t.success).count().to_string(),
            quote(self.error.as_deref().unwrap_or_default()),
            format!("{}", self.cost),
        ]
        .join(",")
    }
}

/// The cost of a request at per-million-token prices.
pub fn cost(
    prompt_tokens: u64,
    completion_tokens: u64,
    prompt_per_million: f64,
    completion_per_million: f64,
) -> f64 {
    (prompt_tokens as f64 * prompt_per_million + completion_tokens as f64 * completion_per_million)
        / 1_000_000.0
}
