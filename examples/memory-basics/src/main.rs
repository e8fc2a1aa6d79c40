//! Long-term memory in a few calls: open a database, remember facts, search them with filters,
//! delete and restore one, and export the store as JSON lines.
//!
//! Run: `cargo run -p example-memory-basics`
#![allow(clippy::print_stdout)] // an example prints what it does

use llf_memory::{MemoryStore, NewMemory, SearchQuery, TagMode};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let memory = MemoryStore::open_in_dir(dir.path()).await?;
    memory.create_store("personal", "facts about me").await?;

    for (text, tags, importance) in [
        ("My name is Alice and I live in Lyon", vec!["identity"], 0.9),
        (
            "I prefer green tea in the morning",
            vec!["food", "habits"],
            0.6,
        ),
        ("The team deploys on Fridays at 5pm", vec!["work"], 0.7),
        (
            "Don't schedule meetings before 10am",
            vec!["work", "habits"],
            0.8,
        ),
    ] {
        memory
            .add(
                "personal",
                NewMemory::new(text).tags(tags).importance(importance),
            )
            .await?;
    }

    // Any text is safe to search: quotes and operators are read as words.
    for q in ["tea", "deploy Friday", "\"meetings\" AND ("] {
        println!("search {q:?}:");
        for hit in memory
            .search("personal", &SearchQuery::new().text(q))
            .await?
        {
            println!(
                "  {:.3}  {}",
                hit.score,
                hit.snippet.unwrap_or(hit.memory.content)
            );
        }
    }

    let habits = memory
        .search(
            "personal",
            &SearchQuery::new()
                .tags(["habits"], TagMode::Any)
                .min_importance(0.7),
        )
        .await?;
    println!("important habits: {}", habits.len());

    let gone = memory.delete(&habits[0].memory.id).await?;
    println!(
        "deleted {:?}; in the trash: {}",
        gone.preview,
        memory.list_deleted(None).await?.len()
    );
    memory.restore(&gone.id).await?;

    let stats = memory.stats("personal").await?;
    println!(
        "{} memories, average importance {:.2}, {} accesses",
        stats.count, stats.average_importance, stats.total_accesses
    );

    let mut export = Vec::new();
    memory.export("personal", &mut export).await?;
    println!(
        "export: {} JSON lines",
        export
            .split(|b| *b == b'\n')
            .filter(|l| !l.is_empty())
            .count()
    );
    Ok(())
}
