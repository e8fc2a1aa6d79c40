//! [`PluginHost`]: runs plugins in order, and keeps a faulty plugin from breaking the turn.

use std::any::Any;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use futures::FutureExt;
use llf_core::chat::ChatMessage;
use llf_core::tool::{ToolInvocation, ToolOutcome};

use crate::error::{Fault, PluginError, Result};
use crate::plugin::{Decision, Hook, HookResult, Plugin};

/// How the host runs one plugin.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PluginSettings {
    /// Plugins run in ascending order (ties: the order they were added).
    pub order: i32,
    /// When a required plugin fails, panics or times out, the turn fails; any other plugin is
    /// skipped for that call (logged and counted) and the turn goes on.
    pub required: bool,
    /// How long one hook call may take.
    pub timeout: Duration,
}

impl Default for PluginSettings {
    fn default() -> Self {
        Self {
            order: 0,
            required: false,
            timeout: Duration::from_secs(5),
        }
    }
}

/// What happened to one plugin's calls so far.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PluginStats {
    /// The plugin.
    pub name: String,
    /// Hook calls that answered.
    pub calls: u64,
    /// Hook calls that returned an error.
    pub errors: u64,
    /// Hook calls that panicked.
    pub panics: u64,
    /// Hook calls that ran out of time.
    pub timeouts: u64,
}

#[derive(Default)]
struct Counters {
    calls: AtomicU64,
    errors: AtomicU64,
    panics: AtomicU64,
    timeouts: AtomicU64,
}

struct Slot {
    plugin: Arc<dyn Plugin>,
    settings: PluginSettings,
    counters: Counters,
}

/// The result of a chain of hooks that may answer in place of the model or the tool.
#[derive(Debug, Clone, PartialEq)]
pub enum Flow<T, S> {
    /// Go on with this value (rewritten or not).
    Go(T),
    /// A plugin answered: use this instead of calling the model or the tool.
    Skip {
        /// The plugin that answered.
        plugin: String,
        /// The answer.
        value: S,
    },
}

/// Plugins in their order, each isolated from the turn. Cheap to clone (clones share the plugins
/// and their statistics).
#[derive(Clone, Default)]
pub struct PluginHost {
    slots: Vec<Arc<Slot>>,
}

impl std::fmt::Debug for PluginHost {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.names()).finish()
    }
}

impl PluginHost {
    /// A host without plugins.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds `plugin`, placed by `settings.order`.
    pub fn add(&mut self, plugin: Arc<dyn Plugin>, settings: PluginSettings) {
        self.slots.push(Arc::new(Slot {
            plugin,
            settings,
            counters: Counters::default(),
        }));
        // A stable sort: equal orders keep the order they were added in.
        self.slots.sort_by_key(|s| s.settings.order);
    }

    /// This host's plugins and `other`'s, in order (both keep their statistics).
    pub fn merged(&self, other: &PluginHost) -> PluginHost {
        let mut slots: Vec<Arc<Slot>> = self.slots.iter().chain(&other.slots).cloned().collect();
        slots.sort_by_key(|s| s.settings.order);
        PluginHost { slots }
    }

    /// Whether there are no plugins.
    pub fn is_empty(&self) -> bool {
        self.slots.is_empty()
    }

    /// The plugins' names, in order.
    pub fn names(&self) -> Vec<String> {
        self.slots
            .iter()
            .map(|s| s.plugin.name().to_owned())
            .collect()
    }

    /// Whether any plugin implements `hook`.
    pub fn wants(&self, hook: Hook) -> bool {
        self.slots.iter().any(|s| s.plugin.wants(hook))
    }

    /// Each plugin's call counts.
    pub fn stats(&self) -> Vec<PluginStats> {
        self.slots
            .iter()
            .map(|s| {
                let c = &s.counters;
                PluginStats {
                    name: s.plugin.name().to_owned(),
                    calls: c.calls.load(Ordering::Relaxed),
                    errors: c.errors.load(Ordering::Relaxed),
                    panics: c.panics.load(Ordering::Relaxed),
                    timeouts: c.timeouts.load(Ordering::Relaxed),
                }
            })
            .collect()
    }

    fn wanting(&self, hook: Hook) -> impl Iterator<Item = &Arc<Slot>> {
        self.slots.iter().filter(move |s| s.plugin.wants(hook))
    }

    /// Runs the `pre_request` hooks over the prompt's messages.
    pub async fn pre_request(
        &self,
        mut messages: Vec<ChatMessage>,
    ) -> Result<Flow<Vec<ChatMessage>, String>> {
        let hook = Hook::PreRequest;
        for slot in self.wanting(hook) {
            match call(slot, hook, slot.plugin.pre_request(&messages)).await? {
                Some(Decision::Replace(m)) => messages = m,
                Some(Decision::Skip(value)) => return Ok(skip(slot, value)),
                Some(Decision::Stop(reason)) => return Err(stopped(slot, hook, reason)),
                Some(Decision::Continue) | None => {}
            }
        }
        Ok(Flow::Go(messages))
    }

    /// Runs the `post_request` hooks over the answer.
    pub async fn post_request(&self, mut answer: String) -> Result<String> {
        let hook = Hook::PostRequest;
        for slot in self.wanting(hook) {
            match call(slot, hook, slot.plugin.post_request(&answer)).await? {
                Some(Decision::Replace(a) | Decision::Skip(a)) => answer = a,
                Some(Decision::Stop(reason)) => return Err(stopped(slot, hook, reason)),
                Some(Decision::Continue) | None => {}
            }
        }
        Ok(answer)
    }

    /// Runs the `on_token` hooks over a piece of a streamed answer.
    pub async fn on_token(&self, mut token: String) -> Result<String> {
        let hook = Hook::OnToken;
        for slot in self.wanting(hook) {
            match call(slot, hook, slot.plugin.on_token(&token)).await? {
                Some(Decision::Replace(t) | Decision::Skip(t)) => token = t,
                Some(Decision::Stop(reason)) => return Err(stopped(slot, hook, reason)),
                Some(Decision::Continue) | None => {}
            }
        }
        Ok(token)
    }

    /// Runs the `pre_tool_execution` hooks over a tool call.
    pub async fn pre_tool_execution(
        &self,
        mut call_: ToolInvocation,
    ) -> Result<Flow<ToolInvocation, serde_json::Value>> {
        let hook = Hook::PreToolExecution;
        for slot in self.wanting(hook) {
            match call(slot, hook, slot.plugin.pre_tool_execution(&call_)).await? {
                Some(Decision::Replace(arguments)) => call_.arguments = arguments,
                Some(Decision::Skip(value)) => return Ok(skip(slot, value)),
                Some(Decision::Stop(reason)) => return Err(stopped(slot, hook, reason)),
                Some(Decision::Continue) | None => {}
            }
        }
        Ok(Flow::Go(call_))
    }

    /// Runs the `post_tool_execution` hooks over a tool's outcome.
    pub async fn post_tool_execution(&self, mut outcome: ToolOutcome) -> Result<ToolOutcome> {
        let hook = Hook::PostToolExecution;
        for slot in self.wanting(hook) {
            match call(slot, hook, slot.plugin.post_tool_execution(&outcome)).await? {
                Some(Decision::Replace(o) | Decision::Skip(o)) => outcome = o,
                Some(Decision::Stop(reason)) => return Err(stopped(slot, hook, reason)),
                Some(Decision::Continue) | None => {}
            }
        }
        Ok(outcome)
    }

    /// Tells the plugins a message joined the conversation.
    pub async fn on_message(&self, message: &ChatMessage) -> Result<()> {
        let hook = Hook::OnMessage;
        for slot in self.wanting(hook) {
            if let Some(Decision::Stop(reason)) =
                call(slot, hook, slot.plugin.on_message(message)).await?
            {
                return Err(stopped(slot, hook, reason));
            }
        }
        Ok(())
    }

    /// Tells the plugins a turn failed. Plugin faults here are only logged: the turn has failed
    /// already.
    pub async fn on_error(&self, error: &str) {
        let hook = Hook::OnError;
        for slot in self.wanting(hook) {
            let _ = call(slot, hook, slot.plugin.on_error(error)).await;
        }
    }

    /// Calls every plugin's `on_startup`; a required plugin that fails fails the start.
    pub async fn startup(&self) -> Result<()> {
        let hook = Hook::OnStartup;
        for slot in self.wanting(hook) {
            call(slot, hook, slot.plugin.on_startup()).await?;
        }
        Ok(())
    }

    /// Calls every plugin's `on_shutdown` (faults are logged).
    pub async fn shutdown(&self) {
        let hook = Hook::OnShutdown;
        for slot in self.wanting(hook) {
            let _ = call(slot, hook, slot.plugin.on_shutdown()).await;
        }
    }
}

fn skip<T, S>(slot: &Slot, value: S) -> Flow<T, S> {
    Flow::Skip {
        plugin: slot.plugin.name().to_owned(),
        value,
    }
}

fn stopped(slot: &Slot, hook: Hook, reason: String) -> PluginError {
    PluginError::Stopped {
        plugin: slot.plugin.name().to_owned(),
        hook,
        reason,
    }
}

/// Runs one hook call within the plugin's time budget, catching its panics. `Ok(None)`: the
/// plugin failed and is skipped for this call; an error: a required plugin failed.
async fn call<T>(
    slot: &Slot,
    hook: Hook,
    fut: impl Future<Output = HookResult<T>>,
) -> Result<Option<T>> {
    let c = &slot.counters;
    let timeout = slot.settings.timeout;
    let fault = match tokio::time::timeout(timeout, AssertUnwindSafe(fut).catch_unwind()).await {
        Ok(Ok(Ok(value))) => {
            c.calls.fetch_add(1, Ordering::Relaxed);
            return Ok(Some(value));
        }
        Ok(Ok(Err(e))) => {
            c.errors.fetch_add(1, Ordering::Relaxed);
            Fault::Failed(e)
        }
        Ok(Err(panic)) => {
            c.panics.fetch_add(1, Ordering::Relaxed);
            Fault::Panicked(panic_message(panic.as_ref()))
        }
        Err(_) => {
            c.timeouts.fetch_add(1, Ordering::Relaxed);
            Fault::TimedOut(timeout)
        }
    };
    let plugin = slot.plugin.name().to_owned();
    if slot.settings.required {
        tracing::error!(%plugin, %hook, fault = %DisplayChain(&fault), "required plugin failed");
        return Err(PluginError::RequiredFailed {
            plugin,
            hook,
            fault,
        });
    }
    tracing::warn!(%plugin, %hook, fault = %DisplayChain(&fault), "plugin skipped for this call");
    Ok(None)
}

fn panic_message(panic: &(dyn Any + Send)) -> String {
    if let Some(s) = panic.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = panic.downcast_ref::<String>() {
        s.clone()
    } else {
        "(no message)".to_owned()
    }
}

/// An error with its causes, for logs.
struct DisplayChain<'a>(&'a (dyn std::error::Error + 'static));

impl std::fmt::Display for DisplayChain<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0)?;
        let mut source = self.0.source();
        while let Some(s) = source {
            write!(f, ": {s}")?;
            source = s.source();
        }
        Ok(())
    }
}
