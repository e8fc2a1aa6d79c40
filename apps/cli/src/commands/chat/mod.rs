//! `llf chat`: one-shot answers, piped input, and the interactive REPL.

mod render;
mod repl;
mod transcript;

use std::io::{IsTerminal, Read};

use clap::Args;
use llf_runtime::{ChatRequest, Runtime, Target};

use crate::Context;
use crate::commands::server::{runtime, start_with_spinner};

#[derive(Debug, Args)]
pub(crate) struct ChatArgs {
    /// The message. Omit it for an interactive session; pipe text on stdin to send that instead.
    pub(crate) prompt: Vec<String>,
    /// Talk to this local server instead of the default.
    #[arg(long, value_name = "NAME")]
    pub(crate) server: Option<String>,
    /// Talk to the remote endpoint (llm_endpoint.api_base_url) even if a local server is the default.
    #[arg(long, conflicts_with = "server")]
    pub(crate) remote: bool,
    /// Wait for the whole answer instead of streaming it.
    #[arg(long)]
    pub(crate) no_stream: bool,
    /// Print the answer as JSON with usage and timings (implies --no-stream).
    #[arg(long)]
    pub(crate) json: bool,
    /// Use this system prompt instead of prompt.system_prompt.
    #[arg(long, value_name = "TEXT")]
    pub(crate) system: Option<String>,
    /// Start the interactive session even when stdin is not a terminal (lines are read from it).
    #[arg(short, long)]
    pub(crate) interactive: bool,
}

impl ChatArgs {
    pub(crate) fn target(&self) -> Target {
        match (&self.server, self.remote) {
            (Some(n), _) => Target::Server(n.clone()),
            (None, true) => Target::Remote,
            (None, false) => Target::Default,
        }
    }
}

pub(crate) async fn run(ctx: &Context, args: ChatArgs) -> anyhow::Result<()> {
    let rt = runtime(ctx)?;
    let target = args.target();
    let prompt = if !args.prompt.is_empty() {
        Some(args.prompt.join(" "))
    } else if !args.interactive && !std::io::stdin().is_terminal() {
        let mut text = String::new();
        std::io::stdin().read_to_string(&mut text)?;
        if text.trim().is_empty() {
            anyhow::bail!("nothing to send: stdin was empty (give a prompt, or run `llf chat` in a terminal)");
        }
        Some(text)
    } else {
        None
    };
    let conn = connect(&rt, &target).await?;
    let mut builder = rt.prompt_builder();
    if let Some(system) = &args.system {
        builder.set_system_prompt(Some(system.clone()));
    }
    let mut session = rt.session(&conn, builder);
    match prompt {
        Some(p) => one_shot(&mut session, &p, &args).await,
        None => repl::run(ctx, &rt, session, conn, target).await,
    }
}

/// Connects to `target`, starting its local server with a spinner when needed.
pub(crate) async fn connect(rt: &Runtime, target: &Target) -> anyhow::Result<llf_runtime::Connection> {
    if let Some(name) = rt.local_server_name(target) {
        let before = rt.servers().status(&name).await.ok();
        start_with_spinner(rt, Some(&name)).await?;
        if matches!(before, Some(llf_runtime::server::ServerStatus::Stopped)) {
            eprintln!("started llama-server `{name}`; it keeps running for the next chats (`llf server stop` stops it)");
        }
    }
    Ok(rt.connect(target, |_| {}).await?)
}

async fn one_shot(session: &mut llf_runtime::ChatSession, prompt: &str, args: &ChatArgs) -> anyhow::Result<()> {
    let built = session.prepare(prompt).await?;
    render::debug_prompt(&built);
    if args.json || args.no_stream {
        let request = ChatRequest { prompt_build: built.elapsed, ..ChatRequest::new(built.messages.clone()).params(session.params().clone()) };
        let c = session.client().complete(request).await?;
        render::debug_phases(&c, built.elapsed);
        if args.json {
            crate::output::json(&serde_json::json!({
                "model": c.model, "content": c.content, "finish_reason": c.finish_reason,
                "usage": c.usage, "usage_reported": c.usage_reported,
                "metrics": {"queue_wait_ms": c.metrics.queue_wait.as_secs_f64() * 1e3,
                            "time_to_first_token_ms": c.metrics.time_to_first_token.as_secs_f64() * 1e3,
                            "total_ms": c.metrics.total.as_secs_f64() * 1e3,
                            "tokens_per_second": c.metrics.tokens_per_second},
            }))?;
        } else {
            crate::output::line(c.content.trim_end())?;
        }
        return Ok(());
    }
    let stream = session.stream(&built).await?;
    let outcome = render::stream_to_stdout(stream, built.elapsed).await?;
    match outcome {
        render::Outcome::Done(c) => {
            render::status_line(&c);
            Ok(())
        }
        render::Outcome::Interrupted(_) => {
            eprintln!("[interrupted]");
            std::process::exit(130);
        }
        render::Outcome::Failed(e, _) => Err(e.into()),
    }
}
