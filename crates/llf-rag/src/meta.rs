//! The metadata database of a store: files, chunks (text, position, hash, vector) and an FTS5
//! table over the chunk texts for BM25 search. Vectors live here as well as in the FAISS index
//! so an index can be rebuilt without embedding again, and unchanged chunks of an edited file
//! keep their vectors.
//!
//! An ingestion writes its chunks batch by batch while it embeds, so memory stays bounded, but
//! they only become part of the store at the end: `store_state.committed_chunk_id` is the
//! highest chunk id that belongs to the store, and readers ignore rows above it. An interrupted
//! ingestion therefore leaves rows nobody sees; the next one reuses their vectors and removes
//! them. Chunk ids only grow (`AUTOINCREMENT`), so new rows are always above the mark.

use std::path::Path;
use std::str::FromStr;

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions};
use sqlx::{Row, Sqlite, Transaction};

use crate::Result;

const SCHEMA: &str = r"
CREATE TABLE IF NOT EXISTS files (
    path TEXT PRIMARY KEY,
    hash TEXT NOT NULL,
    chunks INTEGER NOT NULL,
    added_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS chunks (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    source TEXT NOT NULL,
    position INTEGER NOT NULL,
    start INTEGER NOT NULL,
    hash TEXT NOT NULL,
    text TEXT NOT NULL,
    vector BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS chunks_source ON chunks(source);
CREATE INDEX IF NOT EXISTS chunks_hash ON chunks(hash);
CREATE VIRTUAL TABLE IF NOT EXISTS chunks_fts USING fts5(text, content='chunks', content_rowid='id');
CREATE TRIGGER IF NOT EXISTS chunks_ai AFTER INSERT ON chunks BEGIN
    INSERT INTO chunks_fts(rowid, text) VALUES (new.id, new.text);
END;
CREATE TRIGGER IF NOT EXISTS chunks_ad AFTER DELETE ON chunks BEGIN
    INSERT INTO chunks_fts(chunks_fts, rowid, text) VALUES ('delete', old.id, old.text);
END;
CREATE TABLE IF NOT EXISTS store_state (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
";

/// The `store_state` key of the commit mark.
const COMMITTED: &str = "committed_chunk_id";

/// Rows read per page when streaming vectors.
pub(crate) const PAGE: i64 = 4096;

/// A chunk as stored.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct StoredChunk {
    pub(crate) id: i64,
    pub(crate) source: String,
    pub(crate) position: i64,
    pub(crate) text: String,
}

/// A chunk to insert.
#[derive(Debug, Clone)]
pub(crate) struct NewChunk {
    pub(crate) source: String,
    pub(crate) position: i64,
    pub(crate) start: i64,
    pub(crate) hash: String,
    pub(crate) text: String,
    pub(crate) vector: Vec<f32>,
}

pub(crate) fn vector_to_blob(v: &[f32]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

pub(crate) fn blob_to_vector(b: &[u8]) -> Vec<f32> {
    b.chunks_exact(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect()
}

/// Opens (creating when `create`) the database at `path` and applies the schema.
pub(crate) async fn open(path: &Path, create: bool) -> Result<SqlitePool> {
    let url = format!("sqlite://{}", path.display());
    let options = SqliteConnectOptions::from_str(&url)?
        .create_if_missing(create)
        .journal_mode(SqliteJournalMode::Wal)
        .foreign_keys(true);
    let pool = SqlitePoolOptions::new()
        .max_connections(4)
        .connect_with(options)
        .await?;
    sqlx::raw_sql(SCHEMA).execute(&pool).await?;
    Ok(pool)
}

/// The commit mark: the highest chunk id that belongs to the store. `None` for a store written
/// before the mark existed, where every row belongs.
pub(crate) async fn committed_id(pool: &SqlitePool) -> Result<Option<i64>> {
    Ok(
        sqlx::query_scalar("SELECT value FROM store_state WHERE key = ?")
            .bind(COMMITTED)
            .fetch_optional(pool)
            .await?,
    )
}

/// The highest chunk id in the database, committed or not (0 when empty).
pub(crate) async fn max_id(pool: &SqlitePool) -> Result<i64> {
    let max: Option<i64> = sqlx::query_scalar("SELECT MAX(id) FROM chunks")
        .fetch_one(pool)
        .await?;
    Ok(max.unwrap_or(0))
}

/// The hash recorded for `path`, if it was ingested.
pub(crate) async fn file_hash(pool: &SqlitePool, path: &str) -> Result<Option<String>> {
    let row = sqlx::query("SELECT hash FROM files WHERE path = ?")
        .bind(path)
        .fetch_optional(pool)
        .await?;
    Ok(row.map(|r| r.get::<String, _>(0)))
}

/// A stored vector for a chunk with this content hash, to reuse instead of embedding again.
/// Uncommitted rows count too: they hold the work of an interrupted ingestion.
pub(crate) async fn vector_for_hash(pool: &SqlitePool, hash: &str) -> Result<Option<Vec<f32>>> {
    let row = sqlx::query("SELECT vector FROM chunks WHERE hash = ? LIMIT 1")
        .bind(hash)
        .fetch_optional(pool)
        .await?;
    Ok(row.map(|r| blob_to_vector(&r.get::<Vec<u8>, _>(0))))
}

/// Inserts chunks (above the commit mark, so unseen until [`commit`]); returns their ids.
pub(crate) async fn insert_chunks(
    tx: &mut Transaction<'_, Sqlite>,
    chunks: &[NewChunk],
) -> Result<Vec<i64>> {
    let mut ids = Vec::with_capacity(chunks.len());
    for c in chunks {
        let id = sqlx::query(
            "INSERT INTO chunks (source, position, start, hash, text, vector) VALUES (?, ?, ?, ?, ?, ?)",
        )
        .bind(&c.source)
        .bind(c.position)
        .bind(c.start)
        .bind(&c.hash)
        .bind(&c.text)
        .bind(vector_to_blob(&c.vector))
        .execute(&mut **tx)
        .await?
        .last_insert_rowid();
        ids.push(id);
    }
    Ok(ids)
}

/// A file whose new chunks were inserted, to be made part of the store by [`commit`].
#[derive(Debug, Clone)]
pub(crate) struct FileVersion {
    pub(crate) path: String,
    pub(crate) hash: String,
    pub(crate) chunks: i64,
}

/// Makes an ingestion part of the store, in the caller's transaction: the old chunks of each
/// file in `files` (those at or below `old_mark`) go, its record is replaced, rows left above
/// the mark by an interrupted ingestion (`old_mark < id <= stale_up_to`) go, and the mark moves
/// to `new_mark`. Returns how many old chunks were removed.
pub(crate) async fn commit(
    tx: &mut Transaction<'_, Sqlite>,
    files: &[FileVersion],
    old_mark: i64,
    stale_up_to: i64,
    new_mark: i64,
) -> Result<u64> {
    let mut removed = 0;
    let now = chrono::Utc::now().to_rfc3339();
    for f in files {
        removed += sqlx::query("DELETE FROM chunks WHERE source = ? AND id <= ?")
            .bind(&f.path)
            .bind(old_mark)
            .execute(&mut **tx)
            .await?
            .rows_affected();
        sqlx::query(
            "INSERT INTO files (path, hash, chunks, added_at) VALUES (?, ?, ?, ?) \
             ON CONFLICT(path) DO UPDATE SET hash = excluded.hash, chunks = excluded.chunks, added_at = excluded.added_at",
        )
        .bind(&f.path)
        .bind(&f.hash)
        .bind(f.chunks)
        .bind(&now)
        .execute(&mut **tx)
        .await?;
    }
    if stale_up_to > old_mark {
        sqlx::query("DELETE FROM chunks WHERE id > ? AND id <= ?")
            .bind(old_mark)
            .bind(stale_up_to)
            .execute(&mut **tx)
            .await?;
    }
    sqlx::query(
        "INSERT INTO store_state (key, value) VALUES (?, ?) \
         ON CONFLICT(key) DO UPDATE SET value = excluded.value",
    )
    .bind(COMMITTED)
    .bind(new_mark)
    .execute(&mut **tx)
    .await?;
    Ok(removed)
}

/// Removes the uncommitted rows of `source` (a file that failed half-way).
pub(crate) async fn forget_uncommitted(
    tx: &mut Transaction<'_, Sqlite>,
    source: &str,
    mark: i64,
) -> Result<()> {
    sqlx::query("DELETE FROM chunks WHERE source = ? AND id > ?")
        .bind(source)
        .bind(mark)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// One page of chunk ids with their vectors (row-major), for ids in `after < id <= up_to`, in
/// id order, at most [`PAGE`] rows: to build an index without holding every vector twice.
pub(crate) async fn vectors_page(
    pool: &SqlitePool,
    after: i64,
    up_to: i64,
) -> Result<(Vec<i64>, Vec<f32>)> {
    let rows =
        sqlx::query("SELECT id, vector FROM chunks WHERE id > ? AND id <= ? ORDER BY id LIMIT ?")
            .bind(after)
            .bind(up_to)
            .bind(PAGE)
            .fetch_all(pool)
            .await?;
    let mut ids = Vec::with_capacity(rows.len());
    let mut flat = Vec::new();
    for r in rows {
        ids.push(r.get::<i64, _>(0));
        flat.extend(blob_to_vector(&r.get::<Vec<u8>, _>(1)));
    }
    Ok((ids, flat))
}

/// Chunks by id, in the order asked.
pub(crate) async fn chunks_by_id(pool: &SqlitePool, ids: &[i64]) -> Result<Vec<StoredChunk>> {
    let mut out = Vec::with_capacity(ids.len());
    for &id in ids {
        let row = sqlx::query("SELECT id, source, position, text FROM chunks WHERE id = ?")
            .bind(id)
            .fetch_optional(pool)
            .await?;
        if let Some(r) = row {
            out.push(StoredChunk {
                id: r.get(0),
                source: r.get(1),
                position: r.get(2),
                text: r.get(3),
            });
        }
    }
    Ok(out)
}

/// The stored vector of a chunk.
pub(crate) async fn vector_of(pool: &SqlitePool, id: i64) -> Result<Option<Vec<f32>>> {
    let row = sqlx::query("SELECT vector FROM chunks WHERE id = ?")
        .bind(id)
        .fetch_optional(pool)
        .await?;
    Ok(row.map(|r| blob_to_vector(&r.get::<Vec<u8>, _>(0))))
}

/// BM25 full-text matches for `query` among chunks with ids up to `up_to`, best first, with
/// their BM25 score (higher is better).
pub(crate) async fn full_text(
    pool: &SqlitePool,
    query: &str,
    limit: usize,
    up_to: i64,
) -> Result<Vec<(i64, f64)>> {
    let Some(expr) = crate::fts::match_expression(query) else {
        return Ok(Vec::new());
    };
    let rows = sqlx::query(
        "SELECT rowid, bm25(chunks_fts) AS rank FROM chunks_fts WHERE chunks_fts MATCH ? AND rowid <= ? ORDER BY rank LIMIT ?",
    )
    .bind(expr)
    .bind(up_to)
    .bind(limit as i64)
    .fetch_all(pool)
    .await?;
    // SQLite's bm25() is negative, more negative meaning more relevant.
    Ok(rows
        .into_iter()
        .map(|r| (r.get::<i64, _>(0), -r.get::<f64, _>(1)))
        .collect())
}

/// Counts of files and of chunks up to `up_to`.
pub(crate) async fn counts(pool: &SqlitePool, up_to: i64) -> Result<(u64, u64)> {
    let files: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM files")
        .fetch_one(pool)
        .await?;
    let chunks: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM chunks WHERE id <= ?")
        .bind(up_to)
        .fetch_one(pool)
        .await?;
    Ok((files.max(0) as u64, chunks.max(0) as u64))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blobs_round_trip() {
        let v = vec![0.5f32, -1.25, 3.0];
        assert_eq!(blob_to_vector(&vector_to_blob(&v)), v);
    }
}
