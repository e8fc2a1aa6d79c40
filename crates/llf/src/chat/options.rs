//! [`ChatOptions`]: how a chat is set up, and opening it.

use std::sync::Arc;

use llf_config::schema::InferenceParams;
use llf_core::tool::ToolExecutor;
use llf_runtime::Target;

use super::{ChatState, ChatWarning};
use crate::{Llf, Result};

/// How a chat is set up. The defaults follow the configuration: the default model, its system
/// prompt, memory when `memory.enabled`, the attached data stores when `rag.enabled`, no tools,
/// saved in the history.
///
/// ```
/// use llf::chat::ChatOptions;
///
/// let options = ChatOptions::new()
///     .server("small")
///     .system("Answer in one sentence.")
///     .memory(false)
///     .save(false);
/// # let _ = options;
/// ```
#[derive(Clone)]
pub struct ChatOptions {
    pub(crate) target: Target,
    pub(crate) system: Option<String>,
    pub(crate) memory: Option<bool>,
    pub(crate) datastores: Option<Vec<String>>,
    pub(crate) tools: bool,
    pub(crate) executor: Option<Arc<dyn ToolExecutor>>,
    #[cfg(feature = "tools")]
    pub(crate) approvals: Option<Arc<dyn llf_tools::approval::ApprovalPrompt>>,
    pub(crate) save: bool,
    pub(crate) resume: Option<String>,
    pub(crate) params: Option<InferenceParams>,
    pub(crate) stream: bool,
    /// Whether the installed plugins run.
    #[cfg(feature = "plugins")]
    pub(crate) installed_plugins: bool,
    /// The program's own plugins.
    #[cfg(feature = "plugins")]
    pub(crate) plugins: llf_plugins::PluginHost,
}

impl std::fmt::Debug for ChatOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChatOptions")
            .field("target", &self.target)
            .field("system", &self.system)
            .field("memory", &self.memory)
            .field("datastores", &self.datastores)
            .field("tools", &self.tools)
            .field("save", &self.save)
            .field("resume", &self.resume)
            .finish_non_exhaustive()
    }
}

impl Default for ChatOptions {
    fn default() -> Self {
        Self {
            target: Target::Default,
            system: None,
            memory: None,
            datastores: None,
            tools: false,
            executor: None,
            #[cfg(feature = "tools")]
            approvals: None,
            save: true,
            resume: None,
            params: None,
            stream: true,
            #[cfg(feature = "plugins")]
            installed_plugins: true,
            #[cfg(feature = "plugins")]
            plugins: llf_plugins::PluginHost::new(),
        }
    }
}

impl ChatOptions {
    /// The defaults (see the type's docs).
    pub fn new() -> Self {
        Self::default()
    }

    /// Talks to `target`: the default model, a named local server, or the remote endpoint.
    pub fn target(mut self, target: Target) -> Self {
        self.target = target;
        self
    }

    /// Talks to the local server named `name` (`local_llm_servers[].name`).
    pub fn server(self, name: impl Into<String>) -> Self {
        self.target(Target::Server(name.into()))
    }

    /// Talks to the remote endpoint (`llm_endpoint`).
    pub fn remote(self) -> Self {
        self.target(Target::Remote)
    }

    /// Uses this system prompt instead of `prompt.system_prompt`.
    pub fn system(mut self, prompt: impl Into<String>) -> Self {
        self.system = Some(prompt.into());
        self
    }

    /// Draws on long-term memory (or not), whatever `memory.enabled` says.
    pub fn memory(mut self, on: bool) -> Self {
        self.memory = Some(on);
        self
    }

    /// Retrieves from these data stores instead of the attached ones (an empty list turns
    /// retrieval off).
    pub fn datastores(mut self, names: impl IntoIterator<Item = impl Into<String>>) -> Self {
        self.datastores = Some(names.into_iter().map(Into::into).collect());
        self
    }

    /// Lets the model call the enabled tools (validated, approved, sandboxed, audited).
    pub fn tools(mut self, on: bool) -> Self {
        self.tools = on;
        self
    }

    /// Lets the model call the tools of `executor` (a program's own functions) instead of
    /// LLF's tools.
    pub fn tool_executor(mut self, executor: Arc<dyn ToolExecutor>) -> Self {
        self.executor = Some(executor);
        self.tools = true;
        self
    }

    /// Decides on tool calls that need approval (a terminal prompt, a round-trip to a web page,
    /// a fixed answer). Without one, such calls are denied.
    #[cfg(feature = "tools")]
    pub fn approvals(mut self, policy: Arc<dyn llf_tools::approval::ApprovalPrompt>) -> Self {
        self.approvals = Some(policy);
        self
    }

    /// Saves the chat in the conversation history (the default) or not.
    pub fn save(mut self, on: bool) -> Self {
        self.save = on;
        self
    }

    /// Continues the saved conversation `id` (or a unique prefix of it).
    pub fn resume(mut self, id: impl Into<String>) -> Self {
        self.resume = Some(id.into());
        self
    }

    /// Streams answers from the model (the default), or asks for each answer whole — for
    /// endpoints that do not stream. Turn events are the same either way; the text then arrives
    /// as one token.
    pub fn stream(mut self, on: bool) -> Self {
        self.stream = on;
        self
    }

    /// Runs the installed plugins (the default) or not.
    #[cfg(feature = "plugins")]
    pub fn installed_plugins(mut self, on: bool) -> Self {
        self.installed_plugins = on;
        self
    }

    /// Adds a plugin of the program's own, run with `settings` (its order among all the
    /// chat's plugins, whether it is required, its time budget).
    #[cfg(feature = "plugins")]
    pub fn plugin(
        mut self,
        plugin: Arc<dyn llf_plugins::Plugin>,
        settings: llf_plugins::PluginSettings,
    ) -> Self {
        self.plugins.add(plugin, settings);
        self
    }

    /// Samples with these parameters instead of `inference_params`.
    pub fn params(mut self, params: InferenceParams) -> Self {
        self.params = Some(params);
        self
    }

    /// Opens the chat's state: prompt builder with its context providers, the history recorder,
    /// the resumed conversation, the tools.
    pub(crate) async fn open(self, llf: &Llf) -> Result<ChatState> {
        let config = llf.config();
        #[allow(unused_mut)] // warnings are added only with some features
        let mut warnings: Vec<ChatWarning> = Vec::new();
        let mut builder = llf.runtime().prompt_builder();
        if let Some(system) = &self.system {
            builder.set_system_prompt(Some(system.clone()));
        }

        #[cfg(feature = "memory")]
        let memory = if self.memory.unwrap_or(config.memory.enabled) {
            match llf.memory_context().await {
                Ok(m) => {
                    builder = builder.with_provider(Arc::new(m.clone()));
                    Some(m)
                }
                Err(error) => {
                    warnings.push(ChatWarning {
                        capability: "memory",
                        error,
                    });
                    None
                }
            }
        } else {
            None
        };

        #[cfg(feature = "rag")]
        let rag = match llf.rag_context(self.datastores.as_deref()).await {
            Ok(Some(r)) => {
                builder = builder.with_provider(Arc::new(r.clone()));
                Some(r)
            }
            Ok(None) => None,
            Err(error) => {
                warnings.push(ChatWarning {
                    capability: "retrieval",
                    error,
                });
                None
            }
        };

        #[allow(unused_mut)] // filled only with the `history` feature
        let mut messages = Vec::new();
        let recorder = if self.save || self.resume.is_some() {
            open_recorder(llf, &builder, &mut warnings, self.resume.is_some()).await?
        } else {
            None
        };
        #[allow(unused_mut)] // changed only with the `history` feature
        let mut recorder = recorder;
        #[cfg(feature = "history")]
        if let (Some(id), Some(rec)) = (&self.resume, recorder.as_mut()) {
            let conv = rec.history().conversation(id).await?;
            let path = rec.history().current_path(&conv.id).await?;
            // The conversation's own system prompt wins, as when it was saved.
            if let Some(system) = path
                .iter()
                .find(|m| m.role() == llf_core::chat::Role::System)
            {
                builder.set_system_prompt(Some(system.message.content.clone()));
            }
            rec.set_conversation(Some(conv.id.clone()));
            messages = rec.current_messages().await?;
        }

        #[cfg(feature = "tools")]
        let approval_events: Option<super::approval::EventSlot> =
            (self.tools && self.executor.is_none()).then(Default::default);
        let executor: Option<Arc<dyn ToolExecutor>> = match (self.tools, self.executor) {
            (_, Some(e)) => Some(e),
            (false, None) => None,
            #[cfg(feature = "tools")]
            (true, None) => {
                let policy = self.approvals.unwrap_or_else(|| {
                    Arc::new(llf_tools::approval::FixedApproval(
                        llf_tools::approval::ApprovalDecision::Deny,
                    ))
                });
                let prompt = Arc::new(super::approval::ReportingApproval {
                    policy,
                    events: approval_events.clone().unwrap_or_default(),
                });
                Some(Arc::new(llf.tool_registry(prompt).await?))
            }
            #[cfg(not(feature = "tools"))]
            (true, None) => return Err(crate::Error::FeatureOff("tools")),
        };

        #[allow(unused_mut)] // wrapped only with the `plugins` feature
        let mut executor = executor;
        #[allow(unused_mut)] // set only with the `plugins` feature
        let mut hooks = super::hooks::Hooks::default();
        #[cfg(feature = "plugins")]
        {
            let installed = if self.installed_plugins {
                llf.plugins().await?
            } else {
                llf_plugins::PluginHost::new()
            };
            hooks.host = installed.merged(&self.plugins);
            hooks.own = self.plugins.clone();
            hooks.installed = self.installed_plugins;
            // Always wrapped: plugins reloaded later may bring tool hooks.
            if let Some(inner) = executor.take() {
                let wrapped = Arc::new(llf_plugins::PluginTools::new(inner, hooks.host.clone()));
                hooks.tools = Some(wrapped.clone());
                executor = Some(wrapped);
            }
        }

        Ok(ChatState {
            target: self.target.clone(),
            route_pending: self.target == Target::Default && self.resume.is_none(),
            conn: None,
            params: self
                .params
                .unwrap_or_else(|| config.inference_params.clone()),
            builder,
            messages,
            recorder,
            executor,
            #[cfg(feature = "tools")]
            approval_events,
            tool_rounds: config.tools.max_tool_rounds as usize,
            stream: self.stream,
            #[cfg(feature = "memory")]
            memory,
            #[cfg(feature = "rag")]
            rag,
            warnings,
            hooks,
        })
    }
}

/// The history recorder; a history that cannot be opened leaves the chat unsaved (with a
/// warning), unless the chat resumes a conversation, which needs it.
#[cfg(feature = "history")]
async fn open_recorder(
    llf: &Llf,
    builder: &llf_runtime::PromptBuilder,
    warnings: &mut Vec<ChatWarning>,
    required: bool,
) -> Result<Option<super::record::Recorder>> {
    match llf.history().await {
        Ok(history) => Ok(Some(super::record::Recorder::new(
            history.clone(),
            builder.system_prompt().map(str::to_owned),
            String::new(),
        ))),
        Err(error) if !required => {
            warnings.push(ChatWarning {
                capability: "history",
                error,
            });
            Ok(None)
        }
        Err(error) => Err(error),
    }
}

#[cfg(not(feature = "history"))]
async fn open_recorder(
    _llf: &Llf,
    _builder: &llf_runtime::PromptBuilder,
    _warnings: &mut Vec<ChatWarning>,
    required: bool,
) -> Result<Option<super::record::Recorder>> {
    if required {
        return Err(crate::Error::FeatureOff("history"));
    }
    Ok(None)
}
