//! The chat: one conversation that combines a model, long-term memory, retrieval over data stores,
//! tools and the conversation history, turn after turn.
//!
//! [`Llf::chat`] opens a [`Chat`] as [`ChatOptions`] say; [`Chat::send`] runs one turn and returns
//! a [`TurnStream`] of [`TurnEvent`]s: context added, tokens, tool calls and their results,
//! messages saved, and the end ([`TurnEvent::Done`], [`TurnEvent::Failed`] or
//! [`TurnEvent::Cancelled`]). Every message of a turn is in the history before the turn moves on,
//! and a streamed answer is saved at most 100 ms apart while it grows, so a crash loses at most
//! the last fraction of a second. Dropping the stream cancels the turn and keeps what arrived.

#[cfg(feature = "tools")]
mod approval;
mod event;
mod hooks;
mod options;
#[cfg(feature = "history")]
mod record;
#[cfg(not(feature = "history"))]
#[path = "record_off.rs"]
mod record;
mod turn;
mod usage;

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use futures::Stream;
use llf_core::chat::ChatMessage;
use llf_core::tool::{ToolExecutor, ToolSpec};
use llf_runtime::server::{ServerState, StartPhase};
use llf_runtime::{Connection, PromptBuilder, Target};
use tokio::sync::{Mutex, mpsc};
use tokio_util::sync::CancellationToken;

pub use event::{SavedMessage, TurnEvent, TurnSummary};
pub use options::ChatOptions;

use crate::{Error, Llf, Result};

/// Something that did not open for a chat, which goes on without it (memory, retrieval, the
/// history). Frontends show these to the user.
#[derive(Debug)]
pub struct ChatWarning {
    /// What is off for this chat: `memory`, `retrieval`, `history`.
    pub capability: &'static str,
    /// Why.
    pub error: Error,
}

/// A conversation in progress. Cheap to clone; clones are the same conversation, and their turns
/// run one after the other.
#[derive(Clone)]
pub struct Chat {
    llf: Llf,
    state: Arc<Mutex<ChatState>>,
}

impl std::fmt::Debug for Chat {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Chat").finish_non_exhaustive()
    }
}

/// Everything a chat holds between turns.
pub(crate) struct ChatState {
    pub(crate) target: Target,
    /// The first message still decides the server (`multi_model.routing_strategy`).
    pub(crate) route_pending: bool,
    pub(crate) conn: Option<Connection>,
    pub(crate) builder: PromptBuilder,
    pub(crate) params: llf_config::schema::InferenceParams,
    /// The active branch, without the system prompt.
    pub(crate) messages: Vec<ChatMessage>,
    pub(crate) recorder: Option<record::Recorder>,
    pub(crate) executor: Option<Arc<dyn ToolExecutor>>,
    #[cfg(feature = "tools")]
    pub(crate) approval_events: Option<approval::EventSlot>,
    pub(crate) tool_rounds: usize,
    /// Whether answers are requested as streams.
    pub(crate) stream: bool,
    #[cfg(feature = "memory")]
    pub(crate) memory: Option<llf_memory::MemoryContext>,
    #[cfg(feature = "rag")]
    pub(crate) rag: Option<llf_rag::context::RagContext>,
    pub(crate) warnings: Vec<ChatWarning>,
    /// The plugins every turn runs through.
    pub(crate) hooks: hooks::Hooks,
}

impl Llf {
    /// Opens a chat as `options` say. The local server is started by [`Chat::connect`] or by
    /// the first turn. Memory, retrieval or history that cannot be opened leave the chat without
    /// them, with a [`ChatWarning`] ([`Chat::take_warnings`]).
    pub async fn chat(&self, options: ChatOptions) -> Result<Chat> {
        let state = options.open(self).await?;
        Ok(Chat {
            llf: self.clone(),
            state: Arc::new(Mutex::new(state)),
        })
    }
}

impl Chat {
    /// The application context the chat belongs to.
    pub fn llf(&self) -> &Llf {
        &self.llf
    }

    /// Sends `text` as the next user message and runs the turn: context, the answer (through
    /// tool calls when tools are on), each step saved as it happens.
    pub fn send(&self, text: impl Into<String>) -> TurnStream {
        self.spawn(turn::Input::Message(text.into()))
    }

    /// Regenerates the last answer: a new answer to the last user message, saved as a sibling of
    /// the old one (both stay in the history's tree).
    pub fn retry(&self) -> TurnStream {
        self.spawn(turn::Input::Retry)
    }

    /// Replaces the user message `message` (an id from the history) with `text` and answers it:
    /// a new branch from the message before it; the old branch stays in the tree.
    pub fn edit(&self, message: i64, text: impl Into<String>) -> TurnStream {
        self.spawn(turn::Input::Edit {
            message,
            text: text.into(),
        })
    }

    fn spawn(&self, input: turn::Input) -> TurnStream {
        let (tx, rx) = mpsc::channel(256);
        let cancel = CancellationToken::new();
        let state = Arc::clone(&self.state);
        let llf = self.llf.clone();
        let token = cancel.clone();
        tokio::spawn(async move {
            let mut state = state.lock_owned().await;
            turn::run(&llf, &mut state, input, tx, token).await;
        });
        TurnStream { rx, cancel }
    }

    /// Waits until no turn is running (a cancelled turn saves what arrived before it ends).
    pub async fn idle(&self) {
        drop(self.state.lock().await);
    }

    /// Connects to the chat's model, starting its local server when it is not running;
    /// `progress` gets the server's name and follows its start-up. With routing on (`multi_model.routing_strategy`), the
    /// server is chosen for `first_message`; the one chosen is returned. The first turn connects
    /// by itself when this was not called.
    pub async fn connect(
        &self,
        first_message: Option<&str>,
        progress: impl Fn(&str, StartPhase) + Sync,
    ) -> Result<Option<String>> {
        let mut state = self.state.lock().await;
        let (_, routed) = turn::connect(&self.llf, &mut state, first_message, &progress).await?;
        Ok(routed)
    }

    /// Talks to `target` from now on (starting its local server when needed); the conversation
    /// is kept.
    pub async fn switch(
        &self,
        target: Target,
        progress: impl Fn(&str, StartPhase) + Sync,
    ) -> Result<()> {
        let mut state = self.state.lock().await;
        let previous = std::mem::replace(&mut state.target, target);
        let conn = state.conn.take();
        state.route_pending = false;
        match turn::connect(&self.llf, &mut state, None, &progress).await {
            Ok(_) => Ok(()),
            Err(e) => {
                state.target = previous;
                state.conn = conn;
                Err(e)
            }
        }
    }

    /// The local server the chat talks to, once connected.
    pub async fn server(&self) -> Option<ServerState> {
        let state = self.state.lock().await;
        state.conn.as_ref().and_then(|c| c.server.clone())
    }

    /// A short description of the model the chat talks to: `` `name` (model) `` for a local
    /// server, `model at URL` for an endpoint; `None` before [`Chat::connect`].
    pub async fn describe(&self) -> Option<String> {
        let state = self.state.lock().await;
        state.conn.as_ref().map(|c| match &c.server {
            Some(s) => format!("`{}` ({})", s.name, c.client.model()),
            None => format!("{} at {}", c.client.model(), c.client.endpoint()),
        })
    }

    /// What did not open for this chat (and is off): memory, retrieval, history. Each is
    /// returned once.
    pub async fn take_warnings(&self) -> Vec<ChatWarning> {
        std::mem::take(&mut self.state.lock().await.warnings)
    }

    /// The system prompt.
    pub async fn system_prompt(&self) -> Option<String> {
        let state = self.state.lock().await;
        state.builder.system_prompt().map(str::to_owned)
    }

    /// Replaces the system prompt for the next turns (and for the conversations this chat
    /// starts from now on).
    pub async fn set_system_prompt(&self, prompt: Option<String>) {
        let mut state = self.state.lock().await;
        state.builder.set_system_prompt(prompt.clone());
        if let Some(r) = state.recorder.as_mut() {
            r.set_system_prompt(prompt);
        }
    }

    /// The conversation so far on the active branch (without the system prompt).
    pub async fn messages(&self) -> Vec<ChatMessage> {
        self.state.lock().await.messages.clone()
    }

    /// Replaces the conversation in memory (e.g. a transcript loaded from a file); the next
    /// turns build on it. `system` replaces the system prompt when given.
    pub async fn replace_messages(&self, system: Option<String>, messages: Vec<ChatMessage>) {
        let mut state = self.state.lock().await;
        state.messages = messages;
        if system.is_some() {
            state.builder.set_system_prompt(system);
        }
    }

    /// Starts over: the next message begins a new conversation.
    pub async fn clear(&self) {
        let mut state = self.state.lock().await;
        state.messages.clear();
        if let Some(r) = state.recorder.as_mut() {
            r.set_conversation(None);
        }
    }

    /// The saved conversation's id, once the first message is saved (or when resumed).
    pub async fn conversation(&self) -> Option<String> {
        let state = self.state.lock().await;
        state
            .recorder
            .as_ref()
            .and_then(|r| r.conversation().map(str::to_owned))
    }

    /// The saved conversation's header (title, times), once there is one.
    #[cfg(feature = "history")]
    pub async fn saved_conversation(&self) -> Result<Option<llf_history::Conversation>> {
        let state = self.state.lock().await;
        match state.recorder.as_ref() {
            Some(r) => match r.conversation() {
                Some(id) => Ok(Some(r.history().conversation(id).await?)),
                None => Ok(None),
            },
            None => Ok(None),
        }
    }

    /// The tools the model may call (`None` when tools are off).
    pub async fn tool_specs(&self) -> Option<Vec<ToolSpec>> {
        let state = self.state.lock().await;
        state.executor.as_ref().map(|e| e.specs())
    }

    /// Long-term memory of this chat (`None` when memory is off).
    #[cfg(feature = "memory")]
    pub async fn memory(&self) -> Option<llf_memory::MemoryContext> {
        self.state.lock().await.memory.clone()
    }

    /// The history the chat saves to (`None` when it is not saved).
    #[cfg(feature = "history")]
    pub async fn history(&self) -> Option<llf_history::History> {
        let state = self.state.lock().await;
        state.recorder.as_ref().map(|r| r.history().clone())
    }

    /// Continues the conversation from message `from` (an id from the history): the next message
    /// starts a new branch there. Without `from`, from before the last user message (the next
    /// message becomes a sibling of it). Returns the message continued from.
    #[cfg(feature = "history")]
    pub async fn branch(&self, from: Option<i64>) -> Result<i64> {
        let mut state = self.state.lock().await;
        let rec = state
            .recorder
            .as_ref()
            .ok_or(Error::NotSaved { action: "branch" })?;
        let target = match from {
            Some(id) => id,
            None => {
                let path = rec.current_path().await?;
                let last_user = path
                    .iter()
                    .rposition(|m| m.role() == llf_core::chat::Role::User)
                    .ok_or(Error::NothingTo {
                        action: "branch from",
                    })?;
                match last_user.checked_sub(1).and_then(|i| path.get(i)) {
                    Some(m) => m.id,
                    None => {
                        return Err(Error::NothingTo {
                            action: "branch from",
                        });
                    }
                }
            }
        };
        self.go(&mut state, target).await?;
        Ok(target)
    }

    /// Goes to message `id` (an id from the history): the conversation continues from there.
    /// Returns the number of messages on the branch now active.
    #[cfg(feature = "history")]
    pub async fn goto(&self, id: i64) -> Result<usize> {
        let mut state = self.state.lock().await;
        self.go(&mut state, id).await?;
        Ok(state.messages.len())
    }

    #[cfg(feature = "history")]
    async fn go(&self, state: &mut ChatState, id: i64) -> Result<()> {
        let rec = state.recorder.as_ref().ok_or(Error::NotSaved {
            action: "go to a message",
        })?;
        let conv = rec.conversation().ok_or(Error::NoConversation)?.to_owned();
        rec.history().checkout(&conv, id).await?;
        state.messages = rec.current_messages().await?;
        Ok(())
    }

    /// Ends the chat: waits for a running turn, keeps the retrieval caches for the next run and
    /// waits for the usage events still being written.
    pub async fn close(self) -> Result<()> {
        #[allow(unused_variables)] // used only with the `rag` feature
        let state = self.state.lock().await;
        #[cfg(feature = "rag")]
        if let Some(rag) = &state.rag {
            self.llf.save_rag_cache(rag)?;
        }
        // Usage events are written in the background; a process ends after this.
        #[cfg(feature = "analytics")]
        self.llf.flush_usage().await;
        Ok(())
    }
}

/// The events of one turn ([`TurnEvent`]), ending with `Done`, `Failed` or `Cancelled`.
///
/// Dropping it cancels the turn: generation stops, and what arrived is kept (and saved, by the
/// time [`Chat::idle`] returns).
#[derive(Debug)]
pub struct TurnStream {
    rx: mpsc::Receiver<TurnEvent>,
    cancel: CancellationToken,
}

impl TurnStream {
    /// Stops the turn; the stream then ends with [`TurnEvent::Cancelled`] and what arrived.
    pub fn cancel(&self) {
        self.cancel.cancel();
    }

    /// Runs the turn to its end and returns its summary; the error (or a cancellation) as an
    /// error.
    pub async fn finish(mut self) -> Result<TurnSummary> {
        use futures::StreamExt;
        while let Some(event) = self.next().await {
            match event {
                TurnEvent::Done(summary) => return Ok(*summary),
                TurnEvent::Failed { error, .. } => return Err(error),
                TurnEvent::Cancelled { .. } => return Err(Error::Cancelled),
                _ => {}
            }
        }
        Err(Error::Cancelled)
    }
}

impl Stream for TurnStream {
    type Item = TurnEvent;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<TurnEvent>> {
        self.rx.poll_recv(cx)
    }
}

impl Drop for TurnStream {
    fn drop(&mut self) {
        self.cancel.cancel();
    }
}
