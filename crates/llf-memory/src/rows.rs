//! Between SQL rows and typed values: timestamps, JSON columns, batched inserts.

use chrono::{DateTime, SecondsFormat, Utc};
use sqlx::Row;
use sqlx::sqlite::SqliteRow;

use crate::types::{Memory, Metadata};
use crate::{MemoryError, Result};

/// The columns [`memory_from_row`] reads; the query joins `memories m` with `stores s`.
pub(crate) const MEMORY_COLUMNS: &str = "m.seq, m.id, s.name AS store, m.content, m.tags, \
     m.importance, m.access_count, m.created_at, m.updated_at, m.metadata";

/// Fixed-width RFC 3339 in UTC, so that text order is time order in SQL.
pub(crate) fn ts(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Micros, true)
}

pub(crate) fn parse_ts(text: &str) -> Result<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(text)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| decode_error(format!("bad timestamp `{text}`: {e}")))
}

fn decode_error(msg: String) -> MemoryError {
    MemoryError::Database {
        action: "reading a memory",
        source: msg.into(),
    }
}

fn get<'r, T>(row: &'r SqliteRow, col: &str) -> Result<T>
where
    T: sqlx::Decode<'r, sqlx::Sqlite> + sqlx::Type<sqlx::Sqlite>,
{
    row.try_get(col)
        .map_err(MemoryError::db("reading a memory"))
}

/// The rowid (`seq`) and the memory in `row`.
pub(crate) fn memory_from_row(row: &SqliteRow) -> Result<(i64, Memory)> {
    let tags: String = get(row, "tags")?;
    let metadata: String = get(row, "metadata")?;
    let access_count: i64 = get(row, "access_count")?;
    let memory = Memory {
        id: get(row, "id")?,
        store: get(row, "store")?,
        content: get(row, "content")?,
        tags: serde_json::from_str(&tags).map_err(|e| decode_error(format!("bad tags: {e}")))?,
        importance: get(row, "importance")?,
        access_count: u64::try_from(access_count).unwrap_or(0),
        created_at: parse_ts(&get::<String>(row, "created_at")?)?,
        updated_at: parse_ts(&get::<String>(row, "updated_at")?)?,
        metadata: serde_json::from_str::<Metadata>(&metadata)
            .map_err(|e| decode_error(format!("bad metadata: {e}")))?,
    };
    Ok((get(row, "seq")?, memory))
}

/// One row ready for insertion, already validated.
#[derive(Debug, Clone, serde::Serialize)]
pub(crate) struct NewRow {
    pub(crate) id: String,
    pub(crate) content: String,
    /// JSON array text.
    pub(crate) tags: String,
    pub(crate) importance: f64,
    pub(crate) access_count: i64,
    pub(crate) created_at: String,
    pub(crate) updated_at: String,
    /// JSON object text.
    pub(crate) metadata: String,
    pub(crate) legacy_id: Option<String>,
}

/// Inserts `rows` into store `store_id` inside the caller's transaction, skipping rows whose id
/// (or legacy id) is already present. Returns how many were inserted.
///
/// The batch travels as one JSON array expanded by `json_each`: one statement per batch instead of
/// one per row, which is what makes bulk inserts fast through an async driver.
pub(crate) async fn insert_rows(
    conn: &mut sqlx::SqliteConnection,
    store_id: i64,
    rows: &[NewRow],
) -> Result<u64> {
    if rows.is_empty() {
        return Ok(0);
    }
    let batch = serde_json::to_string(rows).map_err(|e| MemoryError::Database {
        action: "preparing a batch",
        source: Box::new(e),
    })?;
    let done = sqlx::query(
        "INSERT OR IGNORE INTO memories \
         (id, store_id, content, tags, importance, access_count, created_at, updated_at, metadata, legacy_id) \
         SELECT value->>'id', ?1, value->>'content', value->>'tags', value->>'importance', \
                value->>'access_count', value->>'created_at', value->>'updated_at', \
                value->>'metadata', value->>'legacy_id' \
         FROM json_each(?2)",
    )
    .bind(store_id)
    .bind(batch)
    .execute(&mut *conn)
    .await
    .map_err(MemoryError::db("adding memories"))?;
    Ok(done.rows_affected())
}
