//! [`Analytics`]: the SQLite database of usage events.

use std::path::Path;
use std::time::Duration;

use chrono::{DateTime, Utc};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Row, SqlitePool};

use crate::error::{AnalyticsError, Result};
use crate::event::{ToolUse, UsageEvent};

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// Which events a report or an export covers.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Filter {
    /// Only events at or after this time.
    pub since: Option<DateTime<Utc>>,
    /// Only this model's events.
    pub model: Option<String>,
}

/// The usage events: one SQLite database (WAL mode) shared by every LLF process. Cheap to
/// clone; clones share the connection pool.
#[derive(Debug, Clone)]
pub struct Analytics {
    pool: SqlitePool,
}

impl Analytics {
    /// Opens (creating it and its directory when missing) the database at `path`.
    pub async fn open(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let open_err = |source: Box<dyn std::error::Error + Send + Sync>| AnalyticsError::Open {
            path: path.to_owned(),
            source,
        };
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            tokio::fs::create_dir_all(dir)
                .await
                .map_err(|e| open_err(Box::new(e)))?;
        }
        // The same settings as the history database: WAL, NORMAL sync (a crash loses no
        // committed event), writers wait for each other.
        let options = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(Duration::from_secs(10))
            .foreign_keys(true);
        let pool = SqlitePoolOptions::new()
            .max_connections(4)
            .connect_with(options)
            .await
            .map_err(|e| open_err(Box::new(e)))?;
        if let Err(first) = MIGRATOR.run(&pool).await {
            // Two processes creating the database at once: the second run finds nothing to do.
            tracing::debug!(error = %first, "analytics migration raced; retrying");
            tokio::time::sleep(Duration::from_millis(250)).await;
            MIGRATOR
                .run(&pool)
                .await
                .map_err(|source| AnalyticsError::Migrate {
                    path: path.to_owned(),
                    source,
                })?;
        }
        Ok(Self { pool })
    }

    /// Records one event (with its tool calls) in one transaction.
    pub async fn record(&self, e: &UsageEvent) -> Result<()> {
        let mut tx = self.pool.begin().await?;
        let id: i64 = sqlx::query(
            "INSERT INTO usage_events (at_ms, conversation, model, endpoint, prompt_tokens, \
             completion_tokens, ttft_ms, total_ms, tokens_per_second, error, cost) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
        )
        .bind(e.at.timestamp_millis())
        .bind(&e.conversation)
        .bind(&e.model)
        .bind(&e.endpoint)
        .bind(e.prompt_tokens as i64)
        .bind(e.completion_tokens as i64)
        .bind(e.time_to_first_token.map(ms))
        .bind(ms(e.total))
        .bind(e.tokens_per_second)
        .bind(&e.error)
        .bind(e.cost)
        .fetch_one(&mut *tx)
        .await?
        .try_get(0)?;
        for t in &e.tools {
            sqlx::query(
                "INSERT INTO tool_uses (event_id, name, success, duration_ms) VALUES (?, ?, ?, ?)",
            )
            .bind(id)
            .bind(&t.name)
            .bind(t.success)
            .bind(ms(t.duration))
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// The events `filter` selects, oldest first.
    pub async fn events(&self, filter: &Filter) -> Result<Vec<UsageEvent>> {
        let since = filter.since.map_or(i64::MIN, |t| t.timestamp_millis());
        let rows = sqlx::query(
            "SELECT id, at_ms, conversation, model, endpoint, prompt_tokens, completion_tokens, \
             ttft_ms, total_ms, tokens_per_second, error, cost FROM usage_events \
             WHERE at_ms >= ? AND (? IS NULL OR model = ?) ORDER BY at_ms, id",
        )
        .bind(since)
        .bind(&filter.model)
        .bind(&filter.model)
        .fetch_all(&self.pool)
        .await?;
        let tools = sqlx::query(
            "SELECT t.event_id, t.name, t.success, t.duration_ms FROM tool_uses t \
             JOIN usage_events e ON e.id = t.event_id \
             WHERE e.at_ms >= ? AND (? IS NULL OR e.model = ?) ORDER BY t.rowid",
        )
        .bind(since)
        .bind(&filter.model)
        .bind(&filter.model)
        .fetch_all(&self.pool)
        .await?;
        let mut by_event: std::collections::HashMap<i64, Vec<ToolUse>> = Default::default();
        for r in tools {
            by_event
                .entry(r.try_get("event_id")?)
                .or_default()
                .push(ToolUse {
                    name: r.try_get("name")?,
                    success: r.try_get("success")?,
                    duration: from_ms(r.try_get("duration_ms")?),
                });
        }
        rows.into_iter()
            .map(|r| {
                let id: i64 = r.try_get("id")?;
                let at_ms: i64 = r.try_get("at_ms")?;
                Ok(UsageEvent {
                    at: DateTime::from_timestamp_millis(at_ms).unwrap_or_default(),
                    conversation: r.try_get("conversation")?,
                    model: r.try_get("model")?,
                    endpoint: r.try_get("endpoint")?,
                    prompt_tokens: r.try_get::<i64, _>("prompt_tokens")?.max(0) as u64,
                    completion_tokens: r.try_get::<i64, _>("completion_tokens")?.max(0) as u64,
                    time_to_first_token: r.try_get::<Option<f64>, _>("ttft_ms")?.map(from_ms),
                    total: from_ms(r.try_get("total_ms")?),
                    tokens_per_second: r.try_get("tokens_per_second")?,
                    tools: by_event.remove(&id).unwrap_or_default(),
                    error: r.try_get("error")?,
                    cost: r.try_get("cost")?,
                })
            })
            .collect()
    }

    /// Deletes the events older than `before`; returns how many.
    pub async fn purge_before(&self, before: DateTime<Utc>) -> Result<u64> {
        let done = sqlx::query("DELETE FROM usage_events WHERE at_ms < ?")
            .bind(before.timestamp_millis())
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected())
    }

    /// Closes the pool.
    pub async fn close(&self) {
        self.pool.close().await;
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// Back to a duration, to the microsecond (what a float of milliseconds keeps exactly).
fn from_ms(v: f64) -> Duration {
    Duration::from_micros((v * 1000.0).round().max(0.0) as u64)
}
