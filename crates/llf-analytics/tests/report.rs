//! Events recorded in a real SQLite database and reported: counts, sums, per-model and per-day
//! figures and percentiles, checked against values worked out by hand.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failed test

use std::time::Duration;

use chrono::{TimeZone, Utc};
use llf_analytics::{Analytics, Filter, ToolUse, UsageEvent};

fn event(day: u32, minute: u32, model: &str, total_ms: u64) -> UsageEvent {
    UsageEvent {
        at: Utc.with_ymd_and_hms(2026, 3, day, 10, minute, 0).unwrap(),
        conversation: Some("c1".into()),
        model: model.into(),
        endpoint: "http://127.0.0.1:8000/v1".into(),
        prompt_tokens: 10,
        completion_tokens: 20,
        time_to_first_token: Some(Duration::from_millis(total_ms / 10)),
        total: Duration::from_millis(total_ms),
        tokens_per_second: total_ms as f64 / 100.0,
        tools: Vec::new(),
        error: None,
        cost: 0.0,
    }
}

#[tokio::test]
async fn a_mixed_session_reports_correct_counts_and_percentiles() {
    let dir = tempfile::tempdir().unwrap();
    let db = Analytics::open(dir.path().join("analytics.db"))
        .await
        .unwrap();
    // Model "big": 100 requests taking 1..=100 × 10 ms, on March 1st and 2nd.
    for i in 1..=100u64 {
        let day = if i <= 50 { 1 } else { 2 };
        db.record(&event(day, (i % 60) as u32, "big", i * 10))
            .await
            .unwrap();
    }
    // Model "small": 20 requests taking 1..=20 ms on March 2nd, priced, 4 with tool calls.
    for i in 1..=20u64 {
        let mut e = event(2, (i % 60) as u32, "small", i);
        e.cost = 0.001;
        if i <= 4 {
            e.tools = vec![ToolUse {
                name: "calculator".into(),
                success: i != 1,
                duration: Duration::from_millis(i * 5),
            }];
        }
        db.record(&e).await.unwrap();
    }
    // Two failures of "small": counted, but left out of the latency figures.
    for _ in 0..2 {
        let mut e = event(2, 59, "small", 99_999);
        e.error = Some("connection refused".into());
        e.time_to_first_token = None;
        e.completion_tokens = 0;
        db.record(&e).await.unwrap();
    }

    let r = db.report(&Filter::default()).await.unwrap();
    assert_eq!(r.totals.requests, 122);
    assert_eq!(r.totals.errors, 2);
    assert_eq!(r.totals.prompt_tokens, 1220);
    assert_eq!(r.totals.completion_tokens, 120 * 20);
    assert_eq!(r.totals.tool_calls, 4);
    assert_eq!(r.totals.tool_failures, 1);
    // 20 priced requests at 0.001; the failures cost nothing.
    assert!((r.totals.cost - 0.02).abs() < 1e-9, "{}", r.totals.cost);

    let big = r.models.iter().find(|m| m.model == "big").unwrap();
    // Nearest rank over 10, 20, …, 1000 ms: the 50th, 95th and 99th values.
    assert_eq!(big.latency.total_ms.p50, Some(500.0));
    assert_eq!(big.latency.total_ms.p95, Some(950.0));
    assert_eq!(big.latency.total_ms.p99, Some(990.0));
    assert_eq!(big.latency.ttft_ms.p50, Some(50.0));
    assert_eq!(big.latency.tokens_per_second.p99, Some(9.9));
    let small = r.models.iter().find(|m| m.model == "small").unwrap();
    assert_eq!(small.totals.requests, 22);
    assert_eq!(small.totals.errors, 2);
    // Over 1..=20 ms: ranks ceil(10) = 10, ceil(19) = 19, ceil(19.8) = 20.
    assert_eq!(small.latency.total_ms.p50, Some(10.0));
    assert_eq!(small.latency.total_ms.p95, Some(19.0));
    assert_eq!(small.latency.total_ms.p99, Some(20.0));
    // Most requests first.
    assert_eq!(r.models[0].model, "big");

    assert_eq!(r.days.len(), 2);
    assert_eq!(r.days[0].totals.requests, 50);
    assert_eq!(r.days[1].totals.requests, 72);

    let calc = &r.tools[0];
    assert_eq!(
        (calc.name.as_str(), calc.calls, calc.failures),
        ("calculator", 4, 1)
    );
    assert!((calc.failure_rate - 0.25).abs() < 1e-9);
    // Durations 5, 10, 15, 20 ms: rank ceil(2) = 2.
    assert_eq!(calc.duration_ms.p50, Some(10.0));

    // big's p95 (950 ms) against small's (19 ms): 50.0×.
    assert!(
        r.insights
            .iter()
            .any(|i| i.starts_with("big's p95 total time is 50.0× small's")),
        "{:?}",
        r.insights
    );
    assert!(
        r.insights
            .iter()
            .any(|i| i.starts_with("tool calculator failed 25 % of its calls")),
        "{:?}",
        r.insights
    );

    // Filters: one model; a start time.
    let only = db
        .report(&Filter {
            model: Some("small".into()),
            ..Filter::default()
        })
        .await
        .unwrap();
    assert_eq!(only.totals.requests, 22);
    assert_eq!(only.models.len(), 1);
    let since = db
        .report(&Filter {
            since: Some(Utc.with_ymd_and_hms(2026, 3, 2, 0, 0, 0).unwrap()),
            ..Filter::default()
        })
        .await
        .unwrap();
    assert_eq!(since.totals.requests, 72);

    // Retention: March 1st's events go.
    let purged = db
        .purge_before(Utc.with_ymd_and_hms(2026, 3, 2, 0, 0, 0).unwrap())
        .await
        .unwrap();
    assert_eq!(purged, 50);
    assert_eq!(
        db.report(&Filter::default()).await.unwrap().totals.requests,
        72
    );
}

#[tokio::test]
async fn events_read_back_as_they_were_recorded() {
    let dir = tempfile::tempdir().unwrap();
    let db = Analytics::open(dir.path().join("a.db")).await.unwrap();
    let mut e = event(5, 1, "m", 1234);
    e.tools = vec![
        ToolUse {
            name: "a".into(),
            success: true,
            duration: Duration::from_millis(7),
        },
        ToolUse {
            name: "b".into(),
            success: false,
            duration: Duration::from_millis(9),
        },
    ];
    db.record(&e).await.unwrap();
    let back = db.events(&Filter::default()).await.unwrap();
    assert_eq!(back, [e]);
    assert_eq!(llf_analytics::cost(1_000_000, 500_000, 2.0, 4.0), 4.0);
}
