//! Printing a turn: tokens to stdout as they stream, tool calls and the status line on stderr,
//! details with --debug. Ctrl-C cancels the turn, which keeps (and saves) what arrived.

use std::io::{IsTerminal, Write};

use futures::StreamExt;
use llf::chat::{TurnEvent, TurnStream, TurnSummary};
use llf::runtime::Completion;

use llf::core::text::truncate;

/// How a turn ended.
pub(crate) enum Outcome {
    /// Complete.
    Done(Box<TurnSummary>),
    /// Ctrl-C; what arrived is kept (and saved when the chat is saved).
    Interrupted,
    /// The turn failed; what arrived is kept (and saved when the chat is saved).
    Failed(llf::Error),
}

/// What to print while a turn runs.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Show {
    /// Print the answer's tokens as they arrive (off for --no-stream and --json).
    pub(crate) tokens: bool,
    /// Print tool calls and their results on stderr.
    pub(crate) tools: bool,
}

/// Runs `turn` to its end, printing it as `show` says.
pub(crate) async fn turn(mut turn: TurnStream, show: Show) -> anyhow::Result<Outcome> {
    let mut out = std::io::stdout();
    let mut text_printed = false;
    let mut at_line_start = true;
    let ctrl_c = tokio::signal::ctrl_c();
    tokio::pin!(ctrl_c);
    let mut interrupted = false;
    loop {
        let event = tokio::select! {
            _ = &mut ctrl_c, if !interrupted => {
                // The turn stops and ends with `Cancelled` once what arrived is saved.
                interrupted = true;
                turn.cancel();
                continue;
            }
            event = turn.next() => event,
        };
        let Some(event) = event else {
            return Ok(Outcome::Interrupted);
        };
        match event {
            TurnEvent::Token(t) if show.tokens => {
                out.write_all(t.as_bytes())?;
                out.flush()?;
                text_printed = true;
                at_line_start = t.ends_with('\n');
            }
            TurnEvent::ToolCall(c) if show.tools => {
                end_line(&mut out, &mut at_line_start)?;
                eprintln!("→ {} {}", c.name, c.arguments);
            }
            TurnEvent::ToolResult(o) if show.tools => {
                let status = if o.success { "ok" } else { "failed" };
                eprintln!(
                    "← {} {status} ({} ms): {}",
                    o.name,
                    o.duration.as_millis(),
                    truncate(&o.content.to_string(), 200)
                );
            }
            TurnEvent::Routed { server } => eprintln!("routing: using server `{server}`"),
            TurnEvent::Context {
                provider,
                items,
                elapsed,
                ..
            } => {
                for item in &items {
                    tracing::debug!(provider = %provider, score = item.score, citation = ?item.citation, "context item");
                }
                tracing::debug!(provider = %provider, items = items.len(), elapsed_ms = elapsed.as_secs_f64() * 1e3, "context added");
            }
            TurnEvent::PromptReady {
                messages,
                prompt_tokens,
                trimmed,
                ..
            } => {
                if trimmed > 0 {
                    tracing::info!(trimmed, "oldest messages dropped to fit the context window");
                }
                tracing::debug!(messages, prompt_tokens = ?prompt_tokens, "final prompt");
            }
            TurnEvent::Saved(s) => {
                tracing::debug!(conversation = %s.conversation, id = s.id, role = %s.role, complete = s.complete, "saved")
            }
            TurnEvent::ToolApproval { tool, approved } => {
                tracing::info!(%tool, approved, "tool approval")
            }
            TurnEvent::Done(summary) => {
                if text_printed {
                    end_line(&mut out, &mut at_line_start)?;
                }
                debug_phases(&summary);
                return Ok(Outcome::Done(summary));
            }
            TurnEvent::Failed { error, .. } => {
                if text_printed {
                    end_line(&mut out, &mut at_line_start)?;
                }
                return Ok(Outcome::Failed(error));
            }
            TurnEvent::Cancelled { .. } => {
                if text_printed {
                    end_line(&mut out, &mut at_line_start)?;
                }
                return Ok(Outcome::Interrupted);
            }
            _ => {}
        }
    }
}

fn end_line(out: &mut std::io::Stdout, at_line_start: &mut bool) -> std::io::Result<()> {
    if !*at_line_start {
        writeln!(out)?;
        *at_line_start = true;
    }
    Ok(())
}

/// `[23 tokens · 78.1 tok/s · first token 45 ms]` on stderr, when stderr is a terminal or the
/// user asked for verbose output.
pub(crate) fn status_line(c: &Completion) {
    let terminal = std::io::stderr().is_terminal();
    if !terminal && !tracing::enabled!(target: "llf", tracing::Level::INFO) {
        return;
    }
    let counted = if c.usage_reported { "" } else { " (counted)" };
    let line = format!(
        "[{} tokens{counted} · {:.1} tok/s · first token {} ms · {}]",
        c.usage.completion_tokens,
        c.metrics.tokens_per_second,
        c.metrics.time_to_first_token.as_millis(),
        c.model
    );
    if crate::text::color(terminal) {
        eprintln!("\x1b[2m{line}\x1b[0m");
    } else {
        eprintln!("{line}");
    }
}

/// With --debug: per-phase timings.
fn debug_phases(summary: &TurnSummary) {
    let m = &summary.completion.metrics;
    tracing::debug!(
        prompt_build_ms = summary.prompt_build.as_secs_f64() * 1e3,
        queue_wait_ms = m.queue_wait.as_secs_f64() * 1e3,
        first_token_ms = m.time_to_first_token.as_secs_f64() * 1e3,
        generation_ms = m.total.saturating_sub(m.time_to_first_token).as_secs_f64() * 1e3,
        tokens_per_second = m.tokens_per_second,
        rounds = summary.rounds,
        "timings"
    );
}
