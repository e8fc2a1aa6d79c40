//! A usage event per model request of a turn (the `analytics` feature; nothing without it).

use std::time::Duration;

use llf_core::tool::ToolOutcome;
use llf_runtime::{Completion, Connection};

use crate::Llf;

/// Records one model request: its completion (or the error that ended it) and the tool calls it
/// asked for.
#[cfg(feature = "analytics")]
pub(crate) async fn record(
    llf: &Llf,
    conn: Option<&Connection>,
    conversation: Option<String>,
    completion: Option<&Completion>,
    tools: &[ToolOutcome],
    error: Option<&crate::Error>,
    elapsed: Duration,
) {
    let model = completion
        .map(|c| c.model.clone())
        .filter(|m| !m.is_empty())
        .or_else(|| conn.map(|c| c.client.model().to_owned()))
        .unwrap_or_default();
    let endpoint = conn
        .map(|c| match &c.server {
            Some(s) => s.name.clone(),
            None => c.client.endpoint().to_owned(),
        })
        .unwrap_or_default();
    let (prompt, completion_tokens) = completion.map_or((0, 0), |c| {
        (c.usage.prompt_tokens, c.usage.completion_tokens)
    });
    let metrics = completion.map(|c| c.metrics).unwrap_or_default();
    let event = llf_analytics::UsageEvent {
        at: chrono::Utc::now(),
        conversation,
        cost: llf.usage_cost(&model, prompt, completion_tokens),
        model,
        endpoint,
        prompt_tokens: prompt,
        completion_tokens,
        time_to_first_token: (!metrics.time_to_first_token.is_zero())
            .then_some(metrics.time_to_first_token),
        total: if metrics.total.is_zero() {
            elapsed
        } else {
            metrics.total
        },
        tokens_per_second: metrics.tokens_per_second,
        tools: tools
            .iter()
            .map(|o| llf_analytics::ToolUse {
                name: o.name.clone(),
                success: o.success,
                duration: o.duration,
            })
            .collect(),
        error: error.map(|e| e.to_string()),
    };
    llf.record_usage(event);
}

#[cfg(not(feature = "analytics"))]
pub(crate) async fn record(
    _: &Llf,
    _: Option<&Connection>,
    _: Option<String>,
    _: Option<&Completion>,
    _: &[ToolOutcome],
    _: Option<&crate::Error>,
    _: Duration,
) {
}
