//! One module per top-level command.

pub(crate) mod analytics;
pub(crate) mod audit;
pub(crate) mod chat;
pub(crate) mod completions;
pub(crate) mod config;
pub(crate) mod conversation;
pub(crate) mod datastore;
pub(crate) mod dev;
pub(crate) mod history_chat;
pub(crate) mod memory;
pub(crate) mod model;
pub(crate) mod performance;
pub(crate) mod plugin;
pub(crate) mod serve;
pub(crate) mod server;
pub(crate) mod template;
pub(crate) mod tool;
pub(crate) mod trash;
