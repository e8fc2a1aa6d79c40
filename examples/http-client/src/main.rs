//! An OpenAI client, unchanged, talking to LLF's HTTP API. With a URL (`… -- http://127.0.0.1:8090/v1`)
//! it uses a running `llf serve`; without one it starts the same server in this process on a
//! free loopback port, over your config (the default local server starts on demand).
//!
//! ```sh
//! cargo run -p example-http-client -- "" "Name three colours."
//! ```
#![allow(clippy::print_stdout, clippy::print_stderr)] // an example prints

use std::io::Write;

use async_openai::Client;
use async_openai::config::OpenAIConfig;
use async_openai::types::chat::{
    ChatCompletionRequestUserMessageArgs, ChatCompletionStreamOptions,
    CreateChatCompletionRequestArgs,
};
use futures::StreamExt;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let url = args.next().filter(|u| !u.is_empty());
    let question = args
        .next()
        .unwrap_or_else(|| "Name three colours.".to_owned());

    let llf = llf::Llf::open(None)?;
    let model = llf
        .model_entries()
        .into_iter()
        .find(|m| m.kind != llf::completion::ModelKind::Embedding)
        .map(|m| m.id)
        .ok_or_else(|| anyhow::anyhow!("no chat model in the configuration"))?;
    let (base, server) = match url {
        Some(u) => (u, None),
        None => {
            let options = llf_http_api::ServeOptions {
                host: None,
                port: Some(0),
            };
            let server = llf_http_api::Server::start(llf.clone(), options).await?;
            (format!("http://{}/v1", server.addr()), Some(server))
        }
    };
    eprintln!("asking `{model}` at {base}");

    let key = std::env::var("LLF_SERVE_KEY").unwrap_or_else(|_| "unused-on-loopback".into());
    let client = Client::with_config(OpenAIConfig::new().with_api_base(&base).with_api_key(key));
    let request = CreateChatCompletionRequestArgs::default()
        .model(model)
        .max_completion_tokens(64u32)
        // With async-openai's `byot` feature (on in this workspace) `create_stream` does not set it.
        .stream(true)
        .stream_options(ChatCompletionStreamOptions {
            include_usage: Some(true),
            include_obfuscation: None,
        })
        .messages([ChatCompletionRequestUserMessageArgs::default()
            .content(question)
            .build()?
            .into()])
        .build()?;
    let mut stream = client.chat().create_stream(request).await?;
    while let Some(chunk) = stream.next().await {
        let chunk = chunk?;
        for c in &chunk.choices {
            print!("{}", c.delta.content.as_deref().unwrap_or_default());
            std::io::stdout().flush()?;
        }
        if let Some(u) = chunk.usage {
            println!(
                "\n({} prompt + {} completion tokens)",
                u.prompt_tokens, u.completion_tokens
            );
        }
    }
    if let Some(s) = server {
        s.shutdown().await?;
    }
    Ok(())
}
