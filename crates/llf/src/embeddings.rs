//! OpenAI-style embeddings with the local embedding model (`rag.embedding_model_dir`).

use base64::Engine;
use serde::{Deserialize, Serialize};

use crate::completion::BadRequest;
use crate::{Error, Llf, Result};

/// `POST /v1/embeddings`.
#[derive(Debug, Clone, Deserialize)]
pub struct EmbeddingRequest {
    /// The embedding model's name (see [`Llf::embedding_model_id`]).
    pub model: String,
    /// One text or several.
    pub input: EmbeddingInput,
    /// `float` (the default) or `base64` (little-endian `f32`s).
    #[serde(default)]
    pub encoding_format: Option<String>,
}

/// The texts to embed.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum EmbeddingInput {
    /// One text.
    One(String),
    /// Several.
    Many(Vec<String>),
}

/// One vector.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum EmbeddingVector {
    /// Numbers.
    Float(Vec<f32>),
    /// Base64 of the little-endian `f32`s.
    Base64(String),
}

/// One embedded text.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EmbeddingData {
    /// `embedding`.
    pub object: &'static str,
    /// The text's position in the input.
    pub index: usize,
    /// Its vector (L2-normalised).
    pub embedding: EmbeddingVector,
}

/// Token counts of an embeddings request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct EmbeddingUsage {
    /// Tokens in the input (estimated: four characters a token).
    pub prompt_tokens: u64,
    /// The same.
    pub total_tokens: u64,
}

/// The answer to an embeddings request.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EmbeddingResponse {
    /// `list`.
    pub object: &'static str,
    /// One entry per input text, in order.
    pub data: Vec<EmbeddingData>,
    /// The model.
    pub model: String,
    /// Token counts.
    pub usage: EmbeddingUsage,
}

impl Llf {
    /// Embeds the request's texts with the local embedding model (loaded on first use).
    pub async fn embeddings(&self, request: EmbeddingRequest) -> Result<EmbeddingResponse> {
        let base64 = match request.encoding_format.as_deref() {
            None | Some("float") => false,
            Some("base64") => true,
            Some(other) => return Err(BadRequest::UnsupportedEncoding(other.to_owned()).into()),
        };
        let texts = match request.input {
            EmbeddingInput::One(t) => vec![t],
            EmbeddingInput::Many(v) => v,
        };
        if texts.is_empty() || texts.iter().any(|t| t.is_empty()) {
            return Err(BadRequest::EmptyInput.into());
        }
        if self.embedding_model_id().as_deref() != Some(request.model.as_str()) {
            return Err(Error::ModelNotFound(request.model));
        }
        let tokens: u64 = texts.iter().map(|t| t.len().div_ceil(4) as u64).sum();
        let embedder = self.embedder().await?;
        let vectors = embedder.embed_documents(texts).await?;
        let data = vectors
            .into_iter()
            .enumerate()
            .map(|(index, v)| EmbeddingData {
                object: "embedding",
                index,
                embedding: if base64 {
                    let bytes: Vec<u8> = v.iter().flat_map(|x| x.to_le_bytes()).collect();
                    EmbeddingVector::Base64(base64::engine::general_purpose::STANDARD.encode(bytes))
                } else {
                    EmbeddingVector::Float(v)
                },
            })
            .collect();
        Ok(EmbeddingResponse {
            object: "list",
            data,
            model: request.model,
            usage: EmbeddingUsage {
                prompt_tokens: tokens,
                total_tokens: tokens,
            },
        })
    }
}
