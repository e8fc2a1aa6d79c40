//! Saves a chat the way the chat loop does (a streamed answer saved token by token), regenerates
//! an answer on a second branch, navigates, compares and searches.
//!
//! Run: `cargo run -p example-history-basics`
#![allow(clippy::print_stdout)] // an example prints what it does

use llf_core::chat::ChatMessage;
use llf_history::{Finish, History, SearchQuery};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let history = History::open(dir.path().join("history.db")).await?;
    let conv = history
        .create_conversation("Rust tips", Some("smollm2".into()))
        .await?;
    history
        .append(&conv.id, ChatMessage::system("Answer briefly."))
        .await?;
    history
        .append(&conv.id, ChatMessage::user("How do I read a file?"))
        .await?;

    // A streamed answer: saved before the first token, updated as it grows, sealed at the end.
    let answer = history
        .start_message(&conv.id, ChatMessage::assistant(""))
        .await?;
    let mut text = String::new();
    for token in ["Use ", "std::fs::", "read_to_string", "."] {
        text.push_str(token);
        history.update_content(answer.id, &text).await?;
    }
    history
        .finish_message(
            answer.id,
            Finish {
                content: text,
                ..Finish::default()
            },
        )
        .await?;

    // Regenerate: an alternative answer becomes a sibling, on a new branch.
    let alt = history
        .regenerate(
            &conv.id,
            answer.id,
            ChatMessage::assistant("Open it with File::open and read it."),
        )
        .await?;
    for b in history.branches(&conv.id).await? {
        println!(
            "branch ending at #{} ({} messages){}: {}",
            b.leaf.id,
            b.length,
            if b.current { " [current]" } else { "" },
            b.leaf.message.content
        );
    }
    let cmp = history.compare(&conv.id, answer.id, alt.id).await?;
    println!("the branches share {} messages", cmp.common.len());

    // Go back to the first answer and continue from there.
    history.checkout(&conv.id, answer.id).await?;
    history
        .append(&conv.id, ChatMessage::user("And write one?"))
        .await?;
    let path = history.current_path(&conv.id).await?;
    println!("active branch: {} messages", path.len());

    for hit in history.search(&SearchQuery::new("read*")).await? {
        println!(
            "#{} {}: {}",
            hit.message.id,
            hit.message.role(),
            hit.snippet
        );
    }
    Ok(())
}
