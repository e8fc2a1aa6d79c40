//! Adding files to a store with bounded memory: each file is hashed in one streaming pass,
//! new and changed files are extracted and chunked as they are read, and chunks are embedded and
//! written to the database in batches of [`BATCH_CHUNKS`] (one transaction each), so neither the
//! text of a file nor its chunks nor their vectors are ever held whole. The batches stay above
//! the commit mark until the end, so an interrupted ingestion changes nothing a reader sees, and
//! the next one reuses the vectors it had already computed.

use std::collections::HashMap;
use std::path::PathBuf;

use sqlx::sqlite::SqlitePool;

use crate::chunk::{Chunk, Chunker};
use crate::collect::{SkipReason, SkippedFile, collect_files};
use crate::embed::Embedder;
use crate::extract::{Kind, TextStream, extract_kind, sniff};
use crate::meta::{self, FileVersion, NewChunk};
use crate::progress::{Progress, ProgressEvent, Stage};
use crate::store::{AddReport, DataStore, TranscodedFile, blocking};
use crate::{RagError, Result};

/// Chunks embedded and stored per batch: enough to keep every embedding session busy, few
/// enough that a batch's texts and vectors stay small (256 × (1 KB + 1.5 KB)).
const BATCH_CHUNKS: usize = 256;

/// Characters handed to the chunker at a time when a whole document was extracted at once.
const PIECE_BYTES: usize = 64 * 1024;

/// A file that needs (re-)ingesting.
struct Todo {
    path: PathBuf,
    key: String,
    hash: String,
    size: u64,
    kind: Kind,
    encoding: &'static encoding_rs::Encoding,
    replaces: bool,
}

impl DataStore {
    /// Adds files and directories: new files are chunked and embedded, changed files replace
    /// their old chunks, unchanged files are skipped. Chunks whose text is already stored reuse
    /// its vector instead of being embedded again. Files are known by their real path, so a
    /// file reached through a symbolic link is the same file. Files that cannot be ingested
    /// (binary, unreadable, malformed, special files, link loops) are skipped and listed in the
    /// report with the reason, and announced as [`ProgressEvent::Skipped`].
    ///
    /// Holds the store's lock throughout; another change of the store meanwhile fails with
    /// [`RagError::Busy`]. If this is interrupted (the future dropped, the process killed), the
    /// store stays as it was.
    pub async fn add_paths(
        &mut self,
        embedder: &Embedder,
        paths: &[PathBuf],
        progress: &dyn Progress,
    ) -> Result<AddReport> {
        self.check_model(embedder.model())?;
        let _lock = self.lock_for_writing()?;
        // Under the lock, the database is authoritative: an earlier change may have committed
        // without publishing its index.
        let db_mark = meta::committed_id(self.pool()).await?;
        if db_mark != self.manifest.committed_chunk_id {
            self.index_behind = true;
        }
        let stale_up_to = meta::max_id(self.pool()).await?;
        // Stores from before the mark: every row is committed.
        let old_mark = db_mark.unwrap_or(stale_up_to);

        let collected = collect_files(paths)?;
        let mut report = AddReport {
            files_seen: collected.files.len(),
            ..AddReport::default()
        };
        for skipped in collected.skipped {
            skip(&mut report, progress, skipped.path, skipped.reason);
        }
        let todo = self
            .find_changes(collected.files, &mut report, progress)
            .await?;

        let mut batch = Batch::new(self.pool(), embedder, self.manifest.dimension);
        let mut versions = Vec::new();
        let mut failed = Vec::new();
        progress.event(&ProgressEvent::Started {
            stage: Stage::Embedding,
            total: todo.iter().map(|t| t.size).sum(),
        });
        for file in todo {
            match self.ingest_file(&file, &mut batch, progress).await? {
                Ok(chunks) => {
                    if file.replaces {
                        report.files_changed += 1;
                    } else {
                        report.files_added += 1;
                    }
                    if file.encoding != encoding_rs::UTF_8 && file.kind != Kind::Pdf {
                        report.transcoded.push(TranscodedFile {
                            path: file.path.clone(),
                            encoding: file.encoding.name().to_owned(),
                        });
                    }
                    versions.push(FileVersion {
                        path: file.key,
                        hash: file.hash,
                        chunks: chunks as i64,
                    });
                }
                Err(reason) => {
                    batch.forget(&file.key);
                    failed.push(file.key);
                    skip(&mut report, progress, file.path, reason);
                }
            }
        }
        batch.flush(progress).await?;
        progress.event(&ProgressEvent::Finished {
            stage: Stage::Embedding,
        });
        report.chunks_added = batch.stored;
        report.chunks_embedded = batch.embedded;
        report.chunks_reused = batch.reused;

        if versions.is_empty() && !self.index_behind {
            // Nothing to publish; rows of failed files stay invisible and go with the next change.
            return Ok(report);
        }
        let new_mark = meta::max_id(self.pool()).await?.max(old_mark);
        let mut tx = self.pool().begin().await?;
        for key in &failed {
            meta::forget_uncommitted(&mut tx, key, old_mark).await?;
        }
        report.chunks_removed =
            meta::commit(&mut tx, &versions, old_mark, stale_up_to, new_mark).await?;
        tx.commit().await?;
        self.publish(old_mark, new_mark, report.chunks_removed > 0, progress)
            .await?;
        tracing::info!(
            store = %self.manifest.name,
            files_added = report.files_added,
            files_changed = report.files_changed,
            chunks_embedded = report.chunks_embedded,
            skipped = report.skipped.len(),
            "files added"
        );
        Ok(report)
    }

    /// Hashes every file (one streaming pass each) and keeps those that are new or changed.
    async fn find_changes(
        &self,
        files: Vec<PathBuf>,
        report: &mut AddReport,
        progress: &dyn Progress,
    ) -> Result<Vec<Todo>> {
        let total = files
            .iter()
            .filter_map(|f| std::fs::metadata(f).ok())
            .map(|m| m.len())
            .sum();
        progress.event(&ProgressEvent::Started {
            stage: Stage::Reading,
            total,
        });
        let mut todo = Vec::new();
        for path in files {
            let Some(kind) = Kind::of(&path) else {
                continue;
            };
            let p = path.clone();
            let sniffed = blocking(move || Ok(sniff(&p, kind))).await?;
            let sniffed = match sniffed {
                Ok(s) => s,
                Err(e) => {
                    let message = e.to_string();
                    skip(report, progress, path, SkipReason::Unreadable { message });
                    continue;
                }
            };
            progress.event(&ProgressEvent::Advanced {
                stage: Stage::Reading,
                n: sniffed.size,
            });
            let Some(encoding) = sniffed.encoding else {
                skip(report, progress, path, SkipReason::Binary);
                continue;
            };
            let key = path.to_string_lossy().into_owned();
            let known = meta::file_hash(self.pool(), &key).await?;
            if known.as_deref() == Some(sniffed.hash.as_str()) {
                report.files_unchanged += 1;
                continue;
            }
            todo.push(Todo {
                path,
                key,
                hash: sniffed.hash,
                size: sniffed.size,
                kind,
                encoding,
                replaces: known.is_some(),
            });
        }
        progress.event(&ProgressEvent::Finished {
            stage: Stage::Reading,
        });
        Ok(todo)
    }

    /// Streams one file's chunks into `batch`. The outer error fails the ingestion (database,
    /// model); the inner one skips the file.
    async fn ingest_file(
        &self,
        file: &Todo,
        batch: &mut Batch<'_>,
        progress: &dyn Progress,
    ) -> Result<std::result::Result<usize, SkipReason>> {
        let unreadable = |e: std::io::Error| SkipReason::Unreadable {
            message: e.to_string(),
        };
        let mut chunker = Chunker::new(self.manifest.chunk_size, self.manifest.chunk_overlap);
        let mut count = 0;
        if file.kind == Kind::Text {
            let mut stream = match TextStream::open(&file.path, file.encoding).await {
                Ok(s) => s,
                Err(e) => return Ok(Err(unreadable(e))),
            };
            loop {
                let (piece, read) = match stream.next_piece().await {
                    Ok(Some(p)) => p,
                    Ok(None) => break,
                    Err(e) => return Ok(Err(unreadable(e))),
                };
                let chunks = chunker.push(&piece);
                count += batch.push(&file.key, chunks, progress).await?;
                progress.event(&ProgressEvent::Advanced {
                    stage: Stage::Embedding,
                    n: read as u64,
                });
            }
        } else {
            let bytes = match tokio::fs::read(&file.path).await {
                Ok(b) => b,
                Err(e) => return Ok(Err(unreadable(e))),
            };
            let (kind, encoding) = (file.kind, file.encoding);
            let text = match blocking(move || Ok(extract_kind(kind, &bytes, encoding))).await? {
                Ok(text) => text,
                Err(reason) => return Ok(Err(reason)),
            };
            for piece in pieces(&text, PIECE_BYTES) {
                let chunks = chunker.push(piece);
                count += batch.push(&file.key, chunks, progress).await?;
            }
            progress.event(&ProgressEvent::Advanced {
                stage: Stage::Embedding,
                n: file.size,
            });
        }
        count += batch.push(&file.key, chunker.finish(), progress).await?;
        Ok(Ok(count))
    }
}

fn skip(report: &mut AddReport, progress: &dyn Progress, path: PathBuf, reason: SkipReason) {
    let skipped = SkippedFile { path, reason };
    tracing::info!(path = %skipped.path.display(), reason = %skipped.reason, "file skipped");
    progress.event(&ProgressEvent::Skipped(&skipped));
    report.skipped.push(skipped);
}

/// `text` in pieces of about `bytes`, cut at character boundaries.
fn pieces(text: &str, bytes: usize) -> impl Iterator<Item = &str> {
    let mut rest = text;
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        let mut cut = bytes.min(rest.len());
        while !rest.is_char_boundary(cut) {
            cut += 1;
        }
        let (piece, tail) = rest.split_at(cut);
        rest = tail;
        Some(piece)
    })
}

/// Chunks waiting to be embedded and stored.
struct Batch<'a> {
    pool: &'a SqlitePool,
    embedder: &'a Embedder,
    dim: usize,
    chunks: Vec<NewChunk>,
    stored: usize,
    embedded: usize,
    reused: usize,
}

impl<'a> Batch<'a> {
    fn new(pool: &'a SqlitePool, embedder: &'a Embedder, dim: usize) -> Self {
        Self {
            pool,
            embedder,
            dim,
            chunks: Vec::with_capacity(BATCH_CHUNKS),
            stored: 0,
            embedded: 0,
            reused: 0,
        }
    }

    /// Queues `chunks` of `source`, storing full batches; returns how many were queued.
    async fn push(
        &mut self,
        source: &str,
        chunks: Vec<Chunk>,
        progress: &dyn Progress,
    ) -> Result<usize> {
        let n = chunks.len();
        for c in chunks {
            self.chunks.push(NewChunk {
                source: source.to_owned(),
                position: c.position as i64,
                start: c.start as i64,
                hash: c.hash,
                text: c.text,
                vector: Vec::new(),
            });
            if self.chunks.len() >= BATCH_CHUNKS {
                self.flush(progress).await?;
            }
        }
        Ok(n)
    }

    /// Drops the queued chunks of a file that failed half-way.
    fn forget(&mut self, source: &str) {
        self.chunks.retain(|c| c.source != source);
    }

    /// Gives the queued chunks vectors (reused for text already stored or repeated in the
    /// batch, else embedded) and stores them in one transaction.
    async fn flush(&mut self, progress: &dyn Progress) -> Result<()> {
        if self.chunks.is_empty() {
            return Ok(());
        }
        let mut first_of: HashMap<String, usize> = HashMap::new();
        let mut to_embed = Vec::new();
        let mut copies = Vec::new();
        for i in 0..self.chunks.len() {
            let hash = self.chunks[i].hash.clone();
            if let Some(&first) = first_of.get(&hash) {
                copies.push((i, first));
                continue;
            }
            first_of.insert(hash.clone(), i);
            match meta::vector_for_hash(self.pool, &hash).await? {
                Some(v) if v.len() == self.dim => self.chunks[i].vector = v,
                _ => to_embed.push(i),
            }
        }
        let texts = to_embed
            .iter()
            .map(|&i| self.chunks[i].text.clone())
            .collect();
        let vectors = self.embedder.embed_documents(texts).await?;
        if vectors.len() != to_embed.len() {
            return Err(RagError::Embed("the model returned too few vectors".into()));
        }
        for (&i, v) in to_embed.iter().zip(vectors) {
            self.chunks[i].vector = v;
        }
        for (i, first) in copies {
            self.chunks[i].vector = self.chunks[first].vector.clone();
        }
        let mut tx = self.pool.begin().await?;
        meta::insert_chunks(&mut tx, &self.chunks).await?;
        tx.commit().await?;
        let embedded = to_embed.len();
        let reused = self.chunks.len() - embedded;
        self.stored += self.chunks.len();
        self.embedded += embedded;
        self.reused += reused;
        self.chunks.clear();
        progress.event(&ProgressEvent::Stored {
            embedded: embedded as u64,
            reused: reused as u64,
        });
        Ok(())
    }
}
