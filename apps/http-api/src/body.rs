//! A JSON body extractor whose rejections are OpenAI-style errors: 413 past the body limit, 400
//! with the offending field for JSON that does not fit.

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::StatusCode;
use serde::de::DeserializeOwned;

use crate::ApiError;

/// A JSON request body of type `T`.
pub(crate) struct JsonBody<T>(pub(crate) T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for JsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = Bytes::from_request(req, state).await.map_err(|r| {
            let status = r.status();
            if status == StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::invalid(
                    status,
                    "the request body is larger than the server accepts (server_api.max_body_kb)",
                )
                .code("request_too_large")
            } else {
                ApiError::invalid(
                    StatusCode::BAD_REQUEST,
                    "the request body could not be read",
                )
            }
        })?;
        let de = &mut serde_json::Deserializer::from_slice(&bytes);
        serde_path_to_error::deserialize(de)
            .map(JsonBody)
            .map_err(|e| {
                let path = e.path().to_string();
                let inner = e.into_inner();
                let param = (path != ".").then_some(path);
                ApiError::invalid(
                    StatusCode::BAD_REQUEST,
                    format!("the request body is not valid: {inner}"),
                )
                .param(param)
            })
    }
}
