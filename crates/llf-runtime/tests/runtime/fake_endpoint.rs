//! A scripted OpenAI-compatible server for the cases a real small model cannot produce on demand.

use std::time::{Duration, Instant};

use futures::StreamExt;
use llf_config::schema::RequestQueueSettings;
use llf_config::{ConfigFile, Environment};
use llf_core::chat::ChatMessage;
use llf_runtime::{
    ChatClient, ChatEvent, ChatRequest, EndpointSpec, RequestQueue, Runtime, RuntimeError, Target,
};
use llf_testkit::{FakeServer, Reply, chunk};
use serde_json::json;

fn remote(dir: &std::path::Path, base_url: &str, extra: serde_json::Value) -> ConfigFile {
    let mut raw = json!({
        "llm_endpoint": {"api_base_url": base_url, "api_key": "sk-test-123", "model_name": "gpt-fake",
                         "default_local_server": null, "request_timeout": 2, "max_retries": 2},
        "local_llm_servers": []
    });
    crate::merge(&mut raw, extra);
    ConfigFile::from_value(
        dir.join("config.json"),
        raw,
        true,
        &Environment::with_home(dir),
    )
    .unwrap()
}

fn user(text: &str) -> ChatRequest {
    ChatRequest::new(vec![ChatMessage::user(text)])
}

async fn collect(
    client: &ChatClient,
    req: ChatRequest,
) -> (Vec<ChatEvent>, Result<(), RuntimeError>) {
    match client.stream(req).await {
        Ok(mut s) => {
            let mut events = Vec::new();
            while let Some(e) = s.next().await {
                events.push(e);
            }
            (events, Ok(()))
        }
        Err(e) => (Vec::new(), Err(e)),
    }
}

#[tokio::test]
async fn remote_endpoint_gets_the_api_key_and_model() {
    let fake = FakeServer::scripted(vec![Reply::completion("hello")]).await;
    let dir = tempfile::tempdir().unwrap();
    let file = remote(dir.path(), &fake.base_url(), json!({}));
    let rt = Runtime::new(file.config(), file.paths());
    let conn = rt.connect(&Target::Default, |_| {}).await.unwrap();
    assert!(conn.server.is_none());
    let answer = conn.client.complete(user("hi")).await.unwrap();
    assert_eq!(answer.content, "hello");
    let req = &fake.requests()[0];
    assert_eq!(req.path, "/v1/chat/completions");
    assert_eq!(req.header("authorization"), Some("Bearer sk-test-123"));
    assert_eq!(req.body["model"], "gpt-fake");
    assert_eq!(req.body["messages"][0]["content"], "hi");
    assert_eq!(req.body["stream"], false);
    // The key never shows in debug output.
    assert!(!format!("{:?}", conn.client).contains("sk-test-123"));
}

#[tokio::test]
async fn http_500_then_success_is_retried() {
    let fake = FakeServer::scripted(vec![
        Reply::error(500, "boom"),
        Reply::error(503, "busy"),
        Reply::completion("ok now"),
    ])
    .await;
    let dir = tempfile::tempdir().unwrap();
    let rt = Runtime::new(
        remote(dir.path(), &fake.base_url(), json!({})).config(),
        &remote(dir.path(), &fake.base_url(), json!({}))
            .paths()
            .clone(),
    );
    let answer = rt.remote_client().complete(user("hi")).await.unwrap();
    assert_eq!(answer.content, "ok now");
    assert_eq!(fake.requests().len(), 3);

    // Streaming retries before the first byte too.
    let fake = FakeServer::scripted(vec![
        Reply::error(502, "gateway"),
        Reply::stream_text(&["a", "b"]),
    ])
    .await;
    let file = remote(dir.path(), &fake.base_url(), json!({}));
    let rt = Runtime::new(file.config(), file.paths());
    let (events, res) = collect(&rt.remote_client(), user("hi")).await;
    res.unwrap();
    assert!(matches!(events.last(), Some(ChatEvent::Done(c)) if c.content == "ab"));
}

#[tokio::test]
async fn persistent_errors_and_client_errors_are_reported() {
    let fake = FakeServer::scripted(vec![Reply::error(500, "always broken")]).await;
    let dir = tempfile::tempdir().unwrap();
    let file = remote(dir.path(), &fake.base_url(), json!({}));
    let rt = Runtime::new(file.config(), file.paths());
    let err = rt.remote_client().complete(user("hi")).await.unwrap_err();
    assert!(
        matches!(
            err,
            RuntimeError::Request {
                status: Some(500),
                ..
            }
        ),
        "{err}"
    );
    assert!(err.to_string().contains("always broken"));
    assert_eq!(
        fake.requests().len(),
        3,
        "one try and max_retries=2 retries"
    );

    let fake = FakeServer::scripted(vec![Reply::error(401, "bad key")]).await;
    let file = remote(dir.path(), &fake.base_url(), json!({}));
    let rt = Runtime::new(file.config(), file.paths());
    let err = rt.remote_client().complete(user("hi")).await.unwrap_err();
    assert!(
        matches!(
            err,
            RuntimeError::Request {
                status: Some(401),
                ..
            }
        ),
        "{err}"
    );
    assert_eq!(fake.requests().len(), 1, "4xx is not retried");
    assert!(!err.is_transient());
}

#[tokio::test]
async fn a_hanging_server_times_out() {
    let fake = FakeServer::scripted(vec![Reply::Hang]).await;
    let dir = tempfile::tempdir().unwrap();
    let file = remote(
        dir.path(),
        &fake.base_url(),
        json!({"llm_endpoint": {"request_timeout": 1}}),
    );
    let rt = Runtime::new(file.config(), file.paths());
    let t = Instant::now();
    let err = rt.remote_client().complete(user("hi")).await.unwrap_err();
    assert!(
        matches!(err, RuntimeError::Timeout { secs: 1, .. }),
        "{err}"
    );
    assert!(t.elapsed() < Duration::from_secs(5));

    // A stream whose next piece does not come in time ends with a timeout error.
    let stall = vec![
        chunk(json!({"content": "par"}), serde_json::Value::Null).to_string(),
        chunk(json!({"content": "tial"}), serde_json::Value::Null).to_string(),
    ];
    let fake = FakeServer::start(move |_, _| Reply::Sse {
        events: stall.clone(),
        delay: Duration::from_secs(3),
    })
    .await;
    let file = remote(
        dir.path(),
        &fake.base_url(),
        json!({"llm_endpoint": {"request_timeout": 1}}),
    );
    let rt = Runtime::new(file.config(), file.paths());
    // The response headers arrive at once; the first piece only after 3 s, past the timeout.
    let (events, res) = collect(&rt.remote_client(), user("hi")).await;
    res.unwrap();
    match events.last() {
        Some(ChatEvent::Error {
            error: RuntimeError::Timeout { .. },
            partial,
        }) => assert_eq!(partial.content, ""),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn malformed_sse_ends_the_stream_with_an_error_and_the_partial_text() {
    let good = chunk(json!({"content": "Hello"}), serde_json::Value::Null).to_string();
    let fake = FakeServer::scripted(vec![Reply::Sse {
        events: vec![good, "{not json".into()],
        delay: Duration::ZERO,
    }])
    .await;
    let dir = tempfile::tempdir().unwrap();
    let file = remote(dir.path(), &fake.base_url(), json!({}));
    let rt = Runtime::new(file.config(), file.paths());
    let (events, res) = collect(&rt.remote_client(), user("hi")).await;
    res.unwrap();
    assert!(matches!(&events[0], ChatEvent::Token(t) if t == "Hello"));
    match events.last() {
        Some(ChatEvent::Error {
            error: RuntimeError::Malformed { detail, .. },
            partial,
        }) => {
            assert!(detail.contains("not json"), "{detail}");
            assert_eq!(partial.content, "Hello");
        }
        other => panic!("{other:?}"),
    }
    let records = rt.profile_log().read(None).unwrap();
    assert_eq!(records.len(), 1);
    assert!(!records[0].success);
}

#[tokio::test]
async fn streamed_tool_call_deltas_are_assembled() {
    let events = vec![
        chunk(json!({"tool_calls": [{"index": 0, "id": "call_a", "function": {"name": "get_weather", "arguments": "{\"ci"}}]}), serde_json::Value::Null).to_string(),
        chunk(json!({"tool_calls": [{"index": 0, "function": {"arguments": "ty\": \"Paris\"}"}}]}), serde_json::Value::Null).to_string(),
        chunk(json!({"tool_calls": [{"index": 1, "id": "call_b", "function": {"name": "clock", "arguments": "{}"}}]}), serde_json::Value::Null).to_string(),
        chunk(json!({}), json!("tool_calls")).to_string(),
        "[DONE]".into(),
    ];
    let fake = FakeServer::scripted(vec![Reply::Sse {
        events,
        delay: Duration::ZERO,
    }])
    .await;
    let dir = tempfile::tempdir().unwrap();
    let file = remote(dir.path(), &fake.base_url(), json!({}));
    let rt = Runtime::new(file.config(), file.paths());
    let (events, res) = collect(&rt.remote_client(), user("weather?")).await;
    res.unwrap();
    let deltas = events
        .iter()
        .filter(|e| matches!(e, ChatEvent::ToolCallDelta { .. }))
        .count();
    assert_eq!(deltas, 3);
    let Some(ChatEvent::Done(c)) = events.last() else {
        panic!("{events:?}")
    };
    assert_eq!(c.finish_reason.as_deref(), Some("tool_calls"));
    assert_eq!(c.tool_calls.len(), 2);
    assert_eq!(c.tool_calls[0].name, "get_weather");
    assert_eq!(c.tool_calls[0].arguments, r#"{"city": "Paris"}"#);
    assert_eq!(c.tool_calls[1].id, "call_b");
    assert!(!c.usage_reported);
}

#[tokio::test]
async fn a_full_queue_refuses_at_once() {
    let fake = FakeServer::scripted(vec![Reply::Sse {
        events: vec![
            chunk(json!({"content": "slow"}), serde_json::Value::Null).to_string(),
            "[DONE]".into(),
        ],
        delay: Duration::from_millis(500),
    }])
    .await;
    let spec = EndpointSpec {
        base_url: fake.base_url(),
        api_key: None,
        model: "m".into(),
        timeout: Duration::from_secs(10),
        max_retries: 0,
    };
    let queue = RequestQueue::new(
        fake.base_url(),
        &RequestQueueSettings {
            max_size: 1,
            max_requests_per_second: 100.0,
            max_concurrent: 1,
            burst_size: None,
        },
    );
    let client = ChatClient::new(spec, queue.clone());
    // One running (holds the slot while its stream lives), one waiting, the third is refused.
    let running = client.stream(user("1")).await.unwrap();
    let c2 = client.clone();
    let waiting = tokio::spawn(async move { collect(&c2, user("2")).await.1 });
    while queue.stats().waiting == 0 {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let t = Instant::now();
    let err = client.stream(user("3")).await.err().unwrap();
    assert!(
        matches!(err, RuntimeError::QueueFull { max_size: 1, .. }),
        "{err}"
    );
    assert!(t.elapsed() < Duration::from_millis(200));
    assert_eq!(queue.stats().rejected, 1);
    drop(running);
    waiting.await.unwrap().unwrap();
    assert_eq!(queue.stats().admitted, 2);
}

#[tokio::test]
async fn a_non_streaming_body_to_a_streaming_request_is_an_error() {
    let fake = FakeServer::scripted(vec![Reply::completion("not a stream")]).await;
    let dir = tempfile::tempdir().unwrap();
    let file = remote(dir.path(), &fake.base_url(), json!({}));
    let rt = Runtime::new(file.config(), file.paths());
    let (events, res) = collect(&rt.remote_client(), user("hi")).await;
    res.unwrap();
    match events.last() {
        Some(ChatEvent::Error {
            error: RuntimeError::Malformed { detail, .. },
            ..
        }) => assert!(detail.contains("no streamed events"), "{detail}"),
        other => panic!("{other:?}"),
    }
}
