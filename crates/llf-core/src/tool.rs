//! The contract between the runtime's tool-calling loop and whatever runs tools. `llf-tools`
//! implements [`ToolExecutor`] with validation, approval, sandboxing, rate limits and audit; a
//! program embedding LLF can implement it for its own in-process functions.

use std::time::Duration;

use serde::{Deserialize, Serialize};

/// A tool as the model sees it: an OpenAI function definition.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToolSpec {
    /// Function name.
    pub name: String,
    /// What it does, for the model.
    pub description: String,
    /// JSON Schema of the arguments object.
    pub parameters: serde_json::Value,
}

/// One call the model asked for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ToolInvocation {
    /// The call id from the model, echoed in the result.
    pub call_id: String,
    /// Tool name as the model wrote it (it may not exist).
    pub name: String,
    /// Arguments as the model wrote them: JSON text, possibly malformed.
    pub arguments: String,
}

/// The outcome of a call, which is always fed back to the model: a failure is information the
/// model can act on (fix its arguments, try another tool), not an error of the loop.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToolOutcome {
    /// The call id.
    pub call_id: String,
    /// The tool name.
    pub name: String,
    /// Whether the tool succeeded.
    pub success: bool,
    /// The result (on success) or an error description (on failure), as JSON.
    pub content: serde_json::Value,
    /// How long it ran.
    #[serde(with = "duration_ms")]
    pub duration: Duration,
}

impl ToolOutcome {
    /// A failure with a message for the model.
    pub fn failure(call: &ToolInvocation, message: impl Into<String>, duration: Duration) -> Self {
        Self {
            call_id: call.call_id.clone(),
            name: call.name.clone(),
            success: false,
            content: serde_json::json!({ "error": message.into() }),
            duration,
        }
    }

    /// The text sent back to the model as the tool message.
    pub fn to_message_content(&self) -> String {
        let body = if self.success {
            serde_json::json!({ "success": true, "result": self.content })
        } else {
            let mut v = serde_json::json!({ "success": false });
            v["error"] = self
                .content
                .get("error")
                .cloned()
                .unwrap_or_else(|| self.content.clone());
            v
        };
        body.to_string()
    }
}

/// Runs the tools a model calls.
#[async_trait::async_trait]
pub trait ToolExecutor: Send + Sync {
    /// The tools currently offered to the model.
    fn specs(&self) -> Vec<ToolSpec>;

    /// Runs one call. Never fails: unknown tools, invalid arguments, denied approval, timeouts
    /// and crashes all come back as a failed [`ToolOutcome`].
    async fn execute(&self, call: &ToolInvocation) -> ToolOutcome;
}

mod duration_ms {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    pub(super) fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(d.as_millis() as u64)
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        u64::deserialize(d).map(Duration::from_millis)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outcome_message_shape() {
        let call = ToolInvocation {
            call_id: "c".into(),
            name: "calc".into(),
            arguments: "{}".into(),
        };
        let fail = ToolOutcome::failure(&call, "bad expression", Duration::from_millis(3));
        assert_eq!(
            fail.to_message_content(),
            r#"{"success":false,"error":"bad expression"}"#
        );
        let ok = ToolOutcome {
            success: true,
            content: serde_json::json!(4),
            ..fail
        };
        assert_eq!(ok.to_message_content(), r#"{"success":true,"result":4}"#);
    }
}
