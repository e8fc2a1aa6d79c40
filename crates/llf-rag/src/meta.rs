//! The metadata database of a store: files, chunks (text, position, hash, vector) and an FTS5
//! table over the chunk texts for BM25 search. Vectors live here as well as in the FAISS index
//! so an index can be rebuilt without embedding again, and unchanged chunks of an edited file
//! keep their vectors.

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
";

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

/// The hash recorded for `path`, if it was ingested.
pub(crate) async fn file_hash(pool: &SqlitePool, path: &str) -> Result<Option<String>> {
    let row = sqlx::query("SELECT hash FROM files WHERE path = ?")
        .bind(path)
        .fetch_optional(pool)
        .await?;
    Ok(row.map(|r| r.get::<String, _>(0)))
}

/// A stored vector for a chunk with this content hash, to reuse instead of embedding again.
pub(crate) async fn vector_for_hash(pool: &SqlitePool, hash: &str) -> Result<Option<Vec<f32>>> {
    let row = sqlx::query("SELECT vector FROM chunks WHERE hash = ? LIMIT 1")
        .bind(hash)
        .fetch_optional(pool)
        .await?;
    Ok(row.map(|r| blob_to_vector(&r.get::<Vec<u8>, _>(0))))
}

/// Removes a file's chunks; returns how many went.
pub(crate) async fn delete_file(tx: &mut Transaction<'_, Sqlite>, path: &str) -> Result<u64> {
    let gone = sqlx::query("DELETE FROM chunks WHERE source = ?")
        .bind(path)
        .execute(&mut **tx)
        .await?
        .rows_affected();
    sqlx::query("DELETE FROM files WHERE path = ?")
        .bind(path)
        .execute(&mut **tx)
        .await?;
    Ok(gone)
}

/// Records a file and inserts its chunks; returns the new chunk ids in order.
pub(crate) async fn insert_file(
    tx: &mut Transaction<'_, Sqlite>,
    path: &str,
    hash: &str,
    chunks: &[NewChunk],
) -> Result<Vec<i64>> {
    sqlx::query("INSERT INTO files (path, hash, chunks, added_at) VALUES (?, ?, ?, ?)")
        .bind(path)
        .bind(hash)
        .bind(chunks.len() as i64)
        .bind(chrono::Utc::now().to_rfc3339())
        .execute(&mut **tx)
        .await?;
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

/// Every chunk id with its vector, in id order (to rebuild an index).
pub(crate) async fn all_vectors(pool: &SqlitePool) -> Result<(Vec<i64>, Vec<f32>)> {
    let rows = sqlx::query("SELECT id, vector FROM chunks ORDER BY id")
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

/// BM25 full-text matches for `query`, best first, with their BM25 score (higher is better).
pub(crate) async fn full_text(
    pool: &SqlitePool,
    query: &str,
    limit: usize,
) -> Result<Vec<(i64, f64)>> {
    let Some(expr) = fts_expression(query) else {
        return Ok(Vec::new());
    };
    let rows = sqlx::query(
        "SELECT rowid, bm25(chunks_fts) AS rank FROM chunks_fts WHERE chunks_fts MATCH ? ORDER BY rank LIMIT ?",
    )
    .bind(expr)
    .bind(limit as i64)
    .fetch_all(pool)
    .await?;
    // SQLite's bm25() is negative, more negative meaning more relevant.
    Ok(rows
        .into_iter()
        .map(|r| (r.get::<i64, _>(0), -r.get::<f64, _>(1)))
        .collect())
}

/// Counts of files and chunks.
pub(crate) async fn counts(pool: &SqlitePool) -> Result<(u64, u64)> {
    let files: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM files")
        .fetch_one(pool)
        .await?;
    let chunks: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM chunks")
        .fetch_one(pool)
        .await?;
    Ok((files.max(0) as u64, chunks.max(0) as u64))
}

/// User text as an FTS5 expression: each word quoted (so operators and punctuation in the query
/// cannot break the syntax) and joined with OR, so BM25 ranks by how many terms match.
fn fts_expression(query: &str) -> Option<String> {
    let terms: Vec<String> = query
        .split(|c: char| !(c.is_alphanumeric() || c == '_' || c == '-'))
        .map(|t| t.trim_matches('-'))
        .filter(|t| !t.is_empty())
        .map(|t| format!("\"{t}\""))
        .collect();
    (!terms.is_empty()).then(|| terms.join(" OR "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fts_expression_quotes_terms() {
        assert_eq!(
            fts_expression("error E-4021: \"bad\" OR x*").as_deref(),
            Some("\"error\" OR \"E-4021\" OR \"bad\" OR \"OR\" OR \"x\"")
        );
        assert_eq!(fts_expression("  ?! "), None);
    }

    #[test]
    fn blobs_round_trip() {
        let v = vec![0.5f32, -1.25, 3.0];
        assert_eq!(blob_to_vector(&vector_to_blob(&v)), v);
    }
}
