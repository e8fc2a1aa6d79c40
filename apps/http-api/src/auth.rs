//! API keys on requests: while no key exists the API is open (and bound to loopback only, see
//! [`crate::Server::start`]); once one does, each route needs a key with its scope.

use axum::extract::{Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use llf::api_keys::Scope;

use crate::{ApiError, AppState};

/// Lets the request through when no key exists, or when it carries a key with `scope`.
pub(crate) async fn require(
    State((state, scope)): State<(AppState, Scope)>,
    req: Request,
    next: Next,
) -> Response {
    let keys = state.llf.api_keys();
    match keys.any() {
        Ok(false) => return next.run(req).await,
        Ok(true) => {}
        Err(e) => {
            tracing::error!(error = %e, "cannot read the API keys");
            return ApiError::server(
                StatusCode::INTERNAL_SERVER_ERROR,
                "the API keys cannot be read; see the LLF server's log",
            )
            .into_response();
        }
    }
    let token = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        })
        .map(str::trim);
    let Some(token) = token else {
        return ApiError::invalid(
            StatusCode::UNAUTHORIZED,
            "this server needs an API key: send `Authorization: Bearer KEY` (keys come from `llf serve keys create`)",
        )
        .code("invalid_api_key")
        .into_response();
    };
    match keys.verify(token) {
        Ok(Some(key)) if key.allows(scope) => next.run(req).await,
        Ok(Some(key)) => ApiError {
            kind: "permission_error",
            ..ApiError::invalid(
                StatusCode::FORBIDDEN,
                format!(
                    "the API key `{}` lacks the `{scope}` scope this endpoint needs",
                    key.name
                ),
            )
            .code("insufficient_scope")
        }
        .into_response(),
        Ok(None) => ApiError::invalid(StatusCode::UNAUTHORIZED, "the API key is not valid")
            .code("invalid_api_key")
            .into_response(),
        Err(e) => {
            tracing::error!(error = %e, "cannot read the API keys");
            ApiError::server(
                StatusCode::INTERNAL_SERVER_ERROR,
                "the API keys cannot be read; see the LLF server's log",
            )
            .into_response()
        }
    }
}
