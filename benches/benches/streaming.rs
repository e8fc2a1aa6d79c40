//! LLF's streaming overhead: the same chat request sent to a real llama-server (SmolLM2) straight
//! over HTTP, and through `llf-runtime`'s `ChatClient` (queue, async-openai, event mapping,
//! profiling). Requests alternate between the two so drift affects both alike; medians of 25 each.
//!
//! Run: `cargo bench -p llf-benches --bench streaming`
#![allow(
    missing_docs,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::print_stdout
)] // bench harness code

use std::time::{Duration, Instant};

use futures::StreamExt;
use llf_config::{ConfigFile, Environment};
use llf_core::chat::ChatMessage;
use llf_runtime::{ChatEvent, ChatRequest, Runtime, Target};
use llf_testkit::components;

const SAMPLES: usize = 25;

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(run());
}

async fn run() {
    let home = tempfile::tempdir().unwrap();
    let port = components::free_port();
    let raw = serde_json::json!({
        "llm_endpoint": {"default_local_server": "bench"},
        "local_llm_servers": [{"name": "bench", "llama_server_path": components::llama_server(),
            "model_path": components::model(), "port": port, "server_params": {"--ctx-size": 2048}}],
        "inference_params": {"temperature": 0.0, "max_tokens": 32, "seed": 7, "top_p": 1.0},
        "request_queue": {"max_requests_per_second": 1000.0}
    });
    let file = ConfigFile::from_value(
        home.path().join("config.json"),
        raw,
        true,
        &Environment::with_home(home.path()),
    )
    .unwrap();
    let runtime = Runtime::new(file.config(), file.paths());
    let conn = runtime.connect(&Target::Default, |_| {}).await.unwrap();
    let root = conn.server.as_ref().unwrap().root_url();
    let messages = vec![
        ChatMessage::system("You are a helpful assistant."),
        ChatMessage::user("List three fruits."),
    ];
    let request = ChatRequest::new(messages.clone()).params(file.config().inference_params.clone());
    let body = serde_json::json!({
        "model": conn.client.model(), "messages": messages, "stream": true,
        "stream_options": {"include_usage": true}, "temperature": 0.0, "top_p": 1.0, "max_tokens": 32, "seed": 7
    });
    let http = reqwest::Client::new();
    let url = format!("{root}/v1/chat/completions");

    for _ in 0..3 {
        direct(&http, &url, &body).await;
        via_llf(&conn.client, request.clone()).await;
    }
    let (mut d_ttft, mut d_total, mut l_ttft, mut l_total) = (vec![], vec![], vec![], vec![]);
    for _ in 0..SAMPLES {
        let (t, total) = direct(&http, &url, &body).await;
        d_ttft.push(t);
        d_total.push(total);
        let (t, total) = via_llf(&conn.client, request.clone()).await;
        l_ttft.push(t);
        l_total.push(total);
    }
    runtime.servers().stop("bench").await.unwrap();

    let ttft_d = llf_benches::summarize(&mut d_ttft);
    let ttft_l = llf_benches::summarize(&mut l_ttft);
    let total_d = llf_benches::summarize(&mut d_total);
    let total_l = llf_benches::summarize(&mut l_total);
    llf_benches::report("time to first token (direct → llf)", ttft_d, ttft_l);
    llf_benches::report("total time          (direct → llf)", total_d, total_l);
    let added = ttft_l.p50.as_secs_f64() * 1e3 - ttft_d.p50.as_secs_f64() * 1e3;
    println!("added to time to first token (p50): {added:.3} ms");
}

/// Straight HTTP: POST and read the SSE body, parsing each event as JSON like any client must.
async fn direct(
    http: &reqwest::Client,
    url: &str,
    body: &serde_json::Value,
) -> (Duration, Duration) {
    let start = Instant::now();
    let resp = http.post(url).json(body).send().await.unwrap();
    let mut stream = resp.bytes_stream();
    let mut first = None;
    let mut buf = Vec::new();
    while let Some(chunk) = stream.next().await {
        buf.extend_from_slice(&chunk.unwrap());
        while let Some(pos) = buf.windows(2).position(|w| w == b"\n\n") {
            let event: Vec<u8> = buf.drain(..pos + 2).collect();
            let line = String::from_utf8_lossy(&event);
            let Some(data) = line.trim().strip_prefix("data: ") else {
                continue;
            };
            if data == "[DONE]" {
                continue;
            }
            let v: serde_json::Value = serde_json::from_str(data).unwrap();
            let has_text = v
                .pointer("/choices/0/delta/content")
                .and_then(|c| c.as_str())
                .is_some_and(|c| !c.is_empty());
            if has_text && first.is_none() {
                first = Some(start.elapsed());
            }
        }
    }
    let total = start.elapsed();
    (first.unwrap_or(total), total)
}

async fn via_llf(client: &llf_runtime::ChatClient, request: ChatRequest) -> (Duration, Duration) {
    let start = Instant::now();
    let mut stream = client.stream(request).await.unwrap();
    let mut first = None;
    while let Some(ev) = stream.next().await {
        match ev {
            ChatEvent::Token(_) if first.is_none() => first = Some(start.elapsed()),
            ChatEvent::Error { error, .. } => panic!("{error}"),
            _ => {}
        }
    }
    let total = start.elapsed();
    (first.unwrap_or(total), total)
}
