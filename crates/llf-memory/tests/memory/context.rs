//! `MemoryContext`: memories as prompt context, with top-k and min-score from the settings.

use llf_config::schema::MemorySettings;
use llf_core::context::{ContextProvider, ContextQuery};
use llf_core::text::Highlight;
use llf_memory::{MemoryContext, NewMemory};

use crate::db;

fn query(text: &str) -> ContextQuery {
    ContextQuery {
        user_message: text.to_owned(),
        history: Vec::new(),
    }
}

#[tokio::test]
async fn provides_the_most_relevant_memories_with_scores() {
    let d = db().await;
    d.mem.create_store("off", "").await.unwrap();
    d.mem.set_enabled("off", false).await.unwrap();
    d.mem
        .add("off", NewMemory::new("Alice secretly hates tea"))
        .await
        .unwrap();
    d.mem
        .add_many(
            "notes",
            vec![
                NewMemory::new("Alice prefers green tea in the morning").importance(0.9),
                NewMemory::new("Alice lives in Lyon"),
                NewMemory::new("The deploy runs on Fridays"),
                NewMemory::new("Bob drinks coffee"),
            ],
        )
        .await
        .unwrap();
    let settings = MemorySettings {
        top_k: 2,
        min_score: 0.1,
        ..MemorySettings::default()
    };
    let ctx = MemoryContext::new(d.mem.clone(), settings);
    assert_eq!(ctx.name(), "memory");
    let section = ctx
        .provide(&query("What tea does Alice like?"))
        .await
        .unwrap()
        .expect("relevant memories");
    assert_eq!(section.title, "Relevant memories");
    assert_eq!(section.items.len(), 2, "top_k");
    assert_eq!(
        section.items[0].text,
        "Alice prefers green tea in the morning"
    );
    assert_eq!(section.items[1].text, "Alice lives in Lyon");
    assert!(section.items[0].score > section.items[1].score);
    assert!(
        section.items[0]
            .citation
            .as_deref()
            .unwrap()
            .starts_with("memory ")
    );
    assert!(
        !section.items.iter().any(|i| i.text.contains("secretly")),
        "disabled store"
    );

    assert_eq!(
        ctx.provide(&query("quantum chromodynamics")).await.unwrap(),
        None
    );
    assert_eq!(
        ctx.provide(&query("?!")).await.unwrap(),
        None,
        "no words, no context"
    );

    // min_score filters weak matches out.
    let strict = MemoryContext::new(
        d.mem.clone(),
        MemorySettings {
            min_score: 0.99,
            ..MemorySettings::default()
        },
    );
    assert_eq!(strict.provide(&query("Alice tea")).await.unwrap(), None);
    let off = MemoryContext::new(
        d.mem.clone(),
        MemorySettings {
            enabled: false,
            ..MemorySettings::default()
        },
    );
    assert_eq!(off.provide(&query("Alice tea")).await.unwrap(), None);
}

#[tokio::test]
async fn remember_and_recall_serve_the_chat_commands() {
    let d = db().await;
    let ctx = MemoryContext::new(d.mem.clone(), MemorySettings::default());
    let m = ctx.remember("my locker code is 4711").await.unwrap();
    assert_eq!(m.store, "default");
    let hits = ctx.recall("locker").await.unwrap();
    assert_eq!(hits.len(), 1);
    assert_eq!(hits[0].memory.id, m.id);
    assert!(ctx.remember("   ").await.is_err());
}

#[tokio::test]
async fn recall_marks_matches_as_asked_and_never_with_markdown() {
    let d = db().await;
    d.mem
        .add("notes", NewMemory::new("My cat is called Miso"))
        .await
        .unwrap();
    let ctx = MemoryContext::new(
        d.mem.clone(),
        MemorySettings {
            default_store: "notes".into(),
            ..MemorySettings::default()
        },
    );
    let plain = ctx.recall("cat").await.unwrap();
    assert_eq!(plain[0].snippet.as_deref(), Some("My [cat] is called Miso"));
    let bold = ctx
        .recall_with("cat", Highlight::new("\x1b[1m", "\x1b[0m"))
        .await
        .unwrap();
    assert_eq!(
        bold[0].snippet.as_deref(),
        Some("My \x1b[1mcat\x1b[0m is called Miso")
    );
    let none = ctx.recall_with("cat", Highlight::none()).await.unwrap();
    assert_eq!(none[0].snippet.as_deref(), Some("My cat is called Miso"));
}
