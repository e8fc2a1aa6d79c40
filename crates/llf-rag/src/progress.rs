//! Progress of long ingestion work, as typed events sent to a callback; the CLI turns them into
//! progress bars on a terminal and into plain lines elsewhere.
//!
//! ```
//! use llf_rag::progress::{Progress, ProgressEvent};
//!
//! let print = |event: &ProgressEvent<'_>| {
//!     if let ProgressEvent::Skipped(file) = event {
//!         eprintln!("skipped {}: {}", file.path.display(), file.reason);
//!     }
//! };
//! let progress: &dyn Progress = &print;
//! # let _ = progress;
//! ```

use crate::collect::SkippedFile;

/// A stage of ingestion.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Stage {
    /// Hashing files to find what is new or changed (units: bytes).
    Reading,
    /// Extracting, chunking, embedding and storing the new and changed files (units: bytes of
    /// those files).
    Embedding,
    /// Building or extending the vector index (units: vectors).
    Indexing,
}

impl Stage {
    /// A short label.
    pub fn label(self) -> &'static str {
        match self {
            Self::Reading => "reading",
            Self::Embedding => "embedding",
            Self::Indexing => "indexing",
        }
    }

    /// Whether the stage counts bytes (else items).
    pub fn counts_bytes(self) -> bool {
        matches!(self, Self::Reading | Self::Embedding)
    }
}

/// What happened.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum ProgressEvent<'a> {
    /// A stage begins with `total` units of work.
    Started {
        /// The stage.
        stage: Stage,
        /// Units of work.
        total: u64,
    },
    /// `n` more units of the stage are done.
    Advanced {
        /// The stage.
        stage: Stage,
        /// Units just done.
        n: u64,
    },
    /// A batch of chunks was stored.
    Stored {
        /// Chunks embedded by the model in this batch.
        embedded: u64,
        /// Chunks whose vector was reused from identical stored text.
        reused: u64,
    },
    /// A file was left out (also listed in the ingestion's report).
    Skipped(&'a SkippedFile),
    /// The stage is done.
    Finished {
        /// The stage.
        stage: Stage,
    },
}

/// Receives progress events. Implementations must be cheap: they are called per batch. Any
/// `Fn(&ProgressEvent)` closure is one.
pub trait Progress: Send + Sync {
    /// Something happened.
    fn event(&self, event: &ProgressEvent<'_>);
}

impl<F> Progress for F
where
    F: Fn(&ProgressEvent<'_>) + Send + Sync,
{
    fn event(&self, event: &ProgressEvent<'_>) {
        self(event);
    }
}

/// Progress that goes nowhere.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoProgress;

impl Progress for NoProgress {
    fn event(&self, _: &ProgressEvent<'_>) {}
}
