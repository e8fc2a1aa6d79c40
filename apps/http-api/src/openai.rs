//! The OpenAI-compatible routes: `/v1/chat/completions` (JSON or server-sent events),
//! `/v1/models`, `/v1/models/{id}`, `/v1/embeddings`. Each parses, calls the facade and
//! serialises what it returns.

use std::convert::Infallible;
use std::time::{Duration, Instant};

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use futures::StreamExt;
use llf::completion::{CompletionRequest, CompletionStream, ModelEntry, collect};
use llf::embeddings::EmbeddingRequest;
use serde_json::{Value, json};

use crate::body::JsonBody;
use crate::metrics::Metrics;
use crate::{ApiError, AppState};

/// `POST /v1/chat/completions`.
pub(crate) async fn chat_completions(
    State(state): State<AppState>,
    JsonBody(request): JsonBody<CompletionRequest>,
) -> Response {
    let started = Instant::now();
    let streaming = request.streams();
    let model = request.model.clone();
    let stream = match state.llf.chat_completion(request).await {
        Ok(s) => s,
        Err(e) => return ApiError::from(e).into_response(),
    };
    if !streaming {
        return match tokio::time::timeout(state.request_timeout(), collect(stream)).await {
            Err(_) => ApiError::server(
                StatusCode::GATEWAY_TIMEOUT,
                format!(
                    "the answer took longer than {} s (server_api.request_timeout)",
                    state.request_timeout().as_secs()
                ),
            )
            .code("timeout")
            .into_response(),
            Ok(Err(e)) => ApiError::from(e).into_response(),
            Ok(Ok(response)) => {
                state.metrics.first_token(
                    &model,
                    started.elapsed(),
                    response.usage.completion_tokens,
                );
                Json(response).into_response()
            }
        };
    }
    let events = sse_events(
        stream,
        state.stream_idle_timeout(),
        state.metrics.clone(),
        model,
        started,
    );
    Sse::new(events)
        .keep_alive(KeepAlive::default())
        .into_response()
}

struct SseState {
    inner: CompletionStream,
    finished: bool,
    first_token: bool,
    idle: Duration,
    metrics: std::sync::Arc<Metrics>,
    model: String,
    started: Instant,
    tokens: u64,
}

/// The chunks as `data:` events, ending with `data: [DONE]`, or with an error event when the
/// answer fails or stays silent longer than `idle`. Dropping it (the client went away) drops
/// the completion stream, which cancels the generation.
fn sse_events(
    inner: CompletionStream,
    idle: Duration,
    metrics: std::sync::Arc<Metrics>,
    model: String,
    started: Instant,
) -> impl futures::Stream<Item = Result<Event, Infallible>> {
    let state = SseState {
        inner,
        finished: false,
        first_token: false,
        idle,
        metrics,
        model,
        started,
        tokens: 0,
    };
    futures::stream::unfold(state, |mut st| async move {
        if st.finished {
            return None;
        }
        let event = match tokio::time::timeout(st.idle, st.inner.next()).await {
            Ok(Some(Ok(chunk))) => {
                let carries = chunk.choices.iter().any(|c| {
                    c.delta.content.as_deref().is_some_and(|t| !t.is_empty())
                        || c.delta.tool_calls.is_some()
                });
                if carries {
                    st.tokens += 1;
                    if !st.first_token {
                        st.first_token = true;
                        st.metrics.first_token(&st.model, st.started.elapsed(), 0);
                    }
                }
                if let Some(u) = &chunk.usage {
                    st.tokens = u.completion_tokens;
                }
                match serde_json::to_string(&chunk) {
                    Ok(text) => Event::default().data(text),
                    Err(e) => {
                        tracing::error!(error = %e, "cannot serialise a chunk");
                        st.finished = true;
                        Event::default().data(
                            ApiError::server(StatusCode::INTERNAL_SERVER_ERROR, "internal error")
                                .body()
                                .to_string(),
                        )
                    }
                }
            }
            Ok(Some(Err(e))) => {
                st.finished = true;
                Event::default().data(ApiError::from(e).body().to_string())
            }
            Ok(None) => {
                st.finished = true;
                st.metrics.tokens_out(&st.model, st.tokens);
                Event::default().data("[DONE]")
            }
            Err(_) => {
                st.finished = true;
                Event::default().data(
                    ApiError::server(
                        StatusCode::GATEWAY_TIMEOUT,
                        format!(
                            "the answer stayed silent for {} s (server_api.stream_idle_timeout)",
                            st.idle.as_secs()
                        ),
                    )
                    .code("timeout")
                    .body()
                    .to_string(),
                )
            }
        };
        Some((Ok(event), st))
    })
}

fn model_json(m: &ModelEntry) -> Value {
    json!({"id": m.id, "object": "model", "created": 0, "owned_by": "llf", "llf": {"kind": m.kind}})
}

/// `GET /v1/models`.
pub(crate) async fn models(State(state): State<AppState>) -> Json<Value> {
    let data: Vec<Value> = state.llf.model_entries().iter().map(model_json).collect();
    Json(json!({"object": "list", "data": data}))
}

/// `GET /v1/models/{id}`.
pub(crate) async fn model(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    Ok(Json(model_json(&state.llf.model_entry(&id)?)))
}

/// `POST /v1/embeddings`.
pub(crate) async fn embeddings(
    State(state): State<AppState>,
    JsonBody(request): JsonBody<EmbeddingRequest>,
) -> Result<Response, ApiError> {
    Ok(Json(state.llf.embeddings(request).await?).into_response())
}
