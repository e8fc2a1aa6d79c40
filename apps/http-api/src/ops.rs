//! Operations: `/healthz` (the process answers), `/readyz` (the default model answers),
//! `/metrics`, and the OpenAI-style 404 and 405.

use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::{ApiError, AppState};

/// `GET /healthz`: the process is up.
pub(crate) async fn healthz() -> Json<serde_json::Value> {
    Json(json!({"status": "ok"}))
}

/// `GET /readyz`: 200 when the default model answers, 503 otherwise.
pub(crate) async fn readyz(State(state): State<AppState>) -> Response {
    match state.llf.default_model_ready().await {
        Ok(model) => Json(json!({"status": "ready", "model": model})).into_response(),
        Err(e) => {
            tracing::info!(error = %e, "not ready");
            ApiError::server(
                StatusCode::SERVICE_UNAVAILABLE,
                "the default model is not reachable",
            )
            .code("not_ready")
            .into_response()
        }
    }
}

/// `GET /metrics`.
pub(crate) async fn metrics(State(state): State<AppState>) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        state.metrics.render(),
    )
        .into_response()
}

/// Any other path.
pub(crate) async fn not_found() -> ApiError {
    ApiError::not_found()
}

/// A known path with another method.
pub(crate) async fn method_not_allowed() -> ApiError {
    ApiError::invalid(
        StatusCode::METHOD_NOT_ALLOWED,
        "this endpoint does not take that method",
    )
    .code("method_not_allowed")
}
