//! LLF's HTTP API, the server of `llf serve`: an OpenAI-compatible `/v1` (chat completions, JSON
//! and server-sent events, with the client's own tools; models; embeddings) over the `llf`
//! facade, `/healthz`, `/readyz`, `/metrics`, and read-only conversations under `/api/v1`.
//!
//! The app only composes: every decision about a completion, a model name or a key lives in the
//! `llf` crate. [`app`] builds the router (tests drive it with `tower::ServiceExt::oneshot`);
//! [`Server::start`] binds it (loopback by default; any other address only while API keys
//! exist) and [`serve`] runs it until Ctrl-C or SIGTERM, letting streams in flight finish.
//!
//! Invariants:
//! - When any API key exists, every route but `/healthz` and `/readyz` needs
//!   `Authorization: Bearer KEY`, with the route's scope (`read`, `chat`; `admin` allows all).
//! - A client that disconnects mid-stream drops the answer's stream, which cancels the upstream
//!   generation (and a saved conversation keeps what arrived).
//! - Error bodies are OpenAI's envelope and never carry paths, log lines or internal URLs.

mod auth;
mod body;
mod conversations;
mod error;
mod metrics;
mod openai;
mod ops;
mod serve;

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderValue, Method, header};
use axum::routing::{get, post};
use llf::Llf;
use llf::api_keys::Scope;
use tower_http::cors::{AllowOrigin, CorsLayer};

pub use error::ApiError;
pub use serve::{RefusedBind, ServeOptions, Server, serve};

/// What every handler shares.
#[derive(Clone)]
pub struct AppState {
    llf: Llf,
    metrics: Arc<metrics::Metrics>,
}

impl AppState {
    /// The state of an API over `llf`.
    pub fn new(llf: Llf) -> Self {
        Self {
            llf,
            metrics: Arc::new(metrics::Metrics::default()),
        }
    }

    /// The application context.
    pub fn llf(&self) -> &Llf {
        &self.llf
    }

    fn request_timeout(&self) -> Duration {
        Duration::from_secs(self.llf.config().server_api.request_timeout)
    }

    fn stream_idle_timeout(&self) -> Duration {
        Duration::from_secs(self.llf.config().server_api.stream_idle_timeout)
    }
}

/// The API's router over `state`, with its limits, CORS and authentication.
pub fn app(state: AppState) -> Router {
    let settings = state.llf.config().server_api.clone();
    let chat = Router::new()
        .route("/v1/chat/completions", post(openai::chat_completions))
        .route("/v1/embeddings", post(openai::embeddings))
        .route_layer(axum::middleware::from_fn_with_state(
            (state.clone(), Scope::Chat),
            auth::require,
        ));
    let read = Router::new()
        .route("/v1/models", get(openai::models))
        .route("/v1/models/{id}", get(openai::model))
        .route("/metrics", get(ops::metrics))
        .route("/api/v1/conversations", get(conversations::list))
        .route("/api/v1/conversations/search", get(conversations::search))
        .route("/api/v1/conversations/{id}", get(conversations::get))
        .route_layer(axum::middleware::from_fn_with_state(
            (state.clone(), Scope::Read),
            auth::require,
        ));
    let open = Router::new()
        .route("/healthz", get(ops::healthz))
        .route("/readyz", get(ops::readyz));
    let limit = usize::try_from(settings.max_body_kb.saturating_mul(1024)).unwrap_or(usize::MAX);
    let router = Router::new()
        .merge(chat)
        .merge(read)
        .merge(open)
        .fallback(ops::not_found)
        .method_not_allowed_fallback(ops::method_not_allowed)
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            metrics::record,
        ))
        .layer(DefaultBodyLimit::max(limit))
        .with_state(state);
    match cors(&settings.cors_origins) {
        Some(layer) => router.layer(layer),
        None => router,
    }
}

/// CORS for the configured origins; none configured: no CORS headers at all, so browsers keep
/// other sites out.
fn cors(origins: &[String]) -> Option<CorsLayer> {
    if origins.is_empty() {
        return None;
    }
    let allow = if origins.iter().any(|o| o == "*") {
        AllowOrigin::any()
    } else {
        AllowOrigin::list(
            origins
                .iter()
                .filter_map(|o| HeaderValue::from_str(o.trim_end_matches('/')).ok()),
        )
    };
    Some(
        CorsLayer::new()
            .allow_origin(allow)
            .allow_methods([Method::GET, Method::POST, Method::OPTIONS])
            .allow_headers([header::AUTHORIZATION, header::CONTENT_TYPE]),
    )
}
