//! The models a client can name: each local server (by its name, or its model file's name), the
//! remote endpoint's model when no local server is the default, `auto` (routed), and the local
//! embedding model.

use llf_runtime::Target;
use serde::Serialize;

use crate::{Error, Llf, Result};

/// What a model is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ModelKind {
    /// A local llama-server (`local_llm_servers[]`).
    Local,
    /// The remote endpoint's model (`llm_endpoint.model_name`).
    Remote,
    /// The local embedding model (`rag.embedding_model_dir`).
    Embedding,
}

/// A model clients can name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ModelEntry {
    /// The name to use as `model`.
    pub id: String,
    /// What it is.
    pub kind: ModelKind,
}

impl Llf {
    /// Every model a client can name, local servers first.
    pub fn model_entries(&self) -> Vec<ModelEntry> {
        let config = self.config();
        let mut out: Vec<ModelEntry> = config
            .local_llm_servers
            .iter()
            .map(|s| ModelEntry {
                id: s.name.clone(),
                kind: ModelKind::Local,
            })
            .collect();
        if config.llm_endpoint.default_local_server.is_none() {
            out.push(ModelEntry {
                id: config.llm_endpoint.model_name.clone(),
                kind: ModelKind::Remote,
            });
        }
        if let Some(id) = self.embedding_model_id() {
            out.push(ModelEntry {
                id,
                kind: ModelKind::Embedding,
            });
        }
        out
    }

    /// The model named `id` ([`Error::ModelNotFound`] when there is none).
    pub fn model_entry(&self, id: &str) -> Result<ModelEntry> {
        self.model_entries()
            .into_iter()
            .find(|m| m.id == id)
            .ok_or_else(|| Error::ModelNotFound(id.to_owned()))
    }

    /// The embedding model's name (its directory's name), when one is configured.
    pub fn embedding_model_id(&self) -> Option<String> {
        if !cfg!(feature = "rag") {
            return None;
        }
        self.config()
            .rag
            .embedding_model_dir
            .as_ref()
            .and_then(|d| d.file_name())
            .map(|n| n.to_string_lossy().into_owned())
    }

    /// Where a chat completion for `model` goes, and the name its answer carries: a local
    /// server by name or by its model file's name, the remote model, or `auto` (the server
    /// `multi_model.routing_strategy` picks for `text`, else the default).
    pub fn resolve_chat_model(&self, model: &str, text: Option<&str>) -> Result<(Target, String)> {
        let config = self.config();
        if model == "auto" {
            return Ok(match text.and_then(|t| self.route(t)) {
                Some(server) => (Target::Server(server.clone()), server),
                None => (Target::Default, "auto".to_owned()),
            });
        }
        for s in &config.local_llm_servers {
            let stem = s
                .model_file()
                .and_then(|f| f.file_stem().map(|n| n.to_string_lossy().into_owned()));
            if s.name == model || stem.as_deref() == Some(model) {
                return Ok((Target::Server(s.name.clone()), model.to_owned()));
            }
        }
        if config.llm_endpoint.default_local_server.is_none()
            && config.llm_endpoint.model_name == model
        {
            return Ok((Target::Remote, model.to_owned()));
        }
        Err(Error::ModelNotFound(model.to_owned()))
    }
}

impl Llf {
    /// Whether the default model answers: its local server runs and reports its properties, or
    /// the remote endpoint accepts a connection. Returns the model's name.
    pub async fn default_model_ready(&self) -> Result<String> {
        let rt = self.runtime();
        match rt.local_server_name(&Target::Default) {
            Some(name) => match rt.servers().status(&name).await? {
                llf_runtime::server::ServerStatus::Running(state) => {
                    rt.servers().props(&state).await?;
                    Ok(name)
                }
                _ => Err(llf_runtime::RuntimeError::NotRunning(name).into()),
            },
            None => {
                let ep = &self.config().llm_endpoint;
                let url = ep.api_base_url.as_str();
                let (default_port, rest) = match url.split_once("://") {
                    Some(("https", rest)) => (443, rest),
                    Some((_, rest)) => (80, rest),
                    None => (80, url),
                };
                let authority = rest.split('/').next().unwrap_or_default();
                let addr = if authority
                    .rsplit_once(':')
                    .is_some_and(|(_, p)| p.parse::<u16>().is_ok())
                {
                    authority.to_owned()
                } else {
                    format!("{authority}:{default_port}")
                };
                let unreachable = |detail: String| llf_runtime::RuntimeError::Request {
                    endpoint: url.to_owned(),
                    message: detail,
                    status: None,
                };
                match tokio::time::timeout(
                    std::time::Duration::from_secs(5),
                    tokio::net::TcpStream::connect(&addr),
                )
                .await
                {
                    Ok(Ok(_)) => Ok(ep.model_name.clone()),
                    Ok(Err(e)) => Err(unreachable(e.to_string()).into()),
                    Err(_) => Err(unreachable("no connection within 5 s".into()).into()),
                }
            }
        }
    }
}
