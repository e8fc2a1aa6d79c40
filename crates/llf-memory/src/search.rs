//! Search: FTS5 BM25 candidates, filters in SQL, importance weighting, snippets for the page only.
//!
//! Speed at a million memories comes from never scoring more than needed: BM25 is computed for at
//! most the newest [`WINDOW`] matches (found by a cheap rowid scan), FTS5 keeps the best `pool`
//! of them (`ORDER BY rank LIMIT`), filters and importance are applied to that pool, which grows
//! only when filters leave too few rows, and `snippet()` runs for the returned page alone.

use std::collections::HashMap;

use sqlx::Row;
use sqlx::sqlite::SqliteRow;

use crate::rows::{self, MEMORY_COLUMNS};
use crate::store::{MemoryStore, json_text};
use crate::types::{Memory, SearchHit, SearchQuery, TagMode};
use crate::{MemoryError, Result, fts};

/// Smallest candidate pool taken from the FTS index.
const MIN_POOL: usize = 100;

/// What re-ranking a candidate needs; full rows are read for the returned page only.
const LIGHT_COLUMNS: &str = "m.seq, m.importance, m.content";

/// Matches that compete in BM25 ranking: a word found in more memories than this (a very common
/// word in a large store) is ranked among its most recent `WINDOW` matches only. Scoring costs
/// about a microsecond per match, so this bounds a search at a few milliseconds however common
/// the words; recent memories are the likelier relevant ones. The window grows when filters
/// leave too few results.
const WINDOW: usize = 2_000;

impl MemoryStore {
    /// Searches `store`; see [`SearchQuery`] for the filters. Every returned memory counts as
    /// accessed.
    pub async fn search(&self, store: &str, query: &SearchQuery) -> Result<Vec<SearchHit>> {
        self.search_stores(&[store.to_owned()], query).await
    }

    /// Searches several stores at once (chat context draws on every enabled store).
    pub async fn search_stores(
        &self,
        stores: &[String],
        query: &SearchQuery,
    ) -> Result<Vec<SearchHit>> {
        query.validate()?;
        let mut ids = Vec::with_capacity(stores.len());
        for s in stores {
            ids.push(self.store_id(s).await?);
        }
        if query.limit == 0 || ids.is_empty() {
            return Ok(Vec::new());
        }
        let mut hits = match &query.text {
            Some(text) => self.text_search(&ids, text, query).await?,
            None => self.filter_only(&ids, query).await?,
        };
        self.count_access(&mut hits).await?;
        Ok(hits)
    }

    async fn text_search(
        &self,
        store_ids: &[i64],
        text: &str,
        query: &SearchQuery,
    ) -> Result<Vec<SearchHit>> {
        let parsed = fts::parse(text, query.match_mode)?;
        let expr = &parsed.expr;
        let want = query.offset.saturating_add(query.limit);
        let mut pool = want.saturating_mul(5).max(MIN_POOL);
        let mut window = WINDOW.max(pool);
        let (rows, ranks) = loop {
            // Newest `window` matches: cheap (no scoring), and tells whether there are more.
            let (count, oldest): (i64, Option<i64>) = sqlx::query_as(
                "SELECT count(*), min(r) FROM (SELECT rowid AS r FROM memories_fts \
                 WHERE memories_fts MATCH ?1 ORDER BY rowid DESC LIMIT ?2)",
            )
            .bind(expr)
            .bind(i64::try_from(window).unwrap_or(i64::MAX))
            .fetch_one(&self.pool)
            .await
            .map_err(MemoryError::db("searching memories"))?;
            let windowed = usize::try_from(count).unwrap_or(0) >= window;
            // FTS5's `ORDER BY rank` fast path ignores the rowid bound and scores every match;
            // an explicit bm25() honours it (4x faster for the commonest words at 1M).
            let ranked = if windowed {
                "SELECT rowid, bm25(memories_fts) AS b FROM memories_fts \
                 WHERE memories_fts MATCH ?1 AND rowid >= ?3 ORDER BY b LIMIT ?2"
            } else {
                "SELECT rowid, rank FROM memories_fts WHERE memories_fts MATCH ?1 ORDER BY rank LIMIT ?2"
            };
            let candidates: Vec<(i64, f64)> = sqlx::query_as(ranked)
                .bind(expr)
                .bind(i64::try_from(pool).unwrap_or(i64::MAX))
                .bind(if windowed {
                    oldest.unwrap_or(0)
                } else {
                    i64::MIN
                })
                .fetch_all(&self.pool)
                .await
                .map_err(MemoryError::db("searching memories"))?;
            let exhausted = candidates.len() < pool && !windowed;
            let seqs: Vec<i64> = candidates.iter().map(|c| c.0).collect();
            let rows: Vec<(i64, f64, String)> = self
                .filtered(
                    store_ids,
                    query,
                    LIGHT_COLUMNS,
                    Some(&json_text(&seqs)),
                    None,
                )
                .await?
                .iter()
                .map(|r| {
                    Ok((
                        r.try_get("seq")?,
                        r.try_get("importance")?,
                        r.try_get("content")?,
                    ))
                })
                .collect::<std::result::Result<_, sqlx::Error>>()
                .map_err(MemoryError::db("searching memories"))?;
            if rows.len() >= want || exhausted {
                break (rows, candidates.into_iter().collect::<HashMap<_, _>>());
            }
            pool = pool.saturating_mul(8);
            window = window.saturating_mul(8);
        };
        let mut scored: Vec<(i64, f64)> = rows
            .into_iter()
            .map(|(seq, importance, content)| {
                // FTS5's bm25 is negative, lower is better; squash its magnitude into 0..1. In a
                // small store BM25's IDF is near zero for any word in half the memories, so the
                // share of query words found carries half of the relevance.
                let bm25 = -ranks.get(&seq).copied().unwrap_or(0.0);
                let bm25 = bm25.max(0.0) / (1.0 + bm25.max(0.0));
                let relevance = 0.5 * bm25 + 0.5 * fts::coverage(&parsed.terms, &content);
                (seq, relevance * (0.5 + 0.5 * importance))
            })
            .collect();
        scored.sort_by(|a, b| b.1.total_cmp(&a.1).then(b.0.cmp(&a.0)));
        scored.truncate(want);
        let page: Vec<(i64, f64)> = scored.into_iter().skip(query.offset).collect();
        if page.is_empty() {
            return Ok(Vec::new());
        }
        // Full rows and snippets for the page only, in one round trip.
        let seqs: Vec<i64> = page.iter().map(|p| p.0).collect();
        let sql = format!(
            "SELECT {MEMORY_COLUMNS}, (SELECT snippet(memories_fts, 0, ?3, ?4, '…', 16) \
             FROM memories_fts WHERE memories_fts MATCH ?1 AND rowid = m.seq) AS snippet \
             FROM memories m JOIN stores s ON s.id = m.store_id \
             WHERE m.seq IN (SELECT value FROM json_each(?2))"
        );
        let rows = sqlx::query(&sql)
            .bind(expr)
            .bind(json_text(&seqs))
            .bind(&query.highlight.open)
            .bind(&query.highlight.close)
            .fetch_all(&self.pool)
            .await
            .map_err(MemoryError::db("searching memories"))?;
        let mut full: HashMap<i64, (Memory, Option<String>)> = HashMap::with_capacity(rows.len());
        for row in &rows {
            let (seq, memory) = rows::memory_from_row(row)?;
            let snippet = row
                .try_get("snippet")
                .map_err(MemoryError::db("searching memories"))?;
            full.insert(seq, (memory, snippet));
        }
        Ok(page
            .into_iter()
            .filter_map(|(seq, score)| {
                full.remove(&seq).map(|(memory, snippet)| SearchHit {
                    memory,
                    score,
                    snippet,
                })
            })
            .collect())
    }

    async fn filter_only(&self, store_ids: &[i64], query: &SearchQuery) -> Result<Vec<SearchHit>> {
        let rows = self
            .filtered(
                store_ids,
                query,
                MEMORY_COLUMNS,
                None,
                Some((query.limit, query.offset)),
            )
            .await?;
        rows.iter()
            .map(|row| {
                let (_, memory) = rows::memory_from_row(row)?;
                Ok(SearchHit {
                    score: memory.importance,
                    memory,
                    snippet: None,
                })
            })
            .collect()
    }

    /// `columns` of the live memories of `store_ids` passing the query's filters, restricted to
    /// the rowids in `seqs` (a JSON array) when given; newest first, paged by `page` when given.
    async fn filtered(
        &self,
        store_ids: &[i64],
        query: &SearchQuery,
        columns: &str,
        seqs: Option<&str>,
        page: Option<(usize, usize)>,
    ) -> Result<Vec<SqliteRow>> {
        let tag_clause = match query.tag_mode {
            TagMode::Any => {
                "EXISTS (SELECT 1 FROM json_each(m.tags) t WHERE t.value IN (SELECT value FROM json_each(?5)))"
            }
            TagMode::All => {
                "(SELECT count(*) FROM json_each(m.tags) t WHERE t.value IN (SELECT value FROM json_each(?5))) = json_array_length(?5)"
            }
        };
        let mut sql = format!(
            "SELECT {columns} FROM memories m JOIN stores s ON s.id = m.store_id \
             WHERE m.store_id IN (SELECT value FROM json_each(?1)) AND m.deleted_at IS NULL \
             AND m.importance >= ?2 AND (?3 IS NULL OR m.created_at >= ?3) \
             AND (?4 IS NULL OR m.created_at < ?4) AND (?5 IS NULL OR {tag_clause})"
        );
        if seqs.is_some() {
            sql.push_str(" AND m.seq IN (SELECT value FROM json_each(?6))");
        }
        if page.is_some() {
            sql.push_str(" ORDER BY m.created_at DESC, m.seq DESC LIMIT ?7 OFFSET ?8");
        }
        let (limit, offset) = page.unwrap_or((0, 0));
        let tags = (!query.tags.is_empty()).then(|| json_text(&query.tags));
        let rows = sqlx::query(&sql)
            .bind(json_text(&store_ids))
            .bind(query.min_importance)
            .bind(query.since.map(rows::ts))
            .bind(query.until.map(rows::ts))
            .bind(tags)
            .bind(seqs)
            .bind(i64::try_from(limit).unwrap_or(i64::MAX))
            .bind(i64::try_from(offset).unwrap_or(i64::MAX))
            .fetch_all(&self.pool)
            .await
            .map_err(MemoryError::db("searching memories"))?;
        Ok(rows)
    }

    async fn count_access(&self, hits: &mut [SearchHit]) -> Result<()> {
        if hits.is_empty() {
            return Ok(());
        }
        let ids: Vec<&str> = hits.iter().map(|h| h.memory.id.as_str()).collect();
        sqlx::query(
            "UPDATE memories SET access_count = access_count + 1 WHERE id IN (SELECT value FROM json_each(?1))",
        )
        .bind(json_text(&ids))
        .execute(&self.pool)
        .await
        .map_err(MemoryError::db("counting accesses"))?;
        for h in hits {
            h.memory.access_count += 1;
        }
        Ok(())
    }
}
