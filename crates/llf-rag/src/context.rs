//! Retrieval as chat context: [`RagContext`] implements `llf_core`'s prompt-building hook, so the
//! runtime adds the chunks relevant to each user message, with citations, without knowing this
//! crate.

use std::path::Path;
use std::sync::Arc;

use llf_config::schema::RagSettings;

use llf_core::BoxError;
use llf_core::context::{ContextItem, ContextProvider, ContextQuery, ContextSection};

use crate::search::{QueryOptions, Retriever};

/// Title of the prompt section the retrieved chunks go into.
pub const SECTION_TITLE: &str = "Relevant documents";

/// A [`ContextProvider`] over the attached data stores.
#[derive(Debug, Clone)]
pub struct RagContext {
    retriever: Arc<Retriever>,
    options: QueryOptions,
}

impl RagContext {
    /// Context from `retriever`, searching with `options`.
    pub fn new(retriever: Retriever, options: QueryOptions) -> Self {
        Self {
            retriever: Arc::new(retriever),
            options,
        }
    }

    /// The provider the `rag` settings describe: the embedding model from
    /// `rag.embedding_model_dir`, the stores in `rag.attached_stores` under `data_stores`
    /// (`ConfigFile::paths().data_stores`), the caches of `rag.cache` loaded from `cache_file`
    /// when given, and the query options of `rag`. `None` when `rag.enabled` is off or no store
    /// is attached; an error when a store is missing, damaged or built with another model.
    pub async fn from_settings(
        settings: &RagSettings,
        data_stores: &Path,
        cache_file: Option<&Path>,
    ) -> crate::Result<Option<Self>> {
        if !settings.enabled || settings.attached_stores.is_empty() {
            return Ok(None);
        }
        let retriever =
            Retriever::open(settings, data_stores, &settings.attached_stores, cache_file).await?;
        Ok(Some(Self::new(
            retriever,
            QueryOptions::from_settings(settings),
        )))
    }

    /// The retriever (for cache statistics, or to save the cache at the end of a session).
    pub fn retriever(&self) -> &Retriever {
        &self.retriever
    }
}

#[async_trait::async_trait]
impl ContextProvider for RagContext {
    fn name(&self) -> &str {
        "rag"
    }

    async fn provide(&self, query: &ContextQuery) -> Result<Option<ContextSection>, BoxError> {
        if query.user_message.trim().is_empty() || self.retriever.stores().is_empty() {
            return Ok(None);
        }
        let result = self
            .retriever
            .search(&query.user_message, &self.options)
            .await?;
        tracing::debug!(
            query = %query.user_message,
            hits = result.hits.len(),
            embed_ms = result.embed_ms,
            search_ms = result.search_ms,
            results_cached = result.results_cached,
            "rag context retrieved"
        );
        for h in &result.hits {
            tracing::debug!(store = %h.store, citation = %h.citation(), score = h.score, fused = h.fused, "rag hit");
        }
        if result.hits.is_empty() {
            return Ok(None);
        }
        let items = result
            .hits
            .into_iter()
            .map(|h| ContextItem {
                citation: Some(format!("{} ({})", h.citation(), h.store)),
                score: f64::from(h.score),
                text: h.text,
            })
            .collect();
        Ok(Some(ContextSection {
            title: SECTION_TITLE.to_owned(),
            items,
        }))
    }
}
