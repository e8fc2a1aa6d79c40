//! The template type.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// A prompt template: text with `{variable}` placeholders and metadata to find it by.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PromptTemplate {
    /// Unique id, derived from the name (`Code Review` → `code_review`).
    pub id: String,
    /// Display name.
    pub name: String,
    /// What it is for.
    #[serde(default)]
    pub description: String,
    /// The text, with `{name}` placeholders (`{{` and `}}` for literal braces).
    pub template: String,
    /// Its variables, in order of first use (derived from the text).
    #[serde(default)]
    pub variables: Vec<String>,
    /// Category, e.g. `development`, `writing`.
    #[serde(default = "default_category")]
    pub category: String,
    /// Free tags.
    #[serde(default)]
    pub tags: Vec<String>,
    /// Who wrote it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub author: Option<String>,
    /// Version text, bumped by edits (`1.0`, `1.1`, …).
    #[serde(default = "default_version")]
    pub version: String,
    /// Creation time.
    #[serde(default = "Utc::now")]
    pub created_at: DateTime<Utc>,
    /// Last edit.
    #[serde(default = "Utc::now")]
    pub updated_at: DateTime<Utc>,
    /// Whether it ships with LLF (built-ins cannot be edited or deleted).
    #[serde(default)]
    pub builtin: bool,
}

fn default_category() -> String {
    "general".to_owned()
}

fn default_version() -> String {
    "1.0".to_owned()
}

impl PromptTemplate {
    /// Renders the template with `values` (see [`crate::render()`]).
    pub fn render(
        &self,
        values: &std::collections::BTreeMap<String, String>,
    ) -> crate::Result<String> {
        crate::render::render(&self.template, values)
    }
}

/// A new user template.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NewTemplate {
    /// Display name; the id derives from it.
    pub name: String,
    /// The text.
    pub template: String,
    /// What it is for.
    pub description: String,
    /// Category; empty means `general`.
    pub category: String,
    /// Tags.
    pub tags: Vec<String>,
    /// Author.
    pub author: Option<String>,
}

/// Changes to a user template; `None` keeps a field.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TemplateEdit {
    /// New text.
    pub template: Option<String>,
    /// New description.
    pub description: Option<String>,
    /// New category.
    pub category: Option<String>,
    /// New tags (replacing the old ones).
    pub tags: Option<Vec<String>>,
    /// New display name (the id stays).
    pub name: Option<String>,
}

/// Usage of one template.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Usage {
    /// Template id.
    pub id: String,
    /// Times rendered.
    pub count: u64,
    /// Last time it was rendered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_used: Option<DateTime<Utc>>,
}

/// Which templates [`crate::TemplateStore::list`] returns.
#[derive(Debug, Clone, Default)]
pub struct TemplateFilter {
    /// Only this category.
    pub category: Option<String>,
    /// Only templates with this tag.
    pub tag: Option<String>,
}
