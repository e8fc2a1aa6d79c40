//! The values the store takes and returns.

use chrono::{DateTime, Utc};
use llf_core::text::Highlight;
use serde::{Deserialize, Serialize};

use crate::{MemoryError, Result};

/// Free-form extra fields of a memory.
pub type Metadata = serde_json::Map<String, serde_json::Value>;

/// A named memory store.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoreInfo {
    /// Unique name.
    pub name: String,
    /// What the store is for.
    pub description: String,
    /// Whether chats draw context from it.
    pub enabled: bool,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// Memories in it, deleted ones excluded.
    pub memories: u64,
}

/// One memory.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Memory {
    /// Sortable unique id (a ULID).
    pub id: String,
    /// Name of the store holding it.
    pub store: String,
    /// The remembered text.
    pub content: String,
    /// Lower-case tags, sorted, without duplicates.
    pub tags: Vec<String>,
    /// 0.0 (trivia) to 1.0 (essential).
    pub importance: f64,
    /// How often it was retrieved (shown or found by a search).
    pub access_count: u64,
    /// When it was added.
    pub created_at: DateTime<Utc>,
    /// When it was last edited.
    pub updated_at: DateTime<Utc>,
    /// Extra fields.
    pub metadata: Metadata,
}

/// A memory to add; built with [`NewMemory::new`] and its setters.
#[derive(Debug, Clone, PartialEq)]
pub struct NewMemory {
    pub(crate) content: String,
    pub(crate) tags: Vec<String>,
    pub(crate) importance: f64,
    pub(crate) metadata: Metadata,
    pub(crate) created_at: Option<DateTime<Utc>>,
}

impl NewMemory {
    /// Importance of a memory added without one.
    pub const DEFAULT_IMPORTANCE: f64 = 0.5;

    /// A memory with `content`, no tags and the default importance.
    pub fn new(content: impl Into<String>) -> Self {
        Self {
            content: content.into(),
            tags: Vec::new(),
            importance: Self::DEFAULT_IMPORTANCE,
            metadata: Metadata::new(),
            created_at: None,
        }
    }

    /// Sets the tags.
    pub fn tags<I, S>(mut self, tags: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.tags = tags.into_iter().map(Into::into).collect();
        self
    }

    /// Sets the importance (0.0–1.0, checked when added).
    pub fn importance(mut self, importance: f64) -> Self {
        self.importance = importance;
        self
    }

    /// Sets the metadata.
    pub fn metadata(mut self, metadata: Metadata) -> Self {
        self.metadata = metadata;
        self
    }

    /// Sets the creation time (default: now); used when importing older memories.
    pub fn created_at(mut self, at: DateTime<Utc>) -> Self {
        self.created_at = Some(at);
        self
    }

    pub(crate) fn validate(&mut self) -> Result<()> {
        self.content = check_content(&self.content)?;
        check_importance(self.importance)?;
        self.tags = normalize_tags(&self.tags);
        Ok(())
    }
}

/// Changes to a memory; fields left `None` stay as they are.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MemoryUpdate {
    /// New content.
    pub content: Option<String>,
    /// New tags (replace the old ones).
    pub tags: Option<Vec<String>>,
    /// New importance.
    pub importance: Option<f64>,
    /// New metadata (replaces the old).
    pub metadata: Option<Metadata>,
}

impl MemoryUpdate {
    pub(crate) fn validate(&mut self) -> Result<()> {
        if let Some(c) = &self.content {
            self.content = Some(check_content(c)?);
        }
        if let Some(i) = self.importance {
            check_importance(i)?;
        }
        if let Some(t) = &self.tags {
            self.tags = Some(normalize_tags(t));
        }
        Ok(())
    }
}

/// How the words of a search text combine.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MatchMode {
    /// Every word must occur (explicit searches).
    #[default]
    All,
    /// Any word may occur; more matching words rank higher (chat context).
    Any,
}

/// How a tag filter combines.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TagMode {
    /// At least one of the tags.
    #[default]
    Any,
    /// Every tag.
    All,
}

/// A search: text and filters, built with [`SearchQuery::new`] and its setters.
#[derive(Debug, Clone, PartialEq)]
pub struct SearchQuery {
    pub(crate) text: Option<String>,
    pub(crate) match_mode: MatchMode,
    pub(crate) tags: Vec<String>,
    pub(crate) tag_mode: TagMode,
    pub(crate) min_importance: f64,
    pub(crate) since: Option<DateTime<Utc>>,
    pub(crate) until: Option<DateTime<Utc>>,
    pub(crate) limit: usize,
    pub(crate) offset: usize,
    pub(crate) highlight: Highlight,
}

impl Default for SearchQuery {
    fn default() -> Self {
        Self {
            text: None,
            match_mode: MatchMode::All,
            tags: Vec::new(),
            tag_mode: TagMode::Any,
            min_importance: 0.0,
            since: None,
            until: None,
            limit: 10,
            offset: 0,
            highlight: Highlight::default(),
        }
    }
}

impl SearchQuery {
    /// Everything, newest first, 10 at a time.
    pub fn new() -> Self {
        Self::default()
    }

    /// Full-text search for `text`. Any text is accepted: FTS5 syntax in it is treated as words.
    pub fn text(mut self, text: impl Into<String>) -> Self {
        self.text = Some(text.into());
        self
    }

    /// Whether all words or any word must match.
    pub fn match_mode(mut self, mode: MatchMode) -> Self {
        self.match_mode = mode;
        self
    }

    /// Only memories with these tags, combined by `mode`.
    pub fn tags<I, S>(mut self, tags: I, mode: TagMode) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let tags: Vec<String> = tags.into_iter().map(Into::into).collect();
        self.tags = normalize_tags(&tags);
        self.tag_mode = mode;
        self
    }

    /// Only memories at least this important.
    pub fn min_importance(mut self, min: f64) -> Self {
        self.min_importance = min;
        self
    }

    /// Only memories created at or after `at`.
    pub fn since(mut self, at: DateTime<Utc>) -> Self {
        self.since = Some(at);
        self
    }

    /// Only memories created before `at`.
    pub fn until(mut self, at: DateTime<Utc>) -> Self {
        self.until = Some(at);
        self
    }

    /// At most this many hits.
    pub fn limit(mut self, limit: usize) -> Self {
        self.limit = limit;
        self
    }

    /// Skips this many hits (for paging).
    pub fn offset(mut self, offset: usize) -> Self {
        self.offset = offset;
        self
    }

    /// Marks matched words in snippets with `open` and `close` (e.g. ANSI bold for a terminal;
    /// `""`, `""` for none). The default is brackets, [`Highlight::default`].
    pub fn highlight(mut self, open: impl Into<String>, close: impl Into<String>) -> Self {
        self.highlight = Highlight::new(open, close);
        self
    }

    pub(crate) fn validate(&self) -> Result<()> {
        check_importance(self.min_importance)?;
        if let (Some(s), Some(u)) = (self.since, self.until)
            && s >= u
        {
            return Err(MemoryError::InvalidDateRange);
        }
        Ok(())
    }
}

/// One search result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SearchHit {
    /// The memory (its access count already includes this retrieval).
    pub memory: Memory,
    /// Relevance in 0.0–1.0, weighted by importance: `relevance × (0.5 + 0.5 × importance)`,
    /// where relevance is the mean of FTS5's BM25 squashed to 0..1 (`b / (1 + b)`) and the share
    /// of the query's words found. Without search text, the importance.
    pub score: f64,
    /// The matching passage with matched words marked as the query's
    /// [`highlight`](SearchQuery::highlight) says (`[word]` by default); `None` without search
    /// text.
    pub snippet: Option<String>,
}

/// Figures about one store.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoreStats {
    /// The store.
    pub store: String,
    /// Memories, deleted ones excluded.
    pub count: u64,
    /// Mean importance (0 when empty).
    pub average_importance: f64,
    /// Sum of access counts.
    pub total_accesses: u64,
    /// Soft-deleted memories waiting for purge.
    pub deleted: u64,
    /// Bytes the whole memory database takes on disk (all stores, with its journal).
    pub database_bytes: u64,
}

/// A soft-deleted memory, as the trash shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeletedMemory {
    /// The memory's id (what `restore` takes).
    pub id: String,
    /// Its store.
    pub store: String,
    /// The first characters of its content.
    pub preview: String,
    /// When it was deleted.
    pub deleted_at: DateTime<Utc>,
}

fn check_content(content: &str) -> Result<String> {
    let trimmed = content.trim();
    if trimmed.is_empty() {
        return Err(MemoryError::EmptyContent);
    }
    Ok(trimmed.to_owned())
}

pub(crate) fn check_importance(importance: f64) -> Result<()> {
    if (0.0..=1.0).contains(&importance) {
        Ok(())
    } else {
        Err(MemoryError::InvalidImportance(importance))
    }
}

pub(crate) fn normalize_tags(tags: &[String]) -> Vec<String> {
    let mut out: Vec<String> = tags
        .iter()
        .map(|t| t.trim().to_lowercase())
        .filter(|t| !t.is_empty())
        .collect();
    out.sort();
    out.dedup();
    out
}

/// Checks a store name: 1–64 ASCII letters, digits, `-`, `_`.
pub(crate) fn check_store_name(name: &str) -> Result<()> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if ok {
        Ok(())
    } else {
        Err(MemoryError::InvalidStoreName(name.to_owned()))
    }
}

/// The first `max` characters of `text` on one line, with `…` when cut.
pub(crate) fn preview(text: &str, max: usize) -> String {
    let one_line: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    llf_core::text::truncate(&one_line, max).into_owned()
}
