//! LLF's runtime: local `llama-server` lifecycle, streaming chat against local servers and remote
//! OpenAI-compatible endpoints, prompt building with context providers, a request queue with rate
//! limiting, and performance profiling.
//!
//! Key types:
//! - [`Runtime`]: everything wired from a [`llf_config::Config`]; start here.
//! - [`server::ServerManager`]: start/stop/status of the configured servers; state files let any
//!   `llf` process find a server another one started. [`server::Supervisor`] restarts a crashed
//!   server with backoff and reports a crash loop.
//! - [`ChatClient`]: chat completions on `async-openai`, streamed as [`ChatEvent`]s or whole.
//! - [`ChatSession`]: a conversation; [`PromptBuilder`] assembles its prompts, asking every
//!   [`llf_core::context::ContextProvider`] for context and fitting the model's window.
//! - [`RequestQueue`]: concurrency limit, bounded FIFO, token bucket per endpoint.
//! - [`ProfileLog`]: one [`ProfileRecord`] per request, persisted as JSON lines.
//!
//! # Example
//!
//! ```no_run
//! use futures::StreamExt;
//! use llf_config::{ConfigFile, Environment};
//! use llf_runtime::{ChatEvent, Runtime, Target};
//!
//! # #[tokio::main] async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let file = ConfigFile::load(None, &Environment::from_process())?;
//! let runtime = Runtime::new(file.config(), file.paths());
//! // Starts the default local llama-server if it is not running yet.
//! let conn = runtime.connect(&Target::Default, |_| {}).await?;
//! let session = runtime.session(&conn, runtime.prompt_builder());
//! let prompt = session.prepare("Name three colours.").await?;
//! let mut answer = session.stream(&prompt).await?;
//! while let Some(event) = answer.next().await {
//!     match event {
//!         ChatEvent::Token(t) => print!("{t}"),
//!         ChatEvent::Done(c) => println!("\n{} tokens/s", c.metrics.tokens_per_second),
//!         ChatEvent::Error { error, .. } => eprintln!("\n{error}"),
//!         _ => {}
//!     }
//! }
//! # Ok(()) }
//! ```
#![doc(test(attr(deny(warnings))))]

mod client;
mod error;
mod http;
pub mod models;
pub mod multi;
pub mod profile;
pub mod prompt;
pub mod queue;
mod runtime;
pub mod server;
mod session;
pub mod tool_loop;

pub use client::{
    ChatClient, ChatEvent, ChatRequest, ChatStream, Completion, EndpointSpec, Metrics, Usage,
};
pub use error::{Result, RuntimeError};
pub use profile::{ProfileLog, ProfileRecord, ProfileStats};
pub use prompt::{BuiltPrompt, ContextLimit, PromptBuilder};
pub use queue::{QueueStats, RequestQueue};
pub use runtime::{Connection, Runtime, Target};
pub use session::{ChatSession, SharedSession};
pub use tool_loop::{Step, ToolLoop, ToolLoopEvent, ToolLoopResult, ToolMode, ToolTurn};
