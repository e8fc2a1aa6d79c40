//! Retrieval as chat context through llf-core's `ContextProvider` hook.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failed test

mod common;

use llf_config::schema::RagSettings;
use llf_core::context::{ContextProvider, ContextQuery};
use llf_rag::context::{RagContext, SECTION_TITLE};
use llf_rag::progress::NoProgress;
use llf_rag::store::{DataStore, StoreOptions};

#[tokio::test]
async fn attached_stores_give_cited_context() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("stores");
    let docs = dir.path().join("handbook.md");
    std::fs::write(&docs, "# Handbook\n\nThe office wifi password is printed on the kitchen fridge.\n\nHoliday requests go to Maria in HR two weeks ahead.").unwrap();
    let e = common::embedder().await;
    let mut store = DataStore::create(
        &root,
        "handbook",
        e.model(),
        &StoreOptions::default().chunking(80, 10),
    )
    .await
    .unwrap();
    store
        .add_paths(&e, std::slice::from_ref(&docs), &NoProgress)
        .await
        .unwrap();
    drop(store);

    let mut settings = RagSettings {
        embedding_model_dir: Some(common::model_dir()),
        onnxruntime_path: Some(common::onnxruntime()),
        embedding_threads: Some(1),
        top_k: 1,
        ..RagSettings::default()
    };
    // Disabled, or nothing attached: no provider.
    assert!(
        RagContext::from_settings(&settings, &root, None)
            .await
            .unwrap()
            .is_none()
    );
    settings.enabled = true;
    assert!(
        RagContext::from_settings(&settings, &root, None)
            .await
            .unwrap()
            .is_none()
    );

    settings.attached_stores = vec!["handbook".into()];
    let cache = dir.path().join("cache.json");
    let provider = RagContext::from_settings(&settings, &root, Some(&cache))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(provider.name(), "rag");
    let query = ContextQuery {
        user_message: "Who do I ask for vacation days?".into(),
        history: Vec::new(),
    };
    let section = provider.provide(&query).await.unwrap().unwrap();
    assert_eq!(section.title, SECTION_TITLE);
    assert_eq!(section.items.len(), 1);
    let item = &section.items[0];
    assert!(item.text.contains("Maria"), "{item:?}");
    let citation = item.citation.as_deref().unwrap();
    assert!(
        citation.contains("handbook.md#") && citation.ends_with("(handbook)"),
        "{citation}"
    );
    assert!(item.score > 0.3);
    // The second ask is served by the cache, which can be saved for the next session.
    provider.provide(&query).await.unwrap();
    assert_eq!(provider.retriever().cache_stats().unwrap().results.hits, 1);
    provider.retriever().save_cache(&cache).unwrap();
    assert!(cache.is_file());

    // Nothing relevant: no section.
    let nothing = ContextQuery {
        user_message: "quantum chromodynamics lattice gauge".into(),
        history: Vec::new(),
    };
    settings.score_threshold = 0.6;
    let strict = RagContext::from_settings(&settings, &root, None)
        .await
        .unwrap()
        .unwrap();
    assert!(strict.provide(&nothing).await.unwrap().is_none());

    // An attached store that does not exist is an error, not silence.
    settings.attached_stores.push("gone".into());
    let err = RagContext::from_settings(&settings, &root, None)
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("no data store named `gone`"),
        "{err}"
    );
}
