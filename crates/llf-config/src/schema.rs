//! The typed configuration: one struct per section of `config.json`, with the key names of the
//! design document, so a Python-era file loads unchanged. Every field has a default.

use std::collections::BTreeMap;
use std::path::PathBuf;

use schemars::JsonSchema;
use serde::{Deserialize, Deserializer, Serialize};

use crate::Secret;

/// The whole configuration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default)]
pub struct Config {
    /// Where chat requests go.
    pub llm_endpoint: LlmEndpoint,
    /// Local `llama-server` instances LLF can start.
    pub local_llm_servers: Vec<LocalServer>,
    /// Sampling parameters sent with every request.
    pub inference_params: InferenceParams,
    /// System prompt and context handling.
    pub prompt: PromptSettings,
    /// Retrieval over data stores.
    pub rag: RagSettings,
    /// Long-term memory.
    pub memory: MemorySettings,
    /// Concurrency and rate limits per endpoint.
    pub request_queue: RequestQueueSettings,
    /// Limits for external tools.
    pub tool_sandbox: ToolSandboxSettings,
    /// Tool registry, file roots, audit log and the tool-calling loop.
    pub tools: ToolsSettings,
    /// Routing between several models.
    pub multi_model: MultiModelSettings,
    /// Soft-delete retention.
    pub trash: TrashSettings,
    /// Model downloads.
    pub models: ModelSettings,
    /// The HTTP API of `llf serve`: address, CORS, limits.
    pub server_api: ServerApiSettings,
    /// Usage analytics: recording and the price table.
    pub analytics: AnalyticsSettings,
    /// Models directory (GGUF files). Unset: the platform default.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub model_dir: Option<PathBuf>,
    /// RAG data stores directory.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data_stores_dir: Option<PathBuf>,
    /// Memory databases directory.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub memory_dir: Option<PathBuf>,
    /// Tools directory.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tools_dir: Option<PathBuf>,
    /// Prompt templates directory.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub templates_dir: Option<PathBuf>,
    /// Cache directory.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cache_dir: Option<PathBuf>,
    /// Logs directory.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub log_dir: Option<PathBuf>,
    /// Trash directory.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub trash_dir: Option<PathBuf>,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            llm_endpoint: LlmEndpoint::default(),
            local_llm_servers: vec![LocalServer::default()],
            inference_params: InferenceParams::default(),
            prompt: PromptSettings::default(),
            rag: RagSettings::default(),
            memory: MemorySettings::default(),
            request_queue: RequestQueueSettings::default(),
            tool_sandbox: ToolSandboxSettings::default(),
            tools: ToolsSettings::default(),
            multi_model: MultiModelSettings::default(),
            trash: TrashSettings::default(),
            models: ModelSettings::default(),
            server_api: ServerApiSettings::default(),
            analytics: AnalyticsSettings::default(),
            model_dir: None,
            data_stores_dir: None,
            memory_dir: None,
            tools_dir: None,
            templates_dir: None,
            cache_dir: None,
            log_dir: None,
            trash_dir: None,
        }
    }
}

impl Config {
    /// The server named `name`, or the default local server when `name` is `None`.
    pub fn server(&self, name: Option<&str>) -> Option<&LocalServer> {
        let wanted = name.or(self.llm_endpoint.default_local_server.as_deref());
        match wanted {
            Some(n) => self.local_llm_servers.iter().find(|s| s.name == n),
            None => self.local_llm_servers.first(),
        }
    }
}

/// `llm_endpoint`: the OpenAI-compatible endpoint chat requests go to.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default)]
pub struct LlmEndpoint {
    /// Base URL including `/v1`, e.g. `http://127.0.0.1:8000/v1`. Ignored while a local server is
    /// the default: LLF then talks to that server.
    pub api_base_url: String,
    /// API key for remote endpoints. `LLF_API_KEY` or `OPENAI_API_KEY` override it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub api_key: Option<Secret>,
    /// Model name sent with requests.
    pub model_name: String,
    /// Name of the entry of `local_llm_servers` used by default; unset means a remote endpoint.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub default_local_server: Option<String>,
    /// Seconds before a request is abandoned.
    pub request_timeout: u64,
    /// Retries of a request that failed for a transient reason.
    pub max_retries: u32,
}

impl Default for LlmEndpoint {
    fn default() -> Self {
        Self {
            api_base_url: "http://127.0.0.1:8000/v1".to_owned(),
            api_key: None,
            model_name: "SmolLM2-135M-Instruct".to_owned(),
            default_local_server: Some("default".to_owned()),
            request_timeout: 120,
            max_retries: 2,
        }
    }
}

/// One entry of `local_llm_servers`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default)]
pub struct LocalServer {
    /// Unique name, used by `llf server start NAME`.
    pub name: String,
    /// The `llama-server` executable (a bare name is looked up on `PATH`).
    pub llama_server_path: PathBuf,
    /// The GGUF model file.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub model_path: Option<PathBuf>,
    /// A directory holding the model, for configs that name the file relative to it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub model_dir: Option<PathBuf>,
    /// Address to bind; loopback by default.
    pub host: String,
    /// Port to listen on.
    #[serde(deserialize_with = "port")]
    pub port: u16,
    /// Extra `llama-server` flags, e.g. `{"--ctx-size": 4096, "--jinja": true}`.
    pub server_params: serde_json::Map<String, serde_json::Value>,
    /// Seconds to wait for the server to become healthy.
    pub startup_timeout: u64,
    /// CPU threads for generation (`--threads`). Unset: the machine's physical cores that other
    /// work leaves free when the server starts (at least one). A `--threads` in `server_params`
    /// wins over both.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub threads: Option<usize>,
}

impl Default for LocalServer {
    fn default() -> Self {
        Self {
            name: "default".to_owned(),
            llama_server_path: PathBuf::from("llama-server"),
            model_path: None,
            model_dir: None,
            host: "127.0.0.1".to_owned(),
            port: 8000,
            server_params: serde_json::Map::new(),
            startup_timeout: 120,
            threads: None,
        }
    }
}

impl LocalServer {
    /// The model file: `model_path`, resolved against `model_dir` when relative.
    pub fn model_file(&self) -> Option<PathBuf> {
        let path = self.model_path.as_ref()?;
        Some(match &self.model_dir {
            Some(dir) if path.is_relative() => dir.join(path),
            _ => path.clone(),
        })
    }

    /// The OpenAI-compatible base URL of this server.
    pub fn base_url(&self) -> String {
        format!("http://{}:{}/v1", url_host(&self.host), self.port)
    }
}

fn url_host(host: &str) -> String {
    if host.contains(':') && !host.starts_with('[') {
        format!("[{host}]")
    } else {
        host.to_owned()
    }
}

fn port<'de, D: Deserializer<'de>>(d: D) -> Result<u16, D::Error> {
    let n = i64::deserialize(d)?;
    u16::try_from(n)
        .ok()
        .filter(|p| *p >= 1)
        .ok_or_else(|| serde::de::Error::custom(format!("expected 1..=65535, got {n}")))
}

/// `inference_params`: sampling parameters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default)]
pub struct InferenceParams {
    /// 0.0–2.0.
    pub temperature: f64,
    /// Upper bound on generated tokens; unset lets the server decide.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_tokens: Option<u32>,
    /// Nucleus sampling, 0.0–1.0.
    pub top_p: f64,
    /// Top-k sampling (llama-server only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub top_k: Option<u32>,
    /// Repetition penalty (llama-server only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub repeat_penalty: Option<f64>,
    /// Fixed seed for reproducible sampling.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seed: Option<i64>,
    /// Stop sequences.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub stop: Vec<String>,
}

impl Default for InferenceParams {
    fn default() -> Self {
        Self {
            temperature: 0.7,
            max_tokens: Some(512),
            top_p: 0.9,
            top_k: None,
            repeat_penalty: None,
            seed: None,
            stop: Vec::new(),
        }
    }
}

/// What to do when a conversation no longer fits the model's context window.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ContextOverflow {
    /// Refuse with an error naming the sizes.
    #[default]
    Error,
    /// Drop the oldest turns (never the system prompt) until it fits, and say so.
    TrimOldest,
}

/// `prompt`: how prompts are built.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default)]
pub struct PromptSettings {
    /// System prompt put first in every conversation.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub system_prompt: Option<String>,
    /// Behaviour when the prompt does not fit.
    pub context_overflow: ContextOverflow,
}

impl Default for PromptSettings {
    fn default() -> Self {
        Self {
            system_prompt: Some("You are a helpful assistant.".to_owned()),
            context_overflow: ContextOverflow::Error,
        }
    }
}

/// FAISS index kind of a data store.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum IndexType {
    /// Exact inner-product search on normalised vectors.
    #[default]
    Flat,
    /// Graph-based approximate search.
    Hnsw,
    /// Inverted-file approximate search.
    Ivf,
}

/// How retrieval finds chunks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum SearchMode {
    /// Embedding similarity only.
    Vector,
    /// Embeddings fused with full-text BM25 by reciprocal rank fusion.
    #[default]
    Hybrid,
}

/// `rag`: retrieval-augmented generation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default)]
pub struct RagSettings {
    /// Add retrieved context to chats.
    pub enabled: bool,
    /// Directory with `model.onnx` and the tokenizer files.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub embedding_model_dir: Option<PathBuf>,
    /// The `libonnxruntime.so` to load.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub onnxruntime_path: Option<PathBuf>,
    /// Threads for embedding; unset uses every core.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub embedding_threads: Option<usize>,
    /// Texts embedded per batch.
    pub batch_size: usize,
    /// Chunk size in characters.
    pub chunk_size: usize,
    /// Overlap between neighbouring chunks in characters.
    pub chunk_overlap: usize,
    /// Chunks added to a prompt.
    pub top_k: usize,
    /// Minimum similarity score of a chunk.
    pub score_threshold: f64,
    /// Index kind for new stores.
    pub index_type: IndexType,
    /// Vector-only or hybrid search.
    pub search_mode: SearchMode,
    /// Stores queried during chat.
    pub attached_stores: Vec<String>,
    /// Query caches.
    pub cache: RagCacheSettings,
}

impl Default for RagSettings {
    fn default() -> Self {
        Self {
            enabled: false,
            embedding_model_dir: None,
            onnxruntime_path: None,
            embedding_threads: None,
            batch_size: 32,
            chunk_size: 1000,
            chunk_overlap: 200,
            top_k: 4,
            score_threshold: 0.3,
            index_type: IndexType::Flat,
            search_mode: SearchMode::Hybrid,
            attached_stores: Vec::new(),
            cache: RagCacheSettings::default(),
        }
    }
}

/// `rag.cache`: the embedding cache and the semantic results cache.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default)]
pub struct RagCacheSettings {
    /// Use the caches.
    pub enabled: bool,
    /// Entries in the query → embedding cache.
    pub embedding_cache_size: usize,
    /// Seconds an embedding stays cached.
    pub embedding_ttl: u64,
    /// Entries in the semantic results cache.
    pub results_cache_size: usize,
    /// Seconds results stay cached.
    pub results_ttl: u64,
    /// Cosine similarity above which a query reuses cached results (0–1).
    pub similarity_threshold: f64,
}

impl Default for RagCacheSettings {
    fn default() -> Self {
        Self {
            enabled: true,
            embedding_cache_size: 1000,
            embedding_ttl: 3600,
            results_cache_size: 100,
            results_ttl: 1800,
            similarity_threshold: 0.95,
        }
    }
}

/// `memory`: long-term memory added to chats.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default)]
pub struct MemorySettings {
    /// Add relevant memories to chats.
    pub enabled: bool,
    /// Store used when none is named.
    pub default_store: String,
    /// Memories added to a prompt.
    pub top_k: usize,
    /// Minimum relevance score (0–1) of a memory added to a prompt.
    pub min_score: f64,
}

impl Default for MemorySettings {
    fn default() -> Self {
        Self {
            enabled: true,
            default_store: "default".to_owned(),
            top_k: 5,
            min_score: 0.1,
        }
    }
}

/// `request_queue`: concurrency, queue and rate limit per endpoint.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default)]
pub struct RequestQueueSettings {
    /// Requests that may wait; one more is refused at once.
    pub max_size: usize,
    /// Sustained request rate (token bucket refill).
    pub max_requests_per_second: f64,
    /// Requests running at the same time.
    pub max_concurrent: usize,
    /// Bucket size: requests that may start back to back. Unset: `max_concurrent`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub burst_size: Option<u32>,
}

impl Default for RequestQueueSettings {
    fn default() -> Self {
        Self {
            max_size: 100,
            max_requests_per_second: 10.0,
            max_concurrent: 5,
            burst_size: None,
        }
    }
}

/// `tool_sandbox`: limits applied to every external tool process.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default)]
pub struct ToolSandboxSettings {
    /// Apply the limits (a tool may opt out with `allow_sandbox: false` only if this allows it).
    pub enabled: bool,
    /// Address-space limit in MiB.
    pub max_memory_mb: u64,
    /// CPU seconds.
    pub max_cpu_time: u64,
    /// Largest file a tool may write, in MiB.
    pub max_file_size_mb: u64,
    /// Wall-clock seconds before the tool's process group is killed.
    pub timeout: u64,
    /// Processes (and threads) the tool may have.
    pub max_processes: u64,
    /// Open file descriptors.
    pub max_open_files: u64,
    /// Bytes of output kept; more is an error.
    pub max_output_kb: u64,
    /// Let tools reach the network.
    pub allow_network: bool,
}

impl Default for ToolSandboxSettings {
    fn default() -> Self {
        Self {
            enabled: true,
            max_memory_mb: 512,
            max_cpu_time: 30,
            max_file_size_mb: 10,
            timeout: 60,
            max_processes: 64,
            max_open_files: 256,
            max_output_kb: 1024,
            allow_network: false,
        }
    }
}

/// `tools`: where tools may touch files, the audit log, and how the tool-calling loop runs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default)]
pub struct ToolsSettings {
    /// Directories that path arguments (e.g. `file_access`'s `path`) must stay inside after `..`
    /// and symlinks are resolved. Empty: tools get no file access.
    pub allowed_roots: Vec<PathBuf>,
    /// A directory of built-in tools to use instead of the ones shipped inside LLF.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub builtin_dir: Option<PathBuf>,
    /// Rounds of tool calls the model may make before it must answer.
    pub max_tool_rounds: u32,
    /// Ask before the `memory_store` tool writes long-term memory.
    pub approve_memory_writes: bool,
    /// Run the calls of one model turn in parallel.
    pub parallel_calls: bool,
    /// Size in KiB at which the audit log is rotated.
    pub audit_max_kb: u64,
    /// Rotated audit log files kept.
    pub audit_keep_files: u32,
    /// Model Context Protocol servers (stdio) whose tools join the registry.
    pub mcp_servers: Vec<McpServerSettings>,
}

/// One entry of `tools.mcp_servers`: an MCP server LLF starts and talks to over stdio.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default)]
pub struct McpServerSettings {
    /// Name shown in logs and errors.
    pub name: String,
    /// Program to start.
    pub command: String,
    /// Its arguments.
    pub args: Vec<String>,
    /// Environment variables given to the server (its environment is otherwise only `PATH`
    /// and `HOME`).
    pub env: BTreeMap<String, String>,
    /// Ask before each call of this server's tools.
    pub requires_approval: bool,
    /// Seconds the handshake and each call may take.
    pub timeout: u64,
    /// Calls per minute per tool (token bucket); unset: unlimited.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub requests_per_minute: Option<u32>,
    /// Let the server reach the network (it runs in the tool sandbox, without network, otherwise).
    pub network: bool,
}

impl Default for McpServerSettings {
    fn default() -> Self {
        Self {
            name: String::new(),
            command: String::new(),
            args: Vec::new(),
            env: BTreeMap::new(),
            requires_approval: false,
            timeout: 60,
            requests_per_minute: None,
            network: false,
        }
    }
}

impl Default for ToolsSettings {
    fn default() -> Self {
        Self {
            allowed_roots: Vec::new(),
            builtin_dir: None,
            max_tool_rounds: 5,
            approve_memory_writes: true,
            parallel_calls: true,
            audit_max_kb: 10 * 1024,
            audit_keep_files: 5,
            mcp_servers: Vec::new(),
        }
    }
}

/// How a model is picked for a prompt.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum RoutingStrategy {
    /// The model the user chose.
    #[default]
    Manual,
    /// A model able enough for the prompt's complexity.
    Complexity,
    /// The cheapest.
    Cost,
    /// The fastest.
    Speed,
    /// The best.
    Quality,
}

/// `multi_model`: routing between models.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default)]
pub struct MultiModelSettings {
    /// The routing strategy.
    pub routing_strategy: RoutingStrategy,
    /// Scores per model or server name.
    pub model_profiles: BTreeMap<String, ModelProfile>,
}

/// `multi_model.model_profiles.NAME`: scores from 1 (low) to 10 (high).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default)]
pub struct ModelProfile {
    /// How complex a task the model handles.
    pub complexity_score: f64,
    /// How fast it answers.
    pub speed_score: f64,
    /// How cheap it is (10 = cheapest).
    pub cost_score: f64,
    /// How good its answers are.
    pub quality_score: f64,
    /// Context window in tokens.
    pub context_window: u32,
}

impl Default for ModelProfile {
    fn default() -> Self {
        Self {
            complexity_score: 5.0,
            speed_score: 5.0,
            cost_score: 5.0,
            quality_score: 5.0,
            context_window: 4096,
        }
    }
}

/// `trash`: soft-delete retention.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default)]
pub struct TrashSettings {
    /// Days before trashed items are purged.
    pub retention_days: u64,
}

impl Default for TrashSettings {
    fn default() -> Self {
        Self { retention_days: 30 }
    }
}

/// `analytics`: one usage event per model request, and what requests cost.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default)]
pub struct AnalyticsSettings {
    /// Record usage events.
    pub enabled: bool,
    /// Prices per model name (as the endpoint reports it); models not listed cost 0, as local
    /// models do.
    pub prices: std::collections::BTreeMap<String, ModelPrice>,
}

impl Default for AnalyticsSettings {
    fn default() -> Self {
        Self {
            enabled: true,
            prices: Default::default(),
        }
    }
}

/// The price of a model's tokens, per million.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default)]
pub struct ModelPrice {
    /// Price of a million prompt tokens.
    pub prompt_per_million: f64,
    /// Price of a million completion tokens.
    pub completion_per_million: f64,
}

/// `models`: where models are downloaded from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default)]
pub struct ModelSettings {
    /// Base URL of the Hugging Face hub (or a mirror).
    pub hub_url: String,
}

impl Default for ModelSettings {
    fn default() -> Self {
        Self {
            hub_url: "https://huggingface.co".to_owned(),
        }
    }
}

/// `server_api`: the HTTP API `llf serve` runs (OpenAI-compatible `/v1`, health, keys).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default)]
pub struct ServerApiSettings {
    /// Address to bind. Loopback by default; any other address is refused while no API key
    /// exists (`llf serve keys create`).
    pub host: String,
    /// Port to listen on.
    #[serde(deserialize_with = "port")]
    pub port: u16,
    /// Origins a browser may call the API from (`https://app.example`, or `*`). Empty: no
    /// cross-origin access.
    pub cors_origins: Vec<String>,
    /// Largest request body accepted, in kilobytes (a bigger one gets 413).
    pub max_body_kb: u64,
    /// Seconds a non-streamed answer may take before the request gets 504.
    pub request_timeout: u64,
    /// Seconds a streamed answer may stay silent before it is ended.
    pub stream_idle_timeout: u64,
}

impl Default for ServerApiSettings {
    fn default() -> Self {
        Self {
            host: "127.0.0.1".to_owned(),
            port: 8090,
            cors_origins: Vec::new(),
            max_body_kb: 4096,
            request_timeout: 600,
            stream_idle_timeout: 300,
        }
    }
}
