//! Saving chats to the history as they happen: the user message at once, the answer as a
//! `partial` row from before its first token, updated while it streams and sealed at the end, so
//! a crash or Ctrl-C keeps everything that arrived.

use std::time::{Duration, Instant};

use llf_core::chat::{ChatMessage, Role};
use llf_history::{Finish, History, MessageId, NewMessage, TokenCounts};
use llf_runtime::Completion;

use crate::Context;

/// How often a streamed answer is written while it grows.
const SAVE_EVERY: Duration = Duration::from_millis(100);

/// The conversation a chat writes to; created on the first message.
pub(crate) struct Recorder {
    pub(crate) history: History,
    pub(crate) conversation: Option<String>,
    system_prompt: Option<String>,
    model: String,
}

/// An answer being saved.
pub(crate) struct AnswerRow {
    pub(crate) id: MessageId,
    saved_at: Instant,
}

impl Recorder {
    /// Opens the history database; `None` (with a warning) when it cannot be opened, so a broken
    /// history never stops a chat.
    pub(crate) async fn open(
        ctx: &Context,
        system_prompt: Option<String>,
        model: &str,
    ) -> Option<Self> {
        let path = ctx.config().ok()?.paths().state.join("history.db");
        match History::open(&path).await {
            Ok(history) => Some(Self {
                history,
                conversation: None,
                system_prompt,
                model: model.to_owned(),
            }),
            Err(e) => {
                tracing::warn!(error = %e, "history unavailable; this chat is not saved");
                None
            }
        }
    }

    /// The model name stored with answers.
    pub(crate) fn set_model(&mut self, model: &str) {
        model.clone_into(&mut self.model);
    }

    /// Replaces the system prompt saved at the start of new conversations.
    pub(crate) fn set_system_prompt(&mut self, prompt: Option<String>) {
        self.system_prompt = prompt;
    }

    async fn conversation_for(&mut self, first_message: &str) -> anyhow::Result<String> {
        if let Some(id) = &self.conversation {
            return Ok(id.clone());
        }
        let title: String = first_message
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
            .chars()
            .take(60)
            .collect();
        let conv = self
            .history
            .create_conversation(&title, Some(self.model.clone()))
            .await?;
        if let Some(system) = &self.system_prompt {
            self.history
                .append(&conv.id, ChatMessage::system(system.clone()))
                .await?;
        }
        self.conversation = Some(conv.id.clone());
        Ok(conv.id)
    }

    /// Saves the user's message and an empty `partial` answer under it.
    pub(crate) async fn begin(&mut self, user_text: &str) -> anyhow::Result<AnswerRow> {
        let conv = self.conversation_for(user_text).await?;
        self.history
            .append(&conv, ChatMessage::user(user_text))
            .await?;
        self.start_answer().await
    }

    /// Saves the user's message alone (the tool loop appends the rest as it comes).
    pub(crate) async fn user(&mut self, user_text: &str) -> anyhow::Result<()> {
        let conv = self.conversation_for(user_text).await?;
        self.history
            .append(&conv, ChatMessage::user(user_text))
            .await?;
        Ok(())
    }

    /// Saves any message under the current leaf.
    pub(crate) async fn append(&self, message: ChatMessage) -> anyhow::Result<()> {
        if let Some(conv) = &self.conversation {
            let m = if message.role == Role::Assistant {
                NewMessage::new(message).model(self.model.clone())
            } else {
                NewMessage::new(message)
            };
            self.history.append(conv, m).await?;
        }
        Ok(())
    }

    /// Saves an empty `partial` answer under the current leaf (used by /retry, which regenerates).
    pub(crate) async fn start_answer(&mut self) -> anyhow::Result<AnswerRow> {
        let conv = self
            .conversation
            .clone()
            .ok_or_else(|| anyhow::anyhow!("no conversation yet"))?;
        let row = self
            .history
            .start_message(
                &conv,
                NewMessage::new(ChatMessage::assistant("")).model(self.model.clone()),
            )
            .await?;
        Ok(AnswerRow {
            id: row.id,
            saved_at: Instant::now(),
        })
    }

    /// Saves the text so far, at most every 100 ms.
    pub(crate) async fn progress(&self, row: &mut AnswerRow, text: &str) {
        if row.saved_at.elapsed() >= SAVE_EVERY {
            if let Err(e) = self.history.update_content(row.id, text).await {
                tracing::warn!(error = %e, "cannot save the answer so far");
            }
            row.saved_at = Instant::now();
        }
    }

    /// Seals a complete answer.
    pub(crate) async fn finish(&self, row: AnswerRow, c: &Completion) -> anyhow::Result<()> {
        let tokens = TokenCounts {
            prompt: u32::try_from(c.usage.prompt_tokens).ok(),
            completion: u32::try_from(c.usage.completion_tokens).ok(),
        };
        self.history
            .finish_message(
                row.id,
                Finish {
                    content: c.content.clone(),
                    tool_calls: c.tool_calls.clone(),
                    tokens,
                },
            )
            .await?;
        Ok(())
    }

    /// Keeps an interrupted or failed answer as `partial` with what arrived.
    pub(crate) async fn keep_partial(&self, row: AnswerRow, text: &str) -> anyhow::Result<()> {
        self.history.update_content(row.id, text).await?;
        Ok(())
    }

    /// The conversation's active branch as chat messages, without the system prompt.
    pub(crate) async fn current_messages(&self) -> anyhow::Result<Vec<ChatMessage>> {
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
}
