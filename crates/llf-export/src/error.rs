use std::path::PathBuf;

/// Errors of `llf-export`.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ExportError {
    /// The history failed.
    #[error(transparent)]
    History(#[from] llf_history::HistoryError),
    /// Writing the file failed.
    #[error(transparent)]
    Core(#[from] llf_core::Error),
    /// An unknown format was named.
    #[error("unknown export format `{0}`; expected one of: markdown, json, html, text, pdf")]
    UnknownFormat(String),
    /// A file could not be read.
    #[error("cannot read {path}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The file to import is not in a format LLF knows.
    #[error("cannot import: {0}")]
    Import(String),
    /// The PDF font is missing or unusable.
    #[error(
        "no usable font for the PDF ({0}); install fonts-dejavu-core or pass a TrueType font with --font"
    )]
    Font(String),
    /// The PDF could not be produced.
    #[error("cannot write the PDF: {0}")]
    Pdf(String),
    /// JSON could not be written.
    #[error("cannot encode JSON")]
    Json(#[from] serde_json::Error),
    /// The selection (branch, date range) left nothing to export.
    #[error("nothing to export: {0}")]
    Empty(String),
}

/// `Result` with [`ExportError`].
pub type Result<T> = std::result::Result<T, ExportError>;
