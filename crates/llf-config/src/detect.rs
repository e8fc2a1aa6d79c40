//! The default configuration that `llf config init` writes: pointed at the components the caller
//! names (flags, or the variables the setup script exports), on a port nothing else listens on.

use std::path::{Path, PathBuf};

use crate::env::InstalledComponents;
use crate::schema::Config;
use crate::{ConfigError, Result};

/// Ports tried after the default one, before asking the system for any free port.
const NEARBY_PORTS: std::ops::RangeInclusive<u16> = 8001..=8099;

/// Defaults with the given components filled in and the default server on a free port.
pub(crate) fn default_config(components: &InstalledComponents) -> Result<Config> {
    let mut config = Config::default();
    for (what, path) in [
        ("llama-server", &components.llama_server),
        ("model", &components.model),
        ("onnxruntime", &components.onnxruntime),
        ("embedding model", &components.embed_model),
    ] {
        if let Some(p) = path
            && !p.exists()
        {
            return Err(ConfigError::ComponentMissing {
                what,
                path: p.clone(),
            });
        }
    }
    if let Some(server) = config.local_llm_servers.first_mut() {
        if let Some(bin) = &components.llama_server {
            server.llama_server_path = absolute(bin);
        }
        server.model_path = components.model.as_deref().map(absolute);
        if !port_is_free(&server.host, server.port) {
            let host = server.host.clone();
            if let Some(port) = NEARBY_PORTS
                .clone()
                .find(|p| port_is_free(&host, *p))
                .or_else(|| any_free_port(&host))
            {
                server.port = port;
            }
        }
        config.llm_endpoint.api_base_url = server.base_url();
    }
    config.rag.embedding_model_dir = components.embed_model.as_deref().map(absolute);
    config.rag.onnxruntime_path = components.onnxruntime.as_deref().map(absolute);
    Ok(config)
}

fn port_is_free(host: &str, port: u16) -> bool {
    std::net::TcpListener::bind((host, port)).is_ok()
}

fn any_free_port(host: &str) -> Option<u16> {
    std::net::TcpListener::bind((host, 0))
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .ok()
}

fn absolute(p: &Path) -> PathBuf {
    std::path::absolute(p).unwrap_or_else(|_| p.to_owned())
}
