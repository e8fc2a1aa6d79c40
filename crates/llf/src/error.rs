//! The facade's error: every crate's error, plus what composing them can go wrong.

/// Errors of the `llf` facade. Each crate's error passes through unchanged (its message and its
/// causes), so a caller can match on the crate that failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The configuration could not be loaded, or a value in it is wrong.
    #[error(transparent)]
    Config(#[from] llf_config::ConfigError),
    /// Files, the trash.
    #[error(transparent)]
    Core(#[from] llf_core::Error),
    /// Servers, model requests, prompts.
    #[error(transparent)]
    Runtime(#[from] llf_runtime::RuntimeError),
    /// Long-term memory.
    #[cfg(feature = "memory")]
    #[error(transparent)]
    Memory(#[from] llf_memory::MemoryError),
    /// Data stores and retrieval.
    #[cfg(feature = "rag")]
    #[error(transparent)]
    Rag(#[from] llf_rag::RagError),
    /// Tools.
    #[cfg(feature = "tools")]
    #[error(transparent)]
    Tools(#[from] llf_tools::ToolError),
    /// Conversation history.
    #[cfg(feature = "history")]
    #[error(transparent)]
    History(#[from] llf_history::HistoryError),
    /// Export and import.
    #[cfg(feature = "export")]
    #[error(transparent)]
    Export(#[from] llf_export::ExportError),
    /// Prompt templates.
    #[cfg(feature = "templates")]
    #[error(transparent)]
    Templates(#[from] llf_templates::TemplateError),
    /// A chat-completion or embeddings request that is wrong (the caller's mistake).
    #[error(transparent)]
    BadRequest(#[from] crate::completion::BadRequest),
    /// No model of this name (see [`crate::Llf::model_entries`]).
    #[error(
        "the model `{0}` does not exist; list the models with GET /v1/models or `llf server list`"
    )]
    ModelNotFound(String),
    /// An API key store problem.
    #[error(transparent)]
    ApiKeys(#[from] crate::api_keys::ApiKeyError),
    /// Plugins: one stopped the turn, a required one failed, or the plugin directory.
    #[cfg(feature = "plugins")]
    #[error(transparent)]
    Plugins(#[from] llf_plugins::PluginError),
    /// Usage analytics.
    #[cfg(feature = "analytics")]
    #[error(transparent)]
    Analytics(#[from] llf_analytics::AnalyticsError),
    /// The turn was cancelled before it ended.
    #[error("the turn was cancelled")]
    Cancelled,
    /// A message with nothing in it.
    #[error("nothing to send: the message is empty")]
    EmptyMessage,
    /// The operation needs the conversation history, and this chat is not saved.
    #[error("this chat is not saved, so it cannot {action}")]
    NotSaved {
        /// What was asked, e.g. "retry an answer".
        action: &'static str,
    },
    /// The chat has no conversation yet (nothing was sent).
    #[error("nothing is saved in this chat yet; send a message first")]
    NoConversation,
    /// There is no earlier user message to act on.
    #[error("there is no message to {action} yet")]
    NothingTo {
        /// What was asked, e.g. "retry".
        action: &'static str,
    },
    /// A message that is not a user message was given where one is needed.
    #[error("message #{id} is a {role} message; only user messages can be edited")]
    NotAUserMessage {
        /// The message.
        id: i64,
        /// Its role.
        role: llf_core::chat::Role,
    },
    /// No item with this id in any part of the trash.
    #[error("no item with id `{0}` in the trash (files, memories, conversations)")]
    NotInTrash(String),
    /// The capability was compiled out.
    #[error("this build of llf has no {0} support (cargo feature `{0}`)")]
    FeatureOff(&'static str),
    /// A file or directory could not be read or written.
    #[error("cannot use {path}")]
    Io {
        /// The path.
        path: std::path::PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
}

/// Results of the facade.
pub type Result<T, E = Error> = std::result::Result<T, E>;
