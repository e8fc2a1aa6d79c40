//! Chat messages: the vocabulary shared by the runtime, memory, history and export crates.

use serde::{Deserialize, Serialize};

/// Who wrote a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Instructions that frame the conversation.
    System,
    /// The person.
    User,
    /// The model.
    Assistant,
    /// A tool's result, answering a tool call.
    Tool,
}

impl Role {
    /// The lowercase name used on the wire and in files.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::System => "system",
            Role::User => "user",
            Role::Assistant => "assistant",
            Role::Tool => "tool",
        }
    }
}

impl std::fmt::Display for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Role {
    type Err = crate::Error;

    /// Reads a role name as written on the wire, in files and by users: `system`, `user`,
    /// `assistant` or `tool`, in any case.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let role = s.trim();
        [Role::System, Role::User, Role::Assistant, Role::Tool]
            .into_iter()
            .find(|r| r.as_str().eq_ignore_ascii_case(role))
            .ok_or_else(|| crate::Error::UnknownRole {
                input: s.to_owned(),
            })
    }
}

/// A function call the model asked for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ToolCall {
    /// The id the model gave the call; the tool result refers to it.
    pub id: String,
    /// Name of the tool.
    pub name: String,
    /// The arguments as the model wrote them: a JSON text, possibly invalid.
    pub arguments: String,
}

/// One message of a conversation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChatMessage {
    /// Who wrote it.
    pub role: Role,
    /// The text. Empty for an assistant message that only calls tools.
    pub content: String,
    /// Tool calls of an assistant message.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tool_calls: Vec<ToolCall>,
    /// For a [`Role::Tool`] message: the id of the call it answers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_call_id: Option<String>,
}

impl ChatMessage {
    /// A message with no tool calls.
    pub fn new(role: Role, content: impl Into<String>) -> Self {
        Self {
            role,
            content: content.into(),
            tool_calls: Vec::new(),
            tool_call_id: None,
        }
    }
    /// A system message.
    pub fn system(content: impl Into<String>) -> Self {
        Self::new(Role::System, content)
    }
    /// A user message.
    pub fn user(content: impl Into<String>) -> Self {
        Self::new(Role::User, content)
    }
    /// An assistant message.
    pub fn assistant(content: impl Into<String>) -> Self {
        Self::new(Role::Assistant, content)
    }
    /// A tool result answering the call `tool_call_id`.
    pub fn tool_result(tool_call_id: impl Into<String>, content: impl Into<String>) -> Self {
        Self {
            tool_call_id: Some(tool_call_id.into()),
            ..Self::new(Role::Tool, content)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn message_json_matches_openai_shape() {
        let m = ChatMessage::user("hi");
        assert_eq!(
            serde_json::to_string(&m).unwrap(),
            r#"{"role":"user","content":"hi"}"#
        );
        let t: ChatMessage =
            serde_json::from_str(r#"{"role":"tool","content":"4","tool_call_id":"c1"}"#).unwrap();
        assert_eq!(t, ChatMessage::tool_result("c1", "4"));
    }

    #[test]
    fn role_parses_its_own_names_in_any_case() {
        for r in [Role::System, Role::User, Role::Assistant, Role::Tool] {
            assert_eq!(r.as_str().parse::<Role>().unwrap(), r);
            assert_eq!(r.as_str().to_uppercase().parse::<Role>().unwrap(), r);
        }
        assert_eq!(" user ".parse::<Role>().unwrap(), Role::User);
        let err = "robot".parse::<Role>().unwrap_err();
        assert!(matches!(err, crate::Error::UnknownRole { ref input } if input == "robot"));
        assert!(
            err.to_string()
                .contains("expected system, user, assistant or tool")
        );
    }
}
