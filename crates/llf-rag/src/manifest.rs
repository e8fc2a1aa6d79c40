//! A store's manifest: what built it and what it holds, written atomically as JSON.

use std::path::Path;

use chrono::{DateTime, Utc};
use llf_config::schema::IndexType;
use serde::{Deserialize, Serialize};

use crate::index::Metric;
use crate::{RagError, Result};

/// Manifest format written by this version.
pub(crate) const FORMAT_VERSION: u32 = 1;

/// The manifest of a data store (`manifest.json`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    /// Manifest format version.
    pub format_version: u32,
    /// Store name.
    pub name: String,
    /// Embedding model id the vectors came from.
    pub model_id: String,
    /// Vector dimension.
    pub dimension: usize,
    /// Similarity metric of the index.
    pub metric: Metric,
    /// Index kind.
    pub index_type: IndexType,
    /// Inverted lists probed per query (IVF only).
    #[serde(default)]
    pub nprobe: usize,
    /// Chunk size in characters used when ingesting.
    pub chunk_size: usize,
    /// Chunk overlap in characters used when ingesting.
    pub chunk_overlap: usize,
    /// Source files.
    pub files: u64,
    /// Chunks (and vectors).
    pub chunks: u64,
    /// When the store was created.
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
    /// The highest chunk id the index holds: the database's commit mark when the index was
    /// written. A database whose mark differs has a change the index has not caught up with.
    /// `None` in stores written before the mark existed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub committed_chunk_id: Option<i64>,
    /// The Python FAISS index it was imported from, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub imported_from: Option<String>,
}

impl Manifest {
    /// Reads `path`; `store` names the store in errors.
    pub(crate) fn read(path: &Path, store: &str) -> Result<Self> {
        let bytes = std::fs::read(path).map_err(|e| {
            if e.kind() == std::io::ErrorKind::NotFound {
                RagError::MissingFile {
                    store: store.to_owned(),
                    what: "its manifest",
                    path: path.to_owned(),
                }
            } else {
                RagError::io(format!("cannot read {}", path.display()), e)
            }
        })?;
        let manifest: Self = serde_json::from_slice(&bytes).map_err(|e| RagError::Corrupt {
            store: store.to_owned(),
            what: "manifest",
            path: path.to_owned(),
            reason: e.to_string(),
        })?;
        if manifest.format_version > FORMAT_VERSION {
            return Err(RagError::Corrupt {
                store: store.to_owned(),
                what: "manifest",
                path: path.to_owned(),
                reason: format!(
                    "format {} is newer than this llf understands ({FORMAT_VERSION}); upgrade llf",
                    manifest.format_version
                ),
            });
        }
        Ok(manifest)
    }

    /// Writes `path` atomically.
    pub(crate) fn write(&self, path: &Path) -> Result<()> {
        let mut bytes = serde_json::to_vec_pretty(self)
            .map_err(|e| RagError::Invalid(format!("cannot serialise the manifest: {e}")))?;
        bytes.push(b'\n');
        llf_core::fs::atomic_write(path, &bytes, llf_core::fs::SHARED)?;
        Ok(())
    }
}
