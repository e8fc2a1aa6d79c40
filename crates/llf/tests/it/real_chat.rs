//! The chat with the real llama-server and SmolLM2: a plain turn streamed and saved, resumed in a
//! new chat, retried as a sibling and branched.

use llf::chat::{ChatOptions, TurnEvent};
use llf::core::chat::Role;
use llf::history::MessageStatus;
use llf_testkit::configs;
use serde_json::json;

use crate::{Home, events, tokens};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_real_model_streams_a_saved_turn_that_resumes_retries_and_branches() {
    let home = Home::new(configs::with(
        configs::local_servers(&["smol"]),
        json!({"prompt": {"system_prompt": "You are a helpful assistant."}, "memory": {"enabled": false}}),
    ));
    let chat = home.llf.chat(ChatOptions::new()).await.unwrap();
    let all = events(chat.send("What is the capital of France?")).await;
    // The server was started by the turn, with progress.
    assert!(
        all.iter()
            .any(|e| matches!(e, TurnEvent::ServerStarting { server, .. } if server == "smol")),
        "{all:?}"
    );
    let Some(TurnEvent::Done(first)) = all.last() else {
        panic!("{all:?}")
    };
    let streamed = tokens(&all);
    assert!(!streamed.trim().is_empty());
    assert_eq!(first.answer, streamed);
    assert!(first.completion.usage.completion_tokens > 0);
    assert!(first.completion.metrics.tokens_per_second > 0.0);
    let conv = first.conversation.clone().unwrap();
    let path = home.stored_path(&conv).await;
    assert_eq!(path.len(), 3);
    assert_eq!(path[2].message.content, streamed);
    assert_eq!(path[2].status, MessageStatus::Complete);
    assert_eq!(path[2].model.as_deref(), Some("SmolLM2-135M-Instruct.Q4_1"));
    assert!(path[2].tokens.completion.unwrap() > 0);

    // A new chat resumes it: the model sees the earlier exchange.
    let resumed = home
        .llf
        .chat(ChatOptions::new().resume(&conv))
        .await
        .unwrap();
    let second = resumed.send("And of Germany?").finish().await.unwrap();
    assert!(!second.answer.trim().is_empty());
    assert_eq!(home.stored_path(&conv).await.len(), 5);
    let prompt_tokens_with_history = second.completion.usage.prompt_tokens;
    assert!(prompt_tokens_with_history > first.completion.usage.prompt_tokens);

    // Retry: a sibling of the last answer (deterministic sampling gives the same text).
    let retried = resumed.retry().finish().await.unwrap();
    assert_eq!(retried.answer, second.answer);
    let history = home.llf.history().await.unwrap();
    assert_eq!(history.branches(&conv).await.unwrap().len(), 2);
    assert_eq!(home.stored_path(&conv).await.len(), 5);

    // Branch from before the second question: the next message starts a third branch.
    let from = resumed.branch(None).await.unwrap();
    assert_eq!(from, path[2].id);
    resumed
        .send("Name a French cheese.")
        .finish()
        .await
        .unwrap();
    let now = home.stored_path(&conv).await;
    assert_eq!(now.len(), 5);
    assert_eq!(now[3].message.content, "Name a French cheese.");
    assert_eq!(now[3].role(), Role::User);
    assert_eq!(history.branches(&conv).await.unwrap().len(), 3);

    let server = chat.server().await.unwrap();
    home.llf
        .runtime()
        .servers()
        .stop(&server.name)
        .await
        .unwrap();
}
