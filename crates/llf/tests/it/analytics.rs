//! Usage events recorded by real turns (scripted fake endpoint: answers, a tool round, a failure)
//! and reported, with the percentiles worked out independently from the recorded events.

use std::sync::Arc;
use std::time::Duration;

use llf::analytics::Filter;
use llf::chat::ChatOptions;
use llf::core::tool::{ToolExecutor, ToolInvocation, ToolOutcome, ToolSpec};
use llf_testkit::{FakeServer, Reply, configs};
use serde_json::json;

use crate::Home;

struct Flaky;

#[async_trait::async_trait]
impl ToolExecutor for Flaky {
    fn specs(&self) -> Vec<ToolSpec> {
        vec![ToolSpec {
            name: "flaky".into(),
            description: "fails on odd input".into(),
            parameters: json!({"type": "object", "properties": {}}),
        }]
    }

    async fn execute(&self, call: &ToolInvocation) -> ToolOutcome {
        if call.arguments.contains("odd") {
            ToolOutcome::failure(call, "odd", Duration::from_millis(3))
        } else {
            ToolOutcome {
                call_id: call.call_id.clone(),
                name: call.name.clone(),
                success: true,
                content: json!("ok"),
                duration: Duration::from_millis(2),
            }
        }
    }
}

/// The nearest-rank percentile, written out again for the check.
fn nearest_rank(mut v: Vec<f64>, p: f64) -> f64 {
    v.sort_by(f64::total_cmp);
    let rank = (p / 100.0 * v.len() as f64).ceil() as usize;
    v[rank.max(1) - 1]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_model_request_of_a_mixed_session_is_recorded_and_reported() {
    let fake = FakeServer::scripted(vec![
        Reply::stream_text(&["One", "."]),
        Reply::stream_tool_calls(&[("c1", "flaky", r#"{"x": "odd"}"#), ("c2", "flaky", "{}")]),
        Reply::stream_text(&["Two", "."]),
        Reply::error(500, "boom"),
        Reply::stream_text(&["Three", "."]),
    ])
    .await;
    let home = Home::new(configs::with(
        configs::remote(&fake.base_url()),
        json!({
            "memory": {"enabled": false},
            "llm_endpoint": {"max_retries": 0},
            "analytics": {"prices": {"fake-model": {"prompt_per_million": 1000.0, "completion_per_million": 2000.0}}}
        }),
    ));
    let chat = home
        .llf
        .chat(ChatOptions::new().tool_executor(Arc::new(Flaky)))
        .await
        .unwrap();
    chat.send("first").finish().await.unwrap();
    chat.send("use the tool").finish().await.unwrap();
    chat.send("fail").finish().await.unwrap_err();
    chat.send("last").finish().await.unwrap();

    let events = home
        .llf
        .analytics()
        .await
        .unwrap()
        .events(&Filter::default())
        .await
        .unwrap();
    // Five model requests: one per answer, one that asked for tools, one that failed.
    assert_eq!(events.len(), 5);
    assert_eq!(fake.requests().len(), 5);
    let conv = chat.conversation().await.unwrap();
    assert!(
        events
            .iter()
            .all(|e| e.conversation.as_deref() == Some(conv.as_str()))
    );
    assert!(events.iter().all(|e| e.model == "fake-model"));
    assert_eq!(events[1].tools.len(), 2);
    assert_eq!(events.iter().filter(|e| e.error.is_some()).count(), 1);
    assert!(
        events[3].error.as_deref().unwrap().contains("500"),
        "{:?}",
        events[3]
    );

    let report = home.llf.analytics_report(&Filter::default()).await.unwrap();
    assert_eq!(report.totals.requests, 5);
    assert_eq!(report.totals.errors, 1);
    assert_eq!(report.totals.tool_calls, 2);
    assert_eq!(report.totals.tool_failures, 1);
    let prompt: u64 = events.iter().map(|e| e.prompt_tokens).sum();
    let completion: u64 = events.iter().map(|e| e.completion_tokens).sum();
    assert!(completion > 0);
    assert_eq!(report.totals.prompt_tokens, prompt);
    assert_eq!(report.totals.completion_tokens, completion);
    let expected_cost = (prompt as f64 * 1000.0 + completion as f64 * 2000.0) / 1e6;
    assert!((report.totals.cost - expected_cost).abs() < 1e-9);

    let ok: Vec<f64> = events
        .iter()
        .filter(|e| e.error.is_none())
        .map(|e| e.total.as_secs_f64() * 1000.0)
        .collect();
    assert_eq!(ok.len(), 4);
    for (p, got) in [
        (50.0, report.latency.total_ms.p50),
        (95.0, report.latency.total_ms.p95),
        (99.0, report.latency.total_ms.p99),
    ] {
        let want = nearest_rank(ok.clone(), p);
        assert!(
            (got.unwrap() - want).abs() < 0.01,
            "p{p}: {got:?} vs {want}"
        );
    }
    let flaky = &report.tools[0];
    assert_eq!((flaky.calls, flaky.failures), (2, 1));
}
