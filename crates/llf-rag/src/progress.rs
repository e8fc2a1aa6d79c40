//! Progress reporting for long ingestion work; the CLI turns it into progress bars.

/// A stage of ingestion.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// Reading, extracting and chunking files (units: files).
    Reading,
    /// Embedding chunks (units: chunks).
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
}

/// Receives progress events. Implementations must be cheap: they are called per batch.
pub trait Progress: Send + Sync {
    /// A stage begins with `total` units of work.
    fn start(&self, stage: Stage, total: u64);
    /// `n` more units are done.
    fn advance(&self, stage: Stage, n: u64);
    /// The stage is done.
    fn finish(&self, stage: Stage);
}

/// Progress that goes nowhere.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoProgress;

impl Progress for NoProgress {
    fn start(&self, _: Stage, _: u64) {}
    fn advance(&self, _: Stage, _: u64) {}
    fn finish(&self, _: Stage) {}
}
