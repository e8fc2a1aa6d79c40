//! Local text embeddings with fastembed over an ONNX model directory.
//!
//! Throughput on few cores comes from three things: texts are sorted by length so a batch pads
//! little, batches are sized by the config, and with several threads the batches are spread over
//! a pool of single-threaded ONNX sessions that run side by side (one intra-op thread per session
//! scales better on small CPUs than one session with many threads, whose per-op synchronisation
//! dominates at this model size). A single text (a query) goes to one more session that uses
//! every thread, so a query is not limited to one core.

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
    sessions: Arc<Vec<Mutex<TextEmbedding>>>,
    /// A session with every thread for single texts (queries), where one-thread sessions would
    /// leave cores idle; `None` with one thread.
    single: Option<Arc<Mutex<TextEmbedding>>>,
    model: ModelInfo,
    batch_size: usize,
}

impl std::fmt::Debug for Embedder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Embedder")
            .field("model", &self.model)
            .field("sessions", &self.sessions.len())
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

impl Embedder {
    /// Loads the model (blocking work runs off the async threads).
    pub async fn load(config: EmbedderConfig) -> Result<Self> {
        tokio::task::spawn_blocking(move || Self::load_blocking(&config))
            .await
            .map_err(|e| RagError::Task(e.to_string()))?
    }

    /// Loads the model on the current thread.
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
        let onnx = read(dir, "model.onnx")?;
        let tokenizer = TokenizerFiles {
            tokenizer_file: read(dir, "tokenizer.json")?,
            config_file: read(dir, "config.json")?,
            special_tokens_map_file: read(dir, "special_tokens_map.json")?,
            tokenizer_config_file: read(dir, "tokenizer_config.json")?,
        };
        let threads = config
            .threads
            .or_else(|| std::thread::available_parallelism().ok().map(usize::from))
            .unwrap_or(1)
            .max(1);
        let session = |intra_threads: usize| -> Result<TextEmbedding> {
            let model = UserDefinedEmbeddingModel::new(onnx.clone(), tokenizer.clone())
                .with_pooling(Pooling::Mean);
            let options = InitOptionsUserDefined::new()
                .with_max_length(MAX_TOKENS)
                .with_intra_threads(intra_threads);
            // `ort` panics when no ONNX Runtime library can be found; report it instead.
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                TextEmbedding::try_new_from_user_defined(model, options)
            }))
            .map_err(|_| fail("ONNX Runtime could not be loaded".into()))?
            .map_err(|e| fail(e.to_string()))
        };
        let mut sessions = Vec::with_capacity(threads);
        for _ in 0..threads {
            sessions.push(Mutex::new(session(1)?));
        }
        let single = if threads > 1 {
            Some(Arc::new(Mutex::new(session(threads)?)))
        } else {
            None
        };
        let id = dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| dir.display().to_string());
        let mut embedder = Self {
            sessions: Arc::new(sessions),
            single,
            model: ModelInfo { id, dimension: 0 },
            batch_size: config.batch_size.max(1),
        };
        let probe = embedder.embed_blocking(&["dimension probe".to_owned()])?;
        embedder.model.dimension = probe.first().map_or(0, Vec::len);
        if embedder.model.dimension == 0 {
            return Err(fail("the model returned empty vectors".into()));
        }
        tracing::info!(model = %embedder.model.id, dimension = embedder.model.dimension, sessions = threads, "embedding model loaded");
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
        let mut out = tokio::task::spawn_blocking(move || this.embed_blocking(&[text]))
            .await
            .map_err(|e| RagError::Task(e.to_string()))??;
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
        if let (Some(single), [_]) = (&self.single, texts) {
            let inputs: Vec<&str> = texts.iter().map(String::as_str).collect();
            return run(single, &inputs);
        }
        // Longest first: similar lengths share a batch, so little padding is computed.
        let mut order: Vec<usize> = (0..texts.len()).collect();
        order.sort_by_key(|&i| std::cmp::Reverse(texts[i].len()));
        let batches: Vec<Vec<usize>> = order
            .chunks(self.batch_size)
            .map(<[usize]>::to_vec)
            .collect();
        let workers = self.sessions.len().min(batches.len()).max(1);
        let mut results: Vec<Option<Vec<f32>>> = vec![None; texts.len()];
        let next = std::sync::atomic::AtomicUsize::new(0);
        type Done = Vec<(usize, Vec<f32>)>;
        let outcome: Result<Vec<Done>> = std::thread::scope(|scope| {
            let handles: Vec<_> = (0..workers)
                .map(|w| {
                    let batches = &batches;
                    let next = &next;
                    scope.spawn(move || -> Result<Done> {
                        let mut done = Vec::new();
                        loop {
                            let b = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                            let Some(batch) = batches.get(b) else {
                                return Ok(done);
                            };
                            let inputs: Vec<&str> =
                                batch.iter().map(|&i| texts[i].as_str()).collect();
                            let vectors = self.run_session(w, &inputs)?;
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
        tracing::debug!(
            texts = texts.len(),
            elapsed_ms = started.elapsed().as_millis() as u64,
            "embedded"
        );
        Ok(out)
    }

    fn run_session(&self, worker: usize, inputs: &[&str]) -> Result<Vec<Vec<f32>>> {
        let session = self
            .sessions
            .get(worker)
            .ok_or_else(|| RagError::Embed("no embedding session".into()))?;
        run(session, inputs)
    }
}

fn run(session: &Mutex<TextEmbedding>, inputs: &[&str]) -> Result<Vec<Vec<f32>>> {
    let mut session = session
        .lock()
        .map_err(|_| RagError::Embed("an embedding session was poisoned".into()))?;
    let vectors = session
        .embed(inputs, Some(inputs.len()))
        .map_err(|e| RagError::Embed(e.to_string()))?;
    Ok(vectors.into_iter().map(normalize).collect())
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
