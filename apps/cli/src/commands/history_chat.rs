//! One exchange in a saved conversation, used by `llf conversation resume ID MESSAGE` and
//! `llf template use --execute`: the chat's own machinery (`commands::chat`) continues the
//! conversation, so the answer streams to stdout and is saved as it arrives — a `partial` row
//! from before the first token, so an interruption keeps everything received.

use llf_history::History;
use llf_runtime::Target;

use crate::Context;
use crate::commands::chat::{ChatOptions, connect, open_chat, render};
use crate::commands::server::runtime;

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
    let rt = runtime(ctx)?;
    let conn = connect(&rt, target).await?;
    let options = ChatOptions {
        save: true,
        resume: Some(conv.id.clone()),
        ..ChatOptions::default()
    };
    let (mut chat, _) = open_chat(ctx, &rt, conn, target.clone(), &options).await?;
    let prompt = chat.session.prepare(user_text).await?;
    match chat.ask_streaming(user_text, prompt).await? {
        render::Outcome::Done(c) => {
            render::status_line(&c);
            eprintln!(
                "saved in conversation {} (`llf conversation resume {} \"…\"` continues it)",
                conv.id, conv.id
            );
            Ok(())
        }
        render::Outcome::Interrupted(_) => {
            eprintln!(
                "\n[interrupted; the partial answer is saved in conversation {}]",
                conv.id
            );
            std::process::exit(130);
        }
        render::Outcome::Failed(e, _) => Err(anyhow::Error::new(e).context(format!(
            "the answer failed; what arrived is saved in conversation {}",
            conv.id
        ))),
    }
}
