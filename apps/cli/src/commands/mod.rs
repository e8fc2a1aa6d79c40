//! One module per top-level command.

pub(crate) mod completions;
pub(crate) mod config;
pub(crate) mod trash;
