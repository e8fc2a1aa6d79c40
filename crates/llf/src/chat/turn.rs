//! One turn: route and connect, build the prompt (context providers), save the user's message,
//! then model rounds — streamed and saved as they grow — with tool calls run and saved between
//! them, until the answer. Runs in a task of its own, so dropping the event stream cannot cut a
//! save in half: the task notices, saves what arrived and ends.

use std::time::Duration;

use futures::StreamExt;
use llf_core::chat::{ChatMessage, Role, ToolCall};
use llf_core::tool::ToolOutcome;
use llf_runtime::server::StartPhase;
use llf_runtime::{
    ChatEvent, ChatRequest, ChatStream, Completion, Connection, RuntimeError, Step, Target,
};
use llf_runtime::{ToolLoop, ToolMode, ToolTurn};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::ChatState;
use super::event::{SavedMessage, TurnEvent, TurnSummary};
use super::hooks::{Hooks, Prompt};
use super::record::{AnswerRow, Recorder};
use crate::{Error, Llf, Result};

/// What starts a turn.
pub(crate) enum Input {
    /// A new user message.
    Message(String),
    /// A new answer to the last user message.
    Retry,
    /// A new version of an earlier user message.
    Edit { message: i64, text: String },
}

/// How a turn ended early.
enum Stop {
    Failed(Error),
    Cancelled,
}

impl<E: Into<Error>> From<E> for Stop {
    fn from(e: E) -> Self {
        Stop::Failed(e.into())
    }
}

/// Runs a turn to its end, reporting through `tx`.
pub(crate) async fn run(
    llf: &Llf,
    state: &mut ChatState,
    input: Input,
    tx: mpsc::Sender<TurnEvent>,
    cancel: CancellationToken,
) {
    let mut turn = Turn {
        tx,
        cancel,
        partial: String::new(),
        new_messages: Vec::new(),
        user: None,
        answered: false,
        leaf_before: None,
        hooks: state.hooks.clone(),
        round_started: std::time::Instant::now(),
    };
    let before = state.messages.clone();
    // Plugins reloaded since the last turn take effect now.
    let result = match state.hooks.refresh(llf).await {
        Ok(()) => {
            turn.hooks = state.hooks.clone();
            turn.execute(llf, state, input).await
        }
        Err(e) => Err(Stop::Failed(e)),
    };
    let end = match result {
        Ok(summary) => {
            state.messages.append(&mut turn.new_messages);
            TurnEvent::Done(Box::new(summary))
        }
        Err(stop) => {
            if let Stop::Failed(error) = &stop {
                turn.hooks.on_error(error).await;
                // A failed request is a usage event too (the model rounds that finished were
                // recorded as they ended).
                let conversation = state
                    .recorder
                    .as_ref()
                    .and_then(|r| r.conversation().map(str::to_owned));
                let elapsed = turn.round_started.elapsed();
                super::usage::record(
                    llf,
                    state.conn.as_ref(),
                    conversation,
                    None,
                    &[],
                    Some(error),
                    elapsed,
                )
                .await;
            }
            turn.keep(state, before).await;
            let partial = std::mem::take(&mut turn.partial);
            match stop {
                Stop::Failed(error) => TurnEvent::Failed { error, partial },
                Stop::Cancelled => TurnEvent::Cancelled { partial },
            }
        }
    };
    // The receiver may be gone; everything is saved already.
    let _ = turn.tx.send(end).await;
}

/// Connects `state` to its target (routing by `text` first when still pending), starting the
/// local server when needed (`progress` gets its name and each start-up phase). Returns the
/// connection, and the server routing chose.
pub(crate) async fn connect(
    llf: &Llf,
    state: &mut ChatState,
    text: Option<&str>,
    progress: &(dyn Fn(&str, StartPhase) + Sync),
) -> Result<(Connection, Option<String>)> {
    if let Some(conn) = &state.conn {
        return Ok((conn.clone(), None));
    }
    let mut routed = None;
    if state.route_pending
        && let Some(text) = text
    {
        state.route_pending = false;
        if let Some(server) = llf.route(text) {
            state.target = Target::Server(server.clone());
            routed = Some(server);
        }
    }
    let server = llf
        .runtime()
        .local_server_name(&state.target)
        .unwrap_or_default();
    let conn = llf
        .runtime()
        .connect(&state.target, |phase| progress(&server, phase))
        .await?;
    if let Some(r) = state.recorder.as_mut() {
        r.set_model(conn.client.model());
    }
    state.conn = Some(conn.clone());
    Ok((conn, routed))
}

struct Turn {
    tx: mpsc::Sender<TurnEvent>,
    cancel: CancellationToken,
    /// The text of the answer streaming now.
    partial: String,
    /// Messages after the user's that this turn added (and saved, when the chat is saved).
    new_messages: Vec<ChatMessage>,
    /// The user's message: its text, and its id when saved.
    user: Option<(String, Option<i64>)>,
    /// Whether an answer (or part of one) exists.
    answered: bool,
    /// Where the saved conversation stood when the turn began.
    leaf_before: Option<i64>,
    /// The chat's plugins.
    hooks: Hooks,
    /// When the current model request began.
    round_started: std::time::Instant,
}

impl Turn {
    /// Sends an event; a receiver that is gone cancels the turn.
    async fn emit(&self, event: TurnEvent) -> Result<(), Stop> {
        self.tx.send(event).await.map_err(|_| Stop::Cancelled)
    }

    fn cancelled(&self) -> bool {
        self.cancel.is_cancelled() || self.tx.is_closed()
    }

    async fn saved(&self, saved: SavedMessage) -> Result<(), Stop> {
        self.emit(TurnEvent::Saved(saved)).await
    }

    async fn execute(
        &mut self,
        llf: &Llf,
        state: &mut ChatState,
        input: Input,
    ) -> Result<TurnSummary, Stop> {
        if let Some(r) = state.recorder.as_ref() {
            self.leaf_before = r.current_leaf().await?;
        }
        let (text, save_user) = self.resolve(state, input).await?;
        let conn = if let Some(conn) = &state.conn {
            conn.clone()
        } else {
            let tx = self.tx.clone();
            let (conn, routed) = connect(llf, state, Some(&text), &move |server, phase| {
                // Progress is best effort: a full channel drops a phase, never blocks the start.
                let _ = tx.try_send(TurnEvent::ServerStarting {
                    server: server.to_owned(),
                    phase,
                });
            })
            .await?;
            if let Some(server) = routed {
                self.emit(TurnEvent::Routed { server }).await?;
            }
            conn
        };

        let built = state
            .builder
            .build(&state.messages, &text, conn.limit.as_ref())
            .await?;
        for c in &built.context {
            self.emit(TurnEvent::Context {
                provider: c.provider.clone(),
                title: c.section.title.clone(),
                items: c.section.items.clone(),
                elapsed: c.elapsed,
            })
            .await?;
        }
        self.emit(TurnEvent::PromptReady {
            messages: built.messages.len(),
            prompt_tokens: built.prompt_tokens,
            trimmed: built.trimmed_messages,
            elapsed: built.elapsed,
        })
        .await?;
        if save_user {
            let id = match state.recorder.as_mut() {
                Some(r) => {
                    let saved = r.save_user(&text).await?;
                    let id = saved.id;
                    self.saved(saved).await?;
                    Some(id)
                }
                None => None,
            };
            self.user = Some((text.clone(), id));
            self.new_messages.push(ChatMessage::user(text.clone()));
        }
        self.hooks
            .on_message(&ChatMessage::user(text.clone()))
            .await?;
        if self.cancelled() {
            return Err(Stop::Cancelled);
        }
        // Plugins see (and may rewrite) exactly what the model would receive; the history keeps
        // what the user wrote.
        let prompt = match self.hooks.pre_request(built.messages.clone()).await? {
            Prompt::Send(messages) => messages,
            Prompt::Answered(text) => {
                return self
                    .answered_by_plugin(state, &conn, text, built.elapsed)
                    .await;
            }
        };

        let client = conn.client.clone();
        let mut tools: Option<ToolTurn> = state.executor.clone().map(|executor| {
            let mode = if conn.supports_tools {
                ToolMode::Native
            } else {
                ToolMode::Constrained
            };
            ToolLoop::new(client.clone(), executor, state.params.clone(), mode)
                .max_rounds(state.tool_rounds)
                .stream(state.stream)
                .start(prompt.clone())
        });
        #[cfg(feature = "tools")]
        let _approvals = state
            .approval_events
            .as_ref()
            .map(|slot| ApprovalRoute::new(slot, &self.tx));
        let mut outcomes = Vec::new();
        let mut rounds = 0;
        loop {
            rounds += 1;
            self.round_started = std::time::Instant::now();
            let stream = match tools.as_mut() {
                Some(t) => t.request().await?,
                None => {
                    let request = ChatRequest {
                        prompt_build: built.elapsed,
                        ..ChatRequest::new(prompt.clone()).params(state.params.clone())
                    };
                    if state.stream {
                        client.stream(request).await?
                    } else {
                        client.complete_as_stream(request).await?
                    }
                }
            };
            let (completion, row) = self.stream_round(state.recorder.as_ref(), stream).await?;
            let step = match tools.as_mut() {
                Some(t) => t.accept(completion)?,
                None => Step::Answer(completion),
            };
            match step {
                Step::Answer(mut completion) => {
                    self.usage(llf, state, &conn, &completion, &[]).await;
                    completion.content = self
                        .hooks
                        .post_request(std::mem::take(&mut completion.content))
                        .await?;
                    let message = ChatMessage::assistant(completion.content.clone());
                    self.hooks.on_message(&message).await?;
                    let answer_id = self
                        .seal(state.recorder.as_ref(), row, &completion, &message)
                        .await?;
                    self.new_messages.push(message);
                    self.partial.clear();
                    return Ok(TurnSummary {
                        answer: completion.content.clone(),
                        completion,
                        tool_outcomes: outcomes,
                        rounds,
                        prompt_build: built.elapsed,
                        conversation: state
                            .recorder
                            .as_ref()
                            .and_then(|r| r.conversation().map(str::to_owned)),
                        answer_id,
                    });
                }
                Step::Repeated(completion) => {
                    self.usage(llf, state, &conn, &completion, &[]).await;
                    // Text streamed before the repeated calls stays, without the calls.
                    if row.is_some() {
                        let message = ChatMessage::assistant(completion.content.clone());
                        self.seal(state.recorder.as_ref(), row, &completion, &message)
                            .await?;
                        self.new_messages.push(message);
                    }
                    self.partial.clear();
                }
                Step::ToolCalls {
                    completion,
                    message,
                    calls,
                } => {
                    self.seal(state.recorder.as_ref(), row, &completion, &message)
                        .await?;
                    self.new_messages.push(message);
                    self.partial.clear();
                    if let Some(t) = tools.as_mut() {
                        let run = self.run_tools(state.recorder.as_ref(), t, calls).await?;
                        self.usage(llf, state, &conn, &completion, &run).await;
                        outcomes.extend(run);
                    }
                    if let Some(error) = self.hooks.tool_stop() {
                        return Err(error.into());
                    }
                }
            }
        }
    }

    /// Records the usage of one finished model request.
    async fn usage(
        &self,
        llf: &Llf,
        state: &ChatState,
        conn: &Connection,
        completion: &Completion,
        tools: &[ToolOutcome],
    ) {
        let conversation = state
            .recorder
            .as_ref()
            .and_then(|r| r.conversation().map(str::to_owned));
        let elapsed = self.round_started.elapsed();
        super::usage::record(
            llf,
            Some(conn),
            conversation,
            Some(completion),
            tools,
            None,
            elapsed,
        )
        .await;
    }

    /// Ends the turn with a plugin's answer, without calling the model.
    async fn answered_by_plugin(
        &mut self,
        state: &mut ChatState,
        conn: &Connection,
        text: String,
        prompt_build: Duration,
    ) -> Result<TurnSummary, Stop> {
        let completion = Completion {
            model: conn.client.model().to_owned(),
            content: text.clone(),
            finish_reason: Some("stop".into()),
            ..Completion::default()
        };
        self.emit(TurnEvent::Token(text.clone())).await?;
        let message = ChatMessage::assistant(text.clone());
        let answer_id = self
            .seal(state.recorder.as_ref(), None, &completion, &message)
            .await?;
        self.hooks.on_message(&message).await?;
        self.new_messages.push(message);
        Ok(TurnSummary {
            answer: text,
            completion,
            tool_outcomes: Vec::new(),
            rounds: 0,
            prompt_build,
            conversation: state
                .recorder
                .as_ref()
                .and_then(|r| r.conversation().map(str::to_owned)),
            answer_id,
        })
    }

    /// The user's text, and whether it is a new message to save; for a retry or an edit, moves
    /// the conversation to where the new answer belongs.
    async fn resolve(
        &mut self,
        state: &mut ChatState,
        input: Input,
    ) -> Result<(String, bool), Stop> {
        match input {
            Input::Message(text) => {
                if text.trim().is_empty() {
                    return Err(Error::EmptyMessage.into());
                }
                Ok((text, true))
            }
            Input::Retry => {
                let last_user = state
                    .messages
                    .iter()
                    .rposition(|m| m.role == Role::User)
                    .ok_or(Error::NothingTo { action: "retry" })?;
                let text = state.messages[last_user].content.clone();
                if let Some(r) = state.recorder.as_ref()
                    && let Some(id) = r.last_user_message().await?
                {
                    r.checkout(id).await?;
                    self.user = Some((text.clone(), Some(id)));
                }
                state.messages.truncate(last_user);
                if self.user.is_none() {
                    self.user = Some((text.clone(), None));
                }
                // The old answer leaves the active branch; the user's message is kept as it is.
                self.new_messages.push(ChatMessage::user(text.clone()));
                Ok((text, false))
            }
            Input::Edit { message, text } => {
                if text.trim().is_empty() {
                    return Err(Error::EmptyMessage.into());
                }
                edit(state, self, message, &text).await?;
                Ok((text, false))
            }
        }
    }

    /// Streams one model round, saving the answer as it grows (from its first token on), until
    /// the round's completion; cancellation and failures keep what arrived.
    async fn stream_round(
        &mut self,
        recorder: Option<&Recorder>,
        mut stream: ChatStream,
    ) -> Result<(Completion, Option<AnswerRow>), Stop> {
        let mut row: Option<AnswerRow> = None;
        let result = loop {
            let due = row.as_ref().and_then(|r| r.due(self.partial.len()));
            let event = tokio::select! {
                biased;
                () = self.cancel.cancelled() => break Err(Stop::Cancelled),
                () = self.tx.closed() => break Err(Stop::Cancelled),
                () = sleep_until(due), if due.is_some() => {
                    if let (Some(r), Some(row)) = (recorder, row.as_mut())
                        && let Err(e) = r.update(row, &self.partial).await
                    {
                        break Err(e.into());
                    }
                    continue;
                }
                event = stream.next() => event,
            };
            match event {
                Some(ChatEvent::Token(t)) => {
                    let t = if self.hooks.rewrites_tokens() {
                        match self.hooks.on_token(t).await {
                            Ok(t) => t,
                            Err(e) => break Err(e.into()),
                        }
                    } else {
                        t
                    };
                    self.partial.push_str(&t);
                    self.answered = true;
                    if let Err(stop) = self.emit(TurnEvent::Token(t)).await {
                        break Err(stop);
                    }
                    if let Some(r) = recorder {
                        if row.is_none() {
                            match r.start_answer(&self.partial).await {
                                Ok((new_row, saved)) => {
                                    row = Some(new_row);
                                    if let Err(stop) = self.saved(saved).await {
                                        break Err(stop);
                                    }
                                }
                                Err(e) => break Err(e.into()),
                            }
                        } else if let Some(row) = row.as_mut()
                            && row
                                .due(self.partial.len())
                                .is_some_and(|at| at <= std::time::Instant::now())
                            && let Err(e) = r.update(row, &self.partial).await
                        {
                            break Err(e.into());
                        }
                    }
                }
                Some(ChatEvent::Done(mut c)) => {
                    // Tokens rewritten by plugins make the answer: what was shown is what is saved.
                    if self.hooks.rewrites_tokens() {
                        c.content = self.partial.clone();
                    }
                    break Ok(c);
                }
                Some(ChatEvent::Error { error, partial }) => {
                    if self.partial.is_empty() {
                        self.partial = partial.content;
                    }
                    break Err(error.into());
                }
                Some(_) => {}
                None => {
                    break Err(Error::Runtime(RuntimeError::Malformed {
                        endpoint: String::new(),
                        detail: "the answer ended without its final event".into(),
                    })
                    .into());
                }
            }
        };
        match result {
            Ok(c) => Ok((c, row)),
            Err(stop) => {
                // What arrived is kept: written once more, or saved now if it never was.
                let saved = match (recorder, row) {
                    (Some(r), Some(mut row)) => r.update(&mut row, &self.partial).await,
                    (Some(r), None) if !self.partial.is_empty() => {
                        r.start_answer(&self.partial).await.map(|_| ())
                    }
                    _ => Ok(()),
                };
                if let Err(e) = saved {
                    tracing::error!(error = %e, "cannot save the partial answer");
                }
                Err(stop)
            }
        }
    }

    /// Saves a finished model message: seals its row, or appends it whole when nothing streamed.
    async fn seal(
        &mut self,
        recorder: Option<&Recorder>,
        row: Option<AnswerRow>,
        completion: &Completion,
        message: &ChatMessage,
    ) -> Result<Option<i64>, Stop> {
        self.answered = true;
        let Some(r) = recorder else { return Ok(None) };
        let saved = match row {
            Some(row) => r.finish(row, completion, message).await?,
            None => r.append_answer(completion, message).await?,
        };
        let id = saved.id;
        self.saved(saved).await?;
        Ok(Some(id))
    }

    /// Runs one round's tool calls; each result is saved (in call order) as it comes. A cancelled
    /// turn answers the calls still running with a cancellation, so the conversation stays valid.
    async fn run_tools(
        &mut self,
        recorder: Option<&Recorder>,
        turn: &mut ToolTurn,
        calls: Vec<ToolCall>,
    ) -> Result<Vec<ToolOutcome>, Stop> {
        for c in &calls {
            self.emit(TurnEvent::ToolCall(c.clone())).await?;
        }
        let mut pending: Vec<ToolCall> = calls.clone();
        let mut results = Box::pin(turn.run_tools(calls));
        let mut outcomes = Vec::new();
        loop {
            let next = tokio::select! {
                biased;
                () = self.cancel.cancelled() => None,
                () = self.tx.closed() => None,
                next = results.next() => Some(next),
            };
            match next {
                Some(Some((call, outcome))) => {
                    pending.retain(|c| c.id != call.id);
                    let message = turn.record_result(&call, &outcome);
                    self.hooks.on_message(&message).await?;
                    if let Some(r) = recorder {
                        let saved = r.append(message.clone()).await?;
                        self.new_messages.push(message);
                        self.emit(TurnEvent::ToolResult(outcome.clone())).await?;
                        self.saved(saved).await?;
                    } else {
                        self.new_messages.push(message);
                        self.emit(TurnEvent::ToolResult(outcome.clone())).await?;
                    }
                    outcomes.push(outcome);
                }
                Some(None) => return Ok(outcomes),
                None => {
                    drop(results);
                    for call in pending {
                        let outcome = ToolOutcome::failure(
                            &llf_core::tool::ToolInvocation {
                                call_id: call.id.clone(),
                                name: call.name.clone(),
                                arguments: call.arguments.clone(),
                            },
                            "cancelled by the user before the tool finished",
                            Duration::ZERO,
                        );
                        let message = turn.record_result(&call, &outcome);
                        if let Some(r) = recorder
                            && let Err(e) = r.append(message.clone()).await
                        {
                            tracing::error!(error = %e, "cannot save a cancelled tool call");
                        }
                        self.new_messages.push(message);
                    }
                    return Err(Stop::Cancelled);
                }
            }
        }
    }

    /// After a turn that did not end well: the chat keeps what was said (the user's message and
    /// whatever answer, tool calls and results arrived), as the history does; a turn that got no
    /// answer at all leaves the conversation where it was, its user message on a side branch.
    async fn keep(&mut self, state: &mut ChatState, before: Vec<ChatMessage>) {
        if self.user.take().is_none() {
            state.messages = before;
            return;
        }
        if !self.answered && self.partial.is_empty() {
            if let (Some(r), Some(leaf)) = (state.recorder.as_ref(), self.leaf_before)
                && let Err(e) = r.checkout(leaf).await
            {
                tracing::error!(error = %e, "cannot move the conversation back after a failed turn");
            }
            state.messages = before;
            return;
        }
        let mut messages = state.messages.clone();
        messages.append(&mut self.new_messages);
        if !self.partial.is_empty() {
            messages.push(ChatMessage::assistant(self.partial.clone()));
        }
        state.messages = messages;
    }
}

/// Edits user message `id`: a new user message with `text` under the same parent (a new branch),
/// and the chat continues from there.
#[cfg(feature = "history")]
async fn edit(state: &mut ChatState, turn: &mut Turn, id: i64, text: &str) -> Result<(), Stop> {
    let rec = state.recorder.as_ref().ok_or(Error::NotSaved {
        action: "edit a message",
    })?;
    let conv = rec.conversation().ok_or(Error::NoConversation)?.to_owned();
    let history = rec.history();
    let old = history.message(id).await?;
    if old.conversation_id != conv {
        return Err(Error::History(llf_history::HistoryError::MessageNotFound {
            conversation: conv,
            id,
        })
        .into());
    }
    if old.role() != Role::User {
        return Err(Error::NotAUserMessage {
            id,
            role: old.role(),
        }
        .into());
    }
    let new = history
        .append_under(&conv, old.parent_id, ChatMessage::user(text))
        .await?;
    state.messages = rec.current_messages().await?;
    // The new message is the last one of the path; the turn builds on what comes before it.
    state.messages.pop();
    turn.user = Some((text.to_owned(), Some(new.id)));
    turn.saved(SavedMessage {
        conversation: conv,
        id: new.id,
        role: Role::User,
        complete: true,
    })
    .await?;
    turn.new_messages.push(ChatMessage::user(text));
    Ok(())
}

#[cfg(not(feature = "history"))]
async fn edit(_: &mut ChatState, _: &mut Turn, _: i64, _: &str) -> Result<(), Stop> {
    Err(Error::FeatureOff("history").into())
}

/// Sleeps until `at`; forever when `None` (the branch is disabled then anyway).
async fn sleep_until(at: Option<std::time::Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at.into()).await,
        None => std::future::pending().await,
    }
}

/// While a turn runs, approval decisions go to its events.
#[cfg(feature = "tools")]
struct ApprovalRoute {
    slot: super::approval::EventSlot,
}

#[cfg(feature = "tools")]
impl ApprovalRoute {
    fn new(slot: &super::approval::EventSlot, tx: &mpsc::Sender<TurnEvent>) -> Self {
        *slot.lock().unwrap_or_else(|p| p.into_inner()) = Some(tx.clone());
        Self {
            slot: std::sync::Arc::clone(slot),
        }
    }
}

#[cfg(feature = "tools")]
impl Drop for ApprovalRoute {
    fn drop(&mut self) {
        *self.slot.lock().unwrap_or_else(|p| p.into_inner()) = None;
    }
}
