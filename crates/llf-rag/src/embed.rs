//! Local text embeddings with fastembed over an ONNX model directory.
//!
//! Throughput on few cores comes from three things: texts are sorted by length so a batch pads
//! little, batches are sized by the config, and with several threads the batches are spread over
//! a pool of single-threaded ONNX sessions that run side by side (one intra-op thread per session
//! scales better on small CPUs than one session with many threads, whose per-op synchronisation
//! dominates at this model size). A query goes to one more session that uses every thread, so
//! it is not limited to one core.
//!
//! Sessions are created when first used, not when the model is loaded: each holds its own copy
//! of the weights and its own working memory, so a process that only answers queries creates
//! one session, not one per core plus one.

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
    /// Threads (and parallel sessions) for embedding; `None` uses every core.
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

/// A loaded embedding model. Cheap to clone; every clone shares the sessions.
#[derive(Clone)]
pub struct Embedder {
    shared: Arc<Shared>,
    model: ModelInfo,
    batch_size: usize,
}

/// What the sessions are made from, and the sessions made so far.
struct Shared {
    dir: PathBuf,
    threads: usize,
    /// Single-threaded sessions for batches, one per thread; `None` until first used.
    sessions: Vec<Mutex<Option<TextEmbedding>>>,
    /// A session with every thread for single texts (queries), where one-thread sessions would
    /// leave cores idle; unused with one thread.
    single: Mutex<Option<TextEmbedding>>,
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
    /// A new session with `intra_threads` threads.
    fn session(&self, intra_threads: usize) -> Result<TextEmbedding> {
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
        let options = InitOptionsUserDefined::new()
            .with_max_length(MAX_TOKENS)
            .with_intra_threads(intra_threads);
        let started = Instant::now();
        // `ort` panics when no ONNX Runtime library can be found; report it instead.
        let session = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            TextEmbedding::try_new_from_user_defined(model, options)
        }))
        .map_err(|_| fail("ONNX Runtime could not be loaded".into()))?
        .map_err(|e| fail(e.to_string()))?;
        tracing::debug!(
            intra_threads,
            elapsed_ms = started.elapsed().as_millis() as u64,
            "embedding session created"
        );
        Ok(session)
    }

    /// Embeds `inputs` with the session in `slot`, creating it (with `intra_threads`) first.
    fn run(
        &self,
        slot: &Mutex<Option<TextEmbedding>>,
        intra_threads: usize,
        inputs: &[&str],
    ) -> Result<Vec<Vec<f32>>> {
        let mut guard = slot
            .lock()
            .map_err(|_| RagError::Embed("an embedding session was poisoned".into()))?;
        let session = match guard.as_mut() {
            Some(session) => session,
            None => guard.insert(self.session(intra_threads)?),
        };
        let vectors = session
            .embed(inputs, Some(inputs.len()))
            .map_err(|e| RagError::Embed(e.to_string()))?;
        Ok(vectors.into_iter().map(normalize).collect())
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
    /// sessions are created when first needed.
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
                sessions: (0..threads).map(|_| Mutex::new(None)).collect(),
                single: Mutex::new(None),
            }),
            model: ModelInfo { id, dimension: 0 },
            batch_size: config.batch_size.max(1),
        };
        embedder.model.dimension = match declared_dimension(dir) {
            Some(d) => d,
            None => {
                // Probe with the session a query would use, so it is not wasted.
                let probe = embedder.embed_one("dimension probe")?;
                probe.len()
            }
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
        let vector = tokio::task::spawn_blocking(move || this.embed_one(&text))
            .await
            .map_err(|e| RagError::Task(e.to_string()))??;
        if vector.len() != self.model.dimension {
            return Err(RagError::Embed(format!(
                "the model returned {} values, not the {} its config.json declares",
                vector.len(),
                self.model.dimension
            )));
        }
        Ok(vector)
    }

    /// Blocking form of [`Embedder::embed_query`].
    pub fn embed_query_blocking(&self, text: &str) -> Result<Vec<f32>> {
        self.embed_one(text)
    }

    /// One text with the all-threads session (the first pool session with one thread).
    fn embed_one(&self, text: &str) -> Result<Vec<f32>> {
        let shared = &self.shared;
        let mut out = if shared.threads > 1 {
            shared.run(&shared.single, shared.threads, &[text])?
        } else {
            let slot = shared
                .sessions
                .first()
                .ok_or_else(|| RagError::Embed("no embedding session".into()))?;
            shared.run(slot, 1, &[text])?
        };
        out.pop()
            .ok_or_else(|| RagError::Embed("the model returned no vector".into()))
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
        let batches: Vec<Vec<usize>> = order
            .chunks(self.batch_size)
            .map(<[usize]>::to_vec)
            .collect();
        let workers = self.shared.sessions.len().min(batches.len()).max(1);
        let mut results: Vec<Option<Vec<f32>>> = vec![None; texts.len()];
        let next = std::sync::atomic::AtomicUsize::new(0);
        type Done = Vec<(usize, Vec<f32>)>;
        let outcome: Result<Vec<Done>> = std::thread::scope(|scope| {
            let handles: Vec<_> = (0..workers)
                .map(|w| {
                    let batches = &batches;
                    let next = &next;
                    scope.spawn(move || -> Result<Done> {
                        let slot = self
                            .shared
                            .sessions
                            .get(w)
                            .ok_or_else(|| RagError::Embed("no embedding session".into()))?;
                        let mut done = Vec::new();
                        loop {
                            let b = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                            let Some(batch) = batches.get(b) else {
                                return Ok(done);
                            };
                            let inputs: Vec<&str> =
                                batch.iter().map(|&i| texts[i].as_str()).collect();
                            let vectors = self.shared.run(slot, 1, &inputs)?;
                            done.extend(batch.iter().copied().zip(vectors));
                        }
                    })
                })
                .collect();
            handles
                .into_iter()
                .map(|h| {
                    h.join()
                        .map_err(|_| RagError::Task("an embedding thread panicked".into()))?
                })
                .collect()
        });
        for (i, v) in outcome?.into_iter().flatten() {
            results[i] = Some(v);
        }
        let out: Vec<Vec<f32>> = results.into_iter().flatten().collect();
        if out.len() != texts.len() {
            return Err(RagError::Embed("the model returned too few vectors".into()));
        }
        if let Some(v) = out.iter().find(|v| v.len() != self.model.dimension) {
            return Err(RagError::Embed(format!(
                "the model returned {} values, not the {} its config.json declares",
                v.len(),
                self.model.dimension
            )));
        }
        tracing::debug!(
            texts = texts.len(),
            elapsed_ms = started.elapsed().as_millis() as u64,
            "embedded"
        );
        Ok(out)
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
