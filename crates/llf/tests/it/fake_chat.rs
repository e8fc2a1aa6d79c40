//! Turns against the scripted fake endpoint: exact tool calls, errors, hangs and cancellations,
//! with the saved conversation checked at each step.

use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::StreamExt;
use llf::chat::{ChatOptions, TurnEvent};
use llf::core::chat::Role;
use llf::core::tool::{ToolExecutor, ToolInvocation, ToolOutcome, ToolSpec};
use llf::history::MessageStatus;
use llf_testkit::{FakeServer, Reply, configs};
use serde_json::json;

use crate::{Home, events, pairs, tokens};

fn remote_home(fake: &FakeServer, extra: serde_json::Value) -> Home {
    Home::new(configs::with(
        configs::remote(&fake.base_url()),
        configs::with(
            json!({"prompt": {"system_prompt": "Be brief."}, "memory": {"enabled": false}}),
            extra,
        ),
    ))
}

/// In-process tools, as a program embedding LLF provides them.
struct Tools;

#[async_trait::async_trait]
impl ToolExecutor for Tools {
    fn specs(&self) -> Vec<ToolSpec> {
        ["get_weather", "slow"]
            .iter()
            .map(|n| ToolSpec {
                name: (*n).to_owned(),
                description: format!("the {n} tool"),
                parameters: json!({"type": "object", "properties": {}}),
            })
            .collect()
    }

    async fn execute(&self, call: &ToolInvocation) -> ToolOutcome {
        let started = Instant::now();
        if call.name == "slow" {
            tokio::time::sleep(Duration::from_secs(30)).await;
        }
        ToolOutcome {
            call_id: call.call_id.clone(),
            name: call.name.clone(),
            success: true,
            content: json!({"forecast": "sunny"}),
            duration: started.elapsed(),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_turn_saves_the_user_message_before_the_answer_and_the_answer_as_it_streams() {
    let fake = FakeServer::scripted(vec![Reply::stream_text(&["Hello", " there"])]).await;
    let home = remote_home(&fake, json!({}));
    let chat = home.llf.chat(ChatOptions::new()).await.unwrap();
    let all = events(chat.send("Hi")).await;

    let first_token = all
        .iter()
        .position(|e| matches!(e, TurnEvent::Token(_)))
        .unwrap();
    let user_saved = all
        .iter()
        .position(|e| matches!(e, TurnEvent::Saved(s) if s.role == Role::User))
        .unwrap();
    assert!(user_saved < first_token, "{all:?}");
    // The answer is saved from its first token on (partial), then sealed.
    let saves: Vec<bool> = all
        .iter()
        .filter_map(|e| match e {
            TurnEvent::Saved(s) if s.role == Role::Assistant => Some(s.complete),
            _ => None,
        })
        .collect();
    assert_eq!(saves, [false, true]);
    let Some(TurnEvent::Done(summary)) = all.last() else {
        panic!("{all:?}")
    };
    assert_eq!(summary.answer, "Hello there");
    assert_eq!(tokens(&all), "Hello there");
    let conv = summary.conversation.clone().unwrap();
    assert_eq!(
        home.path(&conv).await,
        pairs(&[
            ("system", "Be brief."),
            ("user", "Hi"),
            ("assistant", "Hello there")
        ])
    );
    let stored = home.stored_path(&conv).await;
    assert_eq!(stored[2].status, MessageStatus::Complete);
    assert_eq!(summary.answer_id, Some(stored[2].id));
    // The model saw the system prompt and the question.
    let sent = &fake.requests()[0].body["messages"];
    assert_eq!(sent[0]["content"], "Be brief.");
    assert_eq!(sent[1]["content"], "Hi");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tool_calls_and_each_result_are_saved_before_the_turn_goes_on() {
    let fake = FakeServer::scripted(vec![
        Reply::stream_tool_calls(&[("c1", "get_weather", r#"{"city":"Paris"}"#)]),
        Reply::stream_text(&["It is ", "sunny."]),
    ])
    .await;
    let home = remote_home(&fake, json!({}));
    let chat = home
        .llf
        .chat(ChatOptions::new().tool_executor(Arc::new(Tools)))
        .await
        .unwrap();
    let mut turn = chat.send("Weather in Paris?");
    let mut conversation = None;
    let mut seen = Vec::new();
    while let Some(event) = turn.next().await {
        match &event {
            TurnEvent::Saved(s) => conversation = Some(s.conversation.clone()),
            // When the call is announced, the assistant's tool-call message is already saved.
            TurnEvent::ToolCall(call) => {
                let path = home.stored_path(conversation.as_ref().unwrap()).await;
                assert_eq!(path[2].role(), Role::Assistant);
                assert_eq!(path[2].message.tool_calls[0].id, call.id);
            }
            TurnEvent::Done(_) => {
                // The result was saved before the next request went out.
                let path = home.stored_path(conversation.as_ref().unwrap()).await;
                assert_eq!(path[3].role(), Role::Tool);
            }
            _ => {}
        }
        seen.push(event);
    }
    let Some(TurnEvent::Done(summary)) = seen.last() else {
        panic!("{seen:?}")
    };
    assert_eq!(summary.answer, "It is sunny.");
    assert_eq!(summary.rounds, 2);
    assert_eq!(summary.tool_outcomes.len(), 1);
    assert!(
        seen.iter()
            .any(|e| matches!(e, TurnEvent::ToolResult(o) if o.success && o.name == "get_weather"))
    );
    let path = home
        .stored_path(&summary.conversation.clone().unwrap())
        .await;
    let roles: Vec<Role> = path.iter().map(|m| m.role()).collect();
    assert_eq!(
        roles,
        [
            Role::System,
            Role::User,
            Role::Assistant,
            Role::Tool,
            Role::Assistant
        ]
    );
    assert_eq!(path[3].message.tool_call_id.as_deref(), Some("c1"));
    assert!(path[3].message.content.contains("sunny"));
    // The second request carried the call and its result.
    let second = &fake.requests()[1].body["messages"];
    assert_eq!(second[2]["tool_calls"][0]["id"], "c1");
    assert_eq!(second[3]["role"], "tool");
    // The chat continues with the whole exchange.
    assert_eq!(chat.messages().await.len(), 4);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancelling_during_a_slow_tool_keeps_the_call_and_answers_it_as_cancelled() {
    let fake = FakeServer::scripted(vec![Reply::stream_tool_calls(&[("c9", "slow", "{}")])]).await;
    let home = remote_home(&fake, json!({}));
    let chat = home
        .llf
        .chat(ChatOptions::new().tool_executor(Arc::new(Tools)))
        .await
        .unwrap();
    let mut turn = chat.send("Do the slow thing");
    let started = Instant::now();
    let mut end = None;
    while let Some(event) = turn.next().await {
        match event {
            TurnEvent::ToolCall(_) => turn.cancel(),
            e @ (TurnEvent::Cancelled { .. } | TurnEvent::Done(_) | TurnEvent::Failed { .. }) => {
                end = Some(e)
            }
            _ => {}
        }
    }
    assert!(matches!(end, Some(TurnEvent::Cancelled { .. })), "{end:?}");
    // Cancelled, not waited out: the tool sleeps for 30 s.
    assert!(started.elapsed() < Duration::from_secs(20));
    let conv = chat.conversation().await.unwrap();
    let path = home.stored_path(&conv).await;
    let last = path.last().unwrap();
    assert_eq!(last.role(), Role::Tool);
    assert_eq!(last.message.tool_call_id.as_deref(), Some("c9"));
    assert!(last.message.content.contains("cancelled"), "{last:?}");
    // The conversation stays valid: every call has its result.
    assert_eq!(chat.messages().await.len(), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropping_the_stream_mid_answer_saves_what_arrived() {
    let pieces: Vec<String> = (0..40).map(|i| format!("w{i} ")).collect();
    let refs: Vec<&str> = pieces.iter().map(String::as_str).collect();
    let Reply::Sse { events: sse, .. } = Reply::stream_text(&refs) else {
        unreachable!()
    };
    let fake = FakeServer::scripted(vec![Reply::Sse {
        events: sse,
        delay: Duration::from_millis(50),
    }])
    .await;
    let home = remote_home(&fake, json!({}));
    let chat = home.llf.chat(ChatOptions::new()).await.unwrap();
    let mut turn = chat.send("Count");
    let mut received = String::new();
    while let Some(event) = turn.next().await {
        if let TurnEvent::Token(t) = event {
            received.push_str(&t);
            if received.len() >= 12 {
                break;
            }
        }
    }
    drop(turn);
    chat.idle().await;
    let conv = chat.conversation().await.unwrap();
    let path = home.stored_path(&conv).await;
    let answer = path.last().unwrap();
    assert_eq!(answer.role(), Role::Assistant);
    assert_eq!(answer.status, MessageStatus::Partial);
    // Everything the reader got is saved (and perhaps a token more that was on its way).
    assert!(
        answer.message.content.starts_with(&received),
        "{:?} vs {received:?}",
        answer.message.content
    );
    assert!(answer.message.content.len() < 40 * 4);
    let messages = chat.messages().await;
    assert_eq!(messages.len(), 2);
    assert_eq!(messages[1].content, answer.message.content);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stream_cut_mid_answer_fails_and_keeps_the_partial_answer() {
    // The connection breaks after two pieces (the body is shorter than its content-length).
    let body: String = ["Half an", " answer", " and more"]
        .iter()
        .map(|p| {
            format!(
                "data: {}\n\n",
                llf_testkit::chunk(json!({"content": p}), serde_json::Value::Null)
            )
        })
        .collect();
    let cut = body.find(" and more").unwrap() - 40;
    let fake = FakeServer::scripted(vec![Reply::Bytes {
        status: 200,
        headers: vec![("content-type".into(), "text/event-stream".into())],
        body: body.into_bytes(),
        cut_after: Some(cut),
    }])
    .await;
    let home = remote_home(&fake, json!({}));
    let chat = home.llf.chat(ChatOptions::new()).await.unwrap();
    let all = events(chat.send("Tell me")).await;
    let Some(TurnEvent::Failed { partial, .. }) = all.last() else {
        panic!("{all:?}")
    };
    assert_eq!(partial, "Half an answer");
    let path = home.stored_path(&chat.conversation().await.unwrap()).await;
    assert_eq!(path.last().unwrap().message.content, "Half an answer");
    assert_eq!(path.last().unwrap().status, MessageStatus::Partial);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_turn_that_gets_no_answer_leaves_the_conversation_where_it_was() {
    let fake = FakeServer::scripted(vec![
        Reply::stream_text(&["first answer"]),
        Reply::error(500, "model crashed"),
        Reply::stream_text(&["third answer"]),
    ])
    .await;
    let home = remote_home(&fake, json!({}));
    let chat = home.llf.chat(ChatOptions::new()).await.unwrap();
    chat.send("one").finish().await.unwrap();
    let failed = events(chat.send("two")).await;
    assert!(
        matches!(failed.last(), Some(TurnEvent::Failed { partial, .. }) if partial.is_empty()),
        "{failed:?}"
    );
    chat.send("three").finish().await.unwrap();
    let conv = chat.conversation().await.unwrap();
    assert_eq!(
        home.path(&conv).await,
        pairs(&[
            ("system", "Be brief."),
            ("user", "one"),
            ("assistant", "first answer"),
            ("user", "three"),
            ("assistant", "third answer"),
        ])
    );
    // "two" is not lost: it stays in the tree, on a branch of its own, with no empty answer.
    let tree = home.llf.history().await.unwrap().tree(&conv).await.unwrap();
    let two: Vec<_> = tree
        .messages
        .iter()
        .filter(|m| m.message.content == "two")
        .collect();
    assert_eq!(two.len(), 1);
    assert!(tree.children(Some(two[0].id)).is_empty());
    assert!(
        !tree
            .messages
            .iter()
            .any(|m| m.role() == Role::Assistant && m.message.content.is_empty())
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_empty_message_is_refused_and_nothing_is_saved() {
    let fake = FakeServer::numbered("answer").await;
    let home = remote_home(&fake, json!({}));
    let chat = home.llf.chat(ChatOptions::new()).await.unwrap();
    let all = events(chat.send("  \n")).await;
    assert!(
        matches!(
            all.last(),
            Some(TurnEvent::Failed {
                error: llf::Error::EmptyMessage,
                ..
            })
        ),
        "{all:?}"
    );
    assert!(chat.conversation().await.is_none());
    assert!(fake.requests().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retry_adds_a_sibling_answer_and_edit_starts_a_new_branch() {
    let fake = FakeServer::numbered("answer").await;
    let home = remote_home(&fake, json!({}));
    let chat = home.llf.chat(ChatOptions::new()).await.unwrap();
    chat.send("Q1").finish().await.unwrap();
    let retried = chat.retry().finish().await.unwrap();
    assert_eq!(retried.answer, "answer 1");
    let conv = chat.conversation().await.unwrap();
    assert_eq!(
        home.path(&conv).await,
        pairs(&[
            ("system", "Be brief."),
            ("user", "Q1"),
            ("assistant", "answer 1")
        ])
    );
    // The retry resent the same question, once.
    let second = &fake.requests()[1].body["messages"];
    assert_eq!(second.as_array().unwrap().len(), 2);
    assert_eq!(second[1]["content"], "Q1");

    let q1 = home.stored_path(&conv).await[1].id;
    let edited = chat.edit(q1, "Q1, better").finish().await.unwrap();
    assert_eq!(edited.answer, "answer 2");
    assert_eq!(
        home.path(&conv).await,
        pairs(&[
            ("system", "Be brief."),
            ("user", "Q1, better"),
            ("assistant", "answer 2")
        ])
    );
    let history = home.llf.history().await.unwrap();
    assert_eq!(history.branches(&conv).await.unwrap().len(), 3);
    // Back to the first branch: the chat continues from there.
    let first_answer = history
        .tree(&conv)
        .await
        .unwrap()
        .messages
        .iter()
        .find(|m| m.message.content == "answer 0")
        .unwrap()
        .id;
    assert_eq!(chat.goto(first_answer).await.unwrap(), 2);
    chat.send("Q2").finish().await.unwrap();
    assert_eq!(
        home.path(&conv).await,
        pairs(&[
            ("system", "Be brief."),
            ("user", "Q1"),
            ("assistant", "answer 0"),
            ("user", "Q2"),
            ("assistant", "answer 3"),
        ])
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resume_continues_a_saved_conversation_with_its_own_system_prompt() {
    let fake = FakeServer::numbered("answer").await;
    let home = remote_home(&fake, json!({}));
    let first = home
        .llf
        .chat(ChatOptions::new().system("Talk like a pirate."))
        .await
        .unwrap();
    let summary = first.send("Remember 42").finish().await.unwrap();
    let conv = summary.conversation.unwrap();

    let again = home
        .llf
        .chat(ChatOptions::new().resume(&conv[..10]))
        .await
        .unwrap();
    assert_eq!(again.messages().await.len(), 2);
    assert_eq!(
        again.system_prompt().await.as_deref(),
        Some("Talk like a pirate.")
    );
    again.send("Which number?").finish().await.unwrap();
    let sent = &fake.requests()[1].body["messages"];
    assert_eq!(sent[0]["content"], "Talk like a pirate.");
    assert_eq!(sent[1]["content"], "Remember 42");
    assert_eq!(sent[2]["content"], "answer 0");
    assert_eq!(sent[3]["content"], "Which number?");
    assert_eq!(home.path(&conv).await.len(), 5);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn memories_reach_the_prompt_and_are_reported() {
    let fake = FakeServer::numbered("answer").await;
    let home = remote_home(&fake, json!({"memory": {"enabled": true}}));
    home.llf
        .memory_context()
        .await
        .unwrap()
        .remember("The user's cat is called Tom")
        .await
        .unwrap();
    let chat = home.llf.chat(ChatOptions::new()).await.unwrap();
    let all = events(chat.send("What is my cat called?")).await;
    let context = all
        .iter()
        .find_map(|e| match e {
            TurnEvent::Context {
                provider, items, ..
            } => Some((provider.clone(), items.clone())),
            _ => None,
        })
        .expect("a context event");
    assert_eq!(context.0, "memory");
    assert!(context.1[0].text.contains("Tom"));
    let system = fake.requests()[0].body["messages"][0]["content"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(system.contains("Tom"), "{system}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn llf_tools_run_sandboxed_and_approvals_are_reported() {
    let fake = FakeServer::scripted(vec![
        Reply::stream_tool_calls(&[("c1", "shout", r#"{"text":"hi"}"#)]),
        Reply::stream_text(&["done"]),
    ])
    .await;
    let home = remote_home(&fake, json!({}));
    // A user tool that needs approval.
    let tool = home.dir.path().join("tools/shout");
    std::fs::create_dir_all(&tool).unwrap();
    std::fs::write(
        tool.join("config.json"),
        json!({"name": "shout", "description": "Upper-cases text", "requires_approval": true,
               "metadata": {"enabled": true}, "timeout": 10})
        .to_string(),
    )
    .unwrap();
    std::fs::write(
        tool.join("tool_definition.json"),
        json!({"type": "function", "function": {"name": "shout", "description": "Upper-cases text",
               "parameters": {"type": "object", "properties": {"text": {"type": "string"}}, "required": ["text"]}}})
        .to_string(),
    )
    .unwrap();
    let run = tool.join("run");
    std::fs::write(
        &run,
        "#!/bin/sh\n# The arguments arrive on stdin as a JSON object; the result is printed as one.\nprintf '{\"success\": true, \"result\": %s}' \"$(tr a-z A-Z)\"\n",
    )
    .unwrap();
    let mut perms = std::fs::metadata(&run).unwrap().permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut perms, 0o755);
    std::fs::set_permissions(&run, perms).unwrap();

    let approve = Arc::new(llf::tools::approval::FixedApproval(
        llf::tools::approval::ApprovalDecision::Once,
    ));
    let chat = home
        .llf
        .chat(ChatOptions::new().tools(true).approvals(approve))
        .await
        .unwrap();
    let all = events(chat.send("Shout hi")).await;
    assert!(
        all.iter().any(
            |e| matches!(e, TurnEvent::ToolApproval { tool, approved: true } if tool == "shout")
        ),
        "{all:?}"
    );
    let outcome = all
        .iter()
        .find_map(|e| match e {
            TurnEvent::ToolResult(o) => Some(o.clone()),
            _ => None,
        })
        .unwrap();
    assert!(outcome.success, "{outcome:?}");
    assert_eq!(outcome.content, json!({"TEXT": "HI"}));
    // Audited where LLF keeps its audit log.
    let audit = std::fs::read_to_string(home.llf.locations().audit_log()).unwrap();
    assert!(audit.contains("\"shout\""));
}
