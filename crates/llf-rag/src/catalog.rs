//! The directory of data stores: listing, deleting to the trash, importing from Python FAISS.

use std::path::Path;

use llf_core::trash::{ItemType, Trash, TrashItem};
use serde::{Deserialize, Serialize};

use crate::embed::ModelInfo;
use crate::index::{Metric, VectorIndex};
use crate::manifest::Manifest;
use crate::meta::{self, NewChunk};
use crate::progress::{Progress, Stage};
use crate::store::{DataStore, MANIFEST_FILE, StoreOptions, validate_name};
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

/// Moves store `name` to the trash.
pub async fn delete_store(root: &Path, name: &str, trash: &Trash) -> Result<TrashItem> {
    validate_name(name)?;
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
    if root.join(name).exists() {
        return Err(RagError::StoreExists(name.to_owned()));
    }
    let bad_index = |reason: String| RagError::Input {
        path: index_path.to_owned(),
        reason,
    };
    if !index_path.is_file() {
        return Err(bad_index("no such file".into()));
    }
    let path = index_path.to_owned();
    let (metric, dim, vectors) = tokio::task::spawn_blocking(move || -> Result<_> {
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
    .map_err(|e| RagError::Task(e.to_string()))?
    .map_err(|e| bad_index(format!("not a readable FAISS flat index ({e})")))?;
    let metric = metric.ok_or_else(|| {
        bad_index("only IndexFlatIP and IndexFlatL2 indexes can be imported".into())
    })?;
    if dim != model.dimension {
        return Err(bad_index(format!(
            "its vectors have {dim} dimensions but model `{}` makes {}; name the model the index was built with",
            model.id, model.dimension
        )));
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
    let mut store = DataStore::create_with_metric(
        root,
        name,
        model,
        &StoreOptions::default(),
        metric,
        Some(index_path.to_string_lossy().into_owned()),
    )
    .await?;
    progress.start(Stage::Reading, n as u64);
    let mut by_source: Vec<(String, Vec<NewChunk>)> = Vec::new();
    for (i, (t, v)) in texts.into_iter().zip(vectors.chunks_exact(dim)).enumerate() {
        let source = t.source.unwrap_or_else(|| default_source.clone());
        let position = by_source
            .iter()
            .find(|(s, _)| *s == source)
            .map_or(0, |(_, c)| c.len()) as i64;
        let chunk = NewChunk {
            source: source.clone(),
            position,
            start: 0,
            hash: crate::chunk::content_hash(t.text.as_bytes()),
            text: t.text,
            vector: v.to_vec(),
        };
        match by_source.iter_mut().find(|(s, _)| *s == source) {
            Some((_, list)) => list.push(chunk),
            None => by_source.push((source, vec![chunk])),
        }
        if i % 1000 == 0 {
            progress.advance(Stage::Reading, 1000.min(n - i) as u64);
        }
    }
    progress.finish(Stage::Reading);
    let result = async {
        let mut tx = store.pool().begin().await?;
        for (source, chunks) in &by_source {
            let hash = crate::chunk::content_hash(source.as_bytes());
            meta::insert_file(&mut tx, source, &format!("imported:{hash}"), chunks).await?;
        }
        tx.commit().await?;
        store
            .update_index(Vec::new(), Vec::new(), true, progress)
            .await
    }
    .await;
    if let Err(e) = result {
        // Leave nothing half-imported behind.
        let dir = store.dir().to_owned();
        store.close().await;
        let _ = std::fs::remove_dir_all(&dir);
        return Err(e);
    }
    tracing::info!(store = name, vectors = n, "python faiss store imported");
    Ok(store)
}
