//! LLF, a local-LLM framework: one dependency for a chat that combines a local or remote model
//! with long-term memory, retrieval over your documents, sandboxed tools and a saved, searchable,
//! branching conversation history.
//!
//! Start from [`Llf`], the application context (configuration, file locations, lazily opened
//! databases), and open a [`chat::Chat`]:
//!
//! ```no_run
//! use futures::StreamExt;
//! use llf::chat::{ChatOptions, TurnEvent};
//!
//! # #[tokio::main] async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let llf = llf::Llf::open(None)?; // the user's config.json, or the defaults
//! let chat = llf.chat(ChatOptions::new().tools(true)).await?;
//! let mut turn = chat.send("What is 12 * 7?");
//! while let Some(event) = turn.next().await {
//!     match event {
//!         TurnEvent::Token(t) => print!("{t}"),
//!         TurnEvent::ToolCall(call) => eprintln!("\n[calling {}]", call.name),
//!         TurnEvent::Done(summary) => println!("\n(saved in {:?})", summary.conversation),
//!         TurnEvent::Failed { error, .. } => eprintln!("\nerror: {error}"),
//!         _ => {}
//!     }
//! }
//! // The same conversation, later: every message was saved as it happened.
//! # let id = chat.conversation().await.unwrap_or_default();
//! let again = llf.chat(ChatOptions::new().resume(id)).await?;
//! let summary = again.send("And divided by 4?").finish().await?;
//! println!("{}", summary.answer);
//! # Ok(()) }
//! ```
//!
//! The crates LLF is made of are re-exported by module, each behind the cargo feature of the
//! same name (all on by default): [`memory`], [`rag`], [`tools`], [`history`], [`export`],
//! [`templates`], [`plugins`], [`analytics`]; [`config`], [`runtime`] and [`core`] are always
//! there.
//!
//! Invariants a program can rely on:
//! - Everything a turn adds to a saved conversation (the user's message, tool calls, each tool
//!   result, the answer as it streams, at most 100 ms apart) is in the history before the turn
//!   moves on; a killed process loses at most the last fraction of a second of an answer.
//! - Dropping a [`chat::TurnStream`] cancels the turn and keeps what arrived.
//! - Every file location comes from [`Locations`]: frontends and embedders share the files.
//! - A plugin that fails, panics or runs out of time is skipped for that call (logged and
//!   counted), unless it is required; the turn goes on.
#![doc(test(attr(deny(warnings))))]

pub mod api_keys;
mod app;
pub mod chat;
pub mod completion;
#[cfg(feature = "rag")]
mod datastores;
#[cfg(feature = "rag")]
pub mod embeddings;
mod error;
mod locations;
mod models;
#[cfg(feature = "plugins")]
mod plugin_host;
#[cfg(feature = "tools")]
mod tooling;
mod trash;
#[cfg(feature = "analytics")]
mod usage;

pub use app::Llf;
pub use error::{Error, Result};
pub use locations::Locations;
#[cfg(feature = "plugins")]
pub use plugin_host::PluginProbe;
pub use trash::{EmptyReport, Restored, Trash, TrashListing};

/// Shared vocabulary: chat messages, the trash, the hook traits (`llf-core`).
pub use llf_core as core;

/// Configuration: `config.json`, directories, secrets (`llf-config`).
pub use llf_config as config;

/// Local servers, model clients, prompts, the tool loop, models (`llf-runtime`).
pub use llf_runtime as runtime;

/// Long-term memory (`llf-memory`).
#[cfg(feature = "memory")]
pub use llf_memory as memory;

/// Data stores and retrieval (`llf-rag`).
#[cfg(feature = "rag")]
pub use llf_rag as rag;

/// Tools: registry, sandbox, approvals, audit (`llf-tools`).
#[cfg(feature = "tools")]
pub use llf_tools as tools;

/// Conversation history (`llf-history`).
#[cfg(feature = "history")]
pub use llf_history as history;

/// Export and import of conversations (`llf-export`).
#[cfg(feature = "export")]
pub use llf_export as export;

/// Plugins: the hook trait, the host, external plugins (`llf-plugins`).
#[cfg(feature = "plugins")]
pub use llf_plugins as plugins;

/// Usage analytics: events, reports (`llf-analytics`).
#[cfg(feature = "analytics")]
pub use llf_analytics as analytics;

/// Prompt templates (`llf-templates`).
#[cfg(feature = "templates")]
pub use llf_templates as templates;
