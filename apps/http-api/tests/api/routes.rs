//! Every route through `oneshot`, with the scripted fake endpoint as the model: JSON and SSE
//! answers, the client's tools streamed as OpenAI streams them, every error status, models,
//! embeddings (the real MiniLM), health, metrics, saved conversations.

use std::time::Duration;

use axum::http::StatusCode;
use llf_testkit::{FakeServer, Reply as FakeReply, chunk, configs};
use serde_json::{Value, json};

use crate::{Home, embedding_config, get, post, send};

fn remote_home(fake: &FakeServer, extra: Value) -> Home {
    Home::new(configs::with(
        configs::with(
            configs::remote(&fake.base_url()),
            json!({"memory": {"enabled": false}}),
        ),
        extra,
    ))
}

fn hello() -> Value {
    json!({"model": "fake-model", "messages": [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Say hello"}]})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_json_completion_passes_the_sampling_fields_and_reports_usage() {
    let fake = FakeServer::scripted(vec![FakeReply::stream_text(&["Hel", "lo"])]).await;
    let home = remote_home(&fake, json!({}));
    let mut body = hello();
    body["temperature"] = json!(0.3);
    body["top_p"] = json!(0.9);
    body["max_completion_tokens"] = json!(5);
    body["seed"] = json!(7);
    body["stop"] = json!("END");
    body["n"] = json!(1);
    body["response_format"] =
        json!({"type": "json_schema", "json_schema": {"name": "x", "schema": {"type": "object"}}});
    body["user"] = json!("ignored-field");
    let r = send(&home.app(), post("/v1/chat/completions", &body)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let v = r.json();
    assert_eq!(v["object"], "chat.completion");
    assert!(v["id"].as_str().unwrap().starts_with("chatcmpl-"));
    assert_eq!(v["model"], "fake-model");
    assert_eq!(v["choices"][0]["message"]["role"], "assistant");
    assert_eq!(v["choices"][0]["message"]["content"], "Hello");
    assert_eq!(v["choices"][0]["finish_reason"], "stop");
    assert_eq!(
        v["usage"],
        json!({"prompt_tokens": 7, "completion_tokens": 2, "total_tokens": 9})
    );

    let sent = &fake.requests()[0].body;
    assert_eq!(
        sent["messages"],
        json!([{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Say hello"}])
    );
    assert_eq!(sent["temperature"], 0.3);
    assert_eq!(sent["top_p"], 0.9);
    assert_eq!(sent["max_tokens"], 5);
    assert_eq!(sent["seed"], 7);
    assert_eq!(sent["stop"], json!(["END"]));
    assert_eq!(sent["response_format"]["type"], "json_schema");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_streamed_completion_is_sse_with_a_usage_chunk_and_done() {
    let fake = FakeServer::scripted(vec![FakeReply::stream_text(&["One", " two"])]).await;
    let home = remote_home(&fake, json!({}));
    let mut body = hello();
    body["stream"] = json!(true);
    body["stream_options"] = json!({"include_usage": true});
    let r = send(&home.app(), post("/v1/chat/completions", &body)).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(
        r.headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/event-stream")
    );
    let data = r.sse();
    assert_eq!(data.last().unwrap(), "[DONE]");
    let chunks: Vec<Value> = data[..data.len() - 1]
        .iter()
        .map(|d| serde_json::from_str(d).unwrap())
        .collect();
    assert!(
        chunks
            .iter()
            .all(|c| c["object"] == "chat.completion.chunk")
    );
    assert!(chunks.iter().all(|c| c["id"] == chunks[0]["id"]));
    assert_eq!(
        chunks[0]["choices"][0]["delta"],
        json!({"role": "assistant", "content": ""})
    );
    let text: String = chunks
        .iter()
        .filter_map(|c| c["choices"][0]["delta"]["content"].as_str())
        .collect();
    assert_eq!(text, "One two");
    let finish = &chunks[chunks.len() - 2];
    assert_eq!(finish["choices"][0]["finish_reason"], "stop");
    let usage = chunks.last().unwrap();
    assert_eq!(usage["choices"], json!([]));
    assert_eq!(usage["usage"]["completion_tokens"], 2);
    assert_eq!(usage["usage"]["total_tokens"], 9);

    // Without include_usage there is no usage chunk.
    let fake = FakeServer::scripted(vec![FakeReply::stream_text(&["A"])]).await;
    let home = remote_home(&fake, json!({}));
    let mut body = hello();
    body["stream"] = json!(true);
    let data = send(&home.app(), post("/v1/chat/completions", &body))
        .await
        .sse();
    assert!(data.iter().all(|d| !d.contains("\"usage\"")), "{data:?}");
}

/// The fake streams two calls with their arguments in pieces, the way llama-server does.
fn fragmented_calls() -> FakeReply {
    let tc = |v: Value| chunk(json!({"tool_calls": [v]}), Value::Null).to_string();
    let events = vec![
        tc(
            json!({"index": 0, "id": "call_a", "type": "function", "function": {"name": "get_weather", "arguments": "{\"ci"}}),
        ),
        tc(json!({"index": 0, "function": {"arguments": "ty\": \"Paris\"}"}})),
        tc(
            json!({"index": 1, "id": "call_b", "type": "function", "function": {"name": "get_time", "arguments": ""}}),
        ),
        tc(json!({"index": 1, "function": {"arguments": "{}"}})),
        chunk(json!({}), json!("tool_calls")).to_string(),
        "[DONE]".to_owned(),
    ];
    FakeReply::Sse {
        events,
        delay: Duration::ZERO,
    }
}

fn tools_request(stream: bool) -> Value {
    json!({"model": "fake-model", "stream": stream,
           "messages": [{"role": "user", "content": "Weather and time in Paris?"}],
           "tools": [{"type": "function", "function": {"name": "get_weather", "description": "Weather of a city",
                       "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}},
                     {"type": "function", "function": {"name": "get_time"}}],
           "tool_choice": "required"})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_tool_calls_stream_as_openai_does_id_and_name_first() {
    let fake = FakeServer::scripted(vec![fragmented_calls()]).await;
    let home = remote_home(&fake, json!({}));
    let r = send(
        &home.app(),
        post("/v1/chat/completions", &tools_request(true)),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let sent = &fake.requests()[0].body;
    assert_eq!(sent["tool_choice"], "required");
    assert_eq!(sent["tools"][0]["function"]["name"], "get_weather");
    assert_eq!(
        sent["tools"][0]["function"]["parameters"]["required"],
        json!(["city"])
    );
    assert_eq!(
        sent["tools"][1]["function"]["parameters"],
        json!({"type": "object", "properties": {}})
    );

    let data = r.sse();
    assert_eq!(data.last().unwrap(), "[DONE]");
    let deltas: Vec<Value> = data[..data.len() - 1]
        .iter()
        .map(|d| serde_json::from_str::<Value>(d).unwrap())
        .filter_map(|c| c["choices"][0]["delta"]["tool_calls"].as_array().cloned())
        .flatten()
        .collect();
    for (index, id, name, args) in [
        (0, "call_a", "get_weather", "{\"city\": \"Paris\"}"),
        (1, "call_b", "get_time", "{}"),
    ] {
        let mine: Vec<&Value> = deltas.iter().filter(|d| d["index"] == index).collect();
        // The first piece: id, type and name, empty arguments, exactly as OpenAI sends it.
        assert_eq!(
            mine[0],
            &json!({"index": index, "id": id, "type": "function", "function": {"name": name, "arguments": ""}})
        );
        // Then only arguments.
        for d in &mine[1..] {
            assert!(
                d.get("id").is_none() && d["function"].get("name").is_none(),
                "{d}"
            );
        }
        let joined: String = mine
            .iter()
            .filter_map(|d| d["function"]["arguments"].as_str())
            .collect();
        assert_eq!(joined, args);
    }
    let last: Value = serde_json::from_str(&data[data.len() - 2]).unwrap();
    assert_eq!(last["choices"][0]["finish_reason"], "tool_calls");

    // The same answer whole.
    let fake = FakeServer::scripted(vec![fragmented_calls()]).await;
    let home = remote_home(&fake, json!({}));
    let v = send(
        &home.app(),
        post("/v1/chat/completions", &tools_request(false)),
    )
    .await
    .json();
    let m = &v["choices"][0]["message"];
    assert_eq!(m["content"], Value::Null);
    assert_eq!(
        m["tool_calls"][0],
        json!({"id": "call_a", "type": "function",
        "function": {"name": "get_weather", "arguments": "{\"city\": \"Paris\"}"}})
    );
    assert_eq!(m["tool_calls"][1]["function"]["name"], "get_time");
    assert_eq!(v["choices"][0]["finish_reason"], "tool_calls");

    // The client sends the results back; they reach the model as tool messages.
    let fake = FakeServer::scripted(vec![FakeReply::stream_text(&["Sunny, noon."])]).await;
    let home = remote_home(&fake, json!({}));
    let mut follow = tools_request(false);
    follow["messages"] = json!([
        {"role": "user", "content": "Weather in Paris?"},
        {"role": "assistant", "content": null, "tool_calls": [{"id": "call_a", "type": "function",
            "function": {"name": "get_weather", "arguments": "{\"city\":\"Paris\"}"}}]},
        {"role": "tool", "tool_call_id": "call_a", "content": "{\"forecast\":\"sunny\"}"}]);
    let v = send(&home.app(), post("/v1/chat/completions", &follow))
        .await
        .json();
    assert_eq!(v["choices"][0]["message"]["content"], "Sunny, noon.");
    let sent = &fake.requests()[0].body["messages"];
    assert_eq!(sent[1]["tool_calls"][0]["id"], "call_a");
    assert_eq!(sent[1]["content"], Value::Null);
    assert_eq!(
        sent[2],
        json!({"role": "tool", "content": "{\"forecast\":\"sunny\"}", "tool_call_id": "call_a"})
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_requests_get_400_with_the_param_in_openai_envelope() {
    let fake = FakeServer::scripted(vec![FakeReply::stream_text(&["x"])]).await;
    let home = remote_home(&fake, json!({}));
    let app = home.app();
    let cases: Vec<(Value, &str)> = vec![
        (json!({"model": "fake-model", "messages": []}), "messages"),
        (
            json!({"model": "fake-model", "n": 2, "messages": [{"role": "user", "content": "x"}]}),
            "n",
        ),
        (
            json!({"model": "fake-model", "temperature": 3.5, "messages": [{"role": "user", "content": "x"}]}),
            "temperature",
        ),
        (
            json!({"model": "fake-model", "messages": [{"role": "wizard", "content": "x"}]}),
            "messages[0].role",
        ),
        (
            json!({"model": "fake-model", "messages": [{"role": "user", "content": [{"type": "image_url"}]}]}),
            "messages[0].content",
        ),
        (
            json!({"model": "fake-model", "messages": "hello"}),
            "messages",
        ),
        (json!({"messages": [{"role": "user", "content": "x"}]}), "."),
    ];
    for (body, param) in cases {
        let r = send(&app, post("/v1/chat/completions", &body)).await;
        let e = r.error(StatusCode::BAD_REQUEST);
        assert_eq!(e["type"], "invalid_request_error", "{body}");
        if param != "." {
            assert_eq!(e["param"], param, "{body}: {e}");
        }
    }
    let r = send(
        &app,
        axum::http::Request::post("/v1/chat/completions")
            .body(axum::body::Body::from("{not json"))
            .unwrap(),
    )
    .await;
    r.error(StatusCode::BAD_REQUEST);
    // None of these reached the model.
    assert!(fake.requests().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_models_routes_and_methods_get_404_and_405() {
    let fake = FakeServer::scripted(vec![FakeReply::stream_text(&["x"])]).await;
    let home = remote_home(&fake, json!({}));
    let app = home.app();
    let mut body = hello();
    body["model"] = json!("gpt-9");
    let e = send(&app, post("/v1/chat/completions", &body))
        .await
        .error(StatusCode::NOT_FOUND);
    assert_eq!(e["code"], "model_not_found");
    assert_eq!(e["param"], "model");
    let e = send(&app, get("/v1/models/gpt-9"))
        .await
        .error(StatusCode::NOT_FOUND);
    assert_eq!(e["code"], "model_not_found");
    send(&app, get("/v1/nothing"))
        .await
        .error(StatusCode::NOT_FOUND);
    send(&app, get("/v1/chat/completions"))
        .await
        .error(StatusCode::METHOD_NOT_ALLOWED);
    let mut body = hello();
    body["llf"] = json!({"conversation_id": "01NOSUCHCONVERSATION"});
    let e = send(&app, post("/v1/chat/completions", &body))
        .await
        .error(StatusCode::NOT_FOUND);
    assert_eq!(e["code"], "conversation_not_found");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_over_the_limit_gets_413() {
    let fake = FakeServer::scripted(vec![FakeReply::stream_text(&["x"])]).await;
    let home = remote_home(&fake, json!({"server_api": {"max_body_kb": 1}}));
    let mut body = hello();
    body["messages"][1]["content"] = json!("a".repeat(4096));
    let e = send(&home.app(), post("/v1/chat/completions", &body))
        .await
        .error(StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(e["code"], "request_too_large");
    assert!(fake.requests().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upstream_rate_limits_timeouts_and_errors_map_to_429_504_and_400() {
    let fake = FakeServer::scripted(vec![FakeReply::error(429, "slow down")]).await;
    let home = remote_home(&fake, json!({}));
    let r = send(&home.app(), post("/v1/chat/completions", &hello())).await;
    let e = r.error(StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(e["code"], "rate_limit_exceeded");
    assert_eq!(r.headers["retry-after"], "1");

    let fake = FakeServer::scripted(vec![FakeReply::Hang]).await;
    let home = remote_home(&fake, json!({"llm_endpoint": {"request_timeout": 1}}));
    let e = send(&home.app(), post("/v1/chat/completions", &hello()))
        .await
        .error(StatusCode::GATEWAY_TIMEOUT);
    assert_eq!(e["code"], "timeout");

    let fake = FakeServer::scripted(vec![FakeReply::error(
        400,
        "context too long at /srv/models/x.gguf",
    )])
    .await;
    let home = remote_home(&fake, json!({}));
    let r = send(&home.app(), post("/v1/chat/completions", &hello())).await;
    let e = r.error(StatusCode::BAD_REQUEST);
    let message = e["message"].as_str().unwrap();
    assert!(message.contains("context too long"), "{message}");
    assert!(
        !message.contains("/srv") && !message.contains("127.0.0.1"),
        "{message}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_model_server_that_cannot_start_gets_503_without_paths() {
    let home = Home::new(json!({
        "llm_endpoint": {"default_local_server": "broken"},
        "local_llm_servers": [{"name": "broken", "llama_server_path": "/nonexistent/llama-server",
                               "model_path": "/nonexistent/model.gguf", "port": llf_testkit::components::free_port()}],
        "memory": {"enabled": false}}));
    let app = home.app();
    let mut body = hello();
    body["model"] = json!("broken");
    let r = send(&app, post("/v1/chat/completions", &body)).await;
    let e = r.error(StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(e["type"], "server_error");
    assert_eq!(e["code"], "model_unavailable");
    let text = r.text();
    assert!(!text.contains("/nonexistent"), "{text}");
    assert!(!text.contains(home.dir.path().to_str().unwrap()), "{text}");
    // Not ready either.
    send(&app, get("/readyz"))
        .await
        .error(StatusCode::SERVICE_UNAVAILABLE);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failure_mid_stream_ends_the_stream_with_an_error_event() {
    let events = vec![
        chunk(json!({"content": "par"}), Value::Null).to_string(),
        "this is not json".to_owned(),
    ];
    let fake = FakeServer::scripted(vec![FakeReply::Sse {
        events,
        delay: Duration::ZERO,
    }])
    .await;
    let home = remote_home(&fake, json!({}));
    let mut body = hello();
    body["stream"] = json!(true);
    let r = send(&home.app(), post("/v1/chat/completions", &body)).await;
    assert_eq!(r.status, StatusCode::OK);
    let data = r.sse();
    assert!(data.iter().any(|d| d.contains("\"par\"")), "{data:?}");
    let last: Value = serde_json::from_str(data.last().unwrap()).unwrap();
    assert_eq!(last["error"]["type"], "server_error", "{last}");
    assert!(!data.iter().any(|d| d == "[DONE]"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn models_health_readiness_and_metrics() {
    let fake = FakeServer::scripted(vec![FakeReply::stream_text(&["Hi"])]).await;
    let home = remote_home(&fake, embedding_config());
    let app = home.app();
    let v = send(&app, get("/v1/models")).await.json();
    assert_eq!(v["object"], "list");
    let ids: Vec<&str> = v["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["fake-model", "all-MiniLM-L6-v2"]);
    assert_eq!(v["data"][0]["object"], "model");
    assert_eq!(v["data"][0]["owned_by"], "llf");
    let one = send(&app, get("/v1/models/fake-model")).await;
    assert_eq!(one.status, StatusCode::OK);
    assert_eq!(one.json()["id"], "fake-model");

    let h = send(&app, get("/healthz")).await;
    assert_eq!(
        (h.status, h.json()["status"].clone()),
        (StatusCode::OK, json!("ok"))
    );
    // Every answer carries a request id: a new one, or the client's when it is a short token.
    assert_eq!(h.headers["x-request-id"].len(), 26);
    let mut traced = get("/healthz");
    traced
        .headers_mut()
        .insert("x-request-id", "trace-42".parse().unwrap());
    assert_eq!(send(&app, traced).await.headers["x-request-id"], "trace-42");
    let mut odd = get("/healthz");
    odd.headers_mut()
        .insert("x-request-id", "a b<script>".parse().unwrap());
    assert_ne!(send(&app, odd).await.headers["x-request-id"], "a b<script>");
    let ready = send(&app, get("/readyz")).await;
    assert_eq!(ready.status, StatusCode::OK, "{}", ready.text());
    assert_eq!(ready.json()["model"], "fake-model");

    send(&app, post("/v1/chat/completions", &hello())).await;
    let mut missing = hello();
    missing["model"] = json!("nope");
    send(&app, post("/v1/chat/completions", &missing)).await;
    let m = send(&app, get("/metrics")).await;
    assert_eq!(m.status, StatusCode::OK);
    let text = m.text();
    assert!(
        text.contains("llf_http_requests_total{route=\"/v1/chat/completions\",status=\"200\"} 1"),
        "{text}"
    );
    assert!(
        text.contains("llf_http_requests_total{route=\"/v1/chat/completions\",status=\"404\"} 1"),
        "{text}"
    );
    assert!(
        text.contains("llf_http_requests_total{route=\"/v1/models/{id}\",status=\"200\"} 1"),
        "{text}"
    );
    assert!(
        text.contains("llf_time_to_first_token_seconds_count{model=\"fake-model\"} 1"),
        "{text}"
    );
    assert!(
        text.contains(
            "llf_http_request_duration_seconds_bucket{route=\"/v1/models\",le=\"+Inf\"} 1"
        ),
        "{text}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn embeddings_use_the_real_minilm_as_floats_or_base64() {
    let fake = FakeServer::scripted(vec![FakeReply::stream_text(&["x"])]).await;
    let home = remote_home(&fake, embedding_config());
    let app = home.app();
    let body = json!({"model": "all-MiniLM-L6-v2", "input": ["The cat sat on the mat.", "A feline rested on a rug.", "Quarterly revenue grew."]});
    let r = send(&app, post("/v1/embeddings", &body)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let v = r.json();
    assert_eq!(v["object"], "list");
    assert_eq!(v["model"], "all-MiniLM-L6-v2");
    let vecs: Vec<Vec<f64>> = v["data"]
        .as_array()
        .unwrap()
        .iter()
        .enumerate()
        .map(|(i, d)| {
            assert_eq!(d["index"], i);
            assert_eq!(d["object"], "embedding");
            d["embedding"]
                .as_array()
                .unwrap()
                .iter()
                .map(|x| x.as_f64().unwrap())
                .collect()
        })
        .collect();
    assert_eq!(vecs.len(), 3);
    assert!(vecs.iter().all(|v| v.len() == 384));
    let dot = |a: &[f64], b: &[f64]| a.iter().zip(b).map(|(x, y)| x * y).sum::<f64>();
    // Meaning, not spelling: the two sentences about a cat are closer than either is to revenue.
    assert!(dot(&vecs[0], &vecs[1]) > dot(&vecs[0], &vecs[2]) + 0.1);
    assert!(v["usage"]["prompt_tokens"].as_u64().unwrap() > 0);

    let body = json!({"model": "all-MiniLM-L6-v2", "input": "The cat sat on the mat.", "encoding_format": "base64"});
    let v = send(&app, post("/v1/embeddings", &body)).await.json();
    use base64::Engine;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(v["data"][0]["embedding"].as_str().unwrap())
        .unwrap();
    let floats: Vec<f64> = bytes
        .chunks(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]) as f64)
        .collect();
    assert_eq!(floats.len(), 384);
    assert!((dot(&floats, &vecs[0]) - 1.0).abs() < 1e-4);

    let e = send(
        &app,
        post(
            "/v1/embeddings",
            &json!({"model": "text-embedding-3-small", "input": "x"}),
        ),
    )
    .await
    .error(StatusCode::NOT_FOUND);
    assert_eq!(e["code"], "model_not_found");
    let e = send(
        &app,
        post(
            "/v1/embeddings",
            &json!({"model": "all-MiniLM-L6-v2", "input": []}),
        ),
    )
    .await
    .error(StatusCode::BAD_REQUEST);
    assert_eq!(e["param"], "input");
    let e = send(
        &app,
        post(
            "/v1/embeddings",
            &json!({"model": "all-MiniLM-L6-v2", "input": "x", "encoding_format": "int8"}),
        ),
    )
    .await
    .error(StatusCode::BAD_REQUEST);
    assert_eq!(e["param"], "encoding_format");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_saved_conversation_is_started_continued_listed_and_searched() {
    let fake = FakeServer::numbered("Answer").await;
    let home = remote_home(&fake, json!({}));
    let app = home.app();
    let mut body = hello();
    body["llf"] = json!({"conversation_id": "new"});
    let v = send(&app, post("/v1/chat/completions", &body)).await.json();
    assert_eq!(v["choices"][0]["message"]["content"], "Answer 0");
    let conv = v["llf"]["conversation_id"].as_str().unwrap().to_owned();
    assert!(v["llf"]["message_id"].as_i64().is_some());

    // Continued by id, streamed: only the last user message is sent, after the saved turns.
    let body = json!({"model": "fake-model", "stream": true,
                      "messages": [{"role": "user", "content": "And again?"}],
                      "llf": {"conversation_id": conv}});
    let data = send(&app, post("/v1/chat/completions", &body)).await.sse();
    let finish: Value = serde_json::from_str(&data[data.len() - 2]).unwrap();
    assert_eq!(finish["llf"]["conversation_id"], conv.as_str());
    let second = &fake.requests()[1].body["messages"];
    assert_eq!(second[0], json!({"role": "system", "content": "Be brief."}));
    assert_eq!(second[1]["content"], "Say hello");
    assert_eq!(second[2]["content"], "Answer 0");
    assert_eq!(second[3]["content"], "And again?");

    let history = home.llf.history().await.unwrap();
    let path = history.current_path(&conv).await.unwrap();
    let texts: Vec<&str> = path.iter().map(|m| m.message.content.as_str()).collect();
    assert_eq!(
        texts,
        [
            "Be brief.",
            "Say hello",
            "Answer 0",
            "And again?",
            "Answer 1"
        ]
    );

    let list = send(&app, get("/api/v1/conversations")).await.json();
    assert_eq!(list["data"][0]["id"], conv.as_str());
    let one = send(&app, get(&format!("/api/v1/conversations/{conv}")))
        .await
        .json();
    assert_eq!(one["messages"].as_array().unwrap().len(), 5);
    let found = send(&app, get("/api/v1/conversations/search?q=again"))
        .await
        .json();
    assert_eq!(found["data"][0]["conversation_id"], conv.as_str());
    assert!(
        found["data"][0]["snippet"]
            .as_str()
            .unwrap()
            .contains("<mark>again</mark>"),
        "{found}"
    );
    send(&app, get("/api/v1/conversations/01NOPE"))
        .await
        .error(StatusCode::NOT_FOUND);

    // Client-side tools do not mix with a saved conversation.
    let mut body = tools_request(false);
    body["llf"] = json!({"conversation_id": conv});
    let e = send(&app, post("/v1/chat/completions", &body))
        .await
        .error(StatusCode::BAD_REQUEST);
    assert_eq!(e["param"], "tools");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_leaving_a_saved_stream_keeps_the_partial_answer() {
    let pieces: Vec<String> = (0..40).map(|i| format!("w{i} ")).collect();
    let events = pieces
        .iter()
        .map(|p| chunk(json!({"content": p}), Value::Null).to_string())
        .collect();
    let fake = FakeServer::scripted(vec![FakeReply::Sse {
        events,
        delay: Duration::from_millis(50),
    }])
    .await;
    let home = remote_home(&fake, json!({}));
    let mut body = hello();
    body["stream"] = json!(true);
    body["llf"] = json!({"conversation_id": "new"});
    use futures::StreamExt;
    use tower::ServiceExt;
    let response = home
        .app()
        .oneshot(post("/v1/chat/completions", &body))
        .await
        .unwrap();
    let mut stream = response.into_body().into_data_stream();
    let mut seen = String::new();
    while !seen.contains("w3 ") {
        seen.push_str(&String::from_utf8_lossy(
            &stream.next().await.unwrap().unwrap(),
        ));
    }
    drop(stream);

    let history = home.llf.history().await.unwrap();
    let conv = history.list(&Default::default()).await.unwrap()[0]
        .conversation
        .id
        .clone();
    let started = std::time::Instant::now();
    let answer = loop {
        let path = history.current_path(&conv).await.unwrap();
        let last = path.last().unwrap().clone();
        if last.role() == llf::core::chat::Role::Assistant
            && last.status == llf::history::MessageStatus::Partial
            && started.elapsed() > Duration::from_millis(500)
        {
            break last;
        }
        assert!(started.elapsed() < Duration::from_secs(10), "{path:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    // What arrived is kept, and generation stopped long before the 40 pieces (2 s) were sent.
    assert!(
        answer.message.content.starts_with("w0 w1 w2 w3 "),
        "{}",
        answer.message.content
    );
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let again = history.current_path(&conv).await.unwrap();
    let kept = &again.last().unwrap().message.content;
    assert!(
        !kept.contains("w39"),
        "the turn went on after the client left: {kept}"
    );
    assert_eq!(
        again.last().unwrap().status,
        llf::history::MessageStatus::Partial
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_request_queue_gets_503_with_retry_after() {
    let fake = FakeServer::scripted(vec![FakeReply::Hang]).await;
    let home = remote_home(
        &fake,
        json!({"request_queue": {"max_concurrent": 1, "max_size": 1},
               "llm_endpoint": {"request_timeout": 30}}),
    );
    let app = home.app();
    let spawn = || {
        let app = app.clone();
        tokio::spawn(async move { send(&app, post("/v1/chat/completions", &hello())).await })
    };
    // The first request holds the only slot (the fake never answers), the second waits.
    let first = spawn();
    let started = std::time::Instant::now();
    while fake.requests().is_empty() {
        assert!(started.elapsed() < Duration::from_secs(10));
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let second = spawn();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let r = send(&app, post("/v1/chat/completions", &hello())).await;
    let e = r.error(StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(e["code"], "queue_full");
    assert_eq!(r.headers["retry-after"], "1");
    assert_eq!(fake.requests().len(), 1);
    first.abort();
    second.abort();
}
