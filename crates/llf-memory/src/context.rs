//! [`MemoryContext`]: long-term memory as a [`ContextProvider`] for chats.

use llf_config::schema::MemorySettings;
use llf_core::BoxError;
use llf_core::context::{ContextItem, ContextProvider, ContextQuery, ContextSection};
use llf_core::text::Highlight;

use crate::store::MemoryStore;
use crate::types::{MatchMode, Memory, NewMemory, SearchHit, SearchQuery};
use crate::{MemoryError, Result};

/// Title of the prompt section memories go into.
pub const SECTION_TITLE: &str = "Relevant memories";

/// Adds the memories most relevant to the user's message to the prompt: the best `top_k` of all
/// enabled stores scoring at least `min_score` (settings from `memory` in the config). Also
/// serves the chat's `/remember` and `/memories` commands.
#[derive(Debug, Clone)]
pub struct MemoryContext {
    store: MemoryStore,
    settings: MemorySettings,
}

impl MemoryContext {
    /// Draws context from `store` as `settings` say.
    pub fn new(store: MemoryStore, settings: MemorySettings) -> Self {
        Self { store, settings }
    }

    /// The underlying store.
    pub fn store(&self) -> &MemoryStore {
        &self.store
    }

    /// Memories relevant to `text` from every enabled store, best first, filtered by the
    /// settings' `top_k` and `min_score`. Text without any word finds nothing.
    pub async fn relevant(&self, text: &str) -> Result<Vec<SearchHit>> {
        let stores = self.enabled_stores().await?;
        let query = SearchQuery::new()
            .text(text)
            .match_mode(MatchMode::Any)
            .limit(self.settings.top_k);
        match self.store.search_stores(&stores, &query).await {
            Ok(hits) => Ok(hits
                .into_iter()
                .filter(|h| h.score >= self.settings.min_score)
                .collect()),
            Err(MemoryError::EmptyQuery(_)) => Ok(Vec::new()),
            Err(e) => Err(e),
        }
    }

    /// Names of the stores chats draw on.
    async fn enabled_stores(&self) -> Result<Vec<String>> {
        Ok(self
            .store
            .list_stores()
            .await?
            .into_iter()
            .filter(|s| s.enabled)
            .map(|s| s.name)
            .collect())
    }

    /// `/remember TEXT`: adds `text` to the default store (created when missing).
    pub async fn remember(&self, text: &str) -> Result<Memory> {
        let name = &self.settings.default_store;
        self.store.ensure_store(name).await?;
        self.store.add(name, NewMemory::new(text)).await
    }

    /// `/memories QUERY`: searches every enabled store (all words of `query` optional, up to 10
    /// hits, no score threshold), for showing to the user. Snippets mark matches with brackets;
    /// [`MemoryContext::recall_with`] picks the markers.
    pub async fn recall(&self, query: &str) -> Result<Vec<SearchHit>> {
        self.recall_with(query, Highlight::default()).await
    }

    /// [`MemoryContext::recall`], with matches in snippets marked by `highlight` (ANSI bold on
    /// a terminal, [`Highlight::none`] for plain text).
    pub async fn recall_with(&self, query: &str, highlight: Highlight) -> Result<Vec<SearchHit>> {
        let stores = self.enabled_stores().await?;
        let query = SearchQuery::new()
            .text(query)
            .match_mode(MatchMode::Any)
            .highlight(highlight.open, highlight.close);
        self.store.search_stores(&stores, &query).await
    }
}

#[async_trait::async_trait]
impl ContextProvider for MemoryContext {
    fn name(&self) -> &str {
        "memory"
    }

    async fn provide(
        &self,
        query: &ContextQuery,
    ) -> std::result::Result<Option<ContextSection>, BoxError> {
        if !self.settings.enabled || self.settings.top_k == 0 {
            return Ok(None);
        }
        let hits = self.relevant(&query.user_message).await?;
        tracing::debug!(
            found = hits.len(),
            top_k = self.settings.top_k,
            min_score = self.settings.min_score,
            "memory context"
        );
        for h in &hits {
            tracing::debug!(id = %h.memory.id, score = h.score, "memory added to context");
        }
        if hits.is_empty() {
            return Ok(None);
        }
        Ok(Some(ContextSection {
            title: SECTION_TITLE.to_owned(),
            items: hits
                .into_iter()
                .map(|h| ContextItem {
                    text: h.memory.content,
                    score: h.score,
                    citation: Some(format!("memory {}", h.memory.id)),
                })
                .collect(),
        }))
    }
}
