//! Saving a chat as it happens: the user's message at once, tool calls and results before the
//! turn goes on, a streamed answer from its first token on — written again at most
//! [`SAVE_EVERY`] apart while it grows, and sealed at the end.

use std::time::{Duration, Instant};

use llf_core::chat::{ChatMessage, Role};
use llf_history::{Finish, History, MessageId, NewMessage, StoredMessage, TokenCounts};
use llf_runtime::Completion;

use super::event::SavedMessage;
use crate::{Error, Result};

/// The longest a streamed answer goes unsaved while text arrives: a crash loses at most this much.
pub(crate) const SAVE_EVERY: Duration = Duration::from_millis(100);

/// Longest conversation title taken from the first message.
const TITLE_CHARS: usize = 60;

/// The conversation a chat writes to; created with the first message.
#[derive(Debug)]
pub(crate) struct Recorder {
    history: History,
    conversation: Option<String>,
    system_prompt: Option<String>,
    model: String,
}

/// An answer being saved while it streams.
#[derive(Debug)]
pub(crate) struct AnswerRow {
    pub(crate) id: MessageId,
    saved_at: Instant,
    saved_len: usize,
}

impl AnswerRow {
    /// When the text that arrived since the last save has to be written.
    pub(crate) fn due(&self, len: usize) -> Option<Instant> {
        (len != self.saved_len).then_some(self.saved_at + SAVE_EVERY)
    }
}

impl Recorder {
    pub(crate) fn new(history: History, system_prompt: Option<String>, model: String) -> Self {
        Self {
            history,
            conversation: None,
            system_prompt,
            model,
        }
    }

    pub(crate) fn history(&self) -> &History {
        &self.history
    }

    pub(crate) fn conversation(&self) -> Option<&str> {
        self.conversation.as_deref()
    }

    /// Continues `id` from now on (`None`: the next message starts a new conversation).
    pub(crate) fn set_conversation(&mut self, id: Option<String>) {
        self.conversation = id;
    }

    pub(crate) fn set_model(&mut self, model: &str) {
        model.clone_into(&mut self.model);
    }

    /// The system prompt saved at the start of new conversations.
    pub(crate) fn set_system_prompt(&mut self, prompt: Option<String>) {
        self.system_prompt = prompt;
    }

    fn saved(&self, m: &StoredMessage, complete: bool) -> SavedMessage {
        SavedMessage {
            conversation: m.conversation_id.clone(),
            id: m.id,
            role: m.role(),
            complete,
        }
    }

    fn current(&self) -> Result<&str> {
        self.conversation.as_deref().ok_or(Error::NoConversation)
    }

    /// Saves the user's message, creating the conversation (titled after it, with the system
    /// prompt first) when the chat has none yet.
    pub(crate) async fn save_user(&mut self, text: &str) -> Result<SavedMessage> {
        let conv = match &self.conversation {
            Some(id) => id.clone(),
            None => {
                let words = text.split_whitespace().collect::<Vec<_>>().join(" ");
                let title = llf_core::text::truncate(&words, TITLE_CHARS);
                let conv = self
                    .history
                    .create_conversation(title.into_owned(), Some(self.model.clone()))
                    .await?;
                if let Some(system) = &self.system_prompt {
                    self.history
                        .append(&conv.id, ChatMessage::system(system.clone()))
                        .await?;
                }
                self.conversation = Some(conv.id.clone());
                conv.id
            }
        };
        let m = self.history.append(&conv, ChatMessage::user(text)).await?;
        Ok(self.saved(&m, true))
    }

    /// Saves a whole message after the current leaf (an assistant message with tool calls, a
    /// tool result, an answer that arrived in one piece).
    pub(crate) async fn append(&self, message: ChatMessage) -> Result<SavedMessage> {
        let conv = self.current()?;
        let m = if message.role == Role::Assistant {
            NewMessage::new(message).model(self.model.clone())
        } else {
            NewMessage::new(message)
        };
        let m = self.history.append(conv, m).await?;
        Ok(self.saved(&m, true))
    }

    /// Saves the first text of a streamed answer as a `partial` message.
    pub(crate) async fn start_answer(&self, text: &str) -> Result<(AnswerRow, SavedMessage)> {
        let conv = self.current()?;
        let m = self
            .history
            .start_message(
                conv,
                NewMessage::new(ChatMessage::assistant(text)).model(self.model.clone()),
            )
            .await?;
        let row = AnswerRow {
            id: m.id,
            saved_at: Instant::now(),
            saved_len: text.len(),
        };
        Ok((row, self.saved(&m, false)))
    }

    /// Writes the answer so far.
    pub(crate) async fn update(&self, row: &mut AnswerRow, text: &str) -> Result<()> {
        if row.saved_len != text.len() {
            self.history.update_content(row.id, text).await?;
            row.saved_len = text.len();
        }
        row.saved_at = Instant::now();
        Ok(())
    }

    /// Seals an answer: its whole text, tool calls and token counts.
    pub(crate) async fn finish(
        &self,
        row: AnswerRow,
        completion: &Completion,
        message: &ChatMessage,
    ) -> Result<SavedMessage> {
        let tokens = TokenCounts {
            prompt: u32::try_from(completion.usage.prompt_tokens).ok(),
            completion: u32::try_from(completion.usage.completion_tokens).ok(),
        };
        let m = self
            .history
            .finish_message(
                row.id,
                Finish {
                    content: message.content.clone(),
                    tool_calls: message.tool_calls.clone(),
                    tokens,
                },
            )
            .await?;
        Ok(self.saved(&m, true))
    }

    /// Saves an answer that started no row (no text streamed) as one complete message.
    pub(crate) async fn append_answer(
        &self,
        completion: &Completion,
        message: &ChatMessage,
    ) -> Result<SavedMessage> {
        let conv = self.current()?;
        let tokens = TokenCounts {
            prompt: u32::try_from(completion.usage.prompt_tokens).ok(),
            completion: u32::try_from(completion.usage.completion_tokens).ok(),
        };
        let m = self
            .history
            .append(
                conv,
                NewMessage::new(message.clone())
                    .model(self.model.clone())
                    .tokens(tokens),
            )
            .await?;
        Ok(self.saved(&m, true))
    }

    /// The message the saved conversation continues from.
    pub(crate) async fn current_leaf(&self) -> Result<Option<MessageId>> {
        match &self.conversation {
            Some(conv) => Ok(self.history.conversation(conv).await?.current_leaf),
            None => Ok(None),
        }
    }

    /// Continues the saved conversation from message `id`.
    pub(crate) async fn checkout(&self, id: MessageId) -> Result<()> {
        self.history.checkout(self.current()?, id).await?;
        Ok(())
    }

    /// The last user message on the active branch.
    pub(crate) async fn last_user_message(&self) -> Result<Option<MessageId>> {
        if self.conversation.is_none() {
            return Ok(None);
        }
        Ok(self
            .current_path()
            .await?
            .iter()
            .rev()
            .find(|m| m.role() == Role::User)
            .map(|m| m.id))
    }

    /// The active branch as chat messages, without the system prompt.
    pub(crate) async fn current_messages(&self) -> Result<Vec<ChatMessage>> {
        let Some(conv) = &self.conversation else {
            return Ok(Vec::new());
        };
        Ok(self
            .history
            .current_path(conv)
            .await?
            .into_iter()
            .filter(|m| m.role() != Role::System)
            .map(|m| m.message)
            .collect())
    }

    /// The active branch as stored.
    pub(crate) async fn current_path(&self) -> Result<Vec<StoredMessage>> {
        Ok(self.history.current_path(self.current()?).await?)
    }
}
