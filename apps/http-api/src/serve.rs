//! Binding and running the API: loopback by default, another address only while API keys
//! exist; Ctrl-C or SIGTERM stops accepting and lets the answers in flight finish.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use llf::Llf;
use tokio_util::sync::CancellationToken;

use crate::{AppState, app};

/// Where to listen; unset fields come from `server_api`.
#[derive(Debug, Clone, Default)]
pub struct ServeOptions {
    /// Address to bind (`server_api.host`).
    pub host: Option<String>,
    /// Port (`server_api.port`; 0 picks a free one).
    pub port: Option<u16>,
}

/// A non-loopback address was asked for while no API key exists.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefusedBind {
    /// The address.
    pub addr: IpAddr,
}

impl std::fmt::Display for RefusedBind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "refusing to listen on {} without API keys: anyone who can reach it could use your models and data. \
             Create a key first (`llf serve keys create NAME`), or listen on 127.0.0.1",
            self.addr
        )
    }
}

impl std::error::Error for RefusedBind {}

/// A running API server.
#[derive(Debug)]
pub struct Server {
    addr: SocketAddr,
    stop: CancellationToken,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
}

fn parse_host(host: &str) -> anyhow::Result<IpAddr> {
    if host == "localhost" {
        return Ok(IpAddr::V4(Ipv4Addr::LOCALHOST));
    }
    host.trim_start_matches('[')
        .trim_end_matches(']')
        .parse()
        .map_err(|_| anyhow::anyhow!("`{host}` is not an IP address (server_api.host / --host)"))
}

impl Server {
    /// Binds the API and starts serving it in the background.
    pub async fn start(llf: Llf, options: ServeOptions) -> anyhow::Result<Self> {
        let settings = llf.config().server_api.clone();
        let host = options.host.unwrap_or(settings.host);
        let ip = parse_host(&host)?;
        if !ip.is_loopback() && !llf.api_keys().any()? {
            return Err(RefusedBind { addr: ip }.into());
        }
        let port = options.port.unwrap_or(settings.port);
        let listener = tokio::net::TcpListener::bind(SocketAddr::new(ip, port))
            .await
            .map_err(|e| anyhow::anyhow!("cannot listen on {ip}:{port}: {e}"))?;
        let addr = listener.local_addr()?;
        let router = app(AppState::new(llf));
        let stop = CancellationToken::new();
        let signal = stop.clone();
        let task = tokio::spawn(async move {
            axum::serve(listener, router)
                .with_graceful_shutdown(async move { signal.cancelled().await })
                .await
        });
        tracing::info!(%addr, "LLF HTTP API listening");
        Ok(Self { addr, stop, task })
    }

    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Stops accepting connections and waits for the requests in flight.
    pub async fn shutdown(self) -> anyhow::Result<()> {
        self.stop.cancel();
        self.task.await??;
        Ok(())
    }
}

/// Runs the API until Ctrl-C or SIGTERM; `ready` gets the address once it listens.
pub async fn serve(
    llf: Llf,
    options: ServeOptions,
    ready: impl FnOnce(SocketAddr),
) -> anyhow::Result<()> {
    let server = Server::start(llf, options).await?;
    ready(server.addr());
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    tokio::select! {
        r = tokio::signal::ctrl_c() => r?,
        _ = term.recv() => {}
    }
    tracing::info!("stopping: letting the answers in flight finish");
    server.shutdown().await
}
