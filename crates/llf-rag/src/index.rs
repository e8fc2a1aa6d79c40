//! The FAISS side of a store: building, appending to, searching, reading and writing the vector
//! index. In a store, vector ids are chunk ids of the metadata database.

use std::path::Path;

use faiss::index::IndexImpl;
use faiss::index::autotune::ParameterSpace;
use faiss::{Idx, Index, MetricType};
use llf_config::schema::IndexType;
use serde::{Deserialize, Serialize};

use crate::{RagError, Result};

/// HNSW neighbours per node: FAISS's usual default, a good recall/memory balance at 384 d.
const HNSW_M: usize = 32;
/// HNSW search breadth; raised to `k` when a larger `k` is asked for.
pub const HNSW_EF_SEARCH: usize = 128;

/// How vectors are compared.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Metric {
    /// Inner product of unit vectors: cosine similarity (stores built by LLF).
    InnerProduct,
    /// Squared Euclidean distance (imported `IndexFlatL2` stores).
    L2,
}

impl Metric {
    fn faiss(self) -> MetricType {
        match self {
            Self::InnerProduct => MetricType::InnerProduct,
            Self::L2 => MetricType::L2,
        }
    }

    /// A FAISS distance as a similarity where higher is better; for unit vectors both metrics
    /// give the cosine similarity.
    pub(crate) fn score(self, distance: f32) -> f32 {
        match self {
            Self::InnerProduct => distance,
            Self::L2 => 1.0 - distance / 2.0,
        }
    }
}

/// Inverted lists for `n` vectors: √n (1,000 at 1M), with at least 39 training points per list
/// as FAISS's k-means wants. The common 4·√n trains 4× slower on two cores for little gain at
/// these sizes.
pub fn ivf_lists(n: usize) -> usize {
    let by_sqrt = (n as f64).sqrt() as usize;
    by_sqrt.min(n / 39).max(1)
}

/// Lists probed per query: about 3% of the lists (at least 16), which keeps recall@10 near 0.95
/// on embedding-like data.
pub fn ivf_probes(lists: usize) -> usize {
    (lists / 32).max(16).min(lists)
}

/// Training points per IVF list: k-means quality saturates well below FAISS's cap of 256, and
/// training time is linear in it.
const IVF_TRAIN_PER_LIST: usize = 40;

/// A FAISS index with the parameters needed to search it. Stores use it internally; it is
/// public for benchmarks and for programs that manage vectors themselves.
pub struct VectorIndex {
    inner: IndexImpl,
    metric: Metric,
    kind: IndexType,
    /// Inverted lists probed (IVF only).
    pub nprobe: usize,
}

impl std::fmt::Debug for VectorIndex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VectorIndex")
            .field("kind", &self.kind)
            .field("metric", &self.metric)
            .field("ntotal", &self.inner.ntotal())
            .finish()
    }
}

impl VectorIndex {
    /// Builds an index of `kind` over `vectors` (row-major, `dim` wide) with ids `ids`.
    pub fn build(
        kind: IndexType,
        metric: Metric,
        dim: usize,
        ids: &[i64],
        vectors: &[f32],
    ) -> Result<Self> {
        let n = ids.len();
        if vectors.len() != n * dim {
            return Err(RagError::Invalid(format!(
                "{} values for {n} vectors of dimension {dim}",
                vectors.len()
            )));
        }
        let mut index = Self::empty(kind, metric, dim, n)?;
        if index.needs_training() {
            if n == 0 {
                return Err(RagError::Invalid(
                    "an IVF index needs vectors to train on; add files first".into(),
                ));
            }
            let sample: Vec<f32> = Self::training_rows(n)
                .flat_map(|i| vectors[i * dim..(i + 1) * dim].iter().copied())
                .collect();
            index.train(&sample)?;
        }
        index.add(ids, vectors)?;
        Ok(index)
    }

    /// An empty index of `kind` sized for about `expected` vectors (IVF picks its list count
    /// from it, and must be [trained](Self::train) before vectors are added).
    pub fn empty(kind: IndexType, metric: Metric, dim: usize, expected: usize) -> Result<Self> {
        let (description, nprobe) = match kind {
            IndexType::Flat => ("IDMap,Flat".to_owned(), 0),
            IndexType::Hnsw => (format!("IDMap,HNSW{HNSW_M},Flat"), 0),
            IndexType::Ivf => {
                let lists = ivf_lists(expected);
                // IVF indexes keep their own ids, no IDMap needed.
                (format!("IVF{lists},Flat"), ivf_probes(lists))
            }
        };
        let dim_u32 = u32::try_from(dim)
            .map_err(|_| RagError::Invalid(format!("dimension {dim} is too large")))?;
        let inner = faiss::index_factory(dim_u32, description.as_str(), metric.faiss())
            .map_err(|e| RagError::index("creating an index", &e))?;
        Ok(Self {
            inner,
            metric,
            kind,
            nprobe,
        })
    }

    /// Whether [`Self::train`] must run before vectors are added.
    pub fn needs_training(&self) -> bool {
        !self.inner.is_trained()
    }

    /// The rows of `n` to train an IVF index on: an evenly spread sample, enough for k-means and
    /// far cheaper than everything.
    pub fn training_rows(n: usize) -> impl Iterator<Item = usize> {
        let want = (ivf_lists(n) * IVF_TRAIN_PER_LIST).min(n).max(1);
        let step = (n / want).max(1);
        (0..want).map(move |i| i * step).filter(move |&i| i < n)
    }

    /// Trains the index on `sample` (row-major).
    pub fn train(&mut self, sample: &[f32]) -> Result<()> {
        self.inner
            .train(sample)
            .map_err(|e| RagError::index("training the index", &e))
    }

    /// Reads an index written by [`VectorIndex::write`] or by Python FAISS.
    pub fn read(path: &Path, kind: IndexType, metric: Metric, nprobe: usize) -> Result<Self> {
        let inner = faiss::read_index(path.to_string_lossy().as_ref())
            .map_err(|e| RagError::index("reading the index", &e))?;
        Ok(Self {
            inner,
            metric,
            kind,
            nprobe,
        })
    }

    /// Writes the index atomically: a temporary file in the same directory, then a rename.
    pub fn write(&self, path: &Path) -> Result<()> {
        let tmp = path.with_extension("faiss.tmp");
        faiss::write_index(&self.inner, tmp.to_string_lossy().as_ref())
            .map_err(|e| RagError::index("writing the index", &e))?;
        std::fs::File::open(&tmp)
            .and_then(|f| f.sync_all())
            .map_err(|e| RagError::io(format!("cannot sync {}", tmp.display()), e))?;
        std::fs::rename(&tmp, path)
            .map_err(|e| RagError::io(format!("cannot replace {}", path.display()), e))?;
        if let Some(dir) = path.parent() {
            llf_core::fs::sync_dir(dir);
        }
        Ok(())
    }

    /// Appends vectors with their ids.
    pub fn add(&mut self, ids: &[i64], vectors: &[f32]) -> Result<()> {
        if ids.is_empty() {
            return Ok(());
        }
        let ids: Vec<Idx> = ids.iter().map(|&i| Idx::new(i as u64)).collect();
        self.inner
            .add_with_ids(vectors, &ids)
            .map_err(|e| RagError::index("adding vectors", &e))
    }

    /// Number of vectors.
    pub fn len(&self) -> u64 {
        self.inner.ntotal()
    }

    /// Whether the index holds no vectors.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Vector dimension.
    pub fn dim(&self) -> usize {
        self.inner.d() as usize
    }

    /// The `k` nearest ids with their similarity, best first.
    pub fn search(&mut self, query: &[f32], k: usize) -> Result<Vec<(i64, f32)>> {
        if k == 0 || self.is_empty() {
            return Ok(Vec::new());
        }
        let failed = |e: faiss::error::Error| RagError::index("searching", &e);
        match self.kind {
            IndexType::Hnsw => {
                let space = ParameterSpace::new().map_err(failed)?;
                space
                    .set_index_parameter(&self.inner, "efSearch", HNSW_EF_SEARCH.max(k) as f64)
                    .map_err(failed)?;
            }
            IndexType::Ivf if self.nprobe > 0 => {
                let space = ParameterSpace::new().map_err(failed)?;
                space
                    .set_index_parameter(&self.inner, "nprobe", self.nprobe as f64)
                    .map_err(failed)?;
            }
            _ => {}
        }
        let result = self.inner.search(query, k).map_err(failed)?;
        let metric = self.metric;
        Ok(result
            .labels
            .iter()
            .zip(&result.distances)
            .filter_map(|(label, &d)| label.get().map(|id| (id as i64, metric.score(d))))
            .collect())
    }

    /// The metric FAISS recorded in the index, when it is one LLF understands.
    pub fn faiss_metric(&self) -> Option<Metric> {
        match self.inner.metric_type() {
            MetricType::InnerProduct => Some(Metric::InnerProduct),
            MetricType::L2 => Some(Metric::L2),
        }
    }

    /// Every stored vector, row-major (for `IndexFlat*` written by Python FAISS; ids 0..n).
    pub fn reconstruct_all(&self) -> Result<Vec<f32>> {
        let n = self.len() as usize;
        let mut out = vec![0.0f32; n * self.dim()];
        if n > 0 {
            self.inner
                .reconstruct_n(Idx::new(0), n, &mut out)
                .map_err(|e| RagError::index("reading vectors back", &e))?;
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unit(v: Vec<f32>) -> Vec<f32> {
        crate::embed::normalize(v)
    }

    fn data(n: usize, dim: usize) -> (Vec<i64>, Vec<f32>) {
        let mut flat = Vec::with_capacity(n * dim);
        let mut state = 7u64;
        for _ in 0..n {
            let v: Vec<f32> = (0..dim)
                .map(|_| {
                    state = state
                        .wrapping_mul(6364136223846793005)
                        .wrapping_add(1442695040888963407);
                    ((state >> 33) as f32 / (1u64 << 31) as f32) - 0.5
                })
                .collect();
            flat.extend(unit(v));
        }
        ((0..n as i64).map(|i| i * 10 + 3).collect(), flat)
    }

    #[test]
    fn every_kind_finds_an_exact_copy_and_round_trips() {
        let dim = 16;
        let (ids, flat) = data(2000, dim);
        let dir = tempfile::tempdir().unwrap();
        for kind in [IndexType::Flat, IndexType::Hnsw, IndexType::Ivf] {
            let mut index =
                VectorIndex::build(kind, Metric::InnerProduct, dim, &ids, &flat).unwrap();
            assert_eq!(index.len(), 2000);
            let q = &flat[dim * 42..dim * 43];
            let hits = index.search(q, 5).unwrap();
            assert_eq!(hits[0].0, ids[42], "{kind:?}");
            assert!((hits[0].1 - 1.0).abs() < 1e-4);
            let path = dir.path().join(format!("{kind:?}.faiss"));
            index.write(&path).unwrap();
            let mut back =
                VectorIndex::read(&path, kind, Metric::InnerProduct, index.nprobe).unwrap();
            assert_eq!(back.search(q, 1).unwrap()[0].0, ids[42]);
        }
    }

    #[test]
    fn ivf_list_counts_are_sane() {
        assert_eq!(ivf_lists(10), 1);
        assert_eq!(ivf_lists(1_000_000), 1000);
        assert_eq!(ivf_probes(1000), 31);
        assert!(ivf_probes(4000) >= 16);
        assert_eq!(ivf_probes(1), 1);
    }
}
