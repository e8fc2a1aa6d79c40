//! Stream an answer from the default model of your LLF config, starting its llama-server if
//! needed, then print the request's figures.
//!
//! Run: `cargo run -p example-chat-basics -- "Why is the sky blue?"`
//! (after `llf config init`, or with `LLF_HOME` pointing at a directory with a config.json).
#![allow(clippy::print_stdout, clippy::print_stderr)] // an example prints what it does

use std::io::Write;

use futures::StreamExt;
use llf_config::{ConfigFile, Environment};
use llf_runtime::{ChatEvent, Runtime, Target};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let question = std::env::args().skip(1).collect::<Vec<_>>().join(" ");
    let question = if question.is_empty() {
        "Name three planets.".to_owned()
    } else {
        question
    };

    let file = ConfigFile::load(None, &Environment::from_process())?;
    let runtime = Runtime::new(file.config(), file.paths());
    let conn = runtime
        .connect(&Target::Default, |phase| eprintln!("server: {phase:?}"))
        .await?;
    let session = runtime.session(&conn, runtime.prompt_builder());

    let prompt = session.prepare(&question).await?;
    let mut answer = session.stream(&prompt).await?;
    while let Some(event) = answer.next().await {
        match event {
            ChatEvent::Token(t) => {
                print!("{t}");
                std::io::stdout().flush()?;
            }
            ChatEvent::Done(c) => println!(
                "\n[{} tokens, first token after {:?}, {:.1} tokens/s]",
                c.usage.completion_tokens,
                c.metrics.time_to_first_token,
                c.metrics.tokens_per_second
            ),
            ChatEvent::Error { error, .. } => eprintln!("\nerror: {error}"),
            _ => {}
        }
    }
    if let Some(server) = conn.server {
        println!(
            "llama-server `{}` keeps running (pid {}); stop it with `llf server stop`",
            server.name, server.pid
        );
    }
    Ok(())
}
