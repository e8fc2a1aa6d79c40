//! `/api/v1/conversations`: the saved conversations, read-only — list, full-text search with
//! highlighted snippets, and one conversation's active branch.

use axum::Json;
use axum::extract::{Path, Query, State};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::{ApiError, AppState};

#[derive(Debug, Deserialize)]
pub(crate) struct ListQuery {
    limit: Option<u32>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct SearchQuery {
    q: String,
    limit: Option<u32>,
}

/// `GET /api/v1/conversations?limit=N`: newest first.
pub(crate) async fn list(
    State(state): State<AppState>,
    Query(q): Query<ListQuery>,
) -> Result<Json<Value>, ApiError> {
    let Some(history) = state.llf.history_if_exists().await? else {
        return Ok(Json(json!({"object": "list", "data": []})));
    };
    let filter = llf::history::ListFilter {
        limit: q.limit,
        ..Default::default()
    };
    let data = history.list(&filter).await.map_err(llf::Error::from)?;
    Ok(Json(json!({"object": "list", "data": data})))
}

/// `GET /api/v1/conversations/search?q=TEXT`: matching messages, best first, with snippets whose
/// matches are between `<mark>` and `</mark>`.
pub(crate) async fn search(
    State(state): State<AppState>,
    Query(q): Query<SearchQuery>,
) -> Result<Json<Value>, ApiError> {
    let Some(history) = state.llf.history_if_exists().await? else {
        return Ok(Json(json!({"object": "list", "data": []})));
    };
    let query = llf::history::SearchQuery::new(q.q)
        .limit(q.limit.unwrap_or(20))
        .highlight("<mark>", "</mark>");
    let hits = history.search(&query).await.map_err(llf::Error::from)?;
    let data: Vec<Value> = hits
        .into_iter()
        .map(|h| {
            json!({"conversation_id": h.message.conversation_id, "conversation_title": h.conversation_title,
                   "message_id": h.message.id, "role": h.message.message.role, "snippet": h.snippet, "score": h.score})
        })
        .collect();
    Ok(Json(json!({"object": "list", "data": data})))
}

/// `GET /api/v1/conversations/{id}`: the conversation and the messages of its active branch.
pub(crate) async fn get(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let Some(history) = state.llf.history_if_exists().await? else {
        return Err(
            llf::Error::History(llf::history::HistoryError::ConversationNotFound(id)).into(),
        );
    };
    let conversation = history.conversation(&id).await.map_err(llf::Error::from)?;
    let messages = history
        .current_path(&conversation.id)
        .await
        .map_err(llf::Error::from)?;
    Ok(Json(
        json!({"conversation": conversation, "messages": messages}),
    ))
}
