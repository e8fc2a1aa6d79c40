//! A live server on 127.0.0.1:0 in front of the real llama-server and SmolLM2: the official
//! `openai` Python package and `async-openai` as unchanged clients; a client that disconnects
//! mid-stream frees the llama-server slot.

use std::time::{Duration, Instant};

use async_openai::Client;
use async_openai::config::OpenAIConfig;
use async_openai::error::OpenAIError;
use async_openai::types::chat::{
    ChatCompletionRequestUserMessageArgs, ChatCompletionStreamOptions,
    CreateChatCompletionRequestArgs,
};
use async_openai::types::embeddings::CreateEmbeddingRequestArgs;
use futures::StreamExt;
use llf_http_api::{ServeOptions, Server};
use llf_testkit::{components, configs};
use serde_json::{Value, json};

use crate::{Home, embedding_config};

fn live_home() -> Home {
    Home::new(configs::with(
        configs::with(configs::local_servers(&["smol"]), embedding_config()),
        json!({"memory": {"enabled": false}}),
    ))
}

async fn start(home: &Home) -> Server {
    Server::start(
        home.llf.clone(),
        ServeOptions {
            host: None,
            port: Some(0),
        },
    )
    .await
    .unwrap()
}

fn ask(model: &str, stream: bool) -> async_openai::types::chat::CreateChatCompletionRequest {
    let mut args = CreateChatCompletionRequestArgs::default();
    args.model(model)
        .max_completion_tokens(16u32)
        .temperature(0.0)
        .messages([ChatCompletionRequestUserMessageArgs::default()
            .content("What is the capital of France?")
            .build()
            .unwrap()
            .into()]);
    if stream {
        // The workspace builds async-openai with `byot`, under which `create_stream` leaves
        // `stream` as the request has it.
        args.stream(true)
            .stream_options(ChatCompletionStreamOptions {
                include_usage: Some(true),
                include_obfuscation: None,
            });
    }
    args.build().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn official_clients_chat_stream_embed_and_fail_against_the_real_model() {
    let home = live_home();
    let server = start(&home).await;
    let base = format!("http://{}/v1", server.addr());

    // The official Python client, unchanged.
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/openai_client.py");
    let python = components::python();
    let args = (base.clone(), script);
    let output = tokio::task::spawn_blocking(move || {
        std::process::Command::new(python)
            .args([args.1, args.0.as_str(), "smol", "all-MiniLM-L6-v2"])
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    assert!(
        output.status.success(),
        "python client failed:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let py: Value = serde_json::from_slice(&output.stdout).unwrap();
    eprintln!("openai {}: {py}", py["version"]);
    assert_eq!(py["models"], json!(["smol", "all-MiniLM-L6-v2"]));
    assert_eq!(py["model"], "smol");
    let plain = py["plain"]["content"].as_str().unwrap();
    assert!(!plain.trim().is_empty());
    assert!(["stop", "length"].contains(&py["plain"]["finish"].as_str().unwrap()));
    let usage = &py["plain"]["usage"];
    assert!(usage["prompt_tokens"].as_u64().unwrap() > 5);
    assert!(usage["completion_tokens"].as_u64().unwrap() > 0);
    // Deterministic sampling: the streamed answer is the same text, in several pieces.
    assert_eq!(py["stream"]["content"], py["plain"]["content"]);
    assert!(py["stream"]["pieces"].as_u64().unwrap() > 1);
    assert_eq!(py["stream"]["usage"], py["plain"]["usage"]);
    assert_eq!(py["stream"]["empty_choice_chunks"], 1);
    assert_eq!(py["embeddings"]["dims"], json!([384, 384]));
    assert!(py["embeddings"]["cosine"].as_f64().unwrap() > 0.5);
    assert_eq!(
        py["error"],
        json!({"status": 404, "code": "model_not_found", "type": "invalid_request_error"})
    );
    let saved = py["saved"]["conversation_id"].as_str().unwrap().to_owned();

    // The conversation saved through `llf.conversation_id` is in the history that
    // `llf conversation list` shows.
    let history = home.llf.history().await.unwrap();
    let list = history.list(&Default::default()).await.unwrap();
    assert!(list.iter().any(|c| c.conversation.id == saved), "{list:?}");
    let path = history.current_path(&saved).await.unwrap();
    // The configured system prompt, the question, the answer.
    let roles: Vec<String> = path.iter().map(|m| m.role().to_string()).collect();
    assert_eq!(roles, ["system", "user", "assistant"]);
    assert_eq!(path[1].message.content, "What is the capital of France?");
    assert_eq!(path[2].id, py["saved"]["message_id"].as_i64().unwrap());
    assert!(!path[2].message.content.is_empty());

    // async-openai, unchanged.
    let client = Client::with_config(
        OpenAIConfig::new()
            .with_api_base(&base)
            .with_api_key("unused"),
    );
    let models = client.models().list().await.unwrap();
    assert_eq!(models.data[0].id, "smol");
    let answer = client.chat().create(ask("smol", false)).await.unwrap();
    let text = answer.choices[0].message.content.clone().unwrap();
    assert_eq!(text, plain);
    let u = answer.usage.unwrap();
    assert!(u.completion_tokens > 0 && u.total_tokens == u.prompt_tokens + u.completion_tokens);
    let mut stream = client
        .chat()
        .create_stream(ask("smol", true))
        .await
        .unwrap();
    let (mut streamed, mut usage) = (String::new(), None);
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.unwrap();
        if let Some(u) = chunk.usage {
            usage = Some(u);
        }
        for c in chunk.choices {
            streamed.push_str(c.delta.content.as_deref().unwrap_or_default());
        }
    }
    assert_eq!(streamed, plain);
    assert_eq!(usage.unwrap().completion_tokens, u.completion_tokens);
    let emb = client
        .embeddings()
        .create(
            CreateEmbeddingRequestArgs::default()
                .model("all-MiniLM-L6-v2")
                .input(vec!["one", "two", "three"])
                .build()
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(emb.data.len(), 3);
    assert_eq!(emb.data[2].embedding.len(), 384);
    match client.chat().create(ask("no-such-model", false)).await {
        Err(OpenAIError::ApiError(e)) => {
            assert_eq!(e.status_code.as_u16(), 404);
            assert_eq!(e.api_error.code.as_deref(), Some("model_not_found"));
        }
        other => panic!("expected a 404, got {other:?}"),
    }

    home.llf.runtime().servers().stop("smol").await.unwrap();
    server.shutdown().await.unwrap();
}

/// Whether any llama-server slot is generating.
async fn busy(root: &str) -> bool {
    let slots: Value = reqwest::get(format!("{root}/slots"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    slots
        .as_array()
        .unwrap()
        .iter()
        .any(|s| s["is_processing"] == true)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_disconnects_mid_stream_stops_the_generation() {
    let home = live_home();
    let server = start(&home).await;
    let url = format!("http://{}/v1/chat/completions", server.addr());
    let body = json!({"model": "smol", "stream": true, "max_tokens": 4000, "temperature": 0.8,
                      "messages": [{"role": "user", "content": "Write a very long story about a dragon."}]});
    let response = reqwest::Client::new()
        .post(&url)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let mut bytes = response.bytes_stream();
    let mut seen = String::new();
    while seen.matches("\"content\"").count() < 6 {
        let piece = bytes.next().await.unwrap().unwrap();
        seen.push_str(&String::from_utf8_lossy(&piece));
    }
    let state = home.llf.runtime().servers().status("smol").await.unwrap();
    let llf::runtime::server::ServerStatus::Running(state) = state else {
        panic!("the server runs")
    };
    let root = state.root_url();
    assert!(
        busy(&root).await,
        "the slot generates while the client reads"
    );
    drop(bytes);
    let since = Instant::now();
    while busy(&root).await {
        assert!(
            since.elapsed() < Duration::from_secs(10),
            "llama-server kept generating after the client left"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    eprintln!("slot freed {:?} after the disconnect", since.elapsed());

    home.llf.runtime().servers().stop("smol").await.unwrap();
    server.shutdown().await.unwrap();
}
