//! A conversation through the `llf` crate alone: long-term memory, a data store and a tool feed
//! the answer; the conversation is saved as it happens, resumed in a second chat, and exported.
//!
//! Runs in a fresh, temporary LLF home that points at the llama-server, model, ONNX Runtime and
//! embedding model `scripts/setup.sh` installed (`source ~/.cache/llf-dev/env.sh` first):
//!
//! ```sh
//! cargo run -p example-embed-chat
//! ```
#![allow(clippy::print_stdout, clippy::print_stderr)] // an example prints what it does

use std::io::Write;
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use llf::Llf;
use llf::chat::{Chat, ChatOptions, TurnEvent};
use llf::config::{ConfigFile, Environment};
use llf::core::tool::{ToolExecutor, ToolInvocation, ToolOutcome, ToolSpec};
use llf::export::{ExportOptions, Format};
use llf::rag::progress::NoProgress;
use serde_json::json;

/// A tool of this program's own: the model may ask for today's office hours.
struct OfficeHours;

#[async_trait::async_trait]
impl ToolExecutor for OfficeHours {
    fn specs(&self) -> Vec<ToolSpec> {
        vec![ToolSpec {
            name: "office_hours".into(),
            description: "The opening hours of the Bluebird project office".into(),
            parameters: json!({"type": "object", "properties": {}}),
        }]
    }

    async fn execute(&self, call: &ToolInvocation) -> ToolOutcome {
        ToolOutcome {
            call_id: call.call_id.clone(),
            name: call.name.clone(),
            success: true,
            content: json!({"open": "09:00", "close": "17:00"}),
            duration: Duration::from_millis(1),
        }
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let home = tempfile::tempdir()?;

    // 1. A configuration of its own, pointing at the installed components.
    let mut env = Environment::from_process();
    env.llf_home = Some(home.path().to_owned());
    env.llf_config = None;
    let mut file = ConfigFile::init(None, &env, false)?;
    // A small model rambles: short, deterministic answers that do not repeat themselves.
    file.set("inference_params.max_tokens", "300")?;
    file.set("inference_params.temperature", "0")?;
    file.set("inference_params.repeat_penalty", "1.3")?;
    file.save()?;
    let llf = Llf::new(file);
    // Stop the local server when the example ends, however it ends.
    let _stop = StopServers(llf.clone());

    // 2. Long-term memory and a data store to draw on.
    let memory = llf.memory_context().await?;
    memory
        .remember("The user's project is code-named Bluebird.")
        .await?;
    let doc = home.path().join("handbook.txt");
    std::fs::write(
        &doc,
        "Bluebird handbook. The Bluebird team ships a release every second Thursday. \
         Releases are announced in the #bluebird channel.",
    )?;
    let (_store, report) = llf
        .create_datastore("handbook", &[doc], &NoProgress)
        .await?;
    println!("data store `handbook`: {} chunks", report.chunks_added);

    // 3. A chat with memory, the data store and the program's tool; saved as it goes.
    let options = ChatOptions::new()
        .memory(true)
        .datastores(["handbook"])
        .tool_executor(Arc::new(OfficeHours));
    let chat = llf.chat(options).await?;
    ask(
        &chat,
        "My project is code-named Bluebird. When does the team ship a release?",
    )
    .await?;
    let conversation = chat
        .conversation()
        .await
        .ok_or_else(|| anyhow::anyhow!("the chat was not saved"))?;
    chat.close().await?;
    println!("saved as conversation {conversation}");

    // 4. Later: resume it and go on.
    let resumed = llf.chat(ChatOptions::new().resume(&conversation)).await?;
    println!("resumed with {} messages", resumed.messages().await.len());
    ask(&resumed, "And where are releases announced?").await?;
    let server = resumed.server().await;
    resumed.close().await?;
    if let Some(s) = &server {
        println!("(llama-server `{}` answered, pid {})", s.name, s.pid);
    }

    // 5. Export it as Markdown.
    let history = llf.history().await?;
    let markdown = llf::export::export(
        history,
        &conversation,
        &ExportOptions::new(Format::Markdown),
    )
    .await?;
    let out = home.path().join("conversation.md");
    llf::export::write_file(&out, &markdown)?;
    println!(
        "exported {} bytes of Markdown; the active branch has {} messages",
        markdown.len(),
        history.current_path(&conversation).await?.len()
    );

    drop(server);
    Ok(())
}

/// The local server keeps running for other chats; this example started it in its own home, so
/// it stops it on the way out.
struct StopServers(Llf);

impl Drop for StopServers {
    fn drop(&mut self) {
        let servers = std::sync::Arc::clone(self.0.runtime().servers());
        let names: Vec<String> = servers.servers().iter().map(|s| s.name.clone()).collect();
        let stop = async move {
            for name in names {
                let _ = servers.stop(&name).await;
            }
        };
        if let Ok(handle) = tokio::runtime::Handle::try_current() {
            tokio::task::block_in_place(|| handle.block_on(stop));
        }
    }
}

/// Sends `text` and prints the turn as it happens.
async fn ask(chat: &Chat, text: &str) -> anyhow::Result<()> {
    println!("> {text}");
    let mut turn = chat.send(text);
    let mut out = std::io::stdout();
    while let Some(event) = turn.next().await {
        match event {
            TurnEvent::ServerStarting { server, phase } => {
                eprintln!("[starting llama-server `{server}`: {phase:?}]")
            }
            TurnEvent::Context {
                provider, items, ..
            } => {
                for item in items {
                    let from = item.citation.unwrap_or_default();
                    eprintln!("[{provider}] {} {from}", item.text.replace('\n', " "));
                }
            }
            TurnEvent::Token(t) => {
                out.write_all(t.as_bytes())?;
                out.flush()?;
            }
            TurnEvent::ToolCall(call) => eprintln!("\n[tool call: {}]", call.name),
            TurnEvent::ToolResult(outcome) => eprintln!("[tool result: {}]", outcome.content),
            TurnEvent::Done(summary) => println!(
                "\n[{} tokens, {:.0} tokens/s, {} round(s)]",
                summary.completion.usage.completion_tokens,
                summary.completion.metrics.tokens_per_second,
                summary.rounds
            ),
            TurnEvent::Failed { error, .. } => anyhow::bail!("the turn failed: {error}"),
            TurnEvent::Cancelled { .. } => anyhow::bail!("the turn was cancelled"),
            _ => {}
        }
    }
    Ok(())
}
