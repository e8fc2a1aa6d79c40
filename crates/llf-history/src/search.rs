//! Full-text search over every message (SQLite FTS5, BM25 ranking).

use chrono::{DateTime, Utc};
use llf_core::chat::Role;
use llf_core::text::Highlight;
use serde::Serialize;
use sqlx::Row;

use crate::rows::{self, MESSAGE_COLUMNS, millis};
use crate::store::History;
use crate::types::StoredMessage;
use crate::{HistoryError, Result};

/// A search: words plus optional filters. Build with [`SearchQuery::new`] and the setters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchQuery {
    /// The words; every word must occur (prefix `word*` matches words starting with it).
    pub text: String,
    /// Only messages of this role.
    pub role: Option<Role>,
    /// Only messages written at or after this time.
    pub since: Option<DateTime<Utc>>,
    /// Only messages written before this time.
    pub until: Option<DateTime<Utc>>,
    /// Only this conversation (full id).
    pub conversation: Option<String>,
    /// At most this many hits.
    pub limit: u32,
    /// Markers put around matched words in snippets.
    pub highlight: Highlight,
}

impl SearchQuery {
    /// A query for `text` with no filters, 20 hits, matches marked `[` `]`.
    pub fn new(text: impl Into<String>) -> Self {
        Self {
            text: text.into(),
            role: None,
            since: None,
            until: None,
            conversation: None,
            limit: 20,
            highlight: Highlight::default(),
        }
    }
    /// Only this role.
    pub fn role(mut self, role: Role) -> Self {
        self.role = Some(role);
        self
    }
    /// Only from this time on.
    pub fn since(mut self, t: DateTime<Utc>) -> Self {
        self.since = Some(t);
        self
    }
    /// Only before this time.
    pub fn until(mut self, t: DateTime<Utc>) -> Self {
        self.until = Some(t);
        self
    }
    /// Only this conversation.
    pub fn conversation(mut self, id: impl Into<String>) -> Self {
        self.conversation = Some(id.into());
        self
    }
    /// At most `n` hits.
    pub fn limit(mut self, n: u32) -> Self {
        self.limit = n;
        self
    }
    /// Marks matches with `open` and `close` (e.g. ANSI colours for a terminal; `""`, `""` for
    /// none). The default is brackets, [`Highlight::default`].
    pub fn highlight(mut self, open: impl Into<String>, close: impl Into<String>) -> Self {
        self.highlight = Highlight::new(open, close);
        self
    }
}

/// One search result.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SearchHit {
    /// The matching message.
    pub message: StoredMessage,
    /// Title of its conversation.
    pub conversation_title: String,
    /// An excerpt around the matches, marked with the query's highlight markers.
    pub snippet: String,
    /// BM25 relevance; higher is better.
    pub score: f64,
}

impl History {
    /// Searches every live conversation, best matches first.
    pub async fn search(&self, query: &SearchQuery) -> Result<Vec<SearchHit>> {
        let fts = fts_query(&query.text)?;
        let conversation = match &query.conversation {
            Some(c) => Some(self.resolve(c).await?),
            None => None,
        };
        let rows = sqlx::query(&format!(
            "SELECT {MESSAGE_COLUMNS}, c.title AS conversation_title,
                snippet(messages_fts, 0, ?2, ?3, '…', 16) AS snippet,
                bm25(messages_fts) AS rank
             FROM messages_fts
             JOIN messages m ON m.id = messages_fts.rowid
             JOIN conversations c ON c.id = m.conversation_id
             WHERE messages_fts MATCH ?1
               AND c.deleted_at IS NULL
               AND (?4 IS NULL OR m.role = ?4)
               AND (?5 IS NULL OR m.created_at >= ?5)
               AND (?6 IS NULL OR m.created_at < ?6)
               AND (?7 IS NULL OR m.conversation_id = ?7)
             ORDER BY rank, m.id DESC
             LIMIT ?8"
        ))
        .bind(&fts)
        .bind(&query.highlight.open)
        .bind(&query.highlight.close)
        .bind(query.role.map(Role::as_str))
        .bind(query.since.map(millis))
        .bind(query.until.map(millis))
        .bind(conversation)
        .bind(i64::from(query.limit))
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(SearchHit {
                    message: rows::message(row)?,
                    conversation_title: row.try_get("conversation_title")?,
                    snippet: row.try_get("snippet")?,
                    // FTS5's bm25() is lower-is-better; flip it so callers sort naturally.
                    score: -row.try_get::<f64, _>("rank")?,
                })
            })
            .collect()
    }
}

/// Turns user text into an FTS5 query that cannot be a syntax error: each word becomes a quoted
/// phrase (a trailing `*` is kept as a prefix match), and all of them must match.
pub(crate) fn fts_query(text: &str) -> Result<String> {
    let terms: Vec<String> = text
        .split_whitespace()
        .filter_map(|w| {
            let (word, prefix) = match w.strip_suffix('*') {
                Some(stem) => (stem, true),
                None => (w, false),
            };
            let word = word.replace('"', "\"\"");
            if word.chars().all(|c| !c.is_alphanumeric()) {
                return None;
            }
            Some(if prefix {
                format!("\"{word}\"*")
            } else {
                format!("\"{word}\"")
            })
        })
        .collect();
    if terms.is_empty() {
        return Err(HistoryError::EmptyQuery);
    }
    Ok(terms.join(" "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_text_becomes_safe_fts_query() {
        assert_eq!(fts_query("rust async").unwrap(), "\"rust\" \"async\"");
        assert_eq!(fts_query("tok* \"x").unwrap(), "\"tok\"* \"\"\"x\"");
        assert!(matches!(fts_query("  ( ) "), Err(HistoryError::EmptyQuery)));
    }
}
