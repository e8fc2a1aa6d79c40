//! One exchange in a saved conversation: the user message is saved, the answer is streamed to
//! stdout and saved as it arrives (a `partial` row from before the first token), so an
//! interruption keeps everything received. Used by `llf conversation resume` and
//! `llf template use --execute`.

use std::time::{Duration, Instant};

use futures::StreamExt;
use llf_core::chat::{ChatMessage, Role};
use llf_history::{Finish, History, NewMessage, TokenCounts};
use llf_runtime::{ChatEvent, Target};

use crate::Context;
use crate::commands::chat::connect;
use crate::commands::server::runtime;

/// How often a streamed answer is written to the history while it grows.
const SAVE_EVERY: Duration = Duration::from_millis(100);

/// Sends `user_text` as the next message of `conversation` (continuing its active branch) and
/// streams the answer to stdout, saving both.
pub(crate) async fn send(
    ctx: &Context,
    history: &History,
    conversation: &str,
    user_text: &str,
    target: &Target,
) -> anyhow::Result<()> {
    let conv = history.conversation(conversation).await?;
    let earlier = history.current_path(&conv.id).await?;
    let rt = runtime(ctx)?;
    let conn = connect(&rt, target).await?;
    let model = conn.client.model().to_owned();
    let mut builder = rt.prompt_builder();
    // The conversation's own system prompt wins over the configured one, as when it was saved.
    if let Some(system) = earlier.iter().find(|m| m.role() == Role::System) {
        builder.set_system_prompt(Some(system.message.content.clone()));
    }
    let mut session = rt.session(&conn, builder);
    session.set_history(
        earlier
            .iter()
            .filter(|m| m.role() != Role::System)
            .map(|m| m.message.clone())
            .collect(),
    );

    let prompt = session.prepare(user_text).await?;
    history
        .append(&conv.id, ChatMessage::user(user_text))
        .await?;
    let answer = history
        .start_message(
            &conv.id,
            NewMessage::new(ChatMessage::assistant("")).model(model),
        )
        .await?;
    let mut stream = session.stream(&prompt).await?;
    let mut text = String::new();
    let mut saved_at = Instant::now();
    let mut out = std::io::stdout();
    loop {
        let event = tokio::select! {
            e = stream.next() => e,
            _ = tokio::signal::ctrl_c() => {
                history.update_content(answer.id, &text).await?;
                eprintln!("\n[interrupted; the partial answer is saved in conversation {}]", conv.id);
                std::process::exit(130);
            }
        };
        let Some(event) = event else {
            history.update_content(answer.id, &text).await?;
            anyhow::bail!("the answer stream ended early; the partial answer is saved");
        };
        match event {
            ChatEvent::Token(t) => {
                use std::io::Write;
                text.push_str(&t);
                write!(out, "{t}")?;
                out.flush()?;
                if saved_at.elapsed() >= SAVE_EVERY {
                    history.update_content(answer.id, &text).await?;
                    saved_at = Instant::now();
                }
            }
            ChatEvent::Done(c) => {
                let tokens = TokenCounts {
                    prompt: u32::try_from(c.usage.prompt_tokens).ok(),
                    completion: u32::try_from(c.usage.completion_tokens).ok(),
                };
                history
                    .finish_message(
                        answer.id,
                        Finish {
                            content: c.content.clone(),
                            tool_calls: c.tool_calls.clone(),
                            tokens,
                        },
                    )
                    .await?;
                if !c.content.ends_with('\n') {
                    crate::output::line("")?;
                }
                eprintln!(
                    "saved in conversation {} (`llf conversation resume {} \"…\"` continues it)",
                    conv.id, conv.id
                );
                return Ok(());
            }
            ChatEvent::Error { error, partial } => {
                history.update_content(answer.id, &partial.content).await?;
                return Err(anyhow::Error::new(error).context(format!(
                    "the answer failed; what arrived is saved in conversation {}",
                    conv.id
                )));
            }
            _ => {}
        }
    }
}
