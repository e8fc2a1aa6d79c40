//! A data store on disk: `manifest.json`, `meta.sqlite` (files, chunks, vectors, FTS5) and
//! `index.faiss`.
//!
//! A change goes database first (chunks in batches, then one transaction that moves the commit
//! mark in `meta.sqlite`), then the index (temp file + rename), then the manifest (atomic),
//! all under the store's [`StoreLock`]. Readers see the old or the new store: rows above the
//! mark are invisible, and a database whose mark is ahead of the manifest's (a change interrupted
//! after its commit) gets its index rebuilt from the stored vectors when opened.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use llf_config::schema::{IndexType, RagSettings};
use serde::{Deserialize, Serialize};
use sqlx::sqlite::SqlitePool;

use crate::collect::SkippedFile;
use crate::embed::ModelInfo;
use crate::index::{Metric, VectorIndex};
use crate::lock::StoreLock;
use crate::manifest::{FORMAT_VERSION, Manifest};
use crate::meta;
use crate::progress::{Progress, ProgressEvent, Stage};
use crate::{RagError, Result};

pub(crate) const MANIFEST_FILE: &str = "manifest.json";
pub(crate) const INDEX_FILE: &str = "index.faiss";
pub(crate) const META_FILE: &str = "meta.sqlite";
/// Where a store is built before it is renamed into place, under the data stores root.
pub(crate) const STAGING_DIR: &str = ".staging";

/// Options for a new store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreOptions {
    /// Index kind.
    pub index_type: IndexType,
    /// Chunk size in characters.
    pub chunk_size: usize,
    /// Chunk overlap in characters.
    pub chunk_overlap: usize,
}

impl Default for StoreOptions {
    fn default() -> Self {
        Self::from_settings(&RagSettings::default())
    }
}

impl StoreOptions {
    /// The options the `rag` settings describe.
    pub fn from_settings(settings: &RagSettings) -> Self {
        Self {
            index_type: settings.index_type,
            chunk_size: settings.chunk_size,
            chunk_overlap: settings.chunk_overlap,
        }
    }

    /// Sets the index kind.
    #[must_use]
    pub fn index_type(mut self, index_type: IndexType) -> Self {
        self.index_type = index_type;
        self
    }

    /// Sets chunk size and overlap.
    #[must_use]
    pub fn chunking(mut self, size: usize, overlap: usize) -> Self {
        self.chunk_size = size;
        self.chunk_overlap = overlap;
        self
    }
}

/// How a hit was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MatchKind {
    /// By vector similarity.
    Vector,
    /// By full-text (BM25) search only.
    Text,
    /// By both.
    Both,
}

/// One retrieved chunk.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Hit {
    /// The store it came from.
    pub store: String,
    /// Chunk id within the store.
    pub chunk_id: i64,
    /// Source file (or the imported texts file).
    pub source: String,
    /// Chunk position within its source, from 0.
    pub position: u64,
    /// The chunk text.
    pub text: String,
    /// Cosine similarity to the query (−1…1).
    pub score: f32,
    /// Reciprocal-rank-fusion score in hybrid mode.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fused: Option<f32>,
    /// How it was found.
    pub matched: MatchKind,
}

impl Hit {
    /// `source#position`, for citations.
    pub fn citation(&self) -> String {
        format!("{}#{}", self.source, self.position)
    }
}

/// What an ingestion did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AddReport {
    /// Supported files found.
    pub files_seen: usize,
    /// Files new to the store.
    pub files_added: usize,
    /// Files whose content changed and were re-ingested.
    pub files_changed: usize,
    /// Files skipped because their content is unchanged.
    pub files_unchanged: usize,
    /// Chunks inserted.
    pub chunks_added: usize,
    /// Chunks removed (old versions of changed files).
    pub chunks_removed: u64,
    /// Chunks sent to the embedding model.
    pub chunks_embedded: usize,
    /// Chunks whose vector was reused from identical stored text.
    pub chunks_reused: usize,
    /// Files left out, with the reason.
    #[serde(default)]
    pub skipped: Vec<SkippedFile>,
    /// Files that were not UTF-8 and were decoded from another encoding.
    #[serde(default)]
    pub transcoded: Vec<TranscodedFile>,
}

/// A file decoded from an encoding other than UTF-8.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TranscodedFile {
    /// The file.
    pub path: PathBuf,
    /// The encoding it was read as (WHATWG name, e.g. `windows-1252`, `UTF-16LE`).
    pub encoding: String,
}

/// A data store: chunks of documents with their vectors, searchable by similarity and BM25.
#[derive(Debug)]
pub struct DataStore {
    root: PathBuf,
    dir: PathBuf,
    pub(crate) manifest: Manifest,
    pool: SqlitePool,
    index: Arc<Mutex<Option<VectorIndex>>>,
    /// The commit mark: readers ignore chunk rows above it.
    pub(crate) mark: i64,
    /// The index file is behind the database (rebuilt in memory when opened); the next change
    /// writes a fresh one.
    pub(crate) index_behind: bool,
}

/// Store names become directory names: keep them to a safe alphabet.
pub(crate) fn validate_name(name: &str) -> Result<()> {
    let ok = !name.is_empty()
        && name.len() <= 100
        && !name.starts_with('.')
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if ok {
        Ok(())
    } else {
        Err(RagError::InvalidName(name.to_owned()))
    }
}

/// A store directory being built under `<root>/.staging/`, renamed into place when complete so
/// an interrupted create or import leaves no half-made store behind.
pub(crate) struct Staging {
    pub(crate) dir: PathBuf,
    target: PathBuf,
}

impl Staging {
    /// Clears what an interrupted build left for `name` and makes the directory. The caller holds
    /// the name's lock.
    pub(crate) fn new(root: &Path, name: &str) -> Result<Self> {
        let target = root.join(name);
        if target.exists() {
            return Err(RagError::StoreExists(name.to_owned()));
        }
        let dir = root.join(STAGING_DIR).join(name);
        if dir.exists() {
            std::fs::remove_dir_all(&dir)
                .map_err(|e| RagError::io(format!("cannot remove {}", dir.display()), e))?;
        }
        std::fs::create_dir_all(&dir)
            .map_err(|e| RagError::io(format!("cannot create {}", dir.display()), e))?;
        Ok(Self { dir, target })
    }

    /// Moves the finished store into place.
    pub(crate) fn publish(self) -> Result<()> {
        std::fs::rename(&self.dir, &self.target).map_err(|e| {
            RagError::io(
                format!(
                    "cannot move {} to {}",
                    self.dir.display(),
                    self.target.display()
                ),
                e,
            )
        })?;
        if let Some(root) = self.target.parent() {
            llf_core::fs::sync_dir(root);
        }
        Ok(())
    }

    /// Removes the unfinished store.
    pub(crate) fn discard(self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

impl DataStore {
    /// Creates an empty store `name` under `root` for vectors of `model`.
    pub async fn create(
        root: &Path,
        name: &str,
        model: &ModelInfo,
        options: &StoreOptions,
    ) -> Result<Self> {
        validate_name(name)?;
        let _lock = StoreLock::acquire(root, name)?;
        let staging = Staging::new(root, name)?;
        let built = Self::create_in(
            &staging.dir,
            name,
            model,
            options,
            Metric::InnerProduct,
            None,
        )
        .await;
        match built {
            Ok(store) => store.close().await,
            Err(e) => {
                staging.discard();
                return Err(e);
            }
        }
        staging.publish()?;
        tracing::info!(store = name, "data store created");
        Self::open(root, name).await
    }

    /// Makes an empty store in `dir` (which exists and is empty).
    pub(crate) async fn create_in(
        dir: &Path,
        name: &str,
        model: &ModelInfo,
        options: &StoreOptions,
        metric: Metric,
        imported_from: Option<String>,
    ) -> Result<Self> {
        if options.chunk_overlap >= options.chunk_size {
            return Err(RagError::Invalid(format!(
                "chunk overlap ({}) must be smaller than the chunk size ({})",
                options.chunk_overlap, options.chunk_size
            )));
        }
        let pool = meta::open(&dir.join(META_FILE), true).await?;
        let mut tx = pool.begin().await?;
        meta::commit(&mut tx, &[], 0, 0, 0).await?;
        tx.commit().await?;
        let now = chrono::Utc::now();
        let manifest = Manifest {
            format_version: FORMAT_VERSION,
            name: name.to_owned(),
            model_id: model.id.clone(),
            dimension: model.dimension,
            metric,
            index_type: options.index_type,
            nprobe: 0,
            chunk_size: options.chunk_size,
            chunk_overlap: options.chunk_overlap,
            files: 0,
            chunks: 0,
            created_at: now,
            updated_at: now,
            committed_chunk_id: Some(0),
            imported_from,
        };
        manifest.write(&dir.join(MANIFEST_FILE))?;
        Ok(Self {
            root: dir.parent().map(Path::to_path_buf).unwrap_or_default(),
            dir: dir.to_owned(),
            manifest,
            pool,
            index: Arc::new(Mutex::new(None)),
            mark: 0,
            index_behind: false,
        })
    }

    /// Opens store `name` under `root`, checking that its files are present and agree.
    pub async fn open(root: &Path, name: &str) -> Result<Self> {
        validate_name(name)?;
        let dir = root.join(name);
        if !dir.is_dir() {
            return Err(RagError::StoreNotFound(name.to_owned()));
        }
        let mut manifest = Manifest::read(&dir.join(MANIFEST_FILE), name)?;
        let meta_path = dir.join(META_FILE);
        if !meta_path.is_file() {
            return Err(RagError::MissingFile {
                store: name.to_owned(),
                what: "its metadata database",
                path: meta_path,
            });
        }
        let corrupt_db = |reason: String| RagError::Corrupt {
            store: name.to_owned(),
            what: "metadata database",
            path: meta_path.clone(),
            reason,
        };
        let pool = meta::open(&meta_path, false)
            .await
            .map_err(|e| corrupt_db(chain(&e)))?;
        let db_mark = meta::committed_id(&pool)
            .await
            .map_err(|e| corrupt_db(chain(&e)))?;
        let mut store = Self {
            root: root.to_owned(),
            dir,
            mark: db_mark.unwrap_or(i64::MAX),
            index_behind: db_mark != manifest.committed_chunk_id,
            manifest: manifest.clone(),
            pool,
            index: Arc::new(Mutex::new(None)),
        };
        if store.index_behind {
            // A change was committed to the database but its index never written: rebuild the
            // index from the stored vectors so answers match the database.
            tracing::warn!(
                store = name,
                "the index is behind the database (an interrupted change); rebuilding it in memory"
            );
            let (files, chunks) = meta::counts(&store.pool, store.mark).await?;
            let index = store
                .build_index(store.mark, chunks, &crate::progress::NoProgress)
                .await?;
            *store.index_slot()? = index;
            manifest.files = files;
            manifest.chunks = chunks;
            store.manifest = manifest;
            return Ok(store);
        }
        let index_path = store.dir.join(INDEX_FILE);
        if manifest.chunks == 0 && !index_path.exists() {
            return Ok(store);
        }
        if !index_path.is_file() {
            return Err(RagError::MissingFile {
                store: name.to_owned(),
                what: "its FAISS index",
                path: index_path,
            });
        }
        let corrupt = |reason: String| RagError::Corrupt {
            store: name.to_owned(),
            what: "FAISS index",
            path: index_path.clone(),
            reason,
        };
        let index = VectorIndex::read(
            &index_path,
            manifest.index_type,
            manifest.metric,
            manifest.nprobe,
        )
        .map_err(|e| {
            tracing::debug!(error = %chain(&e), "unreadable index");
            corrupt("it is not a FAISS index this version of llf can read".into())
        })?;
        if index.len() != manifest.chunks || index.dim() != manifest.dimension {
            return Err(corrupt(format!(
                "it holds {} vectors of dimension {} but the manifest records {} of dimension {}",
                index.len(),
                index.dim(),
                manifest.chunks,
                manifest.dimension
            )));
        }
        *store.index_slot()? = Some(index);
        Ok(store)
    }

    fn index_slot(&self) -> Result<std::sync::MutexGuard<'_, Option<VectorIndex>>> {
        self.index
            .lock()
            .map_err(|_| RagError::Task("the index lock was poisoned".into()))
    }

    /// The store's name.
    pub fn name(&self) -> &str {
        &self.manifest.name
    }

    /// The store's directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The manifest (model, dimension, index kind, counts, dates).
    pub fn manifest(&self) -> &Manifest {
        &self.manifest
    }

    /// Fails unless the store's vectors came from `model`.
    pub fn check_model(&self, model: &ModelInfo) -> Result<()> {
        if self.manifest.model_id == model.id && self.manifest.dimension == model.dimension {
            Ok(())
        } else {
            Err(RagError::ModelMismatch {
                store: self.manifest.name.clone(),
                store_model: self.manifest.model_id.clone(),
                store_dim: self.manifest.dimension,
                model: model.id.clone(),
                dim: model.dimension,
            })
        }
    }

    /// Takes the store's write lock (released when dropped) and checks that nobody changed or
    /// replaced the store since it was opened, so two writers cannot overwrite each other.
    pub(crate) fn lock_for_writing(&self) -> Result<StoreLock> {
        let name = &self.manifest.name;
        let lock = StoreLock::acquire(&self.root, name)?;
        if !self.dir.is_dir() {
            return Err(RagError::StoreNotFound(name.clone()));
        }
        let on_disk = Manifest::read(&self.dir.join(MANIFEST_FILE), name)?;
        if on_disk.updated_at != self.manifest.updated_at
            || on_disk.created_at != self.manifest.created_at
        {
            return Err(RagError::Stale(name.clone()));
        }
        Ok(lock)
    }

    /// Builds an index of the store's kind from the stored vectors of chunks up to `up_to`
    /// (`count` of them), a page at a time; `None` when there are none.
    pub(crate) async fn build_index(
        &self,
        up_to: i64,
        count: u64,
        progress: &dyn Progress,
    ) -> Result<Option<VectorIndex>> {
        if count == 0 {
            return Ok(None);
        }
        let m = &self.manifest;
        let (kind, metric, dim) = (m.index_type, m.metric, m.dimension);
        let expected = usize::try_from(count).unwrap_or(usize::MAX);
        let mut index = VectorIndex::empty(kind, metric, dim, expected)?;
        if index.needs_training() {
            // One pass for an evenly spread training sample, a second to add everything.
            let mut wanted = VectorIndex::training_rows(expected).peekable();
            let mut sample = Vec::new();
            let (mut after, mut row) = (0i64, 0usize);
            loop {
                let (ids, flat) = meta::vectors_page(&self.pool, after, up_to).await?;
                let Some(&last) = ids.last() else { break };
                for v in flat.chunks_exact(dim) {
                    if wanted.peek() == Some(&row) {
                        sample.extend_from_slice(v);
                        wanted.next();
                    }
                    row += 1;
                }
                after = last;
            }
            index = blocking(move || {
                index.train(&sample)?;
                Ok(index)
            })
            .await?;
        }
        progress.event(&ProgressEvent::Started {
            stage: Stage::Indexing,
            total: count,
        });
        let mut after = 0i64;
        loop {
            let (ids, flat) = meta::vectors_page(&self.pool, after, up_to).await?;
            let Some(&last) = ids.last() else { break };
            let n = ids.len() as u64;
            index = blocking(move || {
                index.add(&ids, &flat)?;
                Ok(index)
            })
            .await?;
            progress.event(&ProgressEvent::Advanced {
                stage: Stage::Indexing,
                n,
            });
            after = last;
        }
        progress.event(&ProgressEvent::Finished {
            stage: Stage::Indexing,
        });
        Ok(Some(index))
    }

    /// Brings the index up to the commit mark `new_mark` after the database moved it from
    /// `old_mark`: appends the new vectors, or rebuilds from the stored vectors when chunks were
    /// removed, when there is no index yet, when it is IVF (whose lists are trained on the data)
    /// or when it was behind. Then writes the index and the manifest.
    pub(crate) async fn publish(
        &mut self,
        old_mark: i64,
        new_mark: i64,
        removed: bool,
        progress: &dyn Progress,
    ) -> Result<()> {
        let (files, chunks) = meta::counts(&self.pool, new_mark).await?;
        let has_index = self.index_slot()?.is_some();
        let rebuild = removed
            || self.index_behind
            || !has_index
            || self.manifest.index_type == IndexType::Ivf;
        // From here until the index is written, the one in memory may not match the database.
        self.index_behind = true;
        let path = self.dir.join(INDEX_FILE);
        let index = if rebuild {
            // Free the old index before building the new one: the peak is one index, not two.
            drop(self.index_slot()?.take());
            self.build_index(new_mark, chunks, progress).await?
        } else {
            let mut index = self.index_slot()?.take();
            progress.event(&ProgressEvent::Started {
                stage: Stage::Indexing,
                total: chunks.saturating_sub(self.manifest.chunks),
            });
            let mut after = old_mark;
            loop {
                let (ids, flat) = meta::vectors_page(&self.pool, after, new_mark).await?;
                let Some(&last) = ids.last() else { break };
                let n = ids.len() as u64;
                index = blocking(move || {
                    if let Some(index) = index.as_mut() {
                        index.add(&ids, &flat)?;
                    }
                    Ok(index)
                })
                .await?;
                progress.event(&ProgressEvent::Advanced {
                    stage: Stage::Indexing,
                    n,
                });
                after = last;
            }
            progress.event(&ProgressEvent::Finished {
                stage: Stage::Indexing,
            });
            index
        };
        let (index, nprobe) = blocking(move || {
            match &index {
                Some(index) => index.write(&path)?,
                // An empty store has no index file.
                None => match std::fs::remove_file(&path) {
                    Ok(()) => {}
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                    Err(e) => {
                        return Err(RagError::io(format!("cannot remove {}", path.display()), e));
                    }
                },
            }
            let nprobe = index.as_ref().map_or(0, |i| i.nprobe);
            Ok((index, nprobe))
        })
        .await?;
        *self.index_slot()? = index;
        self.manifest.files = files;
        self.manifest.chunks = chunks;
        self.manifest.nprobe = nprobe;
        self.manifest.committed_chunk_id = Some(new_mark);
        self.manifest.updated_at = chrono::Utc::now();
        self.manifest.write(&self.dir.join(MANIFEST_FILE))?;
        self.mark = new_mark;
        self.index_behind = false;
        Ok(())
    }

    /// The `k` chunks most similar to `query` (a unit vector from the store's model).
    pub async fn vector_search(&self, query: &[f32], k: usize) -> Result<Vec<Hit>> {
        if query.len() != self.manifest.dimension {
            return Err(RagError::Invalid(format!(
                "query vector has {} dimensions, store `{}` has {}",
                query.len(),
                self.manifest.name,
                self.manifest.dimension
            )));
        }
        let slot = Arc::clone(&self.index);
        let q = query.to_vec();
        let found = blocking(move || {
            let mut guard = slot
                .lock()
                .map_err(|_| RagError::Task("the index lock was poisoned".into()))?;
            match guard.as_mut() {
                Some(index) => index.search(&q, k),
                None => Ok(Vec::new()),
            }
        })
        .await?;
        let ids: Vec<i64> = found.iter().map(|&(id, _)| id).collect();
        let chunks = meta::chunks_by_id(&self.pool, &ids).await?;
        Ok(chunks
            .into_iter()
            .zip(found)
            .map(|(c, (_, score))| self.hit(c, score, MatchKind::Vector))
            .collect())
    }

    /// The `k` best BM25 matches for `text`, scored by their cosine similarity to `query`.
    pub async fn text_search(&self, text: &str, query: &[f32], k: usize) -> Result<Vec<Hit>> {
        let found = meta::full_text(&self.pool, text, k, self.mark).await?;
        let ids: Vec<i64> = found.iter().map(|&(id, _)| id).collect();
        let chunks = meta::chunks_by_id(&self.pool, &ids).await?;
        let mut hits = Vec::with_capacity(chunks.len());
        for c in chunks {
            let v = meta::vector_of(&self.pool, c.id).await?.unwrap_or_default();
            let score = if v.len() == query.len() {
                v.iter().zip(query).map(|(a, b)| a * b).sum()
            } else {
                0.0
            };
            hits.push(self.hit(c, score, MatchKind::Text));
        }
        Ok(hits)
    }

    fn hit(&self, c: meta::StoredChunk, score: f32, matched: MatchKind) -> Hit {
        Hit {
            store: self.manifest.name.clone(),
            chunk_id: c.id,
            source: c.source,
            position: c.position.max(0) as u64,
            text: c.text,
            score,
            fused: None,
            matched,
        }
    }

    pub(crate) fn pool(&self) -> &SqlitePool {
        &self.pool
    }

    /// Closes the database.
    pub async fn close(self) {
        self.pool.close().await;
    }
}

/// Runs blocking work (FAISS, file I/O) off the async threads.
pub(crate) async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T> + Send + 'static,
) -> Result<T> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| RagError::Task(e.to_string()))?
}

/// An error with its causes, on one line (for reasons embedded in another error).
pub(crate) fn chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        out.push_str(": ");
        out.push_str(&s.to_string());
        source = s.source();
    }
    out
}
