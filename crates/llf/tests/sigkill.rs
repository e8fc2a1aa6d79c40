//! A chat process killed with SIGKILL loses at most the last 100 ms of its answer: mid-answer,
//! after a tool call, and while a slow tool runs.
//!
//! This test binary is its own child: run plainly, it is the parent, which serves a scripted
//! endpoint, starts itself again as a chat process (`LLF_SIGKILL_CHILD`), kills that process at
//! the chosen moment and reads the history the process left behind.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)] // test code

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::StreamExt;
use llf::Llf;
use llf::chat::{ChatOptions, TurnEvent};
use llf::config::{ConfigFile, Environment};
use llf::core::chat::Role;
use llf::core::tool::{ToolExecutor, ToolInvocation, ToolOutcome, ToolSpec};
use llf::history::{MessageStatus, StoredMessage};
use llf_testkit::{FakeServer, Reply, configs};
use serde_json::json;

/// Milliseconds between two streamed words.
const WORD_GAP_MS: u64 = 40;
const WORDS: usize = 150;

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    if let Ok(home) = std::env::var("LLF_SIGKILL_CHILD") {
        rt.block_on(child(&home));
        return;
    }
    for (name, case) in [
        ("killed mid-answer", Case::MidAnswer),
        ("killed mid-answer after a tool call", Case::AfterTool),
        ("killed while a slow tool runs", Case::DuringTool),
    ] {
        rt.block_on(parent(case));
        println!("test sigkill: {name} ... ok");
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Case {
    MidAnswer,
    AfterTool,
    DuringTool,
}

fn words() -> Vec<String> {
    (0..WORDS).map(|i| format!("word{i} ")).collect()
}

fn slow_answer() -> Reply {
    let words = words();
    let refs: Vec<&str> = words.iter().map(String::as_str).collect();
    let Reply::Sse { events, .. } = Reply::stream_text(&refs) else {
        unreachable!()
    };
    Reply::Sse {
        events,
        delay: Duration::from_millis(WORD_GAP_MS),
    }
}

async fn parent(case: Case) {
    let replies = match case {
        Case::MidAnswer => vec![slow_answer()],
        Case::AfterTool => vec![
            Reply::stream_tool_calls(&[("c1", "quick", "{}")]),
            slow_answer(),
        ],
        Case::DuringTool => vec![Reply::stream_tool_calls(&[("c1", "slow", "{}")])],
    };
    let fake = FakeServer::scripted(replies).await;
    let home = tempfile::tempdir().unwrap();
    std::fs::write(
        home.path().join("config.json"),
        configs::with(
            configs::remote(&fake.base_url()),
            json!({"memory": {"enabled": false}}),
        )
        .to_string(),
    )
    .unwrap();
    let mut child = Command::new(std::env::current_exe().unwrap())
        .env("LLF_SIGKILL_CHILD", home.path())
        .env("LLF_SIGKILL_CASE", format!("{}", case as u8))
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let lines = BufReader::new(child.stdout.take().unwrap());
    let mut printed = String::new();
    let mut tool_called = false;
    let kill_when = |printed: &str, tool_called: bool| match case {
        Case::MidAnswer | Case::AfterTool => printed.split_whitespace().count() >= 25,
        Case::DuringTool => tool_called,
    };
    let deadline = Instant::now() + Duration::from_secs(60);
    for line in lines.lines() {
        let line = line.unwrap();
        if let Some(t) = line.strip_prefix("TOKEN ") {
            printed.push_str(t);
            printed.push(' ');
        } else if line.starts_with("TOOL ") {
            tool_called = true;
        }
        if kill_when(&printed, tool_called) {
            if case == Case::DuringTool {
                // The tool runs for 30 s: give the process time to be in it.
                tokio::time::sleep(Duration::from_millis(300)).await;
            }
            break;
        }
        assert!(Instant::now() < deadline, "the child never got there");
    }
    sigkill(&mut child);

    let env = Environment::with_home(home.path());
    let llf = Llf::new(ConfigFile::load(None, &env).unwrap());
    let history = llf.history().await.unwrap();
    let list = history.list(&Default::default()).await.unwrap();
    assert_eq!(list.len(), 1, "one conversation");
    let path: Vec<StoredMessage> = history
        .current_path(&list[0].conversation.id)
        .await
        .unwrap()
        .into_iter()
        .filter(|m| m.role() != Role::System)
        .collect();
    let roles: Vec<Role> = path.iter().map(|m| m.role()).collect();
    match case {
        Case::MidAnswer => {
            assert_eq!(roles, [Role::User, Role::Assistant]);
            check_partial(&path[1], &printed);
        }
        Case::AfterTool => {
            assert_eq!(
                roles,
                [Role::User, Role::Assistant, Role::Tool, Role::Assistant]
            );
            assert_eq!(path[1].message.tool_calls[0].name, "quick");
            assert!(path[2].message.content.contains("fast result"));
            check_partial(&path[3], &printed);
        }
        Case::DuringTool => {
            assert_eq!(roles, [Role::User, Role::Assistant]);
            assert_eq!(path[1].message.tool_calls[0].name, "slow");
            assert_eq!(path[1].status, MessageStatus::Complete);
        }
    }
}

/// The saved answer is a prefix of the streamed one and holds all but the last 100 ms of what
/// the killed process had printed.
fn check_partial(answer: &StoredMessage, printed: &str) {
    let full: String = words().concat();
    let saved = &answer.message.content;
    assert_eq!(answer.status, MessageStatus::Partial);
    assert!(full.starts_with(saved.as_str()), "{saved:?}");
    let printed_words = printed.split_whitespace().count();
    let saved_words = saved.split_whitespace().count();
    // 100 ms of saving interval is 2.5 words at 40 ms a word; one more for the kill's own delay.
    let lost_allowed = (100 / WORD_GAP_MS) as usize + 2;
    assert!(
        saved_words + lost_allowed >= printed_words,
        "saved {saved_words} words, the process had printed {printed_words}"
    );
}

fn sigkill(child: &mut Child) {
    let pid = nix::unistd::Pid::from_raw(i32::try_from(child.id()).unwrap());
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGKILL).unwrap();
    child.wait().unwrap();
}

/// In-process tools of the chat process.
struct Tools;

#[async_trait::async_trait]
impl ToolExecutor for Tools {
    fn specs(&self) -> Vec<ToolSpec> {
        ["quick", "slow"]
            .iter()
            .map(|n| ToolSpec {
                name: (*n).to_owned(),
                description: (*n).to_owned(),
                parameters: json!({"type": "object", "properties": {}}),
            })
            .collect()
    }

    async fn execute(&self, call: &ToolInvocation) -> ToolOutcome {
        if call.name == "slow" {
            tokio::time::sleep(Duration::from_secs(30)).await;
        }
        ToolOutcome {
            call_id: call.call_id.clone(),
            name: call.name.clone(),
            success: true,
            content: json!("fast result"),
            duration: Duration::from_millis(1),
        }
    }
}

/// The chat process: prints each token and tool call as a line, as soon as it has it.
async fn child(home: &str) {
    let env = Environment::with_home(home);
    let llf = Llf::new(ConfigFile::load(None, &env).unwrap());
    let options = if std::env::var("LLF_SIGKILL_CASE").as_deref() == Ok("0") {
        ChatOptions::new()
    } else {
        ChatOptions::new().tool_executor(Arc::new(Tools))
    };
    let chat = llf.chat(options).await.unwrap();
    let mut turn = chat.send("Go on for a while");
    let mut out = std::io::stdout();
    while let Some(event) = turn.next().await {
        match event {
            TurnEvent::Token(t) => writeln!(out, "TOKEN {}", t.trim()).unwrap(),
            TurnEvent::ToolCall(c) => writeln!(out, "TOOL {}", c.name).unwrap(),
            _ => {}
        }
        out.flush().unwrap();
    }
}
