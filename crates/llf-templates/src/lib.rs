//! Prompt templates: reusable prompts with `{variable}` placeholders.
//!
//! Seven built-ins ship with LLF ([`BUILTIN_IDS`]: code review, summarising, explaining code,
//! translating, debugging an error, writing tests, refactoring); users add their own, stored one
//! JSON file each in the templates directory (`ConfigFile::paths().templates`).
//!
//! Key types: [`TemplateStore`] (list with category/tag filters, create, edit, delete to the
//! trash, render with usage counting, stats, export/import) and [`PromptTemplate`]. Rendering
//! ([`render()`]) fails clearly on a missing or unknown variable; built-ins cannot be edited or
//! deleted.
//!
//! # Example
//!
//! ```
//! use std::collections::BTreeMap;
//! use llf_templates::{NewTemplate, TemplateStore};
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let dir = tempfile::tempdir()?;
//! let store = TemplateStore::new(dir.path());
//! let t = store.create(NewTemplate {
//!     name: "Greet".into(),
//!     template: "Say hello to {who} in {language}.".into(),
//!     ..NewTemplate::default()
//! })?;
//! assert_eq!(t.variables, ["who", "language"]);
//!
//! let values = BTreeMap::from([("who".into(), "Ada".into()), ("language".into(), "French".into())]);
//! assert_eq!(store.render("greet", &values)?, "Say hello to Ada in French.");
//! assert_eq!(store.usage_of("greet")?, 1);
//! assert!(store.get("code_review")?.builtin);
//! # Ok(())
//! # }
//! ```
#![doc(test(attr(deny(warnings))))]

mod builtin;
mod error;
pub mod render;
mod store;
mod template;

pub use builtin::{BUILTIN_IDS, builtins};
pub use error::{Result, TemplateError};
pub use render::render;
pub use store::{EXPORT_FORMAT, EXPORT_VERSION, TemplateStore, id_from_name};
pub use template::{NewTemplate, PromptTemplate, TemplateEdit, TemplateFilter, Usage};
