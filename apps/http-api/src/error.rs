//! Errors in OpenAI's envelope, `{"error": {"message", "type", "param", "code"}}`, with the
//! matching HTTP status. Messages of server-side failures are generic: the details (paths, log
//! lines, internal URLs) go to the log, never to the client.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use llf::runtime::RuntimeError;
use serde_json::json;

/// An error response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    /// The HTTP status.
    pub status: StatusCode,
    /// OpenAI's `type`.
    pub kind: &'static str,
    /// What went wrong, for the client.
    pub message: String,
    /// The request field at fault.
    pub param: Option<String>,
    /// OpenAI's `code`.
    pub code: Option<&'static str>,
    /// Seconds to wait before trying again (`Retry-After`).
    pub retry_after: Option<u64>,
}

impl ApiError {
    /// A client error (`invalid_request_error`).
    pub fn invalid(status: StatusCode, message: impl Into<String>) -> Self {
        Self {
            status,
            kind: "invalid_request_error",
            message: message.into(),
            param: None,
            code: None,
            retry_after: None,
        }
    }

    /// A failure on LLF's side (`server_error`).
    pub fn server(status: StatusCode, message: impl Into<String>) -> Self {
        Self {
            kind: "server_error",
            ..Self::invalid(status, message)
        }
    }

    /// With a `code`.
    pub fn code(mut self, code: &'static str) -> Self {
        self.code = Some(code);
        self
    }

    /// With a `param`.
    pub fn param(mut self, param: Option<String>) -> Self {
        self.param = param;
        self
    }

    /// No route here.
    pub fn not_found() -> Self {
        Self::invalid(StatusCode::NOT_FOUND, "no such endpoint").code("not_found")
    }

    /// The JSON body.
    pub fn body(&self) -> serde_json::Value {
        json!({"error": {"message": self.message, "type": self.kind, "param": self.param, "code": self.code}})
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response = (self.status, axum::Json(self.body())).into_response();
        if let Some(secs) = self.retry_after
            && let Ok(v) = HeaderValue::from_str(&secs.to_string())
        {
            response.headers_mut().insert(header::RETRY_AFTER, v);
        }
        response
    }
}

/// Drops words that look like paths or URLs from an upstream message.
fn scrub(text: &str) -> String {
    text.split_whitespace()
        .filter(|w| !(w.contains("://") || w.contains('/') || w.contains('\\')))
        .collect::<Vec<_>>()
        .join(" ")
}

const UNAVAILABLE: &str = "the model server is not available right now; the LLF server's log and `llf server logs` say why";

fn runtime(e: &RuntimeError) -> ApiError {
    match e {
        RuntimeError::UnknownServer { name, .. } => ApiError::invalid(
            StatusCode::NOT_FOUND,
            format!("the model `{name}` does not exist"),
        )
        .code("model_not_found")
        .param(Some("model".into())),
        RuntimeError::ContextOverflow {
            prompt, context, ..
        } => ApiError::invalid(
            StatusCode::BAD_REQUEST,
            format!(
                "the prompt needs {prompt} tokens and an answer, but the model's context holds {context}"
            ),
        )
        .code("context_length_exceeded")
        .param(Some("messages".into())),
        RuntimeError::QueueFull { max_size, .. } => ApiError {
            retry_after: Some(1),
            ..ApiError::server(
                StatusCode::SERVICE_UNAVAILABLE,
                format!("the model's request queue is full ({max_size} waiting); try again shortly"),
            )
            .code("queue_full")
        },
        RuntimeError::Timeout { secs, .. } => ApiError::server(
            StatusCode::GATEWAY_TIMEOUT,
            format!("the model did not answer within {secs} s"),
        )
        .code("timeout"),
        RuntimeError::Request {
            status: Some(429), ..
        } => ApiError {
            retry_after: Some(1),
            ..ApiError::invalid(
                StatusCode::TOO_MANY_REQUESTS,
                "the model endpoint is rate limited; try again shortly",
            )
            .code("rate_limit_exceeded")
        },
        RuntimeError::Request {
            status: Some(s),
            message,
            ..
        } if (400..500).contains(s) => {
            let status = StatusCode::from_u16(*s).unwrap_or(StatusCode::BAD_REQUEST);
            let detail = message
                .split_once(": ")
                .map(|(_, m)| m)
                .unwrap_or(message.as_str());
            ApiError::invalid(
                status,
                format!("the model refused the request: {}", scrub(detail)),
            )
        }
        RuntimeError::Malformed { .. } => ApiError::server(
            StatusCode::BAD_GATEWAY,
            "the model endpoint sent an answer LLF cannot read",
        ),
        RuntimeError::Invalid(m) => ApiError::invalid(StatusCode::BAD_REQUEST, scrub(m)),
        RuntimeError::Request { .. }
        | RuntimeError::ConnectionLost { .. }
        | RuntimeError::ServerStopped { .. }
        | RuntimeError::ServerDied { .. }
        | RuntimeError::StartTimeout { .. }
        | RuntimeError::CrashLoop { .. }
        | RuntimeError::NotRunning(_)
        | RuntimeError::ServerBinaryMissing(_)
        | RuntimeError::ModelMissing(_)
        | RuntimeError::NoModelConfigured(_)
        | RuntimeError::PortInUse { .. } => {
            ApiError::server(StatusCode::SERVICE_UNAVAILABLE, UNAVAILABLE).code("model_unavailable")
        }
        _ => internal(),
    }
}

fn internal() -> ApiError {
    ApiError::server(
        StatusCode::INTERNAL_SERVER_ERROR,
        "LLF failed to handle the request; its log says why",
    )
}

impl From<llf::Error> for ApiError {
    fn from(e: llf::Error) -> Self {
        let api = match &e {
            llf::Error::BadRequest(b) => {
                ApiError::invalid(StatusCode::BAD_REQUEST, b.to_string()).param(b.param())
            }
            llf::Error::ModelNotFound(m) => ApiError::invalid(
                StatusCode::NOT_FOUND,
                format!("the model `{m}` does not exist"),
            )
            .code("model_not_found")
            .param(Some("model".into())),
            llf::Error::EmptyMessage => {
                ApiError::invalid(StatusCode::BAD_REQUEST, "the message is empty")
            }
            llf::Error::Runtime(r) => runtime(r),
            llf::Error::History(llf::history::HistoryError::ConversationNotFound(id)) => {
                ApiError::invalid(
                    StatusCode::NOT_FOUND,
                    format!("no saved conversation `{}`", scrub(id)),
                )
                .code("conversation_not_found")
                .param(Some("llf.conversation_id".into()))
            }
            llf::Error::History(llf::history::HistoryError::AmbiguousId(id)) => ApiError::invalid(
                StatusCode::BAD_REQUEST,
                format!(
                    "`{}` matches several conversations; give more of the id",
                    scrub(id)
                ),
            )
            .param(Some("llf.conversation_id".into())),
            llf::Error::Rag(llf::rag::RagError::StoreNotFound(n)) => ApiError::invalid(
                StatusCode::NOT_FOUND,
                format!("no data store named `{}`", scrub(n)),
            )
            .param(Some("llf.datastores".into())),
            llf::Error::Rag(
                llf::rag::RagError::ModelLoad { .. } | llf::rag::RagError::MissingSetting { .. },
            ) => ApiError::server(
                StatusCode::SERVICE_UNAVAILABLE,
                "the embedding model is not available; see the LLF server's log",
            )
            .code("model_unavailable"),
            llf::Error::FeatureOff(f) => ApiError::invalid(
                StatusCode::BAD_REQUEST,
                format!("this build of LLF has no {f} support"),
            ),
            _ => internal(),
        };
        if api.status.is_server_error() {
            tracing::error!(status = api.status.as_u16(), error = %error_chain(&e), "request failed");
        } else {
            tracing::info!(status = api.status.as_u16(), error = %e, "request refused");
        }
        api
    }
}

/// The error and its causes on one line, for the log.
fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}
