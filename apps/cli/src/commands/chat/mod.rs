//! `llf chat`: one-shot answers, piped input, and the interactive REPL — all through the `llf`
//! facade's chat, which saves every step as it happens.

mod no_echo;
pub(crate) mod render;
mod repl;
mod slash;
mod transcript;

use std::io::{IsTerminal, Read};

use clap::{Args, Subcommand, ValueEnum};
use llf::Llf;
use llf::chat::{Chat, ChatOptions};
use llf::runtime::Target;
use llf::runtime::multi::Ensemble;

use crate::Context;
use crate::progress::ServerStart;

#[derive(Debug, Args)]
#[command(
    args_conflicts_with_subcommands = true,
    disable_help_subcommand = true,
    after_help = "Input: the words after `llf chat` are the message. Text piped on stdin is sent \
too: after the message when both are given (`git diff | llf chat \"Review this\"`), alone \
otherwise. Without either, an interactive session starts.\n\nA message that starts with \
`compare` is sent as a message unless --models is given; put `--` before a message to be sure: \
`llf chat -- compare apples and oranges`."
)]
pub(crate) struct ChatArgs {
    #[command(subcommand)]
    pub(crate) command: Option<ChatCmd>,
    /// The message. Omit it for an interactive session; piped stdin is added after it.
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

/// Makes `llf chat compare apples and oranges` a message: `compare` is the subcommand only with
/// `--models` (which it requires) or a help flag after it.
pub(crate) fn protect_prompt(args: &mut Vec<std::ffi::OsString>) {
    let Some(chat) = args.iter().position(|a| a == "chat") else {
        return;
    };
    let next = chat + 1;
    if args.get(next).is_some_and(|a| a == "compare") {
        let rest = &args[next + 1..];
        let is_subcommand = rest.iter().any(|a| {
            let a = a.to_string_lossy();
            a == "--models" || a.starts_with("--models=") || a == "-h" || a == "--help"
        });
        if !is_subcommand {
            args.insert(next, "--".into());
        }
    }
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
    let llf = ctx.llf()?;
    if let Some(ChatCmd::Compare(c)) = &args.command {
        return compare(llf, c).await;
    }
    let prompt = message(&args)?;
    let mut options = ChatOptions::new()
        .target(args.target())
        .tools(args.tools)
        .approvals(crate::approval::policy(args.yes))
        .save(!args.no_save)
        .stream(!(args.json || args.no_stream));
    if let Some(system) = &args.system {
        options = options.system(system.clone());
    }
    if let Some(id) = &args.resume {
        options = options.resume(id.clone());
    }
    let chat = open(llf, options).await?;
    if args.resume.is_some()
        && let Some(conv) = chat.saved_conversation().await?
    {
        let messages = chat.messages().await.len();
        eprintln!("resuming \"{}\" ({messages} messages)", conv.title);
    }
    connect(&chat, prompt.as_deref()).await?;
    let result = match prompt {
        Some(p) => one_shot(&chat, &p, &args).await,
        None => repl::run(llf, &chat).await,
    };
    chat.close().await?;
    result
}

/// The message: the words given, then piped stdin when there is any.
fn message(args: &ChatArgs) -> anyhow::Result<Option<String>> {
    let words = (!args.prompt.is_empty()).then(|| args.prompt.join(" "));
    // `llf chat ""` is a mistake, not a message (nor a request for the REPL).
    let empty = words.as_deref().is_some_and(|w| w.trim().is_empty());
    let words = words.filter(|w| !w.trim().is_empty());
    let stdin = std::io::stdin();
    if args.interactive || stdin.is_terminal() {
        if empty {
            anyhow::bail!("the message is empty: give some words, or no argument for a session");
        }
        return Ok(words);
    }
    let mut piped = String::new();
    stdin.lock().read_to_string(&mut piped)?;
    let piped = (!piped.trim().is_empty()).then_some(piped);
    Ok(match (words, piped) {
        (Some(w), Some(p)) => Some(format!("{w}\n\n{p}")),
        (Some(w), None) => Some(w),
        (None, Some(p)) => Some(p),
        (None, None) if empty => {
            anyhow::bail!("the message is empty: give some words, or pipe the text to send")
        }
        (None, None) => anyhow::bail!(
            "nothing to send: stdin was empty (give a message, or run `llf chat` in a terminal)"
        ),
    })
}

/// Opens a chat and reports what is off for it.
pub(crate) async fn open(llf: &Llf, options: ChatOptions) -> anyhow::Result<Chat> {
    let chat = llf.chat(options).await?;
    for w in chat.take_warnings().await {
        eprintln!(
            "warning: {} is off for this chat: {}",
            w.capability, w.error
        );
    }
    Ok(chat)
}

/// Connects the chat, starting its local server with a spinner when needed (routing by
/// `first_message` when configured).
pub(crate) async fn connect(chat: &Chat, first_message: Option<&str>) -> anyhow::Result<()> {
    let progress = ServerStart::default();
    let routed = chat
        .connect(first_message, |server, phase| progress.phase(server, phase))
        .await;
    let started = progress.finish();
    if let Some(server) = routed? {
        eprintln!("routing: using server `{server}`");
    }
    if let Some(name) = started {
        eprintln!(
            "started llama-server `{name}`; it keeps running for the next chats (`llf server stop` stops it)"
        );
    }
    Ok(())
}

/// One message, printed as it streams (or whole, or as JSON); Ctrl-C ends it with
/// [`crate::Interrupted`].
async fn one_shot(chat: &Chat, prompt: &str, args: &ChatArgs) -> anyhow::Result<()> {
    let quiet = args.json || args.no_stream;
    let show = render::Show {
        tokens: !quiet,
        tools: !args.json,
    };
    match render::turn(chat.send(prompt), show).await? {
        render::Outcome::Done(summary) => {
            let c = &summary.completion;
            if args.json {
                crate::output::json(&serde_json::json!({
                    "model": c.model, "content": summary.answer, "finish_reason": c.finish_reason,
                    "usage": c.usage, "usage_reported": c.usage_reported,
                    "conversation": summary.conversation,
                    "tool_calls": summary.tool_outcomes,
                    "metrics": {"queue_wait_ms": c.metrics.queue_wait.as_secs_f64() * 1e3,
                                "time_to_first_token_ms": c.metrics.time_to_first_token.as_secs_f64() * 1e3,
                                "total_ms": c.metrics.total.as_secs_f64() * 1e3,
                                "tokens_per_second": c.metrics.tokens_per_second},
                }))?;
            } else if args.no_stream {
                crate::output::line(summary.answer.trim_end())?;
            } else {
                render::status_line(c);
            }
            Ok(())
        }
        render::Outcome::Interrupted => {
            eprintln!("[interrupted; the partial answer is kept]");
            Err(crate::Interrupted.into())
        }
        render::Outcome::Failed(e) => Err(e.into()),
    }
}

async fn compare(llf: &Llf, args: &CompareArgs) -> anyhow::Result<()> {
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
    eprintln!("asking {} models in parallel…", targets.len());
    let entries = llf.compare(&targets, &args.prompt.join(" ")).await?;
    let combined = args.ensemble.and_then(|e| {
        let mode = match e {
            EnsembleArg::Concat => Ensemble::Concat,
            EnsembleArg::Best => Ensemble::Best,
        };
        llf.ensemble(&entries, mode)
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
