//! `llf conversation resume` and `llf template use --execute`: answers streamed and saved in the
//! history as they arrive — against a scripted endpoint for exact checks (including a process
//! killed mid-answer) and against the real llama-server with SmolLM2.

use std::io::Read;
use std::process::Stdio;
use std::time::Duration;

use llf_core::chat::{ChatMessage, Role};
use llf_history::{History, ListFilter, MessageStatus};
use llf_testkit::{FakeServer, Reply, chunk, components};
use serde_json::json;

use crate::{Sandbox, stderr_of, stdout_of};

fn history(sb: &Sandbox, rt: &tokio::runtime::Runtime) -> History {
    rt.block_on(History::open(sb.home().join("state/history.db")))
        .unwrap()
}

#[test]
fn resume_sends_the_saved_branch_and_saves_the_answer() {
    let rt = crate::tokio_rt();
    let fake = rt.block_on(FakeServer::scripted(vec![Reply::stream_text(&[
        "Sure", ", ", "done",
    ])]));
    let sb = Sandbox::new();
    sb.remote_config(&fake.base_url(), None);
    let h = history(&sb, &rt);
    let id = rt.block_on(async {
        let c = h.create_conversation("resumable", None).await.unwrap();
        h.append(&c.id, ChatMessage::system("Saved system prompt."))
            .await
            .unwrap();
        let q = h
            .append(&c.id, ChatMessage::user("first question"))
            .await
            .unwrap();
        h.append(&c.id, ChatMessage::assistant("old answer"))
            .await
            .unwrap();
        h.append_under(&c.id, Some(q.id), ChatMessage::assistant("first answer"))
            .await
            .unwrap();
        c.id
    });
    let out = sb
        .llf()
        .args(["conversation", "resume", &id[..22], "next", "question"])
        .assert()
        .success()
        .get_output()
        .clone();
    assert_eq!(stdout_of(&out), "Sure, done\n");
    assert!(stderr_of(&out).contains(&format!("saved in conversation {id}")));

    // The model saw the conversation's system prompt and its active branch only.
    let body = &fake.requests()[0].body;
    let msgs: Vec<(String, String)> = body["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["role"].as_str().unwrap().to_owned(),
                m["content"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let want = [
        ("system", "Saved system prompt."),
        ("user", "first question"),
        ("assistant", "first answer"),
        ("user", "next question"),
    ];
    assert_eq!(msgs, want.map(|(r, c)| (r.to_owned(), c.to_owned())));

    let path = rt.block_on(h.current_path(&id)).unwrap();
    assert_eq!(path.len(), 5);
    assert_eq!(path[3].message, ChatMessage::user("next question"));
    assert_eq!(path[4].message.content, "Sure, done");
    assert_eq!(path[4].status, MessageStatus::Complete);
    assert_eq!(path[4].model.as_deref(), Some("fake-model"));
}

#[test]
fn a_process_killed_mid_answer_leaves_the_partial_answer_saved() {
    let rt = crate::tokio_rt();
    // Tokens every 150 ms (longer than the save interval), far more than the test waits for.
    let mut events: Vec<String> = (0..100)
        .map(|i| {
            chunk(
                json!({"content": format!("w{i} ")}),
                serde_json::Value::Null,
            )
            .to_string()
        })
        .collect();
    events.push("[DONE]".to_owned());
    let fake = rt.block_on(FakeServer::scripted(vec![Reply::Sse {
        events,
        delay: Duration::from_millis(150),
    }]));
    let sb = Sandbox::new();
    sb.remote_config(&fake.base_url(), None);
    let h = history(&sb, &rt);
    let id = rt
        .block_on(h.create_conversation("crashy", None))
        .unwrap()
        .id;

    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("llf"))
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", sb.dir.path())
        .env("LLF_HOME", sb.home())
        .args(["conversation", "resume", &id, "count"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let mut seen = String::new();
    let mut buf = [0u8; 64];
    while !seen.contains("w4 ") {
        let n = stdout.read(&mut buf).unwrap();
        assert!(n > 0, "stream ended early: {seen}");
        seen.push_str(&String::from_utf8_lossy(&buf[..n]));
    }
    child.kill().unwrap(); // SIGKILL: no chance to clean up
    child.wait().unwrap();

    let path = rt.block_on(h.current_path(&id)).unwrap();
    assert_eq!(path.len(), 2, "{path:?}");
    assert_eq!(path[0].message, ChatMessage::user("count"));
    let answer = &path[1];
    assert_eq!(answer.role(), Role::Assistant);
    assert_eq!(answer.status, MessageStatus::Partial);
    assert!(
        answer.message.content.starts_with("w0 w1 w2 w3 "),
        "saved: {:?}",
        answer.message.content
    );
    let shown = stdout_of(
        &sb.llf()
            .args(["conversation", "show", &id])
            .assert()
            .success()
            .get_output()
            .clone(),
    );
    assert!(shown.contains("partial"), "{shown}");
}

#[test]
fn template_use_execute_sends_the_rendered_prompt_and_saves_a_conversation() {
    let rt = crate::tokio_rt();
    let fake = rt.block_on(FakeServer::scripted(vec![Reply::stream_text(&[
        "Guten ", "Tag",
    ])]));
    let sb = Sandbox::new();
    sb.remote_config(&fake.base_url(), None);
    let out = sb
        .llf()
        .args([
            "template",
            "use",
            "translate_text",
            "--var",
            "source_lang=English",
            "--var",
            "target_lang=German",
            "--var",
            "text=Good day",
            "--execute",
        ])
        .assert()
        .success()
        .get_output()
        .clone();
    assert_eq!(stdout_of(&out), "Guten Tag\n");
    let body = &fake.requests()[0].body;
    let last = body["messages"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(last["role"], "user");
    assert_eq!(
        last["content"],
        "Please translate the following text from English to German:\n\nGood day\n\nMaintain the tone and style of the original."
    );

    let h = history(&sb, &rt);
    let list = rt.block_on(h.list(&ListFilter::default())).unwrap();
    assert_eq!(list.len(), 1);
    assert!(
        list[0]
            .conversation
            .title
            .starts_with("Translate Text: Please translate"),
        "{}",
        list[0].conversation.title
    );
    let path = rt
        .block_on(h.current_path(&list[0].conversation.id))
        .unwrap();
    assert_eq!(path[1].message.content, "Guten Tag");
    // The use is counted.
    let stats: serde_json::Value = serde_json::from_slice(
        &sb.llf()
            .args(["template", "stats", "--json"])
            .assert()
            .success()
            .get_output()
            .stdout,
    )
    .unwrap();
    assert_eq!(stats[0]["id"], "translate_text");
}

#[test]
fn template_execute_and_resume_against_the_real_model() {
    let sb = Sandbox::new();
    let port = components::free_port();
    sb.write_config(json!({
        "llm_endpoint": {"default_local_server": "smol"},
        "local_llm_servers": [{"name": "smol", "llama_server_path": components::llama_server(),
            "model_path": components::model(), "port": port, "server_params": {"--ctx-size": 2048, "--threads": 1}}],
        "inference_params": {"temperature": 0.0, "max_tokens": 16, "seed": 1}
    }));
    let out = sb
        .llf()
        .args([
            "template",
            "use",
            "summarize_text",
            "--var",
            "length=1",
            "--var",
            "text=The cat sat on the mat all day.",
            "--execute",
        ])
        .timeout(Duration::from_secs(300))
        .assert()
        .success()
        .get_output()
        .clone();
    let answer = stdout_of(&out);
    assert!(!answer.trim().is_empty());
    let list: serde_json::Value = serde_json::from_slice(
        &sb.llf()
            .args(["conversation", "list", "--json"])
            .assert()
            .success()
            .get_output()
            .stdout,
    )
    .unwrap();
    let id = list[0]["id"].as_str().unwrap().to_owned();
    assert_eq!(list[0]["message_count"], 2);

    sb.llf()
        .args(["conversation", "resume", &id, "Say OK."])
        .timeout(Duration::from_secs(120))
        .assert()
        .success();
    let rt = crate::tokio_rt();
    let h = history(&sb, &rt);
    let path = rt.block_on(h.current_path(&id)).unwrap();
    assert_eq!(path.len(), 4);
    assert_eq!(path[1].message.content.trim(), answer.trim());
    assert!(path.iter().all(|m| m.status == MessageStatus::Complete));
    assert!(
        path[3].tokens.completion.is_some_and(|n| n > 0),
        "{:?}",
        path[3].tokens
    );
    sb.llf().args(["server", "stop"]).assert().success();
}
