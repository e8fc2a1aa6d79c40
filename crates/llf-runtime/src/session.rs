//! A conversation with a model: history, prompt building and the client, switchable to another
//! model mid-conversation without losing context.

use std::sync::Arc;

use llf_config::schema::InferenceParams;
use llf_core::chat::ChatMessage;

use crate::Result;
use crate::client::{ChatClient, ChatRequest, ChatStream, Completion};
use crate::prompt::{BuiltPrompt, ContextLimit, PromptBuilder};

/// A conversation in progress.
#[derive(Debug, Clone)]
pub struct ChatSession {
    client: ChatClient,
    builder: PromptBuilder,
    params: InferenceParams,
    limit: Option<ContextLimit>,
    history: Vec<ChatMessage>,
}

impl ChatSession {
    /// A new conversation through `client`.
    pub fn new(client: ChatClient, builder: PromptBuilder, params: InferenceParams) -> Self {
        Self {
            client,
            builder,
            params,
            limit: None,
            history: Vec::new(),
        }
    }

    /// Checks every prompt against `limit` (see [`PromptBuilder::build`]).
    pub fn with_limit(mut self, limit: ContextLimit) -> Self {
        self.limit = Some(limit);
        self
    }

    /// The client in use.
    pub fn client(&self) -> &ChatClient {
        &self.client
    }

    /// Talks to another endpoint or model from now on; the history stays.
    pub fn switch_client(&mut self, client: ChatClient, limit: Option<ContextLimit>) {
        self.client = client;
        self.limit = limit;
    }

    /// The conversation so far (no system message).
    pub fn history(&self) -> &[ChatMessage] {
        &self.history
    }

    /// Forgets the conversation.
    pub fn clear(&mut self) {
        self.history.clear();
    }

    /// Replaces the conversation, e.g. one loaded from disk.
    pub fn set_history(&mut self, history: Vec<ChatMessage>) {
        self.history = history;
    }

    /// The prompt builder (system prompt, providers).
    pub fn builder_mut(&mut self) -> &mut PromptBuilder {
        &mut self.builder
    }

    /// The system prompt.
    pub fn system_prompt(&self) -> Option<&str> {
        self.builder.system_prompt()
    }

    /// The sampling parameters.
    pub fn params(&self) -> &InferenceParams {
        &self.params
    }

    /// Builds the prompt for `user_message` without sending it.
    pub async fn prepare(&self, user_message: &str) -> Result<BuiltPrompt> {
        self.builder
            .build(&self.history, user_message, self.limit.as_ref())
            .await
    }

    /// Sends a prepared prompt and streams the answer. Call [`ChatSession::push_turn`] with
    /// what arrived (complete or not) to keep it in the conversation.
    pub async fn stream(&self, prompt: &BuiltPrompt) -> Result<ChatStream> {
        self.client.stream(self.request(prompt)).await
    }

    /// Sends `user_message` and waits for the whole answer, which joins the conversation.
    pub async fn send(&mut self, user_message: &str) -> Result<Completion> {
        let prompt = self.prepare(user_message).await?;
        let completion = self.client.complete(self.request(&prompt)).await?;
        self.push_turn(user_message, &completion.content);
        Ok(completion)
    }

    /// Adds an exchange to the conversation.
    pub fn push_turn(&mut self, user_message: &str, answer: &str) {
        self.history.push(ChatMessage::user(user_message));
        self.history.push(ChatMessage::assistant(answer));
    }

    fn request(&self, prompt: &BuiltPrompt) -> ChatRequest {
        ChatRequest {
            prompt_build: prompt.elapsed,
            ..ChatRequest::new(prompt.messages.clone()).params(self.params.clone())
        }
    }
}

/// Shared handle to a session, for frontends that hand it between tasks.
pub type SharedSession = Arc<tokio::sync::Mutex<ChatSession>>;
