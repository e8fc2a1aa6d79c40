//! Exports a small branched conversation in every format, then imports the JSON back.
//! The PDF needs a TrueType font: Debian's fonts-dejavu-core (installed by scripts/setup.sh).
//!
//! Run: `cargo run -p example-export-basics`
#![allow(clippy::print_stdout)] // an example prints what it does

use llf_core::chat::ChatMessage;
use llf_export::{ExportOptions, Format, ImportOptions, Scope};
use llf_history::History;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let history = History::open(dir.path().join("history.db")).await?;
    let conv = history.create_conversation("Café notes", None).await?;
    history
        .append(
            &conv.id,
            ChatMessage::user("Wie macht man einen Flat White? <script>"),
        )
        .await?;
    let a = history
        .append(
            &conv.id,
            ChatMessage::assistant("Doppelter Ristretto, mikroschaumige Milch."),
        )
        .await?;
    history
        .regenerate(
            &conv.id,
            a.id,
            ChatMessage::assistant("Espresso + samtige Milch, ~160 ml."),
        )
        .await?;

    for format in [
        Format::Markdown,
        Format::Html,
        Format::Json,
        Format::Text,
        Format::Pdf,
    ] {
        let opts = ExportOptions::new(format).scope(Scope::Tree);
        let bytes = llf_export::export(&history, &conv.id, &opts).await?;
        let path = dir.path().join(format!("cafe.{}", format.extension()));
        llf_export::write_file(&path, &bytes)?;
        println!("{:?}: {} bytes -> {}", format, bytes.len(), path.display());
    }

    // Into a second history it comes as a copy; into this one it is recognised and skipped.
    let json = dir.path().join("cafe.json");
    let other = History::open(dir.path().join("other.db")).await?;
    let report = llf_export::import_file(&other, &json, &ImportOptions::new()).await?;
    let copy = report
        .imported()
        .next()
        .ok_or_else(|| anyhow::anyhow!("nothing was imported"))?;
    let tree = other.tree(&copy.id).await?;
    println!(
        "imported {} with {} messages and {} branches",
        tree.conversation.title,
        tree.messages.len(),
        tree.leaves().len()
    );
    let again = llf_export::import_file(&history, &json, &ImportOptions::new()).await?;
    println!(
        "imported where it came from: {} new conversation(s)",
        again.imported().count()
    );
    Ok(())
}
