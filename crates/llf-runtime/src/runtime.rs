//! [`Runtime`]: everything of this crate wired from one configuration — the server manager, a
//! client (with its queue) per endpoint, the profile log and the prompt builder.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use llf_config::{Config, Paths};

use crate::Result;
use crate::client::{ChatClient, EndpointSpec};
use crate::profile::ProfileLog;
use crate::prompt::{ContextLimit, LlamaTokenCounter, PromptBuilder};
use crate::queue::RequestQueue;
use crate::server::{ServerManager, ServerState, StartPhase};
use crate::session::ChatSession;

/// Which endpoint to talk to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// The default: the default local server when one is configured, else `llm_endpoint`.
    Default,
    /// A named local server.
    Server(String),
    /// The remote `llm_endpoint.api_base_url`.
    Remote,
}

/// The runtime of one configuration.
#[derive(Debug)]
pub struct Runtime {
    config: Config,
    servers: Arc<ServerManager>,
    profile: ProfileLog,
    queues: Mutex<HashMap<String, RequestQueue>>,
}

impl Runtime {
    /// Wires the runtime for `config`, keeping state under `paths`.
    pub fn new(config: &Config, paths: &Paths) -> Self {
        Self {
            config: config.clone(),
            servers: Arc::new(ServerManager::new(config, paths)),
            profile: ProfileLog::new(paths.state.join("performance.jsonl")),
            queues: Mutex::new(HashMap::new()),
        }
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The local servers.
    pub fn servers(&self) -> &Arc<ServerManager> {
        &self.servers
    }

    /// The performance log.
    pub fn profile_log(&self) -> &ProfileLog {
        &self.profile
    }

    /// The shared queue of `endpoint` (created on first use from `request_queue`).
    pub fn queue(&self, endpoint: &str) -> RequestQueue {
        let mut queues = self.queues.lock().unwrap_or_else(|p| p.into_inner());
        queues
            .entry(endpoint.to_owned())
            .or_insert_with(|| RequestQueue::new(endpoint, &self.config.request_queue))
            .clone()
    }

    /// Resolves `target` to a local server name, or `None` for the remote endpoint.
    pub fn local_server_name(&self, target: &Target) -> Option<String> {
        match target {
            Target::Server(n) => Some(n.clone()),
            Target::Remote => None,
            Target::Default => self.config.llm_endpoint.default_local_server.clone(),
        }
    }

    /// A client for `target`, starting its local server first when needed. `progress` reports
    /// start-up phases for a spinner.
    pub async fn connect(
        &self,
        target: &Target,
        progress: impl Fn(StartPhase),
    ) -> Result<Connection> {
        match self.local_server_name(target) {
            Some(name) => {
                let state = self.servers.start(Some(&name), progress).await?;
                let props = self.servers.props(&state).await.ok();
                let client = self.client_for_server(&state);
                let limit = props.as_ref().map(|p| ContextLimit {
                    context_size: p.context_size,
                    reserve: self.config.inference_params.max_tokens.unwrap_or(512) as usize,
                    counter: Arc::new(LlamaTokenCounter::new(state.root_url())),
                });
                Ok(Connection {
                    client,
                    limit,
                    server: Some(state),
                    supports_tools: props.is_some_and(|p| p.supports_tools),
                })
            }
            None => Ok(Connection {
                client: self.remote_client(),
                limit: None,
                server: None,
                supports_tools: true,
            }),
        }
    }

    /// A client for a running local server.
    pub fn client_for_server(&self, state: &ServerState) -> ChatClient {
        let ep = &self.config.llm_endpoint;
        let model = state
            .model
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| state.name.clone());
        let spec = EndpointSpec {
            base_url: format!("{}/v1", state.root_url()),
            // A local server needs no key; never send the remote one to it.
            api_key: None,
            model,
            timeout: Duration::from_secs(ep.request_timeout),
            max_retries: ep.max_retries,
        };
        let queue = self.queue(&spec.base_url);
        ChatClient::new(spec, queue)
            .with_profile(self.profile.clone())
            .with_server(state.clone())
    }

    /// A client for the remote `llm_endpoint`.
    pub fn remote_client(&self) -> ChatClient {
        let ep = &self.config.llm_endpoint;
        let spec = EndpointSpec {
            base_url: ep.api_base_url.clone(),
            api_key: ep.api_key.clone(),
            model: ep.model_name.clone(),
            timeout: Duration::from_secs(ep.request_timeout),
            max_retries: ep.max_retries,
        };
        let queue = self.queue(&spec.base_url);
        ChatClient::new(spec, queue).with_profile(self.profile.clone())
    }

    /// A prompt builder from the `prompt` settings (add context providers to it).
    pub fn prompt_builder(&self) -> PromptBuilder {
        PromptBuilder::new(&self.config.prompt)
    }

    /// A new conversation over `connection`.
    pub fn session(&self, connection: &Connection, builder: PromptBuilder) -> ChatSession {
        let s = ChatSession::new(
            connection.client.clone(),
            builder,
            self.config.inference_params.clone(),
        );
        match &connection.limit {
            Some(l) => s.with_limit(l.clone()),
            None => s,
        }
    }

    /// Checks that `name` is a configured server.
    pub fn require_server(&self, name: &str) -> Result<()> {
        self.servers.server(Some(name)).map(|_| ())
    }
}

/// A client ready to use, with what LLF learned about the endpoint.
#[derive(Debug, Clone)]
pub struct Connection {
    /// The client.
    pub client: ChatClient,
    /// The context window, when the server reported it.
    pub limit: Option<ContextLimit>,
    /// The local server, when the endpoint is one.
    pub server: Option<ServerState>,
    /// Whether the model's chat template supports tools natively.
    pub supports_tools: bool,
}
