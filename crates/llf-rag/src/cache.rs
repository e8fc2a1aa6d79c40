//! Query caches: query text → embedding (LRU with TTL) and a semantic results cache that answers
//! a query whose embedding is close enough to one asked before, for the same stores and options.
//!
//! Both can be saved to and loaded from a JSON file so hit/miss statistics and entries survive
//! between CLI runs; expiry uses wall-clock seconds for the same reason.

use std::num::NonZeroUsize;
use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use llf_config::schema::RagCacheSettings;
use lru::LruCache;
use serde::{Deserialize, Serialize};

use crate::store::Hit;
use crate::{RagError, Result};

/// File name of the saved caches in LLF's cache directory (`ConfigFile::paths().cache`); the CLI
/// and chat share it so statistics add up.
pub const CACHE_FILE: &str = "rag-query-cache.json";

/// Hit and miss counts of one cache.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CacheCounts {
    /// Lookups answered from the cache.
    pub hits: u64,
    /// Lookups that were not.
    pub misses: u64,
    /// Entries held now (expired ones included until looked up or evicted).
    pub entries: usize,
}

impl CacheCounts {
    /// Hits as a share of lookups (0 when there were none).
    pub fn hit_rate(&self) -> f64 {
        let total = self.hits + self.misses;
        if total == 0 {
            0.0
        } else {
            self.hits as f64 / total as f64
        }
    }
}

/// Statistics of both caches.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CacheStats {
    /// The query → embedding cache.
    pub embeddings: CacheCounts,
    /// The semantic results cache.
    pub results: CacheCounts,
}

fn now_secs() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or(Duration::ZERO)
        .as_secs_f64()
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct EmbeddingEntry {
    query: String,
    vector: Vec<f32>,
    expires: f64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct ResultEntry {
    key: String,
    vector: Vec<f32>,
    hits: Vec<Hit>,
    expires: f64,
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct Saved {
    stats: CacheStats,
    embeddings: Vec<EmbeddingEntry>,
    results: Vec<ResultEntry>,
}

/// The two query caches with their statistics. Not thread-safe by itself; share it behind a
/// mutex (the [`crate::Retriever`] does).
#[derive(Debug)]
pub struct QueryCache {
    settings: RagCacheSettings,
    embeddings: LruCache<String, EmbeddingEntry>,
    /// Most recently used last.
    results: Vec<ResultEntry>,
    stats: CacheStats,
}

fn capacity(n: usize) -> NonZeroUsize {
    NonZeroUsize::new(n.max(1)).unwrap_or(NonZeroUsize::MIN)
}

impl QueryCache {
    /// Empty caches sized by `settings`.
    pub fn new(settings: RagCacheSettings) -> Self {
        Self {
            embeddings: LruCache::new(capacity(settings.embedding_cache_size)),
            results: Vec::new(),
            stats: CacheStats::default(),
            settings,
        }
    }

    /// Whether the caches are on.
    pub fn enabled(&self) -> bool {
        self.settings.enabled
    }

    /// The cached embedding of `query`, if fresh.
    pub fn embedding(&mut self, query: &str) -> Option<Vec<f32>> {
        if !self.settings.enabled {
            return None;
        }
        let now = now_secs();
        match self.embeddings.get(query) {
            Some(e) if e.expires > now => {
                self.stats.embeddings.hits += 1;
                Some(e.vector.clone())
            }
            Some(_) => {
                self.embeddings.pop(query);
                self.stats.embeddings.misses += 1;
                None
            }
            None => {
                self.stats.embeddings.misses += 1;
                None
            }
        }
    }

    /// Remembers the embedding of `query`.
    pub fn put_embedding(&mut self, query: &str, vector: Vec<f32>) {
        if !self.settings.enabled || self.settings.embedding_cache_size == 0 {
            return;
        }
        let expires = now_secs() + self.settings.embedding_ttl as f64;
        self.embeddings.put(
            query.to_owned(),
            EmbeddingEntry {
                query: query.to_owned(),
                vector,
                expires,
            },
        );
    }

    /// Results stored for a query within the similarity threshold of `vector`, asked with the
    /// same `key` (stores, their versions and the options), if fresh.
    pub fn results(&mut self, key: &str, vector: &[f32]) -> Option<Vec<Hit>> {
        if !self.settings.enabled {
            return None;
        }
        let now = now_secs();
        self.results.retain(|e| e.expires > now);
        let threshold = self.settings.similarity_threshold as f32;
        let best = self
            .results
            .iter()
            .enumerate()
            .filter(|(_, e)| e.key == key && e.vector.len() == vector.len())
            .map(|(i, e)| (i, dot(&e.vector, vector)))
            .filter(|&(_, s)| s >= threshold)
            .max_by(|a, b| a.1.total_cmp(&b.1));
        match best {
            Some((i, _)) => {
                let entry = self.results.remove(i);
                let hits = entry.hits.clone();
                self.results.push(entry);
                self.stats.results.hits += 1;
                Some(hits)
            }
            None => {
                self.stats.results.misses += 1;
                None
            }
        }
    }

    /// Stores `hits` as the results for `vector` under `key`, evicting the least recently used.
    pub fn put_results(&mut self, key: &str, vector: Vec<f32>, hits: Vec<Hit>) {
        let cap = self.settings.results_cache_size;
        if !self.settings.enabled || cap == 0 {
            return;
        }
        while self.results.len() >= cap {
            self.results.remove(0);
        }
        self.results.push(ResultEntry {
            key: key.to_owned(),
            vector,
            hits,
            expires: now_secs() + self.settings.results_ttl as f64,
        });
    }

    /// Hit/miss counts and sizes.
    pub fn stats(&self) -> CacheStats {
        let mut s = self.stats;
        s.embeddings.entries = self.embeddings.len();
        s.results.entries = self.results.len();
        s
    }

    /// Drops every entry and resets the counts.
    pub fn clear(&mut self) {
        self.embeddings.clear();
        self.results.clear();
        self.stats = CacheStats::default();
    }

    /// Loads caches saved by [`QueryCache::save`]; a missing file gives empty caches, a
    /// damaged one is reported.
    pub fn load(path: &Path, settings: RagCacheSettings) -> Result<Self> {
        let mut cache = Self::new(settings);
        let bytes = match std::fs::read(path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(cache),
            Err(e) => return Err(RagError::io(format!("cannot read {}", path.display()), e)),
        };
        let saved: Saved = serde_json::from_slice(&bytes).map_err(|e| {
            RagError::Invalid(format!(
                "the query cache {} is damaged ({e}); clear it with `llf datastore cache-stats --clear`",
                path.display()
            ))
        })?;
        let now = now_secs();
        cache.stats = saved.stats;
        // Oldest first, so the LRU order survives.
        for e in saved.embeddings.into_iter().filter(|e| e.expires > now) {
            cache.embeddings.put(e.query.clone(), e);
        }
        cache.results = saved
            .results
            .into_iter()
            .filter(|e| e.expires > now)
            .collect();
        let cap = cache.settings.results_cache_size;
        if cache.results.len() > cap {
            cache.results.drain(..cache.results.len() - cap);
        }
        Ok(cache)
    }

    /// Saves entries and statistics atomically to `path`.
    pub fn save(&self, path: &Path) -> Result<()> {
        let saved = Saved {
            stats: self.stats,
            embeddings: self
                .embeddings
                .iter()
                .rev()
                .map(|(_, e)| e.clone())
                .collect(),
            results: self.results.clone(),
        };
        let bytes = serde_json::to_vec(&saved)
            .map_err(|e| RagError::Invalid(format!("cannot serialise the query cache: {e}")))?;
        llf_core::fs::atomic_write(path, &bytes, llf_core::fs::PRIVATE)?;
        Ok(())
    }
}

fn dot(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings() -> RagCacheSettings {
        RagCacheSettings {
            embedding_cache_size: 2,
            results_cache_size: 2,
            ..RagCacheSettings::default()
        }
    }

    #[test]
    fn embedding_cache_is_lru() {
        let mut c = QueryCache::new(settings());
        c.put_embedding("a", vec![1.0]);
        c.put_embedding("b", vec![2.0]);
        assert_eq!(c.embedding("a"), Some(vec![1.0]));
        c.put_embedding("c", vec![3.0]);
        assert_eq!(c.embedding("b"), None, "b was least recently used");
        let s = c.stats();
        assert_eq!(
            (s.embeddings.hits, s.embeddings.misses, s.embeddings.entries),
            (1, 1, 2)
        );
    }

    #[test]
    fn results_match_by_similarity_and_key() {
        let mut c = QueryCache::new(settings());
        c.put_results("k", vec![1.0, 0.0], Vec::new());
        assert!(c.results("k", &[0.99, 0.141]).is_some());
        assert!(c.results("k", &[0.0, 1.0]).is_none());
        assert!(c.results("other", &[1.0, 0.0]).is_none());
        assert_eq!(c.stats().results.hits, 1);
        assert_eq!(c.stats().results.misses, 2);
    }

    #[test]
    fn saves_and_loads() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("cache.json");
        let mut c = QueryCache::new(settings());
        c.put_embedding("a", vec![1.0]);
        assert!(c.embedding("a").is_some());
        c.save(&path).unwrap();
        let mut back = QueryCache::load(&path, settings()).unwrap();
        assert_eq!(back.stats().embeddings.hits, 1);
        assert_eq!(back.embedding("a"), Some(vec![1.0]));
        std::fs::write(&path, b"{oops").unwrap();
        assert!(QueryCache::load(&path, settings()).is_err());
    }
}
