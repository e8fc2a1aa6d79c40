//! [`MemoryStore`]: opening the database, the store registry, and memory CRUD with soft delete.

use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::Utc;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use sqlx::{Row, Sqlite, Transaction};

use crate::rows::{self, MEMORY_COLUMNS, NewRow};
use crate::types::{
    DeletedMemory, Memory, MemoryUpdate, NewMemory, StoreInfo, StoreStats, check_store_name,
    preview,
};
use crate::{MemoryError, Result};

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// Characters of content shown in previews (trash listings).
const PREVIEW_CHARS: usize = 60;

/// Options for [`MemoryStore::open_with`].
#[derive(Debug, Clone)]
pub struct OpenOptions {
    /// How long a writer waits for another process's write to finish before giving up.
    pub busy_timeout: Duration,
    /// Connections in the pool (readers run in parallel; SQLite serialises writers).
    pub max_connections: u32,
}

impl Default for OpenOptions {
    fn default() -> Self {
        Self {
            busy_timeout: Duration::from_secs(30),
            max_connections: 4,
        }
    }
}

/// Long-term memory: named stores of memories in one SQLite database, searchable with FTS5.
///
/// Cheap to clone (a connection pool inside). Every write is a transaction; the database runs in
/// WAL mode with a busy timeout, so several processes can share it.
#[derive(Debug, Clone)]
pub struct MemoryStore {
    pub(crate) pool: SqlitePool,
    path: PathBuf,
}

impl MemoryStore {
    /// File name of the database inside the memory directory (`ConfigFile::paths().memory`).
    pub const DATABASE_FILE: &'static str = "memory.db";

    /// Opens (creating if needed) the database `memory.db` in `dir`.
    pub async fn open_in_dir(dir: impl AsRef<Path>) -> Result<Self> {
        Self::open(dir.as_ref().join(Self::DATABASE_FILE)).await
    }

    /// Opens (creating if needed) the database at `path` with default options.
    pub async fn open(path: impl Into<PathBuf>) -> Result<Self> {
        Self::open_with(path, OpenOptions::default()).await
    }

    /// Opens (creating if needed) the database at `path` and brings its schema up to date.
    pub async fn open_with(path: impl Into<PathBuf>, options: OpenOptions) -> Result<Self> {
        let path = path.into();
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            tokio::fs::create_dir_all(dir)
                .await
                .map_err(MemoryError::io("creating", dir))?;
        }
        let connect = SqliteConnectOptions::new()
            .filename(&path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            // In WAL mode NORMAL survives a process crash and never corrupts; only a power cut
            // can lose the last commits.
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(options.busy_timeout)
            .foreign_keys(true);
        let pool = SqlitePoolOptions::new()
            .max_connections(options.max_connections.max(1))
            .connect_with(connect)
            .await
            .map_err(|e| MemoryError::open_failed(&path, "opening the memory database", e))?;
        migrate(&pool, &path).await?;
        tracing::debug!(path = %path.display(), "memory database open");
        Ok(Self { pool, path })
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Closes the connections, checkpointing the journal.
    pub async fn close(self) {
        self.pool.close().await;
    }

    /// A write transaction that takes the write lock at once, so the busy timeout applies (a
    /// deferred transaction that upgrades from read to write fails at once under contention).
    pub(crate) async fn write_tx(
        &self,
        action: &'static str,
    ) -> Result<Transaction<'static, Sqlite>> {
        self.pool
            .begin_with("BEGIN IMMEDIATE")
            .await
            .map_err(MemoryError::db(action))
    }

    // ----- stores -----

    /// Creates an empty store.
    pub async fn create_store(&self, name: &str, description: &str) -> Result<StoreInfo> {
        check_store_name(name)?;
        let done = sqlx::query(
            "INSERT OR IGNORE INTO stores (name, description, enabled, created_at) VALUES (?1, ?2, 1, ?3)",
        )
        .bind(name)
        .bind(description)
        .bind(rows::ts(Utc::now()))
        .execute(&self.pool)
        .await
        .map_err(MemoryError::db("creating a store"))?;
        if done.rows_affected() == 0 {
            return Err(MemoryError::StoreExists(name.to_owned()));
        }
        self.store(name).await
    }

    /// The store `name`, created empty first when missing (for the configured default store).
    pub async fn ensure_store(&self, name: &str) -> Result<StoreInfo> {
        match self.create_store(name, "").await {
            Err(MemoryError::StoreExists(_)) => self.store(name).await,
            other => other,
        }
    }

    /// One store.
    pub async fn store(&self, name: &str) -> Result<StoreInfo> {
        self.list_stores()
            .await?
            .into_iter()
            .find(|s| s.name == name)
            .ok_or_else(|| MemoryError::UnknownStore(name.to_owned()))
    }

    /// Every store, by name.
    pub async fn list_stores(&self) -> Result<Vec<StoreInfo>> {
        let rows = sqlx::query(
            "SELECT s.name, s.description, s.enabled, s.created_at, \
             (SELECT count(*) FROM memories m WHERE m.store_id = s.id AND m.deleted_at IS NULL) AS n \
             FROM stores s ORDER BY s.name",
        )
        .fetch_all(&self.pool)
        .await
        .map_err(MemoryError::db("listing stores"))?;
        rows.iter()
            .map(|r| {
                let get = |e| MemoryError::db("listing stores")(e);
                Ok(StoreInfo {
                    name: r.try_get("name").map_err(get)?,
                    description: r.try_get("description").map_err(get)?,
                    enabled: r.try_get("enabled").map_err(get)?,
                    created_at: rows::parse_ts(
                        &r.try_get::<String, _>("created_at").map_err(get)?,
                    )?,
                    memories: u64::try_from(r.try_get::<i64, _>("n").map_err(get)?).unwrap_or(0),
                })
            })
            .collect()
    }

    /// Turns a store on or off for chat context.
    pub async fn set_enabled(&self, name: &str, enabled: bool) -> Result<StoreInfo> {
        let done = sqlx::query("UPDATE stores SET enabled = ?1 WHERE name = ?2")
            .bind(enabled)
            .bind(name)
            .execute(&self.pool)
            .await
            .map_err(MemoryError::db("updating a store"))?;
        if done.rows_affected() == 0 {
            return Err(MemoryError::UnknownStore(name.to_owned()));
        }
        self.store(name).await
    }

    pub(crate) async fn store_id(&self, name: &str) -> Result<i64> {
        sqlx::query_scalar("SELECT id FROM stores WHERE name = ?1")
            .bind(name)
            .fetch_optional(&self.pool)
            .await
            .map_err(MemoryError::db("looking up a store"))?
            .ok_or_else(|| MemoryError::UnknownStore(name.to_owned()))
    }

    // ----- memories -----

    /// Adds one memory to `store`.
    pub async fn add(&self, store: &str, memory: NewMemory) -> Result<Memory> {
        let mut added = self.add_many(store, vec![memory]).await?;
        added
            .pop()
            .ok_or_else(|| MemoryError::NotFound(String::new()))
    }

    /// Adds many memories to `store` in one transaction: all or none.
    pub async fn add_many(&self, store: &str, memories: Vec<NewMemory>) -> Result<Vec<Memory>> {
        let now = Utc::now();
        let mut out = Vec::with_capacity(memories.len());
        let mut batch = Vec::with_capacity(memories.len());
        for mut m in memories {
            m.validate()?;
            let created = m.created_at.unwrap_or(now);
            let memory = Memory {
                id: ulid::Ulid::new().to_string(),
                store: store.to_owned(),
                content: m.content,
                tags: m.tags,
                importance: m.importance,
                access_count: 0,
                created_at: created,
                updated_at: created,
                metadata: m.metadata,
            };
            batch.push(NewRow {
                id: memory.id.clone(),
                content: memory.content.clone(),
                tags: json_text(&memory.tags),
                importance: memory.importance,
                access_count: 0,
                created_at: rows::ts(created),
                updated_at: rows::ts(created),
                metadata: json_text(&memory.metadata),
                legacy_id: None,
            });
            out.push(memory);
        }
        let store_id = self.store_id(store).await?;
        let mut tx = self.write_tx("adding memories").await?;
        rows::insert_rows(&mut tx, store_id, &batch).await?;
        tx.commit()
            .await
            .map_err(MemoryError::db("adding memories"))?;
        tracing::debug!(store, count = out.len(), "memories added");
        Ok(out)
    }

    /// The memory `id`; counts as an access.
    pub async fn get(&self, id: &str) -> Result<Memory> {
        let done = sqlx::query(
            "UPDATE memories SET access_count = access_count + 1 WHERE id = ?1 AND deleted_at IS NULL",
        )
        .bind(id)
        .execute(&self.pool)
        .await
        .map_err(MemoryError::db("reading a memory"))?;
        if done.rows_affected() == 0 {
            return Err(self.missing(id).await);
        }
        self.peek(id).await
    }

    /// The memory `id` without counting an access; an error when deleted.
    pub(crate) async fn peek(&self, id: &str) -> Result<Memory> {
        let sql = format!(
            "SELECT {MEMORY_COLUMNS}, m.deleted_at FROM memories m JOIN stores s ON s.id = m.store_id WHERE m.id = ?1"
        );
        let row = sqlx::query(&sql)
            .bind(id)
            .fetch_optional(&self.pool)
            .await
            .map_err(MemoryError::db("reading a memory"))?
            .ok_or_else(|| MemoryError::NotFound(id.to_owned()))?;
        let deleted: Option<String> = row
            .try_get("deleted_at")
            .map_err(MemoryError::db("reading a memory"))?;
        if deleted.is_some() {
            return Err(MemoryError::Deleted(id.to_owned()));
        }
        Ok(rows::memory_from_row(&row)?.1)
    }

    /// Why `id` cannot be used: not found, or deleted.
    async fn missing(&self, id: &str) -> MemoryError {
        match self.peek(id).await {
            Err(e) => e,
            Ok(_) => MemoryError::NotFound(id.to_owned()),
        }
    }

    /// Changes a memory; returns it as it is now.
    pub async fn update(&self, id: &str, mut update: MemoryUpdate) -> Result<Memory> {
        update.validate()?;
        let mut current = self.peek(id).await?;
        if let Some(c) = update.content {
            current.content = c;
        }
        if let Some(t) = update.tags {
            current.tags = t;
        }
        if let Some(i) = update.importance {
            current.importance = i;
        }
        if let Some(m) = update.metadata {
            current.metadata = m;
        }
        current.updated_at = Utc::now();
        let mut tx = self.write_tx("updating a memory").await?;
        let done = sqlx::query(
            "UPDATE memories SET content = ?1, tags = ?2, importance = ?3, metadata = ?4, updated_at = ?5 \
             WHERE id = ?6 AND deleted_at IS NULL",
        )
        .bind(&current.content)
        .bind(json_text(&current.tags))
        .bind(current.importance)
        .bind(json_text(&current.metadata))
        .bind(rows::ts(current.updated_at))
        .bind(id)
        .execute(&mut *tx)
        .await
        .map_err(MemoryError::db("updating a memory"))?;
        if done.rows_affected() == 0 {
            // Deleted by someone else between the read and the write.
            return Err(MemoryError::Deleted(id.to_owned()));
        }
        tx.commit()
            .await
            .map_err(MemoryError::db("updating a memory"))?;
        Ok(current)
    }

    /// Soft-deletes a memory: it leaves searches and listings, and [`MemoryStore::restore`]
    /// brings it back until [`MemoryStore::purge_deleted`] removes it for good.
    pub async fn delete(&self, id: &str) -> Result<DeletedMemory> {
        let now = Utc::now();
        let done =
            sqlx::query("UPDATE memories SET deleted_at = ?1 WHERE id = ?2 AND deleted_at IS NULL")
                .bind(rows::ts(now))
                .bind(id)
                .execute(&self.pool)
                .await
                .map_err(MemoryError::db("deleting a memory"))?;
        if done.rows_affected() == 0 {
            return Err(self.missing(id).await);
        }
        self.deleted(None, Some(id))
            .await?
            .pop()
            .ok_or_else(|| MemoryError::NotFound(id.to_owned()))
    }

    /// Undoes [`MemoryStore::delete`].
    pub async fn restore(&self, id: &str) -> Result<Memory> {
        let done = sqlx::query(
            "UPDATE memories SET deleted_at = NULL WHERE id = ?1 AND deleted_at IS NOT NULL",
        )
        .bind(id)
        .execute(&self.pool)
        .await
        .map_err(MemoryError::db("restoring a memory"))?;
        if done.rows_affected() == 0 {
            return match self.peek(id).await {
                Ok(_) => Err(MemoryError::NotDeleted(id.to_owned())),
                Err(e) => Err(e),
            };
        }
        self.peek(id).await
    }

    /// Soft-deleted memories, most recently deleted first; all stores when `store` is `None`.
    pub async fn list_deleted(&self, store: Option<&str>) -> Result<Vec<DeletedMemory>> {
        self.deleted(store, None).await
    }

    async fn deleted(&self, store: Option<&str>, id: Option<&str>) -> Result<Vec<DeletedMemory>> {
        let rows = sqlx::query(
            "SELECT m.id, s.name, m.content, m.deleted_at FROM memories m JOIN stores s ON s.id = m.store_id \
             WHERE m.deleted_at IS NOT NULL AND (?1 IS NULL OR s.name = ?1) AND (?2 IS NULL OR m.id = ?2) \
             ORDER BY m.deleted_at DESC, m.seq DESC",
        )
        .bind(store)
        .bind(id)
        .fetch_all(&self.pool)
        .await
        .map_err(MemoryError::db("listing deleted memories"))?;
        rows.iter()
            .map(|r| {
                let get = |e| MemoryError::db("listing deleted memories")(e);
                let content: String = r.try_get("content").map_err(get)?;
                Ok(DeletedMemory {
                    id: r.try_get("id").map_err(get)?,
                    store: r.try_get("name").map_err(get)?,
                    preview: preview(&content, PREVIEW_CHARS),
                    deleted_at: rows::parse_ts(
                        &r.try_get::<String, _>("deleted_at").map_err(get)?,
                    )?,
                })
            })
            .collect()
    }

    /// Removes for good the memories deleted at least `older_than` ago (`Duration::ZERO`: every
    /// deleted memory). Returns how many.
    pub async fn purge_deleted(&self, older_than: Duration) -> Result<u64> {
        let age = chrono::Duration::from_std(older_than).unwrap_or(chrono::Duration::MAX);
        let cutoff = Utc::now()
            .checked_sub_signed(age)
            .unwrap_or(chrono::DateTime::<Utc>::MIN_UTC);
        let done =
            sqlx::query("DELETE FROM memories WHERE deleted_at IS NOT NULL AND deleted_at <= ?1")
                .bind(rows::ts(cutoff))
                .execute(&self.pool)
                .await
                .map_err(MemoryError::db("purging deleted memories"))?;
        if done.rows_affected() > 0 {
            tracing::info!(purged = done.rows_affected(), "purged deleted memories");
        }
        Ok(done.rows_affected())
    }

    /// Figures about `store`.
    pub async fn stats(&self, store: &str) -> Result<StoreStats> {
        let store_id = self.store_id(store).await?;
        let row = sqlx::query(
            "SELECT count(*) FILTER (WHERE deleted_at IS NULL) AS n, \
                    coalesce(avg(importance) FILTER (WHERE deleted_at IS NULL), 0.0) AS avg_imp, \
                    coalesce(sum(access_count) FILTER (WHERE deleted_at IS NULL), 0) AS acc, \
                    count(*) FILTER (WHERE deleted_at IS NOT NULL) AS del \
             FROM memories WHERE store_id = ?1",
        )
        .bind(store_id)
        .fetch_one(&self.pool)
        .await
        .map_err(MemoryError::db("computing statistics"))?;
        let get = |e| MemoryError::db("computing statistics")(e);
        let count: i64 = row.try_get("n").map_err(get)?;
        let accesses: i64 = row.try_get("acc").map_err(get)?;
        let deleted: i64 = row.try_get("del").map_err(get)?;
        let mut bytes = 0;
        for suffix in ["", "-wal", "-shm"] {
            let mut p = self.path.clone().into_os_string();
            p.push(suffix);
            if let Ok(meta) = tokio::fs::metadata(PathBuf::from(p)).await {
                bytes += meta.len();
            }
        }
        Ok(StoreStats {
            store: store.to_owned(),
            count: u64::try_from(count).unwrap_or(0),
            average_importance: row.try_get("avg_imp").map_err(get)?,
            total_accesses: u64::try_from(accesses).unwrap_or(0),
            deleted: u64::try_from(deleted).unwrap_or(0),
            database_bytes: bytes,
        })
    }

    /// Runs SQLite's integrity check; `Ok(())` when the database is sound.
    pub async fn check_integrity(&self) -> Result<()> {
        let rows: Vec<String> = sqlx::query_scalar("PRAGMA integrity_check")
            .fetch_all(&self.pool)
            .await
            .map_err(MemoryError::db("checking integrity"))?;
        sqlx::query("INSERT INTO memories_fts(memories_fts, rank) VALUES ('integrity-check', 1)")
            .execute(&self.pool)
            .await
            .map_err(MemoryError::db("checking the search index"))?;
        if rows == ["ok"] {
            Ok(())
        } else {
            Err(MemoryError::NotADatabase {
                path: self.path.clone(),
                source: rows.join("; ").into(),
            })
        }
    }
}

pub(crate) fn json_text<T: serde::Serialize>(value: &T) -> String {
    // invariant: tags (strings) and metadata (a JSON map) always serialise.
    serde_json::to_string(value).unwrap_or_else(|_| "null".to_owned())
}

/// Applies the embedded migrations. Two processes opening a new database at the same moment can
/// race to create the schema; the loser sees its migration fail and, retrying, finds it applied.
async fn migrate(pool: &SqlitePool, path: &Path) -> Result<()> {
    let mut attempt = 0;
    loop {
        match MIGRATOR.run(pool).await {
            Ok(()) => return Ok(()),
            Err(e) if attempt < 3 => {
                tracing::debug!(error = %e, attempt, "retrying memory schema migration");
                attempt += 1;
                tokio::time::sleep(Duration::from_millis(50 * (attempt + 1))).await;
            }
            Err(e) => return Err(MemoryError::migrate_failed(path, e)),
        }
    }
}
