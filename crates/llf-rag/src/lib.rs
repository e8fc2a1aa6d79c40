//! wip
#![allow(missing_docs, dead_code)]
pub mod cache;
pub mod chunk;
pub mod embed;
mod error;
pub mod extract;
mod index;
mod manifest;
mod meta;
pub mod progress;
pub mod search;
pub mod store;
pub use error::{RagError, Result};
pub use index::Metric;
pub use manifest::Manifest;
pub use search::Retriever;
