//! The prompt-building hook: providers (long-term memory, retrieval over data stores, or anything
//! a program embedding LLF adds) contribute context for the user's next message. The runtime calls
//! every registered provider and adds what they return to the prompt; it knows nothing else about
//! them, so `llf-runtime` depends on neither `llf-memory` nor `llf-rag`.

use serde::{Deserialize, Serialize};

use crate::BoxError;
use crate::chat::ChatMessage;

/// What a provider is asked about.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContextQuery {
    /// The user's newest message.
    pub user_message: String,
    /// The conversation so far, oldest first, without the new message.
    pub history: Vec<ChatMessage>,
}

/// One piece of context a provider found relevant.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ContextItem {
    /// The text to show the model.
    pub text: String,
    /// Relevance as the provider measures it (higher is more relevant); shown in `--debug`.
    pub score: f64,
    /// Where it comes from, for citations: a file and position, a memory id.
    pub citation: Option<String>,
}

/// Everything one provider contributed for one message.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ContextSection {
    /// Heading of the section in the prompt, e.g. "Relevant memories".
    pub title: String,
    /// The items, most relevant first.
    pub items: Vec<ContextItem>,
}

/// A source of extra context for prompts.
#[async_trait::async_trait]
pub trait ContextProvider: Send + Sync {
    /// Short name for logs, e.g. `memory` or `rag`.
    fn name(&self) -> &str;

    /// Context relevant to `query`; `None` when there is nothing worth adding.
    async fn provide(&self, query: &ContextQuery) -> Result<Option<ContextSection>, BoxError>;
}
