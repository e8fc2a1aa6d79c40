//! Retrieval-augmented generation for LLF: data stores of document chunks, embedded locally with
//! fastembed (ONNX Runtime loaded from a path, no downloads) and indexed with FAISS, searched by
//! vector similarity or hybrid vector + BM25, with query caches, and offered to chat through the
//! `llf_core::context::ContextProvider` hook.
//!
//! - [`embed::Embedder`]: the embedding model from a local directory; batched, multi-threaded;
//!   its [`embed::ModelInfo`] (id, dimension) is recorded in every store.
//! - [`store::DataStore`]: one store on disk (`manifest.json`, `meta.sqlite` with chunks,
//!   vectors and an FTS5 table, `index.faiss`); [`store::DataStore::add_paths`] ingests `.txt`,
//!   `.md`, `.html`, `.pdf`, `.json`/`.jsonl` and source files incrementally.
//! - [`collect`]: which files an ingestion takes, and why it leaves others out
//!   ([`collect::SkipReason`]).
//! - [`lock::StoreLock`]: the one lock every change of a store holds.
//! - [`catalog`]: listing stores, deleting them to the trash, importing a Python FAISS store.
//! - [`fts`]: user text as a safe FTS5 query without stop words.
//! - [`Retriever`]: search over several stores with top-k, threshold and
//!   [`search::QueryOptions`]; [`cache::QueryCache`] in front of it.
//! - [`context::RagContext`]: the chat integration.
//!
//! This crate reads no environment and no config file: it takes
//! [`llf_config::schema::RagSettings`] and paths.
//!
//! # Example
//!
//! ```no_run
//! use llf_config::schema::RagSettings;
//! use llf_rag::embed::{Embedder, EmbedderConfig};
//! use llf_rag::progress::NoProgress;
//! use llf_rag::search::QueryOptions;
//! use llf_rag::store::{DataStore, StoreOptions};
//! use llf_rag::Retriever;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> llf_rag::Result<()> {
//! let settings = RagSettings {
//!     embedding_model_dir: Some("/models/all-MiniLM-L6-v2".into()),
//!     onnxruntime_path: Some("/usr/lib/libonnxruntime.so".into()),
//!     ..RagSettings::default()
//! };
//! let embedder = Embedder::load(EmbedderConfig::from_settings(&settings)?).await?;
//! let root = std::path::Path::new("/tmp/stores");
//! let mut store = DataStore::create(root, "docs", embedder.model(), &StoreOptions::default()).await?;
//! store.add_paths(&embedder, &["./docs".into()], &NoProgress).await?;
//!
//! let retriever = Retriever::new(embedder, vec![store])?;
//! let result = retriever.search("how do I reset my password?", &QueryOptions::default()).await?;
//! for hit in result.hits {
//!     println!("{:.3} {} {}", hit.score, hit.citation(), hit.text);
//! }
//! # Ok(())
//! # }
//! ```
#![doc(test(attr(deny(warnings))))]

pub mod cache;
pub mod catalog;
pub mod chunk;
pub mod collect;
pub mod context;
pub mod embed;
mod error;
pub mod extract;
pub mod fts;
pub mod index;
mod ingest;
pub mod lock;
mod manifest;
mod meta;
pub mod progress;
pub mod search;
pub mod store;

pub use error::{BackendError, ImportProblem, RagError, Result};
pub use index::{Metric, VectorIndex};
pub use manifest::Manifest;
pub use search::Retriever;
