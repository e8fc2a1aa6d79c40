//! Retrieval over one or several stores: vector-only or hybrid (vectors fused with BM25 by
//! reciprocal rank fusion), merged by score, cut by top-k and a similarity threshold, with the
//! query caches in front.

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use llf_config::schema::{RagSettings, SearchMode};
use serde::{Deserialize, Serialize};

use crate::cache::{CacheStats, QueryCache};
use crate::embed::{Embedder, EmbedderConfig};
use crate::store::{DataStore, Hit, MatchKind};
use crate::{RagError, Result};

/// The usual reciprocal-rank-fusion constant (Cormack et al.): damps the weight of top ranks.
const RRF_K: f32 = 60.0;

/// How to search.
#[derive(Debug, Clone, PartialEq)]
pub struct QueryOptions {
    /// Hits returned at most.
    pub top_k: usize,
    /// Minimum cosine similarity of a hit.
    pub threshold: f32,
    /// Vector-only or hybrid.
    pub mode: SearchMode,
}

impl Default for QueryOptions {
    fn default() -> Self {
        Self::from_settings(&RagSettings::default())
    }
}

impl QueryOptions {
    /// The options the `rag` settings describe.
    pub fn from_settings(settings: &RagSettings) -> Self {
        Self {
            top_k: settings.top_k,
            threshold: settings.score_threshold as f32,
            mode: settings.search_mode,
        }
    }

    /// Sets top-k.
    #[must_use]
    pub fn top_k(mut self, top_k: usize) -> Self {
        self.top_k = top_k;
        self
    }

    /// Sets the similarity threshold.
    #[must_use]
    pub fn threshold(mut self, threshold: f32) -> Self {
        self.threshold = threshold;
        self
    }

    /// Sets the mode.
    #[must_use]
    pub fn mode(mut self, mode: SearchMode) -> Self {
        self.mode = mode;
        self
    }
}

/// Hits with how they were obtained.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SearchResult {
    /// Best first.
    pub hits: Vec<Hit>,
    /// Milliseconds spent embedding the query (0 when cached).
    pub embed_ms: f64,
    /// Milliseconds spent searching.
    pub search_ms: f64,
    /// The query embedding came from the cache.
    pub embedding_cached: bool,
    /// The hits came from the semantic cache.
    pub results_cached: bool,
}

/// Searches a set of stores with one embedding model.
#[derive(Debug, Clone)]
pub struct Retriever {
    embedder: Embedder,
    stores: Arc<Vec<DataStore>>,
    cache: Option<Arc<Mutex<QueryCache>>>,
}

impl Retriever {
    /// A retriever over `stores`; fails when a store was built with another model.
    pub fn new(embedder: Embedder, stores: Vec<DataStore>) -> Result<Self> {
        for s in &stores {
            s.check_model(embedder.model())?;
        }
        Ok(Self {
            embedder,
            stores: Arc::new(stores),
            cache: None,
        })
    }

    /// Loads the model the `rag` settings name, opens `names` under `data_stores` and, when
    /// `cache_file` is given and `rag.cache.enabled` is on, puts the caches saved there in front.
    pub async fn open(
        settings: &RagSettings,
        data_stores: &Path,
        names: &[String],
        cache_file: Option<&Path>,
    ) -> Result<Self> {
        if names.is_empty() {
            return Err(RagError::Invalid(
                "no data store to search: name one, or attach one with `llf datastore attach`"
                    .into(),
            ));
        }
        let mut stores = Vec::with_capacity(names.len());
        for name in names {
            stores.push(DataStore::open(data_stores, name).await?);
        }
        let embedder = Embedder::load(EmbedderConfig::from_settings(settings)?).await?;
        let mut retriever = Self::new(embedder, stores)?;
        if let Some(path) = cache_file.filter(|_| settings.cache.enabled) {
            retriever = retriever.with_cache(QueryCache::load(path, settings.cache.clone())?);
        }
        Ok(retriever)
    }

    /// Puts `cache` in front of searches.
    #[must_use]
    pub fn with_cache(mut self, cache: QueryCache) -> Self {
        self.cache = Some(Arc::new(Mutex::new(cache)));
        self
    }

    /// The stores searched.
    pub fn stores(&self) -> &[DataStore] {
        &self.stores
    }

    /// The embedding model.
    pub fn embedder(&self) -> &Embedder {
        &self.embedder
    }

    /// Cache statistics, when a cache is in use.
    pub fn cache_stats(&self) -> Option<CacheStats> {
        self.with_cache_lock(|c| c.stats())
    }

    /// Saves the cache to `path` (see [`QueryCache::save`]).
    pub fn save_cache(&self, path: &Path) -> Result<()> {
        match self.with_cache_lock(|c| c.save(path)) {
            Some(r) => r,
            None => Ok(()),
        }
    }

    fn with_cache_lock<T>(&self, f: impl FnOnce(&mut QueryCache) -> T) -> Option<T> {
        let cache = self.cache.as_ref()?;
        let mut guard = cache.lock().ok()?;
        Some(f(&mut guard))
    }

    /// Searches every store for `query`.
    pub async fn search(&self, query: &str, options: &QueryOptions) -> Result<SearchResult> {
        let query = query.trim();
        if query.is_empty() {
            return Err(RagError::Invalid("the query is empty".into()));
        }
        let started = Instant::now();
        let cached = self.with_cache_lock(|c| c.embedding(query)).flatten();
        let embedding_cached = cached.is_some();
        let vector = match cached {
            Some(v) => v,
            None => {
                let v = self.embedder.embed_query(query).await?;
                self.with_cache_lock(|c| c.put_embedding(query, v.clone()));
                v
            }
        };
        let embed_ms = if embedding_cached {
            0.0
        } else {
            started.elapsed().as_secs_f64() * 1000.0
        };
        let searched = Instant::now();
        let key = self.cache_key(options);
        if let Some(hits) = self.with_cache_lock(|c| c.results(&key, &vector)).flatten() {
            return Ok(SearchResult {
                hits,
                embed_ms,
                search_ms: searched.elapsed().as_secs_f64() * 1000.0,
                embedding_cached,
                results_cached: true,
            });
        }
        let hits = self.search_vector(query, &vector, options).await?;
        self.with_cache_lock(|c| c.put_results(&key, vector, hits.clone()));
        let search_ms = searched.elapsed().as_secs_f64() * 1000.0;
        tracing::debug!(
            query_chars = query.len(),
            hits = hits.len(),
            embed_ms,
            search_ms,
            "retrieved"
        );
        Ok(SearchResult {
            hits,
            embed_ms,
            search_ms,
            embedding_cached,
            results_cached: false,
        })
    }

    /// Searches with an already embedded query (no caches).
    pub async fn search_vector(
        &self,
        query: &str,
        vector: &[f32],
        options: &QueryOptions,
    ) -> Result<Vec<Hit>> {
        let k = options.top_k;
        if k == 0 {
            return Ok(Vec::new());
        }
        // Fusion needs more candidates than it returns.
        let candidates = match options.mode {
            SearchMode::Vector => k,
            SearchMode::Hybrid => (k * 4).max(20),
        };
        let mut vector_hits = Vec::new();
        for store in self.stores.iter() {
            vector_hits.extend(store.vector_search(vector, candidates).await?);
        }
        vector_hits.sort_by(|a, b| b.score.total_cmp(&a.score));
        vector_hits.truncate(candidates);
        let mut hits = match options.mode {
            SearchMode::Vector => vector_hits,
            SearchMode::Hybrid => {
                let mut text_lists = Vec::new();
                for store in self.stores.iter() {
                    text_lists.push(store.text_search(query, vector, candidates).await?);
                }
                fuse(vector_hits, text_lists)
            }
        };
        hits.retain(|h| h.score >= options.threshold);
        hits.truncate(k);
        Ok(hits)
    }

    fn cache_key(&self, options: &QueryOptions) -> String {
        let stores: Vec<String> = self
            .stores
            .iter()
            .map(|s| {
                format!(
                    "{}@{}",
                    s.name(),
                    s.manifest().updated_at.timestamp_micros()
                )
            })
            .collect();
        format!(
            "{}|{}|{}|{:?}",
            stores.join(","),
            options.top_k,
            options.threshold,
            options.mode
        )
    }
}

/// Reciprocal rank fusion of the merged vector ranking with each store's BM25 ranking.
fn fuse(vector_hits: Vec<Hit>, text_lists: Vec<Vec<Hit>>) -> Vec<Hit> {
    let mut by_key: HashMap<(String, i64), Hit> = HashMap::new();
    for (rank, mut hit) in vector_hits.into_iter().enumerate() {
        hit.fused = Some(1.0 / (RRF_K + rank as f32 + 1.0));
        by_key.insert((hit.store.clone(), hit.chunk_id), hit);
    }
    for list in text_lists {
        for (rank, hit) in list.into_iter().enumerate() {
            let add = 1.0 / (RRF_K + rank as f32 + 1.0);
            by_key
                .entry((hit.store.clone(), hit.chunk_id))
                .and_modify(|h| {
                    h.fused = Some(h.fused.unwrap_or(0.0) + add);
                    h.matched = MatchKind::Both;
                })
                .or_insert_with(|| Hit {
                    fused: Some(add),
                    ..hit
                });
        }
    }
    let mut hits: Vec<Hit> = by_key.into_values().collect();
    hits.sort_by(|a, b| {
        b.fused
            .unwrap_or(0.0)
            .total_cmp(&a.fused.unwrap_or(0.0))
            .then(b.score.total_cmp(&a.score))
    });
    hits
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hit(store: &str, id: i64, score: f32, matched: MatchKind) -> Hit {
        Hit {
            store: store.into(),
            chunk_id: id,
            source: format!("{id}.txt"),
            position: 0,
            text: String::new(),
            score,
            fused: None,
            matched,
        }
    }

    #[test]
    fn fusion_rewards_agreement() {
        let vector = vec![
            hit("a", 1, 0.9, MatchKind::Vector),
            hit("a", 2, 0.8, MatchKind::Vector),
            hit("b", 3, 0.7, MatchKind::Vector),
        ];
        let text = vec![
            vec![hit("a", 2, 0.8, MatchKind::Text)],
            vec![hit("b", 9, 0.2, MatchKind::Text)],
        ];
        let fused = fuse(vector, text);
        assert_eq!(fused[0].chunk_id, 2, "found by both ranks first");
        assert_eq!(fused[0].matched, MatchKind::Both);
        assert!(
            fused
                .iter()
                .any(|h| h.chunk_id == 9 && h.matched == MatchKind::Text)
        );
        assert_eq!(fused.len(), 4);
    }
}
