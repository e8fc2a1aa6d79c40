//! Opening the database and managing conversations.

use std::path::Path;
use std::time::Duration;

use chrono::Utc;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Row, SqlitePool};

use crate::rows::{self, CONVERSATION_COLUMNS, millis};
use crate::types::{Conversation, ConversationSummary, ListFilter, check_title};
use crate::{HistoryError, Result};

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// The conversation history: one SQLite database (WAL mode) shared by every LLF process.
///
/// Cheap to clone; clones share the connection pool.
#[derive(Debug, Clone)]
pub struct History {
    pub(crate) pool: SqlitePool,
}

impl History {
    /// Opens (creating it and its directory when missing) the database at `path` and brings its
    /// schema up to date.
    ///
    /// A file that is damaged or is not an SQLite database gives [`HistoryError::NotADatabase`]
    /// and is left as it is.
    pub async fn open(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            tokio::fs::create_dir_all(dir)
                .await
                .map_err(|e| HistoryError::Open {
                    path: path.to_owned(),
                    source: Box::new(e),
                })?;
        }
        let options = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            // In WAL mode NORMAL loses no committed transaction when the process dies; only a
            // power cut may drop the last few, which is the trade every chat app makes.
            .synchronous(SqliteSynchronous::Normal)
            // Writers wait for each other: every write runs in a `BEGIN IMMEDIATE` transaction,
            // which takes the write lock up front, so the busy timeout applies (a deferred
            // transaction that read first would fail at once on a stale snapshot instead).
            .busy_timeout(Duration::from_secs(10))
            .foreign_keys(true);
        let pool = SqlitePoolOptions::new()
            .max_connections(4)
            .connect_with(options)
            .await
            .map_err(|e| HistoryError::open_failed(path, e))?;
        if let Err(first) = MIGRATOR.run(&pool).await {
            // Two processes opening a new database at once both try to create the schema; the
            // loser's snapshot is stale. Once the winner is done, a second run finds nothing to
            // do. Any other failure repeats and is reported.
            tracing::debug!(error = %first, "history migration raced; retrying");
            tokio::time::sleep(Duration::from_millis(250)).await;
            MIGRATOR
                .run(&pool)
                .await
                .map_err(|e| HistoryError::migrate_failed(path, e))?;
        }
        tracing::debug!(path = %path.display(), "history database open");
        Ok(Self { pool })
    }

    /// Closes the pool, waiting for connections to finish.
    pub async fn close(&self) {
        self.pool.close().await;
    }

    /// Starts a conversation. The title is trimmed and must hold some text, at most
    /// [`MAX_TITLE_CHARS`](crate::MAX_TITLE_CHARS) characters.
    pub async fn create_conversation(
        &self,
        title: impl Into<String>,
        model: Option<String>,
    ) -> Result<Conversation> {
        let now = Utc::now();
        let conv = Conversation {
            id: ulid::Ulid::new().to_string(),
            title: check_title(&title.into())?,
            model,
            created_at: now,
            updated_at: now,
            current_leaf: None,
            deleted_at: None,
            source_id: None,
        };
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        sqlx::query(
            "INSERT INTO conversations (id, title, model, created_at, updated_at) VALUES (?1, ?2, ?3, ?4, ?4)",
        )
        .bind(&conv.id)
        .bind(&conv.title)
        .bind(&conv.model)
        .bind(millis(now))
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        tracing::debug!(conversation = %conv.id, "conversation created");
        Ok(conv)
    }

    /// Resolves a full id or a unique prefix (case-insensitive) to a full id, deleted or not.
    pub async fn resolve(&self, id_or_prefix: &str) -> Result<String> {
        let wanted = id_or_prefix.trim().to_ascii_uppercase();
        if wanted.is_empty() {
            return Err(HistoryError::ConversationNotFound(id_or_prefix.to_owned()));
        }
        let ids: Vec<String> = sqlx::query_scalar(
            "SELECT id FROM conversations WHERE substr(id, 1, length(?1)) = ?1 LIMIT 2",
        )
        .bind(&wanted)
        .fetch_all(&self.pool)
        .await?;
        match ids.as_slice() {
            [one] => Ok(one.clone()),
            [] => Err(HistoryError::ConversationNotFound(id_or_prefix.to_owned())),
            _ => Err(HistoryError::AmbiguousId(id_or_prefix.to_owned())),
        }
    }

    /// The conversation with this id or unique id prefix, deleted or not.
    pub async fn conversation(&self, id_or_prefix: &str) -> Result<Conversation> {
        let id = self.resolve(id_or_prefix).await?;
        let row = sqlx::query(&format!(
            "SELECT {CONVERSATION_COLUMNS} FROM conversations c WHERE c.id = ?1"
        ))
        .bind(&id)
        .fetch_optional(&self.pool)
        .await?
        .ok_or_else(|| HistoryError::ConversationNotFound(id.clone()))?;
        rows::conversation(&row)
    }

    /// Like [`History::conversation`], but refuses a deleted conversation.
    pub(crate) async fn live(&self, id_or_prefix: &str) -> Result<Conversation> {
        let conv = self.conversation(id_or_prefix).await?;
        if conv.deleted_at.is_some() {
            return Err(HistoryError::Deleted(conv.id));
        }
        Ok(conv)
    }

    /// Conversations, most recently updated first.
    pub async fn list(&self, filter: &ListFilter) -> Result<Vec<ConversationSummary>> {
        let rows = sqlx::query(&format!(
            "SELECT {CONVERSATION_COLUMNS},
                (SELECT count(*) FROM messages m WHERE m.conversation_id = c.id) AS message_count,
                (SELECT count(*) FROM messages m WHERE m.conversation_id = c.id
                    AND NOT EXISTS (SELECT 1 FROM messages k WHERE k.parent_id = m.id)) AS branch_count
             FROM conversations c
             WHERE (c.deleted_at IS NOT NULL) = ?1
             ORDER BY c.updated_at DESC, c.id DESC
             LIMIT ?2"
        ))
        .bind(filter.deleted)
        .bind(filter.limit.map_or(-1, i64::from))
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(ConversationSummary {
                    conversation: rows::conversation(row)?,
                    message_count: u64::try_from(row.try_get::<i64, _>("message_count")?)
                        .unwrap_or(0),
                    branch_count: u64::try_from(row.try_get::<i64, _>("branch_count")?)
                        .unwrap_or(0),
                })
            })
            .collect()
    }

    /// Gives a conversation a new title: trimmed, with some text, at most
    /// [`MAX_TITLE_CHARS`](crate::MAX_TITLE_CHARS) characters.
    pub async fn rename(
        &self,
        id_or_prefix: &str,
        title: impl Into<String>,
    ) -> Result<Conversation> {
        let title = check_title(&title.into())?;
        let conv = self.live(id_or_prefix).await?;
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        sqlx::query("UPDATE conversations SET title = ?2, updated_at = ?3 WHERE id = ?1")
            .bind(&conv.id)
            .bind(&title)
            .bind(millis(Utc::now()))
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        self.conversation(&conv.id).await
    }

    /// Soft-deletes a conversation: it disappears from lists and searches until
    /// [`History::restore`] brings it back, or [`History::purge_deleted`] removes it for good
    /// once the trash retention has passed.
    pub async fn delete(&self, id_or_prefix: &str) -> Result<Conversation> {
        let conv = self.live(id_or_prefix).await?;
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        sqlx::query("UPDATE conversations SET deleted_at = ?2 WHERE id = ?1")
            .bind(&conv.id)
            .bind(millis(Utc::now()))
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        tracing::info!(conversation = %conv.id, "conversation moved to the trash");
        self.conversation(&conv.id).await
    }

    /// Undoes [`History::delete`].
    pub async fn restore(&self, id_or_prefix: &str) -> Result<Conversation> {
        let conv = self.conversation(id_or_prefix).await?;
        if conv.deleted_at.is_none() {
            return Err(HistoryError::NotDeleted(conv.id));
        }
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        sqlx::query("UPDATE conversations SET deleted_at = NULL WHERE id = ?1")
            .bind(&conv.id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        tracing::info!(conversation = %conv.id, "conversation restored");
        self.conversation(&conv.id).await
    }

    /// Removes for good the conversations deleted at least `retention` ago; returns how many.
    pub async fn purge_deleted(&self, retention: Duration) -> Result<u64> {
        let cutoff = chrono::Duration::from_std(retention)
            .ok()
            .and_then(|d| Utc::now().checked_sub_signed(d))
            .unwrap_or(chrono::DateTime::<Utc>::MIN_UTC);
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        // Messages first and explicitly, so the full-text triggers see every deletion.
        sqlx::query(
            "DELETE FROM messages WHERE conversation_id IN
                (SELECT id FROM conversations WHERE deleted_at IS NOT NULL AND deleted_at <= ?1)",
        )
        .bind(millis(cutoff))
        .execute(&mut *tx)
        .await?;
        let done = sqlx::query(
            "DELETE FROM conversations WHERE deleted_at IS NOT NULL AND deleted_at <= ?1",
        )
        .bind(millis(cutoff))
        .execute(&mut *tx)
        .await?
        .rows_affected();
        tx.commit().await?;
        if done > 0 {
            tracing::info!(conversations = done, "purged deleted conversations");
        }
        Ok(done)
    }
}
