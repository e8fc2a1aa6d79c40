//! One exchange in a saved conversation, used by `llf conversation resume ID MESSAGE` and
//! `llf template use --execute`: the facade's chat continues the conversation, so the answer
//! streams to stdout and is saved as it arrives.

use llf::chat::ChatOptions;
use llf::runtime::Target;

use crate::Context;
use crate::commands::chat::{self, render};

/// Sends `user_text` as the next message of `conversation` (continuing its active branch) and
/// streams the answer to stdout, saving both; Ctrl-C ends it with [`crate::Interrupted`].
pub(crate) async fn send(
    ctx: &Context,
    conversation: &str,
    user_text: &str,
    target: &Target,
) -> anyhow::Result<()> {
    let llf = ctx.llf()?;
    let options = ChatOptions::new()
        .target(target.clone())
        .resume(conversation);
    let chat = chat::open(llf, options).await?;
    let id = chat.conversation().await.unwrap_or_default();
    chat::connect(&chat, None).await?;
    let show = render::Show {
        tokens: true,
        tools: true,
    };
    let outcome = render::turn(chat.send(user_text), show).await?;
    chat.close().await?;
    match outcome {
        render::Outcome::Done(summary) => {
            render::status_line(&summary.completion);
            eprintln!(
                "saved in conversation {id} (`llf conversation resume {id} \"…\"` continues it)"
            );
            Ok(())
        }
        render::Outcome::Interrupted => {
            eprintln!("[interrupted; the partial answer is saved in conversation {id}]");
            Err(crate::Interrupted.into())
        }
        render::Outcome::Failed(e) => Err(anyhow::Error::new(e).context(format!(
            "the answer failed; what arrived is saved in conversation {id}"
        ))),
    }
}
