//! What to export and how.

use std::path::PathBuf;

use chrono::{DateTime, Utc};
use llf_history::MessageId;

use crate::ExportError;

/// Output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Format {
    /// Markdown, for notes and READMEs.
    Markdown,
    /// LLF's versioned JSON; importing it back is lossless.
    Json,
    /// A self-contained HTML page (inline CSS, every text escaped).
    Html,
    /// Plain text.
    Text,
    /// PDF with an embedded TrueType font.
    Pdf,
}

impl Format {
    /// Names accepted by `FromStr`.
    pub const NAMES: [&'static str; 5] = ["markdown", "json", "html", "text", "pdf"];

    /// The usual file extension.
    pub fn extension(self) -> &'static str {
        match self {
            Format::Markdown => "md",
            Format::Json => "json",
            Format::Html => "html",
            Format::Text => "txt",
            Format::Pdf => "pdf",
        }
    }

    /// The format of a file name's extension, if known.
    pub fn from_path(path: &std::path::Path) -> Option<Self> {
        path.extension()?.to_str()?.parse().ok()
    }
}

impl std::str::FromStr for Format {
    type Err = ExportError;
    fn from_str(s: &str) -> Result<Self, ExportError> {
        Ok(match s.to_ascii_lowercase().as_str() {
            "markdown" | "md" => Format::Markdown,
            "json" => Format::Json,
            "html" | "htm" => Format::Html,
            "text" | "txt" => Format::Text,
            "pdf" => Format::Pdf,
            _ => return Err(ExportError::UnknownFormat(s.to_owned())),
        })
    }
}

/// Which messages of the tree to export.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Scope {
    /// The active branch: root to the current leaf.
    #[default]
    CurrentBranch,
    /// The branch from the root to this message.
    Branch(MessageId),
    /// Every message of every branch.
    Tree,
}

/// Export settings; build with [`ExportOptions::new`] and the setters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportOptions {
    /// Output format.
    pub format: Format,
    /// Which messages.
    pub scope: Scope,
    /// Show each message's time.
    pub timestamps: bool,
    /// Include system messages.
    pub system_prompts: bool,
    /// Include a header with id, model, dates and counts.
    pub metadata: bool,
    /// Only messages written at or after this time.
    pub since: Option<DateTime<Utc>>,
    /// Only messages written before this time.
    pub until: Option<DateTime<Utc>>,
    /// TrueType font for PDF; `None` looks in the usual system font directories.
    pub font: Option<PathBuf>,
}

impl ExportOptions {
    /// The active branch in `format`, with timestamps, system prompts and metadata.
    pub fn new(format: Format) -> Self {
        Self {
            format,
            scope: Scope::CurrentBranch,
            timestamps: true,
            system_prompts: true,
            metadata: true,
            since: None,
            until: None,
            font: None,
        }
    }
    /// Which messages.
    pub fn scope(mut self, scope: Scope) -> Self {
        self.scope = scope;
        self
    }
    /// Show times or not.
    pub fn timestamps(mut self, on: bool) -> Self {
        self.timestamps = on;
        self
    }
    /// Include system messages or not.
    pub fn system_prompts(mut self, on: bool) -> Self {
        self.system_prompts = on;
        self
    }
    /// Include the metadata header or not.
    pub fn metadata(mut self, on: bool) -> Self {
        self.metadata = on;
        self
    }
    /// Only messages in `[since, until)`.
    pub fn date_range(
        mut self,
        since: Option<DateTime<Utc>>,
        until: Option<DateTime<Utc>>,
    ) -> Self {
        self.since = since;
        self.until = until;
        self
    }
    /// The PDF font.
    pub fn font(mut self, path: impl Into<PathBuf>) -> Self {
        self.font = Some(path.into());
        self
    }
}
