//! The directory of data stores: listing, deleting to the trash, importing from Python FAISS.

use std::path::Path;

use std::collections::HashMap;

use llf_core::trash::{ItemType, Trash, TrashFilter, TrashItem};
use serde::{Deserialize, Serialize};

use crate::embed::ModelInfo;
use crate::error::ImportProblem;
use crate::index::{Metric, VectorIndex};
use crate::lock::StoreLock;
use crate::manifest::Manifest;
use crate::meta::{self, FileVersion, NewChunk};
use crate::progress::{Progress, ProgressEvent, Stage};
use crate::store::{
    DataStore, MANIFEST_FILE, Staging, StoreOptions, blocking, chain, validate_name,
};
use crate::{RagError, Result};

/// One store in a listing.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoreSummary {
    /// Directory name.
    pub name: String,
    /// Its manifest, when readable.
    pub manifest: Option<Manifest>,
    /// Why the manifest could not be read.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Bytes on disk.
    pub size_bytes: u64,
}

/// Every store under `root`, by name; unreadable ones are listed with their error.
pub fn list_stores(root: &Path) -> Result<Vec<StoreSummary>> {
    let entries = match std::fs::read_dir(root) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(RagError::io(format!("cannot list {}", root.display()), e)),
    };
    let mut out = Vec::new();
    for entry in entries.flatten() {
        let path = entry.path();
        let name = entry.file_name().to_string_lossy().into_owned();
        if !path.is_dir() || validate_name(&name).is_err() {
            continue;
        }
        let (manifest, error) = match Manifest::read(&path.join(MANIFEST_FILE), &name) {
            Ok(m) => (Some(m), None),
            Err(e) => (None, Some(e.to_string())),
        };
        out.push(StoreSummary {
            name,
            manifest,
            error,
            size_bytes: llf_core::fs::disk_size(&path).unwrap_or(0),
        });
    }
    out.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(out)
}

/// Moves store `name` to the trash, holding its lock: fails with [`RagError::Busy`] while
/// another process changes it.
pub async fn delete_store(root: &Path, name: &str, trash: &Trash) -> Result<TrashItem> {
    validate_name(name)?;
    let _lock = StoreLock::acquire(root, name)?;
    let dir = root.join(name);
    if !dir.is_dir() {
        return Err(RagError::StoreNotFound(name.to_owned()));
    }
    let item = trash
        .delete(&dir, ItemType::Datastore, Some(name.to_owned()))
        .await?;
    tracing::info!(store = name, trash_id = %item.id, "data store moved to the trash");
    Ok(item)
}

/// The lock a restore of trash item `id` must hold: the store's lock when the item is a data
/// store (so a restore cannot race a create or import of the same name), `None` for other
/// items. Hold it across [`Trash::restore`].
pub async fn lock_for_restore(trash: &Trash, id: &str) -> Result<Option<StoreLock>> {
    let filter = TrashFilter {
        item_type: Some(ItemType::Datastore),
        ..TrashFilter::default()
    };
    let items = trash.list(&filter).await?;
    let Some(item) = items.iter().find(|i| i.id == id) else {
        return Ok(None);
    };
    let (Some(root), Some(name)) = (
        item.original_path.parent(),
        item.original_path.file_name().and_then(|n| n.to_str()),
    ) else {
        return Ok(None);
    };
    StoreLock::acquire(root, name).map(Some)
}

/// A text of a Python data store, with its source when the file names one.
#[derive(Debug, Clone, PartialEq, Eq)]
struct ImportedText {
    text: String,
    source: Option<String>,
}

fn text_of(value: &serde_json::Value) -> Option<ImportedText> {
    use serde_json::Value;
    match value {
        Value::String(s) => Some(ImportedText {
            text: s.clone(),
            source: None,
        }),
        Value::Object(map) => {
            let text = ["text", "content", "page_content", "chunk"]
                .iter()
                .find_map(|k| map.get(*k).and_then(Value::as_str))?;
            let source = map
                .get("source")
                .and_then(Value::as_str)
                .or_else(|| {
                    map.get("metadata")
                        .and_then(|m| m.get("source"))
                        .and_then(Value::as_str)
                })
                .map(str::to_owned);
            Some(ImportedText {
                text: text.to_owned(),
                source,
            })
        }
        _ => None,
    }
}

/// Reads a JSON array or JSONL file of texts: strings, or objects with `text` (or `content`,
/// `page_content`, `chunk`) and optionally `source` or `metadata.source`.
fn read_texts(path: &Path) -> Result<Vec<ImportedText>> {
    let bad = |reason: String| RagError::Input {
        path: path.to_owned(),
        reason,
    };
    let raw = std::fs::read_to_string(path).map_err(|e| bad(e.to_string()))?;
    let trimmed = raw.trim_start();
    let values: Vec<serde_json::Value> = if trimmed.starts_with('[') {
        serde_json::from_str(trimmed).map_err(|e| bad(format!("not a JSON array: {e}")))?
    } else {
        raw.lines()
            .enumerate()
            .filter(|(_, l)| !l.trim().is_empty())
            .map(|(n, l)| {
                serde_json::from_str(l)
                    .map_err(|e| bad(format!("line {}: not valid JSON: {e}", n + 1)))
            })
            .collect::<Result<_>>()?
    };
    values
        .iter()
        .enumerate()
        .map(|(i, v)| {
            text_of(v).ok_or_else(|| {
                bad(format!(
                    "entry {}: expected a string or an object with a `text` field",
                    i + 1
                ))
            })
        })
        .collect()
}

/// Creates store `name` from an index written by Python FAISS (`faiss.write_index` of an
/// `IndexFlatIP` or `IndexFlatL2`) and the JSON/JSONL list of its texts, in index order. The
/// vectors are kept as they are (no embedding); `model` names the model they came from, which
/// must have the index's dimension.
pub async fn import_python_store(
    root: &Path,
    name: &str,
    model: &ModelInfo,
    index_path: &Path,
    texts_path: &Path,
    progress: &dyn Progress,
) -> Result<DataStore> {
    validate_name(name)?;
    let _lock = StoreLock::acquire(root, name)?;
    if root.join(name).exists() {
        return Err(RagError::StoreExists(name.to_owned()));
    }
    let bad_index = |problem: ImportProblem| RagError::ImportIndex {
        path: index_path.to_owned(),
        problem,
    };
    if !index_path.is_file() {
        return Err(bad_index(ImportProblem::Missing));
    }
    let path = index_path.to_owned();
    let (metric, dim, vectors) = blocking(move || {
        // Read with the inner-product metric first to learn the real one from the file.
        let index = VectorIndex::read(
            &path,
            llf_config::schema::IndexType::Flat,
            Metric::InnerProduct,
            0,
        )?;
        let metric = index.faiss_metric();
        let vectors = index.reconstruct_all()?;
        Ok((metric, index.dim(), vectors))
    })
    .await
    .map_err(|e| {
        // FAISS's own message names C++ functions and source files: for the log, not the user.
        tracing::debug!(path = %index_path.display(), error = %chain(&e), "index import failed");
        match e {
            RagError::Index {
                action: "reading vectors back",
                ..
            } => bad_index(ImportProblem::NotFlat),
            _ => bad_index(ImportProblem::NotAnIndex),
        }
    })?;
    let metric = metric.ok_or_else(|| bad_index(ImportProblem::NotFlat))?;
    if dim != model.dimension {
        return Err(bad_index(ImportProblem::Dimension {
            index: dim,
            model: model.id.clone(),
            model_dimension: model.dimension,
        }));
    }
    let texts = read_texts(texts_path)?;
    let n = vectors.len() / dim.max(1);
    if texts.len() != n {
        return Err(RagError::Input {
            path: texts_path.to_owned(),
            reason: format!(
                "it holds {} texts but the index holds {n} vectors",
                texts.len()
            ),
        });
    }
    let default_source = texts_path.to_string_lossy().into_owned();
    let staging = Staging::new(root, name)?;
    let built = async {
        let mut store = DataStore::create_in(
            &staging.dir,
            name,
            model,
            &StoreOptions::default(),
            metric,
            Some(index_path.to_string_lossy().into_owned()),
        )
        .await?;
        progress.event(&ProgressEvent::Started {
            stage: Stage::Reading,
            total: n as u64,
        });
        let mut positions: HashMap<String, i64> = HashMap::new();
        let mut chunks = Vec::with_capacity(n);
        for (t, v) in texts.into_iter().zip(vectors.chunks_exact(dim)) {
            let source = t.source.unwrap_or_else(|| default_source.clone());
            let position = positions.entry(source.clone()).or_insert(0);
            chunks.push(NewChunk {
                source,
                position: *position,
                start: 0,
                hash: crate::chunk::content_hash(t.text.as_bytes()),
                text: t.text,
                vector: v.to_vec(),
            });
            *position += 1;
        }
        progress.event(&ProgressEvent::Advanced {
            stage: Stage::Reading,
            n: n as u64,
        });
        progress.event(&ProgressEvent::Finished {
            stage: Stage::Reading,
        });
        let files: Vec<FileVersion> = positions
            .into_iter()
            .map(|(path, count)| FileVersion {
                hash: format!("imported:{}", crate::chunk::content_hash(path.as_bytes())),
                path,
                chunks: count,
            })
            .collect();
        let mut tx = store.pool().begin().await?;
        let ids = meta::insert_chunks(&mut tx, &chunks).await?;
        drop(chunks);
        let new_mark = ids.last().copied().unwrap_or(0);
        meta::commit(&mut tx, &files, 0, 0, new_mark).await?;
        tx.commit().await?;
        store.publish(0, new_mark, true, progress).await?;
        store.close().await;
        Ok::<_, RagError>(())
    }
    .await;
    if let Err(e) = built {
        // Leave nothing half-imported behind.
        staging.discard();
        return Err(e);
    }
    staging.publish()?;
    tracing::info!(store = name, vectors = n, "python faiss store imported");
    DataStore::open(root, name).await
}
