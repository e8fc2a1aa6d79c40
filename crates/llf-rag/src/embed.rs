//! Local text embeddings with fastembed over an ONNX model directory.
//!
//! One ONNX session per process, created when first used (a process that never embeds pays
//! nothing), with every configured thread as intra-op threads. A session holds its own copy of
//! the weights (about 100 MB for the int8 all-MiniLM-L6-v2, whose weights ONNX Runtime expands
//! to float) plus the working memory of a batch, so a pool of one session per core, which ran
//! batches side by side, cost 100–160 MB per core: 1.9 GB on a machine with many cores. Memory
//! now stays flat whatever the core count, for some throughput on small machines (see
//! docs/PERFORMANCE.md).
//!
//! Throughput comes from sorting texts by length so a batch pads little. Batch memory grows with
//! the texts per batch times the square of their padded length, so batches are sized by a token
//! budget: short texts go many at a time, full-length chunks two at a time,
//! which is as fast per text and keeps a batch's working memory near 80 MB. ONNX Runtime's arena
//! is off, so that memory is returned after each batch instead of kept at its high-water mark.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use fastembed::{
    InitOptionsUserDefined, Pooling, TextEmbedding, TokenizerFiles, UserDefinedEmbeddingModel,
};
use llf_config::schema::RagSettings;
use serde::{Deserialize, Serialize};

use crate::{RagError, Result};

/// Tokens kept per text: the length all-MiniLM-L6-v2 was trained with.
const MAX_TOKENS: usize = 256;

/// Padded tokens² per batch: a batch's working memory grows with its size times the square of
/// its (padded) length (the attention matrices), and ONNX Runtime's grows faster still above
/// this, measured on all-MiniLM-L6-v2: 2 texts of 256 tokens take ~80 MB per session where 32
/// took ~570 MB, at the same speed. Short texts still go 32 (the configured batch) at a time.
const TOKEN_BUDGET: usize = 2 * MAX_TOKENS * MAX_TOKENS;

/// A text's token count, estimated from its length (about 3 characters a token for prose,
/// fewer for code): only used to size batches.
fn estimated_tokens(text: &str) -> usize {
    (text.len() / 3 + 2).clamp(8, MAX_TOKENS)
}

/// Splits `order` (indices of `texts`, longest first) into batches of at most `batch_size`
/// texts whose padded length² × count stays within [`TOKEN_BUDGET`].
fn batches(texts: &[String], order: &[usize], batch_size: usize) -> Vec<Vec<usize>> {
    let mut out: Vec<Vec<usize>> = Vec::new();
    let mut limit = 0;
    for &i in order {
        match out.last_mut() {
            Some(batch) if batch.len() < limit => batch.push(i),
            _ => {
                // The first text of a batch is its longest: it sets the padded length.
                let tokens = estimated_tokens(&texts[i]);
                limit = (TOKEN_BUDGET / (tokens * tokens)).clamp(1, batch_size);
                out.push(vec![i]);
            }
        }
    }
    out
}

/// Which model a vector came from; recorded in every store's manifest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModelInfo {
    /// Model identifier: the model directory's name, e.g. `all-MiniLM-L6-v2`.
    pub id: String,
    /// Length of its vectors.
    pub dimension: usize,
}

/// How to load an [`Embedder`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmbedderConfig {
    /// Directory with `model.onnx`, `tokenizer.json`, `config.json`, `special_tokens_map.json`
    /// and `tokenizer_config.json`.
    pub model_dir: PathBuf,
    /// The `libonnxruntime.so` to load; `None` uses the one already loaded in this process (or
    /// what `ort` finds by itself).
    pub onnxruntime_path: Option<PathBuf>,
    /// Intra-op threads of the session; `None` uses every core.
    pub threads: Option<usize>,
    /// Texts per batch.
    pub batch_size: usize,
}

impl EmbedderConfig {
    /// A config for `model_dir` with the defaults (every core, batches of 32).
    pub fn new(model_dir: impl Into<PathBuf>) -> Self {
        Self {
            model_dir: model_dir.into(),
            onnxruntime_path: None,
            threads: None,
            batch_size: 32,
        }
    }

    /// Sets the ONNX Runtime library.
    #[must_use]
    pub fn onnxruntime_path(mut self, path: impl Into<PathBuf>) -> Self {
        self.onnxruntime_path = Some(path.into());
        self
    }

    /// Sets the thread count.
    #[must_use]
    pub fn threads(mut self, threads: usize) -> Self {
        self.threads = Some(threads);
        self
    }

    /// Sets the batch size.
    #[must_use]
    pub fn batch_size(mut self, batch_size: usize) -> Self {
        self.batch_size = batch_size;
        self
    }

    /// The config described by the `rag` settings.
    pub fn from_settings(settings: &RagSettings) -> Result<Self> {
        let dir = settings
            .embedding_model_dir
            .clone()
            .ok_or(RagError::MissingSetting {
                key: "rag.embedding_model_dir",
                hint: "point it at a directory with model.onnx and tokenizer.json (scripts/setup.sh installs all-MiniLM-L6-v2)",
            })?;
        Ok(Self {
            model_dir: dir,
            onnxruntime_path: Some(settings.onnxruntime_path.clone().ok_or(
                RagError::MissingSetting {
                    key: "rag.onnxruntime_path",
                    hint: "point it at libonnxruntime.so (scripts/setup.sh installs one; `llf config init` finds it)",
                },
            )?),
            threads: settings.embedding_threads,
            batch_size: settings.batch_size.max(1),
        })
    }
}

/// A loaded embedding model. Cheap to clone; every clone shares the session.
#[derive(Clone)]
pub struct Embedder {
    shared: Arc<Shared>,
    model: ModelInfo,
    batch_size: usize,
}

/// What the session is made from, and the session once made.
struct Shared {
    dir: PathBuf,
    threads: usize,
    /// `None` until first used.
    session: Mutex<Option<TextEmbedding>>,
}

impl std::fmt::Debug for Embedder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Embedder")
            .field("model", &self.model)
            .field("threads", &self.shared.threads)
            .field("batch_size", &self.batch_size)
            .finish()
    }
}

fn read(dir: &Path, name: &str) -> Result<Vec<u8>> {
    let path = dir.join(name);
    std::fs::read(&path).map_err(|e| RagError::ModelLoad {
        dir: dir.to_owned(),
        reason: format!("cannot read {name}: {e}"),
    })
}

/// The vector length the model's `config.json` declares (`hidden_size` for BERT-like models,
/// which mean pooling keeps), when it declares one.
fn declared_dimension(dir: &Path) -> Option<usize> {
    let config: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("config.json")).ok()?).ok()?;
    ["hidden_size", "dim", "d_model"]
        .iter()
        .find_map(|k| config.get(*k)?.as_u64())
        .and_then(|d| usize::try_from(d).ok())
        .filter(|&d| d > 0)
}

impl Shared {
    fn create_session(&self) -> Result<TextEmbedding> {
        let dir = &self.dir;
        let fail = |reason: String| RagError::ModelLoad {
            dir: dir.clone(),
            reason,
        };
        let tokenizer = TokenizerFiles {
            tokenizer_file: read(dir, "tokenizer.json")?,
            config_file: read(dir, "config.json")?,
            special_tokens_map_file: read(dir, "special_tokens_map.json")?,
            tokenizer_config_file: read(dir, "tokenizer_config.json")?,
        };
        let model = UserDefinedEmbeddingModel::new(read(dir, "model.onnx")?, tokenizer)
            .with_pooling(Pooling::Mean);
        // The default CPU provider has ONNX Runtime's arena off: see the module docs.
        let options = InitOptionsUserDefined::new()
            .with_execution_providers(vec![ort::ep::CPU::default().build()])
            .with_max_length(MAX_TOKENS)
            .with_intra_threads(self.threads)
            // Idle intra-op threads sleep instead of spinning: spinning threads take cores from
            // everything else on a busy machine and slow the session itself down there.
            .with_session_config("session.intra_op.allow_spinning", "0");
        let started = Instant::now();
        // `ort` panics when no ONNX Runtime library can be found; report it instead.
        let session = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            TextEmbedding::try_new_from_user_defined(model, options)
        }))
        .map_err(|_| fail("ONNX Runtime could not be loaded".into()))?
        .map_err(|e| fail(e.to_string()))?;
        tracing::debug!(
            threads = self.threads,
            elapsed_ms = started.elapsed().as_millis() as u64,
            "embedding session created"
        );
        Ok(session)
    }

    /// Embeds each batch of `inputs` (already sized), creating the session first if needed.
    fn run(&self, batches: &[Vec<&str>]) -> Result<Vec<Vec<f32>>> {
        let mut guard = self
            .session
            .lock()
            .map_err(|_| RagError::Embed("the embedding session was poisoned".into()))?;
        let session = match guard.as_mut() {
            Some(session) => session,
            None => guard.insert(self.create_session()?),
        };
        let mut out = Vec::with_capacity(batches.iter().map(Vec::len).sum());
        for inputs in batches {
            let vectors = session
                .embed(inputs, Some(inputs.len()))
                .map_err(|e| RagError::Embed(e.to_string()))?;
            out.extend(vectors.into_iter().map(normalize));
        }
        Ok(out)
    }
}

impl Embedder {
    /// Loads the model (blocking work runs off the async threads).
    pub async fn load(config: EmbedderConfig) -> Result<Self> {
        tokio::task::spawn_blocking(move || Self::load_blocking(&config))
            .await
            .map_err(|e| RagError::Task(e.to_string()))?
    }

    /// Loads the model on the current thread: loads ONNX Runtime and checks the model files;
    /// the session is created when first needed.
    pub fn load_blocking(config: &EmbedderConfig) -> Result<Self> {
        let dir = &config.model_dir;
        let fail = |reason: String| RagError::ModelLoad {
            dir: dir.clone(),
            reason,
        };
        if let Some(lib) = &config.onnxruntime_path {
            // Loads the library once per process; later calls keep the first one.
            let builder = ort::init_from(lib)
                .map_err(|e| fail(format!("cannot load ONNX Runtime {}: {e}", lib.display())))?;
            drop(builder);
        }
        for name in [
            "model.onnx",
            "tokenizer.json",
            "config.json",
            "special_tokens_map.json",
            "tokenizer_config.json",
        ] {
            if !dir.join(name).is_file() {
                return Err(fail(format!("{name} is missing")));
            }
        }
        let threads = config
            .threads
            .or_else(|| std::thread::available_parallelism().ok().map(usize::from))
            .unwrap_or(1)
            .max(1);
        let id = dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| dir.display().to_string());
        let mut embedder = Self {
            shared: Arc::new(Shared {
                dir: dir.clone(),
                threads,
                session: Mutex::new(None),
            }),
            model: ModelInfo { id, dimension: 0 },
            batch_size: config.batch_size.max(1),
        };
        embedder.model.dimension = match declared_dimension(dir) {
            Some(d) => d,
            None => embedder.embed_one("dimension probe")?.len(),
        };
        if embedder.model.dimension == 0 {
            return Err(fail("the model returned empty vectors".into()));
        }
        tracing::info!(model = %embedder.model.id, dimension = embedder.model.dimension, threads, "embedding model loaded");
        Ok(embedder)
    }

    /// The model's id and dimension.
    pub fn model(&self) -> &ModelInfo {
        &self.model
    }

    /// Embeds one query.
    pub async fn embed_query(&self, text: &str) -> Result<Vec<f32>> {
        let this = self.clone();
        let text = text.to_owned();
        tokio::task::spawn_blocking(move || this.embed_query_blocking(&text))
            .await
            .map_err(|e| RagError::Task(e.to_string()))?
    }

    /// Blocking form of [`Embedder::embed_query`].
    pub fn embed_query_blocking(&self, text: &str) -> Result<Vec<f32>> {
        let vector = self.embed_one(text)?;
        self.check_dimension(&vector)?;
        Ok(vector)
    }

    fn embed_one(&self, text: &str) -> Result<Vec<f32>> {
        self.shared
            .run(&[vec![text]])?
            .pop()
            .ok_or_else(|| RagError::Embed("the model returned no vector".into()))
    }

    fn check_dimension(&self, v: &[f32]) -> Result<()> {
        if v.len() == self.model.dimension {
            Ok(())
        } else {
            Err(RagError::Embed(format!(
                "the model returned {} values, not the {} its config.json declares",
                v.len(),
                self.model.dimension
            )))
        }
    }

    /// Embeds many texts, batched; vectors come back in input order, L2-normalised.
    pub async fn embed_documents(&self, texts: Vec<String>) -> Result<Vec<Vec<f32>>> {
        let this = self.clone();
        tokio::task::spawn_blocking(move || this.embed_blocking(&texts))
            .await
            .map_err(|e| RagError::Task(e.to_string()))?
    }

    /// Blocking form of [`Embedder::embed_documents`].
    pub fn embed_blocking(&self, texts: &[String]) -> Result<Vec<Vec<f32>>> {
        if texts.is_empty() {
            return Ok(Vec::new());
        }
        let started = Instant::now();
        // Longest first: similar lengths share a batch, so little padding is computed.
        let mut order: Vec<usize> = (0..texts.len()).collect();
        order.sort_by_key(|&i| std::cmp::Reverse(texts[i].len()));
        let batches = batches(texts, &order, self.batch_size);
        let inputs: Vec<Vec<&str>> = batches
            .iter()
            .map(|b| b.iter().map(|&i| texts[i].as_str()).collect())
            .collect();
        let vectors = self.shared.run(&inputs)?;
        if vectors.len() != texts.len() {
            return Err(RagError::Embed("the model returned too few vectors".into()));
        }
        let mut results: Vec<Vec<f32>> = vec![Vec::new(); texts.len()];
        for (i, v) in batches.iter().flatten().zip(vectors) {
            self.check_dimension(&v)?;
            results[*i] = v;
        }
        tracing::debug!(
            texts = texts.len(),
            elapsed_ms = started.elapsed().as_millis() as u64,
            "embedded"
        );
        Ok(results)
    }
}

/// Scales `v` to unit length so inner product is cosine similarity.
pub fn normalize(mut v: Vec<f32>) -> Vec<f32> {
    let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    if norm > 0.0 {
        for x in &mut v {
            *x /= norm;
        }
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_texts_go_in_small_batches_short_ones_in_full_batches() {
        let texts: Vec<String> = [2000, 1500, 800, 800, 800, 800, 100, 100, 100]
            .iter()
            .map(|&n| "x".repeat(n))
            .collect();
        let order: Vec<usize> = (0..texts.len()).collect();
        let b = batches(&texts, &order, 4);
        assert_eq!(b, vec![vec![0, 1], vec![2, 3], vec![4, 5], vec![6, 7, 8]]);
        assert!(b.iter().flatten().count() == texts.len());
    }
}
