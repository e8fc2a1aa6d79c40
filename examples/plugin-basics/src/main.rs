//! Plugins around a chat turn, through the `llf` crate alone:
//!
//! - `plugins/example_logger`: the Python-era design document's `message_logger`, unchanged
//!   (`plugin.json` + `plugin.py` with `PluginClass`), run by LLF's Python runner in the sandbox;
//! - `plugins/redactor`: rewrites e-mail addresses and phone numbers before the model sees them;
//! - `WordCount`: a plugin of this program's own (the `Plugin` trait), counting streamed tokens.
//!
//! Runs in a fresh, temporary LLF home that points at the llama-server and model
//! `scripts/setup.sh` installed (`source ~/.cache/llf-dev/env.sh` first):
//!
//! ```sh
//! cargo run -p example-plugin-basics
//! ```
#![allow(clippy::print_stdout, clippy::print_stderr)] // an example prints what it does

use std::io::Write;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use futures::StreamExt;
use llf::Llf;
use llf::chat::{ChatOptions, TurnEvent};
use llf::config::{ConfigFile, Environment};
use llf::core::chat::ChatMessage;
use llf::plugins::{Decision, Hook, HookResult, Plugin, PluginSettings};

/// Counts the pieces of streamed answers, and shows what the model received.
#[derive(Default)]
struct WordCount {
    tokens: AtomicUsize,
}

#[async_trait::async_trait]
impl Plugin for WordCount {
    fn name(&self) -> &str {
        "word_count"
    }

    fn wants(&self, hook: Hook) -> bool {
        matches!(hook, Hook::PreRequest | Hook::OnToken)
    }

    async fn pre_request(
        &self,
        messages: &[ChatMessage],
    ) -> HookResult<Decision<Vec<ChatMessage>, String>> {
        if let Some(last) = messages.last() {
            eprintln!("[the model receives: {:?}]", last.content);
        }
        Ok(Decision::Continue)
    }

    async fn on_token(&self, _token: &str) -> HookResult<Decision<String>> {
        self.tokens.fetch_add(1, Ordering::Relaxed);
        Ok(Decision::Continue)
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let home = tempfile::tempdir()?;
    // Plugin processes run as `nobody` when this runs as root; like a user's home directory, the
    // LLF home must let them through to their own homes inside it.
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(home.path(), std::fs::Permissions::from_mode(0o711))?;
    }
    let mut env = Environment::from_process();
    env.llf_home = Some(home.path().to_owned());
    env.llf_config = None;
    let mut file = ConfigFile::init(None, &env, false)?;
    file.set("inference_params.max_tokens", "60")?;
    file.set("inference_params.temperature", "0")?;
    file.save()?;
    let llf = Llf::new(file);

    // 1. Install the two plugin directories shipped beside this example.
    let shipped = Path::new(env!("CARGO_MANIFEST_DIR")).join("plugins");
    for dir in ["example_logger", "redactor"] {
        let p = llf.install_plugin(&shipped.join(dir))?;
        println!("installed {} {}", p.manifest.name, p.manifest.version);
    }

    // 2. A chat runs the installed plugins (started once, in their order) and the program's own.
    // The redactor has order -10, so the word counter (order 0) sees the redacted prompt.
    let counter = Arc::new(WordCount::default());
    let chat = llf
        .chat(ChatOptions::new().plugin(counter.clone(), PluginSettings::default()))
        .await?;
    let mut turn = chat.send("Write one sentence to jane.doe@example.com, phone +1 555 123 4567.");
    let mut out = std::io::stdout();
    while let Some(event) = turn.next().await {
        match event {
            TurnEvent::Token(t) => {
                out.write_all(t.as_bytes())?;
                out.flush()?;
            }
            TurnEvent::Done(_) => println!(),
            TurnEvent::Failed { error, .. } => anyhow::bail!("the turn failed: {error}"),
            _ => {}
        }
    }
    println!(
        "[{} streamed pieces]",
        counter.tokens.load(Ordering::Relaxed)
    );

    // 3. The plugins' statistics, then shutdown (on_shutdown, processes end).
    for s in llf.plugins().await?.stats() {
        println!(
            "plugin {}: {} calls, {} errors, {} panics, {} timeouts",
            s.name, s.calls, s.errors, s.panics, s.timeouts
        );
    }
    chat.close().await?;
    llf.shutdown_plugins().await;

    // 4. What message_logger wrote, in its own home (its `~`).
    let logs = llf
        .locations()
        .plugin_home("message_logger")
        .join(".llf/message_logs");
    for entry in std::fs::read_dir(&logs)? {
        let path = entry?.path();
        println!("--- {}", path.display());
        print!("{}", std::fs::read_to_string(&path)?);
    }
    for name in llf
        .runtime()
        .servers()
        .servers()
        .iter()
        .map(|s| s.name.clone())
    {
        let _ = llf.runtime().servers().stop(&name).await;
    }
    Ok(())
}
