//! Printing answers: tokens as they stream, the status line, and --debug details.

use std::io::{IsTerminal, Write};
use std::time::Duration;

use futures::StreamExt;
use llf_runtime::{BuiltPrompt, ChatEvent, ChatStream, Completion, RuntimeError};

use super::record::{AnswerRow, Recorder};

/// How a streamed answer ended.
pub(crate) enum Outcome {
    /// Complete.
    Done(Completion),
    /// Ctrl-C: what arrived so far.
    Interrupted(String),
    /// The stream failed; what arrived so far.
    Failed(RuntimeError, String),
}

/// Prints tokens to stdout as they arrive until the answer ends or Ctrl-C is pressed (which
/// drops the stream, cancelling the request). With `save`, the text so far is written to the
/// history as it grows.
pub(crate) async fn stream_to_stdout(
    mut stream: ChatStream,
    prompt_build: Duration,
    mut save: Option<(&Recorder, &mut AnswerRow)>,
) -> anyhow::Result<Outcome> {
    let mut out = std::io::stdout();
    let mut text = String::new();
    let ctrl_c = tokio::signal::ctrl_c();
    tokio::pin!(ctrl_c);
    loop {
        tokio::select! {
            _ = &mut ctrl_c => {
                drop(stream);
                writeln!(out)?;
                return Ok(Outcome::Interrupted(text));
            }
            ev = stream.next() => match ev {
                Some(ChatEvent::Token(t)) => {
                    text.push_str(&t);
                    out.write_all(t.as_bytes())?;
                    out.flush()?;
                    if let Some((rec, row)) = save.as_mut() {
                        rec.progress(row, &text).await;
                    }
                }
                Some(ChatEvent::Done(c)) => {
                    if !c.content.ends_with('\n') {
                        writeln!(out)?;
                    }
                    debug_phases(&c, prompt_build);
                    return Ok(Outcome::Done(c));
                }
                Some(ChatEvent::Error { error, partial }) => {
                    if !partial.content.is_empty() {
                        writeln!(out)?;
                    }
                    return Ok(Outcome::Failed(error, partial.content));
                }
                Some(_) => {}
                None => return Ok(Outcome::Interrupted(text)),
            }
        }
    }
}

/// `[23 tokens · 78.1 tok/s · first token 45 ms]` on stderr, when stderr is a terminal or the
/// user asked for verbose output.
pub(crate) fn status_line(c: &Completion) {
    if !std::io::stderr().is_terminal() && !tracing::enabled!(target: "llf", tracing::Level::INFO) {
        return;
    }
    let counted = if c.usage_reported { "" } else { " (counted)" };
    eprintln!(
        "\x1b[2m[{} tokens{counted} · {:.1} tok/s · first token {} ms · {}]\x1b[0m",
        c.usage.completion_tokens,
        c.metrics.tokens_per_second,
        c.metrics.time_to_first_token.as_millis(),
        c.model
    );
}

/// With --debug: the final messages and where they came from.
pub(crate) fn debug_prompt(built: &BuiltPrompt) {
    for ctx in &built.context {
        tracing::debug!(provider = %ctx.provider, items = ctx.section.items.len(), elapsed_ms = ctx.elapsed.as_secs_f64() * 1e3, "context added");
    }
    if built.trimmed_messages > 0 {
        tracing::info!(
            trimmed = built.trimmed_messages,
            "oldest messages dropped to fit the context window"
        );
    }
    tracing::debug!(messages = built.messages.len(), prompt_tokens = ?built.prompt_tokens, "final prompt");
}

/// With --debug: per-phase timings.
pub(crate) fn debug_phases(c: &Completion, prompt_build: Duration) {
    let m = &c.metrics;
    tracing::debug!(
        prompt_build_ms = prompt_build.as_secs_f64() * 1e3,
        queue_wait_ms = m.queue_wait.as_secs_f64() * 1e3,
        first_token_ms = m.time_to_first_token.as_secs_f64() * 1e3,
        generation_ms = m.total.saturating_sub(m.time_to_first_token).as_secs_f64() * 1e3,
        tokens_per_second = m.tokens_per_second,
        "timings"
    );
}
