//! The real embedding model.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failed test

mod common;

use llf_rag::embed::Embedder;

#[tokio::test]
async fn embeds_with_the_real_model() {
    let e = common::embedder().await;
    assert_eq!(e.model().dimension, 384);
    assert_eq!(e.model().id, "all-MiniLM-L6-v2");
    let v = e.embed_query("How do I reset my password?").await.unwrap();
    let norm: f32 = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    assert!((norm - 1.0).abs() < 1e-4, "unit length, got {norm}");
    let docs = e
        .embed_documents(vec![
            "The cat sat on the mat.".into(),
            "To reset your password, open Settings and choose Security, then Reset password."
                .into(),
            "Quarterly revenue grew by twelve percent.".into(),
        ])
        .await
        .unwrap();
    let sims: Vec<f32> = docs
        .iter()
        .map(|d| d.iter().zip(&v).map(|(a, b)| a * b).sum())
        .collect();
    assert!(sims[1] > sims[0] && sims[1] > sims[2], "{sims:?}");
    // Batched results match one-by-one results (order is restored after length sorting).
    let single = e
        .embed_query("Quarterly revenue grew by twelve percent.")
        .await
        .unwrap();
    let close: f32 = single.iter().zip(&docs[2]).map(|(a, b)| a * b).sum();
    assert!(close > 0.99, "{close}");
}

#[tokio::test]
async fn missing_model_dir_is_reported() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = common::config();
    config.model_dir = dir.path().join("nope");
    let err = Embedder::load(config).await.unwrap_err().to_string();
    assert!(
        err.contains("model.onnx") && err.contains("embedding_model_dir"),
        "{err}"
    );
}
