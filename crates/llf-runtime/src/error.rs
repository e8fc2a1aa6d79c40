use std::path::PathBuf;

/// Errors of `llf-runtime`.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RuntimeError {
    /// No `local_llm_servers` entry has this name.
    #[error(
        "no server named `{name}` in local_llm_servers (configured: {known}); see `llf server list`"
    )]
    UnknownServer {
        /// The requested name.
        name: String,
        /// Configured names, comma-separated.
        known: String,
    },
    /// The llama-server executable was not found.
    #[error(
        "llama-server not found at `{0}`: run scripts/setup.sh, or set local_llm_servers[].llama_server_path"
    )]
    ServerBinaryMissing(PathBuf),
    /// The server has no model configured, or the file is missing.
    #[error(
        "model file {0} does not exist: download one with `llf model download`, or fix local_llm_servers[].model_path"
    )]
    ModelMissing(PathBuf),
    /// No model is configured for a server.
    #[error(
        "server `{0}` has no model_path; set it with `llf config set local_llm_servers[N].model_path PATH`"
    )]
    NoModelConfigured(String),
    /// The port is taken.
    #[error(
        "{host}:{port} is already in use; stop what uses it or pick another port with `llf config set local_llm_servers[N].port PORT`"
    )]
    PortInUse {
        /// Host.
        host: String,
        /// Port.
        port: u16,
    },
    /// The server process exited while starting.
    #[error(
        "llama-server `{name}` exited during start-up ({status}); last lines of {log}:\n{tail}"
    )]
    ServerDied {
        /// Server name.
        name: String,
        /// Exit status.
        status: String,
        /// The log file.
        log: PathBuf,
        /// Last log lines.
        tail: String,
    },
    /// The server did not become healthy in time.
    #[error(
        "llama-server `{name}` was not ready after {secs} s (see {log}); raise local_llm_servers[].startup_timeout for big models"
    )]
    StartTimeout {
        /// Server name.
        name: String,
        /// Seconds waited.
        secs: u64,
        /// The log file.
        log: PathBuf,
    },
    /// A server keeps crashing.
    #[error("llama-server `{name}` crashed {restarts} times in a row; giving up (see {log})")]
    CrashLoop {
        /// Server name.
        name: String,
        /// Restarts attempted.
        restarts: u32,
        /// The log file.
        log: PathBuf,
    },
    /// The server is not running.
    #[error("server `{0}` is not running; start it with `llf server start {0}`")]
    NotRunning(String),
    /// The endpoint answered with an error or could not be reached.
    #[error("request to {endpoint} failed: {message}")]
    Request {
        /// Base URL.
        endpoint: String,
        /// What went wrong.
        message: String,
        /// HTTP status when there was one.
        status: Option<u16>,
    },
    /// No answer (or no next piece of a streamed answer) within the timeout.
    #[error(
        "no response from {endpoint} within {secs} s; the server may be overloaded or hung (llm_endpoint.request_timeout)"
    )]
    Timeout {
        /// Base URL.
        endpoint: String,
        /// The timeout.
        secs: u64,
    },
    /// The connection broke in the middle of an answer (the server stopped, restarted, or the
    /// network failed).
    #[error(
        "the connection to {endpoint} broke during the answer ({detail}); the server may have stopped: check it and try again"
    )]
    ConnectionLost {
        /// Base URL.
        endpoint: String,
        /// What the transport reported.
        detail: String,
    },
    /// The local llama-server serving the request is gone (it crashed, was killed, or stopped).
    #[error(
        "llama-server `{name}` stopped while answering; start it again with `llf server start {name}`. Last lines of {log}:\n{tail}"
    )]
    ServerStopped {
        /// Server name.
        name: String,
        /// Its log file.
        log: PathBuf,
        /// The last lines it logged since it started.
        tail: String,
    },
    /// The streamed answer could not be understood.
    #[error("malformed response from {endpoint}: {detail}")]
    Malformed {
        /// Base URL.
        endpoint: String,
        /// What was wrong.
        detail: String,
    },
    /// The request queue is full.
    #[error(
        "request queue for {endpoint} is full ({max_size} waiting); try again shortly or raise request_queue.max_size"
    )]
    QueueFull {
        /// Base URL.
        endpoint: String,
        /// Queue bound.
        max_size: usize,
    },
    /// The prompt does not fit the model's context window.
    #[error(
        "the prompt needs {needed} tokens ({prompt} prompt + {reserved} for the answer) but the model's context holds {context}; \
         shorten the conversation (/clear), or set prompt.context_overflow to \"trim_oldest\""
    )]
    ContextOverflow {
        /// Prompt tokens.
        prompt: usize,
        /// Tokens reserved for the answer.
        reserved: usize,
        /// Total needed.
        needed: usize,
        /// Context size.
        context: usize,
    },
    /// A model download or file operation failed.
    #[error("{action} {path}: {source}")]
    Io {
        /// What LLF was doing.
        action: &'static str,
        /// The path.
        path: PathBuf,
        /// Cause.
        #[source]
        source: std::io::Error,
    },
    /// A download did not match its expected size or checksum.
    #[error("downloaded {path} is corrupt: {detail}; it was deleted, run the download again")]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// Size or hash mismatch.
        detail: String,
    },
    /// A model file could not be found or read as GGUF.
    #[error("{path} is not a GGUF model: {detail}")]
    NotGguf {
        /// The file.
        path: PathBuf,
        /// Why.
        detail: String,
    },
    /// A context provider failed.
    #[error("context provider `{provider}` failed: {source}")]
    Context {
        /// Provider name.
        provider: String,
        /// Cause.
        #[source]
        source: llf_core::BoxError,
    },
    /// Trash or other core error.
    #[error(transparent)]
    Core(#[from] llf_core::Error),
    /// Invalid input from the caller.
    #[error("{0}")]
    Invalid(String),
}

/// `Result` with [`RuntimeError`].
pub type Result<T> = std::result::Result<T, RuntimeError>;

impl RuntimeError {
    pub(crate) fn io(
        action: &'static str,
        path: impl Into<PathBuf>,
        source: std::io::Error,
    ) -> Self {
        Self::Io {
            action,
            path: path.into(),
            source,
        }
    }

    /// Whether retrying the same request later might succeed.
    pub fn is_transient(&self) -> bool {
        match self {
            RuntimeError::Request { status, .. } => status.is_none_or(|s| s == 429 || s >= 500),
            RuntimeError::Timeout { .. }
            | RuntimeError::QueueFull { .. }
            | RuntimeError::ConnectionLost { .. } => true,
            _ => false,
        }
    }
}
