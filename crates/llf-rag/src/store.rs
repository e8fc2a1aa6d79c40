//! A data store on disk: `manifest.json`, `meta.sqlite` (files, chunks, vectors, FTS5) and
//! `index.faiss`.
//!
//! Writes go database first (one transaction), then the index (temp file + rename), then the
//! manifest (atomic); opening checks that the three agree, so an interrupted write is reported
//! instead of answering from a half-updated store.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use llf_config::schema::{IndexType, RagSettings};
use serde::{Deserialize, Serialize};
use sqlx::sqlite::SqlitePool;

use crate::chunk::{chunk_text, content_hash};
use crate::embed::{Embedder, ModelInfo};
use crate::index::{Metric, VectorIndex};
use crate::manifest::{FORMAT_VERSION, Manifest};
use crate::meta::{self, NewChunk};
use crate::progress::{Progress, Stage};
use crate::{RagError, Result, extract};

pub(crate) const MANIFEST_FILE: &str = "manifest.json";
pub(crate) const INDEX_FILE: &str = "index.faiss";
pub(crate) const META_FILE: &str = "meta.sqlite";
/// Held (advisory `flock`) while a process writes to the store.
pub(crate) const LOCK_FILE: &str = ".lock";

/// Texts embedded per progress step.
const EMBED_STEP: usize = 128;

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
}

/// A data store: chunks of documents with their vectors, searchable by similarity and BM25.
#[derive(Debug)]
pub struct DataStore {
    dir: PathBuf,
    manifest: Manifest,
    pool: SqlitePool,
    index: Arc<Mutex<Option<VectorIndex>>>,
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

struct Pending {
    path: String,
    hash: String,
    replaces: bool,
    chunks: Vec<NewChunk>,
}

impl DataStore {
    /// Creates an empty store `name` under `root` for vectors of `model`.
    pub async fn create(
        root: &Path,
        name: &str,
        model: &ModelInfo,
        options: &StoreOptions,
    ) -> Result<Self> {
        Self::create_with_metric(root, name, model, options, Metric::InnerProduct, None).await
    }

    pub(crate) async fn create_with_metric(
        root: &Path,
        name: &str,
        model: &ModelInfo,
        options: &StoreOptions,
        metric: Metric,
        imported_from: Option<String>,
    ) -> Result<Self> {
        validate_name(name)?;
        if options.chunk_overlap >= options.chunk_size {
            return Err(RagError::Invalid(format!(
                "chunk overlap ({}) must be smaller than the chunk size ({})",
                options.chunk_overlap, options.chunk_size
            )));
        }
        let dir = root.join(name);
        if dir.exists() {
            return Err(RagError::StoreExists(name.to_owned()));
        }
        std::fs::create_dir_all(&dir)
            .map_err(|e| RagError::io(format!("cannot create {}", dir.display()), e))?;
        let pool = meta::open(&dir.join(META_FILE), true).await?;
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
            imported_from,
        };
        manifest.write(&dir.join(MANIFEST_FILE))?;
        tracing::info!(store = name, model = %model.id, index = ?options.index_type, "data store created");
        Ok(Self {
            dir,
            manifest,
            pool,
            index: Arc::new(Mutex::new(None)),
        })
    }

    /// Opens store `name` under `root`, checking that its files are present and agree.
    pub async fn open(root: &Path, name: &str) -> Result<Self> {
        validate_name(name)?;
        let dir = root.join(name);
        if !dir.is_dir() {
            return Err(RagError::StoreNotFound(name.to_owned()));
        }
        let manifest = Manifest::read(&dir.join(MANIFEST_FILE), name)?;
        let meta_path = dir.join(META_FILE);
        if !meta_path.is_file() {
            return Err(RagError::MissingFile {
                store: name.to_owned(),
                what: "its metadata database",
                path: meta_path,
            });
        }
        let pool = meta::open(&meta_path, false)
            .await
            .map_err(|e| RagError::Corrupt {
                store: name.to_owned(),
                what: "metadata database",
                path: meta_path.clone(),
                reason: e.to_string(),
            })?;
        let index_path = dir.join(INDEX_FILE);
        let index = if manifest.chunks == 0 && !index_path.exists() {
            None
        } else {
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
            .map_err(|e| corrupt(e.to_string()))?;
            if index.len() != manifest.chunks || index.dim() != manifest.dimension {
                return Err(corrupt(format!(
                    "it holds {} vectors of dimension {} but the manifest records {} of dimension {}",
                    index.len(),
                    index.dim(),
                    manifest.chunks,
                    manifest.dimension
                )));
            }
            Some(index)
        };
        Ok(Self {
            dir,
            manifest,
            pool,
            index: Arc::new(Mutex::new(index)),
        })
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

    /// Adds files and directories: new files are chunked and embedded, changed files replace
    /// their old chunks, unchanged files are skipped. Chunks whose text is already stored reuse
    /// its vector instead of being embedded again.
    pub async fn add_paths(
        &mut self,
        embedder: &Embedder,
        paths: &[PathBuf],
        progress: &dyn Progress,
    ) -> Result<AddReport> {
        self.check_model(embedder.model())?;
        let _lock = self.lock_for_writing()?;
        let files = extract::collect_files(paths)?;
        let mut report = AddReport {
            files_seen: files.len(),
            ..AddReport::default()
        };
        progress.start(Stage::Reading, files.len() as u64);
        let mut pending = Vec::new();
        for file in files {
            let bytes = tokio::fs::read(&file).await.map_err(|e| RagError::Input {
                path: file.clone(),
                reason: e.to_string(),
            })?;
            let hash = content_hash(&bytes);
            let key = file.to_string_lossy().into_owned();
            let known = meta::file_hash(&self.pool, &key).await?;
            progress.advance(Stage::Reading, 1);
            if known.as_deref() == Some(hash.as_str()) {
                report.files_unchanged += 1;
                continue;
            }
            let (size, overlap) = (self.manifest.chunk_size, self.manifest.chunk_overlap);
            let path = file.clone();
            let chunks = tokio::task::spawn_blocking(move || {
                extract::extract(&path, &bytes).map(|text| chunk_text(&text, size, overlap))
            })
            .await
            .map_err(|e| RagError::Task(e.to_string()))??;
            if known.is_some() {
                report.files_changed += 1;
            } else {
                report.files_added += 1;
            }
            pending.push(Pending {
                path: key.clone(),
                hash,
                replaces: known.is_some(),
                chunks: chunks
                    .into_iter()
                    .map(|c| NewChunk {
                        source: key.clone(),
                        position: c.position as i64,
                        start: c.start as i64,
                        hash: c.hash,
                        text: c.text,
                        vector: Vec::new(),
                    })
                    .collect(),
            });
        }
        progress.finish(Stage::Reading);
        self.fill_vectors(embedder, &mut pending, &mut report, progress)
            .await?;
        self.commit(pending, &mut report, progress).await?;
        tracing::info!(store = %self.manifest.name, files_added = report.files_added, files_changed = report.files_changed, chunks_embedded = report.chunks_embedded, "files added");
        Ok(report)
    }

    /// Takes the store's write lock (released when the file is dropped) and checks that nobody
    /// changed the store since it was opened, so two writers cannot overwrite each other's index.
    fn lock_for_writing(&self) -> Result<std::fs::File> {
        let path = self.dir.join(LOCK_FILE);
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(|e| RagError::io(format!("cannot open {}", path.display()), e))?;
        match file.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => {
                return Err(RagError::Busy(self.manifest.name.clone()));
            }
            Err(std::fs::TryLockError::Error(e)) => {
                return Err(RagError::io(format!("cannot lock {}", path.display()), e));
            }
        }
        let on_disk = Manifest::read(&self.dir.join(MANIFEST_FILE), &self.manifest.name)?;
        if on_disk.updated_at != self.manifest.updated_at {
            return Err(RagError::Stale(self.manifest.name.clone()));
        }
        Ok(file)
    }

    /// Gives every pending chunk a vector: reused when identical text is stored, else embedded.
    async fn fill_vectors(
        &self,
        embedder: &Embedder,
        pending: &mut [Pending],
        report: &mut AddReport,
        progress: &dyn Progress,
    ) -> Result<()> {
        let mut todo: Vec<(usize, usize)> = Vec::new();
        for (f, file) in pending.iter_mut().enumerate() {
            for (c, chunk) in file.chunks.iter_mut().enumerate() {
                match meta::vector_for_hash(&self.pool, &chunk.hash).await? {
                    Some(v) if v.len() == self.manifest.dimension => {
                        chunk.vector = v;
                        report.chunks_reused += 1;
                    }
                    _ => todo.push((f, c)),
                }
            }
        }
        // Longest first across all files, so each step's batches pad little.
        todo.sort_by_key(|&(f, c)| std::cmp::Reverse(pending[f].chunks[c].text.len()));
        progress.start(Stage::Embedding, todo.len() as u64);
        for step in todo.chunks(EMBED_STEP) {
            let texts: Vec<String> = step
                .iter()
                .map(|&(f, c)| pending[f].chunks[c].text.clone())
                .collect();
            let vectors = embedder.embed_documents(texts).await?;
            for (&(f, c), v) in step.iter().zip(vectors) {
                pending[f].chunks[c].vector = v;
            }
            progress.advance(Stage::Embedding, step.len() as u64);
        }
        progress.finish(Stage::Embedding);
        report.chunks_embedded = todo.len();
        Ok(())
    }

    /// Writes pending files to the database, then updates the index and the manifest.
    async fn commit(
        &mut self,
        pending: Vec<Pending>,
        report: &mut AddReport,
        progress: &dyn Progress,
    ) -> Result<()> {
        if pending.is_empty() {
            return Ok(());
        }
        let mut tx = self.pool.begin().await?;
        let mut new_ids = Vec::new();
        let mut new_vectors = Vec::new();
        for file in &pending {
            if file.replaces {
                report.chunks_removed += meta::delete_file(&mut tx, &file.path).await?;
            }
            let ids = meta::insert_file(&mut tx, &file.path, &file.hash, &file.chunks).await?;
            report.chunks_added += ids.len();
            new_ids.extend(ids);
            for c in &file.chunks {
                new_vectors.extend_from_slice(&c.vector);
            }
        }
        tx.commit().await?;
        self.update_index(new_ids, new_vectors, report.chunks_removed > 0, progress)
            .await
    }

    /// Appends to the index, or rebuilds it from the stored vectors when chunks were removed,
    /// when there is none yet, or when it is IVF (whose lists are trained on the data).
    pub(crate) async fn update_index(
        &mut self,
        ids: Vec<i64>,
        vectors: Vec<f32>,
        removed: bool,
        progress: &dyn Progress,
    ) -> Result<()> {
        let kind = self.manifest.index_type;
        let metric = self.manifest.metric;
        let dim = self.manifest.dimension;
        let rebuild = removed
            || kind == IndexType::Ivf
            || self.index.lock().map(|g| g.is_none()).unwrap_or(true);
        let (ids, vectors) = if rebuild {
            meta::all_vectors(&self.pool).await?
        } else {
            (ids, vectors)
        };
        progress.start(Stage::Indexing, ids.len() as u64);
        let slot = Arc::clone(&self.index);
        let path = self.dir.join(INDEX_FILE);
        let count = ids.len();
        let nprobe = tokio::task::spawn_blocking(move || -> Result<usize> {
            let mut guard = slot
                .lock()
                .map_err(|_| RagError::Task("the index lock was poisoned".into()))?;
            match guard.as_mut() {
                Some(index) if !rebuild => index.add(&ids, &vectors)?,
                _ if ids.is_empty() => {
                    *guard = None;
                    // An empty store has no index file.
                    let _ = std::fs::remove_file(&path);
                    return Ok(0);
                }
                _ => *guard = Some(VectorIndex::build(kind, metric, dim, &ids, &vectors)?),
            }
            let index = guard
                .as_ref()
                .ok_or_else(|| RagError::Task("the index vanished".into()))?;
            index.write(&path)?;
            Ok(index.nprobe)
        })
        .await
        .map_err(|e| RagError::Task(e.to_string()))??;
        progress.advance(Stage::Indexing, count as u64);
        progress.finish(Stage::Indexing);
        let (files, chunks) = meta::counts(&self.pool).await?;
        self.manifest.files = files;
        self.manifest.chunks = chunks;
        self.manifest.nprobe = nprobe;
        self.manifest.updated_at = chrono::Utc::now();
        self.manifest.write(&self.dir.join(MANIFEST_FILE))
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
        let found = tokio::task::spawn_blocking(move || -> Result<Vec<(i64, f32)>> {
            let mut guard = slot
                .lock()
                .map_err(|_| RagError::Task("the index lock was poisoned".into()))?;
            match guard.as_mut() {
                Some(index) => index.search(&q, k),
                None => Ok(Vec::new()),
            }
        })
        .await
        .map_err(|e| RagError::Task(e.to_string()))??;
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
        let found = meta::full_text(&self.pool, text, k).await?;
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
