//! Export and import of a store as JSON lines (one [`Memory`](crate::Memory) per line).
//!
//! Both take tokio's async readers and writers (a `tokio::fs::File`, stdout, a socket), so a
//! slow disk or pipe suspends the task instead of blocking a runtime thread.

use std::path::PathBuf;

use chrono::Utc;
use futures::TryStreamExt;
use serde::{Deserialize, Serialize};
use tokio::io::{AsyncBufRead, AsyncBufReadExt, AsyncWrite, AsyncWriteExt};

use crate::record::{SkippedLine, parse_line};
use crate::rows::{self, MEMORY_COLUMNS, NewRow};
use crate::store::MemoryStore;
use crate::{MemoryError, Result};

/// Rows per transaction when importing: large enough to be fast, small enough that a long import
/// does not hold the write lock for long.
const IMPORT_BATCH: usize = 5_000;

/// What an import did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportReport {
    /// The store imported into.
    pub store: String,
    /// Non-empty lines read.
    pub read: u64,
    /// Memories added.
    pub imported: u64,
    /// Valid lines whose memory was there already (a repeated import adds nothing).
    pub already_present: u64,
    /// Lines not imported, with reasons.
    pub skipped: Vec<SkippedLine>,
}

impl MemoryStore {
    /// Writes the live memories of `store` to `out`, one JSON object per line, oldest first.
    /// Returns how many were written. `out` is flushed, not shut down.
    pub async fn export<W>(&self, store: &str, out: &mut W) -> Result<u64>
    where
        W: AsyncWrite + Unpin + Send,
    {
        let store_id = self.store_id(store).await?;
        let sql = format!(
            "SELECT {MEMORY_COLUMNS} FROM memories m JOIN stores s ON s.id = m.store_id \
             WHERE m.store_id = ?1 AND m.deleted_at IS NULL ORDER BY m.created_at, m.seq"
        );
        let mut rows = sqlx::query(&sql).bind(store_id).fetch(&self.pool);
        let mut n = 0;
        let io = |e| MemoryError::io("writing", PathBuf::from("the export"))(e);
        let mut line = Vec::new();
        while let Some(row) = rows
            .try_next()
            .await
            .map_err(MemoryError::db("exporting memories"))?
        {
            let (_, memory) = rows::memory_from_row(&row)?;
            line.clear();
            serde_json::to_writer(&mut line, &memory).map_err(|e| io(e.into()))?;
            line.push(b'\n');
            out.write_all(&line).await.map_err(io)?;
            n += 1;
        }
        out.flush().await.map_err(io)?;
        Ok(n)
    }

    /// Adds the memories in the JSON lines of `input` to `store`. Lines that cannot be used are
    /// skipped and reported; memories already present (same id) are not added twice. Accepts
    /// LLF exports and the Python version's memory files.
    pub async fn import<R>(&self, store: &str, input: R) -> Result<ImportReport>
    where
        R: AsyncBufRead + Unpin + Send,
    {
        self.import_with_progress(store, input, |_| {}).await
    }

    /// [`MemoryStore::import`], calling `progress` with the counts so far after each committed
    /// batch (for a progress display).
    pub async fn import_with_progress<R, F>(
        &self,
        store: &str,
        input: R,
        mut progress: F,
    ) -> Result<ImportReport>
    where
        R: AsyncBufRead + Unpin + Send,
        F: FnMut(&ImportReport) + Send,
    {
        let store_id = self.store_id(store).await?;
        let mut report = ImportReport {
            store: store.to_owned(),
            ..ImportReport::default()
        };
        self.import_lines(
            store_id,
            input,
            PathBuf::from("the import"),
            &mut report,
            &mut progress,
        )
        .await?;
        Ok(report)
    }

    pub(crate) async fn import_lines<R: AsyncBufRead + Unpin + Send>(
        &self,
        store_id: i64,
        input: R,
        source: PathBuf,
        report: &mut ImportReport,
        progress: &mut (dyn FnMut(&ImportReport) + Send),
    ) -> Result<()> {
        let now = Utc::now();
        let mut batch: Vec<NewRow> = Vec::with_capacity(IMPORT_BATCH);
        let mut lines = input.lines();
        let mut number: u64 = 0;
        while let Some(line) = lines
            .next_line()
            .await
            .map_err(MemoryError::io("reading", source.clone()))?
        {
            number += 1;
            let line = line.trim();
            if line.is_empty() {
                continue;
            }
            report.read += 1;
            match parse_line(line, now) {
                Ok(row) => batch.push(row),
                Err(reason) => report.skipped.push(SkippedLine {
                    line: number,
                    reason,
                }),
            }
            if batch.len() == IMPORT_BATCH {
                self.insert_batch(store_id, &mut batch, report).await?;
                progress(report);
            }
        }
        self.insert_batch(store_id, &mut batch, report).await?;
        progress(report);
        Ok(())
    }

    async fn insert_batch(
        &self,
        store_id: i64,
        batch: &mut Vec<NewRow>,
        report: &mut ImportReport,
    ) -> Result<()> {
        if batch.is_empty() {
            return Ok(());
        }
        let mut tx = self.write_tx("importing memories").await?;
        let added = rows::insert_rows(&mut tx, store_id, batch).await?;
        tx.commit()
            .await
            .map_err(MemoryError::db("importing memories"))?;
        report.imported += added;
        report.already_present += batch.len() as u64 - added;
        batch.clear();
        Ok(())
    }
}
