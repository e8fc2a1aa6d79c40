//! `llf chat`: one-shot answers, piped input, and the interactive REPL.

mod record;
pub(crate) mod render;
mod repl;
mod slash;
mod tools;
mod transcript;

use std::io::{IsTerminal, Read};

use clap::{Args, Subcommand, ValueEnum};
use llf_config::schema::RoutingStrategy;
use llf_runtime::multi::{self, Ensemble};
use llf_runtime::{ChatRequest, Runtime, Target};

use crate::Context;
use crate::commands::server::{runtime, start_with_spinner};

#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub(crate) struct ChatArgs {
    #[command(subcommand)]
    pub(crate) command: Option<ChatCmd>,
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
    /// Let the model call the enabled tools (`llf tool list`); each call is validated, sandboxed
    /// and audited.
    #[arg(long)]
    pub(crate) tools: bool,
    /// Approve tool calls that need approval without asking (needed when not on a terminal).
    #[arg(short, long, requires = "tools")]
    pub(crate) yes: bool,
    /// Do not save this chat in the conversation history.
    #[arg(long, conflicts_with = "resume")]
    pub(crate) no_save: bool,
    /// Continue a saved conversation (id or unique prefix from `llf conversation list`).
    #[arg(long, value_name = "ID")]
    pub(crate) resume: Option<String>,
}

#[derive(Debug, Subcommand)]
pub(crate) enum ChatCmd {
    /// Send one prompt to several servers in parallel and show the answers side by side.
    ///
    /// Example: llf chat compare --models small,big "Explain borrowing in Rust"
    Compare(CompareArgs),
}

#[derive(Debug, Args)]
pub(crate) struct CompareArgs {
    /// Comma-separated server names (`remote` for llm_endpoint).
    #[arg(long, value_delimiter = ',', required = true)]
    models: Vec<String>,
    /// Also combine the answers: all of them (concat) or the best-rated one (best).
    #[arg(long, value_enum)]
    ensemble: Option<EnsembleArg>,
    /// Print JSON.
    #[arg(long)]
    json: bool,
    /// The prompt.
    #[arg(required = true)]
    prompt: Vec<String>,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub(crate) enum EnsembleArg {
    /// Every answer under its model's name.
    Concat,
    /// The answer of the model with the best quality_score.
    Best,
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
    if let Some(ChatCmd::Compare(c)) = &args.command {
        return compare(&rt, c).await;
    }
    let mut target = args.target();
    let prompt = if !args.prompt.is_empty() {
        Some(args.prompt.join(" "))
    } else if !args.interactive && !std::io::stdin().is_terminal() {
        let mut text = String::new();
        std::io::stdin().read_to_string(&mut text)?;
        if text.trim().is_empty() {
            anyhow::bail!(
                "nothing to send: stdin was empty (give a prompt, or run `llf chat` in a terminal)"
            );
        }
        Some(text)
    } else {
        None
    };
    if let (Some(p), Target::Default) = (&prompt, &target) {
        let mm = &rt.config().multi_model;
        if mm.routing_strategy != RoutingStrategy::Manual {
            let names: Vec<String> = rt
                .config()
                .local_llm_servers
                .iter()
                .map(|s| s.name.clone())
                .collect();
            if let Some(choice) = multi::route(mm.routing_strategy, &mm.model_profiles, &names, p) {
                eprintln!(
                    "routing ({:?}): using server `{choice}`",
                    mm.routing_strategy
                );
                target = Target::Server(choice);
            }
        }
    }
    let conn = connect(&rt, &target).await?;
    let options = ChatOptions {
        system: args.system.clone(),
        tools: args.tools,
        yes: args.yes,
        save: !args.no_save,
        resume: args.resume.clone(),
    };
    let (mut chat, rag) = open_chat(ctx, &rt, conn, target, &options).await?;
    let result = match prompt {
        Some(p) => one_shot(&mut chat, &p, &args).await,
        None => repl::run(ctx, &rt, chat).await,
    };
    if let Some(r) = &rag {
        slash::save_rag_cache(ctx, r);
    }
    result
}

/// How a chat is set up.
#[derive(Debug, Default)]
pub(crate) struct ChatOptions {
    /// System prompt replacing `prompt.system_prompt`.
    pub(crate) system: Option<String>,
    /// Offer the enabled tools.
    pub(crate) tools: bool,
    /// Approve tool calls without asking.
    pub(crate) yes: bool,
    /// Save the chat in the history.
    pub(crate) save: bool,
    /// Continue this saved conversation.
    pub(crate) resume: Option<String>,
}

/// Builds a chat over `conn`: prompt builder with memory and retrieval, history recorder
/// (continuing a saved conversation when asked), tools. Returns the retrieval context too, whose
/// caches the caller saves when the chat ends.
pub(crate) async fn open_chat(
    ctx: &Context,
    rt: &Runtime,
    conn: llf_runtime::Connection,
    target: Target,
    options: &ChatOptions,
) -> anyhow::Result<(repl::Chat, Option<llf_rag::context::RagContext>)> {
    let mut builder = rt.prompt_builder();
    if let Some(system) = &options.system {
        builder.set_system_prompt(Some(system.clone()));
    }
    let memory = slash::memory_context(ctx).await;
    if let Some(m) = &memory {
        builder = builder.with_provider(m.clone());
    }
    let rag = slash::rag_context(ctx).await;
    if let Some(r) = &rag {
        builder = builder.with_provider(std::sync::Arc::new(r.clone()));
    }
    let system = builder.system_prompt().map(str::to_owned);
    let mut session = rt.session(&conn, builder);
    let mut recorder = if options.save || options.resume.is_some() {
        record::Recorder::open(ctx, system, conn.client.model()).await
    } else {
        None
    };
    if let Some(id) = &options.resume {
        let rec = recorder
            .as_mut()
            .ok_or_else(|| anyhow::anyhow!("the conversation history cannot be opened"))?;
        let conv = rec.history.conversation(id).await?;
        let path = rec.history.current_path(&conv.id).await?;
        // The conversation's own system prompt wins, as when it was saved.
        if let Some(system) = path
            .iter()
            .find(|m| m.role() == llf_core::chat::Role::System)
        {
            session
                .builder_mut()
                .set_system_prompt(Some(system.message.content.clone()));
        }
        rec.conversation = Some(conv.id.clone());
        let messages = rec.current_messages().await?;
        eprintln!("resuming \"{}\" ({} messages)", conv.title, messages.len());
        session.set_history(messages);
    }
    let tools = if options.tools {
        Some(tools::open(ctx, options.yes).await?)
    } else {
        None
    };
    let tool_rounds = ctx.config()?.config().tools.max_tool_rounds as usize;
    let chat = repl::Chat {
        session,
        conn,
        target,
        recorder,
        memory,
        tools,
        tool_rounds,
    };
    Ok((chat, rag))
}

/// Connects to `target`, starting its local server with a spinner when needed.
pub(crate) async fn connect(
    rt: &Runtime,
    target: &Target,
) -> anyhow::Result<llf_runtime::Connection> {
    if let Some(name) = rt.local_server_name(target) {
        let before = rt.servers().status(&name).await.ok();
        start_with_spinner(rt, Some(&name)).await?;
        if matches!(before, Some(llf_runtime::server::ServerStatus::Stopped)) {
            eprintln!(
                "started llama-server `{name}`; it keeps running for the next chats (`llf server stop` stops it)"
            );
        }
    }
    Ok(rt.connect(target, |_| {}).await?)
}

async fn one_shot(chat: &mut repl::Chat, prompt: &str, args: &ChatArgs) -> anyhow::Result<()> {
    if chat.tools.is_some() {
        return chat.ask_with_tools(prompt).await;
    }
    let built = chat.session.prepare(prompt).await?;
    render::debug_prompt(&built);
    if args.json || args.no_stream {
        let request = ChatRequest {
            prompt_build: built.elapsed,
            ..ChatRequest::new(built.messages.clone()).params(chat.session.params().clone())
        };
        let row = match chat.recorder.as_mut() {
            Some(r) => Some(r.begin(prompt).await?),
            None => None,
        };
        let c = chat.session.client().complete(request).await?;
        if let (Some(r), Some(row)) = (&chat.recorder, row) {
            r.finish(row, &c).await?;
        }
        render::debug_phases(&c, built.elapsed);
        if args.json {
            crate::output::json(&serde_json::json!({
                "model": c.model, "content": c.content, "finish_reason": c.finish_reason,
                "usage": c.usage, "usage_reported": c.usage_reported,
                "conversation": chat.recorder.as_ref().and_then(|r| r.conversation.clone()),
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
    match chat.ask_streaming(prompt, built).await? {
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

async fn compare(rt: &Runtime, args: &CompareArgs) -> anyhow::Result<()> {
    let targets: Vec<Target> = args
        .models
        .iter()
        .map(|m| {
            if m == "remote" {
                Target::Remote
            } else {
                Target::Server(m.clone())
            }
        })
        .collect();
    for t in &targets {
        if let Target::Server(n) = t {
            rt.require_server(n)?;
        }
    }
    let mut messages = Vec::new();
    if let Some(system) = &rt.config().prompt.system_prompt {
        messages.push(llf_core::chat::ChatMessage::system(system.clone()));
    }
    messages.push(llf_core::chat::ChatMessage::user(args.prompt.join(" ")));
    eprintln!("asking {} models in parallel…", targets.len());
    let entries = multi::compare(rt, &targets, &messages).await;
    let profiles = &rt.config().multi_model.model_profiles;
    let combined = args.ensemble.and_then(|e| {
        let mode = match e {
            EnsembleArg::Concat => Ensemble::Concat,
            EnsembleArg::Best => Ensemble::Best,
        };
        multi::ensemble(&entries, mode, profiles)
    });
    if args.json {
        return crate::output::json(&serde_json::json!({"answers": entries, "ensemble": combined}));
    }
    for e in &entries {
        match (&e.completion, &e.error) {
            (Some(c), _) => {
                crate::output::line(format!(
                    "=== {} — {} tokens, first token {} ms, {:.1} tok/s, {:.0} ms wall",
                    e.target,
                    c.usage.completion_tokens,
                    c.metrics.time_to_first_token.as_millis(),
                    c.metrics.tokens_per_second,
                    e.wall_ms
                ))?;
                crate::output::line(c.content.trim())?;
            }
            (None, err) => crate::output::line(format!(
                "=== {} — failed: {}",
                e.target,
                err.as_deref().unwrap_or("?")
            ))?,
        }
        crate::output::line("")?;
    }
    if let Some(text) = combined {
        crate::output::line("=== ensemble")?;
        crate::output::line(text)?;
    }
    Ok(())
}
