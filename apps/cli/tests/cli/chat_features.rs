//! The chat's integrations through the binary: every chat saved to the history as it happens,
//! the history, memory and template commands of the REPL, and tools in the chat.

use llf_testkit::{FakeServer, Reply};
use serde_json::json;

use crate::{Sandbox, stderr_of, stdout_of};

async fn history(sb: &Sandbox) -> llf_history::History {
    llf_history::History::open(sb.home().join("state/history.db"))
        .await
        .unwrap()
}

#[test]
fn one_shot_chats_are_saved_and_no_save_is_respected() {
    let rt = crate::tokio_rt();
    let fake = rt.block_on(FakeServer::scripted(vec![Reply::stream_text(&[
        "Forty", "-two",
    ])]));
    let sb = Sandbox::new();
    sb.remote_config(&fake.base_url(), Some("Be brief."));
    sb.llf()
        .args(["chat", "What is the answer?"])
        .assert()
        .success()
        .stdout("Forty-two\n");
    sb.llf()
        .args(["chat", "--no-save", "Secret question"])
        .assert()
        .success();
    rt.block_on(async {
        let h = history(&sb).await;
        let list = h.list(&Default::default()).await.unwrap();
        assert_eq!(list.len(), 1, "--no-save chats leave no trace");
        let path = h.current_path(&list[0].conversation.id).await.unwrap();
        let roles: Vec<String> = path.iter().map(|m| m.role().to_string()).collect();
        assert_eq!(roles, ["system", "user", "assistant"]);
        assert_eq!(path[2].message.content, "Forty-two");
        assert_eq!(path[2].status, llf_history::MessageStatus::Complete);
        assert_eq!(path[2].tokens.completion, Some(2));
    });
    sb.llf()
        .args(["conversation", "list"])
        .assert()
        .success()
        .stdout(predicates::str::contains("What is the answer?"));
}

#[test]
fn repl_history_commands_branch_retry_goto_search_export() {
    let rt = crate::tokio_rt();
    let fake = rt.block_on(FakeServer::numbered("answer"));
    let sb = Sandbox::new();
    sb.remote_config(&fake.base_url(), Some("Be brief."));
    let export = sb.dir.path().join("conv.md");
    let script = format!(
        "first question\nsecond question\n/retry\n/tree\n/branch\nalternative second\n/search question\n/export markdown {}\n/exit\n",
        export.display()
    );
    let out = sb
        .llf()
        .args(["chat", "-i"])
        .write_stdin(script)
        .assert()
        .success()
        .get_output()
        .clone();
    let stdout = stdout_of(&out);
    let stderr = stderr_of(&out);
    assert!(
        stdout.contains("answer 0")
            && stdout.contains("answer 1")
            && stdout.contains("answer 2")
            && stdout.contains("answer 3"),
        "{stdout}"
    );
    assert!(stderr.contains("a new branch"), "{stderr}");
    assert!(stderr.contains("branching from message"), "{stderr}");
    assert!(
        stdout.contains("second question"),
        "tree and search list it: {stdout}"
    );
    // /retry sent the same question again without the first answer to it.
    let reqs = fake.requests();
    let retry = reqs[2].body["messages"].as_array().unwrap();
    assert_eq!(retry.last().unwrap()["content"], "second question");
    assert!(!retry.iter().any(|m| m["content"] == "answer 1"));
    // /branch then a new message: a sibling of "second question".
    let branch = reqs[3].body["messages"].as_array().unwrap();
    assert_eq!(branch.last().unwrap()["content"], "alternative second");
    assert!(!branch.iter().any(|m| m["content"] == "second question"));

    rt.block_on(async {
        let h = history(&sb).await;
        let conv = &h.list(&Default::default()).await.unwrap()[0].conversation;
        let branches = h.branches(&conv.id).await.unwrap();
        assert_eq!(
            branches.len(),
            3,
            "two answers to the second question and the alternative branch"
        );
        let current = h.current_path(&conv.id).await.unwrap();
        assert_eq!(current.last().unwrap().message.content, "answer 3");
    });
    let md = std::fs::read_to_string(&export).unwrap();
    assert!(
        md.contains("alternative second") && md.contains("answer 3"),
        "{md}"
    );
}

#[test]
fn repl_goto_returns_to_an_earlier_branch() {
    let rt = crate::tokio_rt();
    let fake = rt.block_on(FakeServer::numbered("answer"));
    let sb = Sandbox::new();
    sb.remote_config(&fake.base_url(), Some("Be brief."));
    // A fresh history numbers messages from 1: system 1, "first" 2, answer 3, "second" 4,
    // answer 5, the retried answer 6.
    let script = "first\nsecond\n/retry\n/goto 5\nthird\n/goto 999999\n/exit\n";
    let out = sb
        .llf()
        .args(["chat", "-i"])
        .write_stdin(script)
        .assert()
        .success()
        .get_output()
        .clone();
    assert!(
        stderr_of(&out).contains("now at message #5"),
        "{}",
        stderr_of(&out)
    );
    assert!(
        stderr_of(&out).contains("error"),
        "an unknown id is refused: {}",
        stderr_of(&out)
    );
    let reqs = fake.requests();
    let msgs = reqs[3].body["messages"].as_array().unwrap();
    let contents: Vec<&str> = msgs
        .iter()
        .map(|m| m["content"].as_str().unwrap())
        .collect();
    assert_eq!(
        contents,
        [
            "Be brief.",
            "first",
            "answer 0",
            "second",
            "answer 1",
            "third"
        ]
    );
}

#[test]
fn repl_memory_and_template_commands() {
    let rt = crate::tokio_rt();
    let fake = rt.block_on(FakeServer::numbered("ok"));
    let sb = Sandbox::new();
    sb.remote_config(&fake.base_url(), Some("Be brief."));
    let script = "/remember My cat is called Miso.\n/memories cat\nWhat is my cat called?\n/template summarize_text text=Rust_is_fast length=2\n/template nosuch\n/exit\n";
    let out = sb
        .llf()
        .args(["chat", "-i"])
        .write_stdin(script)
        .assert()
        .success()
        .get_output()
        .clone();
    let stdout = stdout_of(&out);
    let stderr = stderr_of(&out);
    assert!(stderr.contains("remembered"), "{stderr}");
    assert!(stdout.contains("Miso"), "/memories finds it: {stdout}");
    // The memory reached the prompt of the question through the context provider.
    let reqs = fake.requests();
    let system = reqs[0].body["messages"][0]["content"].as_str().unwrap();
    assert!(system.contains("Miso"), "{system}");
    // The template was rendered and sent.
    let sent = reqs[1].body["messages"].as_array().unwrap().last().unwrap()["content"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(sent.contains("Rust_is_fast"), "{sent}");
    assert!(stderr.contains("nosuch"), "{stderr}");
}

#[test]
fn chat_with_tools_runs_the_builtin_calculator_in_the_sandbox() {
    let rt = crate::tokio_rt();
    let fake = rt.block_on(FakeServer::start(|req, _| {
        let msgs = req.body["messages"].as_array().unwrap();
        match msgs.iter().find(|m| m["role"] == "tool") {
            Some(result) => Reply::stream_text(&[&format!(
                "The tool said {}",
                result["content"].as_str().unwrap()
            )]),
            None => Reply::stream_tool_calls(&[("c1", "calculator", "{\"expression\": \"12*7\"}")]),
        }
    }));
    let sb = Sandbox::new();
    sb.remote_config(&fake.base_url(), Some("Be brief."));
    let out = sb
        .llf()
        .args(["chat", "--tools", "What is 12 times 7?"])
        .assert()
        .success()
        .get_output()
        .clone();
    let stdout = stdout_of(&out);
    assert!(stdout.contains("84"), "{stdout}\n{}", stderr_of(&out));
    assert!(
        stderr_of(&out).contains("→ calculator"),
        "{}",
        stderr_of(&out)
    );
    // The request offered the tools and the audit log recorded the run.
    assert!(
        fake.requests()[0].body["tools"]
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t["function"]["name"] == "calculator")
    );
    sb.llf()
        .args(["audit", "-n", "5"])
        .assert()
        .success()
        .stdout(predicates::str::contains("calculator"));
}

#[test]
fn retrieval_adds_cited_chunks_from_attached_stores() {
    let rt = crate::tokio_rt();
    let fake = rt.block_on(FakeServer::scripted(vec![Reply::stream_text(&["ZX-4021"])]));
    let sb = Sandbox::new();
    sb.write_config(json!({
        "llm_endpoint": {"api_base_url": fake.base_url(), "model_name": "fake-model", "default_local_server": null, "max_retries": 0},
        "local_llm_servers": [],
        "memory": {"enabled": false},
        "rag": {"embedding_model_dir": crate::datastore::model_dir(), "onnxruntime_path": crate::datastore::onnxruntime(),
                "embedding_threads": 1, "chunk_size": 300, "chunk_overlap": 50, "score_threshold": 0.2}
    }));
    let docs = sb.dir.path().join("docs");
    std::fs::create_dir_all(&docs).unwrap();
    std::fs::write(
        docs.join("vault.md"),
        "# Vault\nThe access code for the Zephyr vault is ZX-4021. Change it every month.\n",
    )
    .unwrap();
    std::fs::write(
        docs.join("garden.md"),
        "# Garden\nTomatoes need sun and water every day in summer.\n",
    )
    .unwrap();
    sb.llf()
        .args(["datastore", "create", "notes"])
        .arg(&docs)
        .assert()
        .success();
    sb.llf()
        .args(["datastore", "attach", "notes"])
        .assert()
        .success();
    sb.llf()
        .args(["chat", "What is the access code for the Zephyr vault?"])
        .assert()
        .success()
        .stdout("ZX-4021\n");
    let system = fake.requests()[0].body["messages"][0]["content"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(system.contains("Relevant documents"), "{system}");
    assert!(
        system.contains("ZX-4021") && system.contains("vault.md"),
        "the chunk comes with its citation: {system}"
    );
}

#[test]
fn resume_continues_a_saved_conversation_in_the_session() {
    let rt = crate::tokio_rt();
    let fake = rt.block_on(FakeServer::numbered("answer"));
    let sb = Sandbox::new();
    sb.remote_config(&fake.base_url(), Some("Be brief."));
    sb.llf()
        .args(["chat", "remember the number 7"])
        .assert()
        .success();
    let id = rt.block_on(async {
        history(&sb).await.list(&Default::default()).await.unwrap()[0]
            .conversation
            .id
            .clone()
    });
    let out = sb
        .llf()
        .args(["chat", "-i", "--resume", &id[..10]])
        .write_stdin("which number?\n/exit\n")
        .assert()
        .success()
        .get_output()
        .clone();
    assert!(
        stderr_of(&out).contains("resuming \"remember the number 7\" (2 messages)"),
        "{}",
        stderr_of(&out)
    );
    let msgs = fake.requests()[1].body["messages"]
        .as_array()
        .unwrap()
        .clone();
    let contents: Vec<&str> = msgs
        .iter()
        .map(|m| m["content"].as_str().unwrap())
        .collect();
    assert_eq!(
        contents,
        [
            "Be brief.",
            "remember the number 7",
            "answer 0",
            "which number?"
        ]
    );
    rt.block_on(async {
        let h = history(&sb).await;
        assert_eq!(
            h.list(&Default::default()).await.unwrap().len(),
            1,
            "no new conversation"
        );
        assert_eq!(h.current_path(&id).await.unwrap().len(), 5);
    });
    sb.llf()
        .args(["chat", "--resume", "nope", "hi"])
        .assert()
        .failure();
}

#[test]
fn repl_slash_commands_explain_instead_of_failing_oddly() {
    let rt = crate::tokio_rt();
    let fake = rt.block_on(FakeServer::numbered("ok"));
    let sb = Sandbox::new();
    sb.remote_config(&fake.base_url(), Some("Be brief."));
    let dir = sb.dir.path().join("exports");
    std::fs::create_dir_all(&dir).unwrap();
    let missing = sb.dir.path().join("no/such/dir");
    let script = format!(
        "/tree\n/remember Bluebird meets on Tuesdays.\n/memories Bluebird\n\
         /template summarize_text \"text=Rust is fast, safe and fun\" length=2\n\
         /export text {dir}\n/export json {missing}/x.json\n/exit\n",
        dir = dir.display(),
        missing = missing.display()
    );
    let out = sb
        .llf()
        .args(["chat", "-i"])
        .env("NO_COLOR", "1")
        .write_stdin(script)
        .assert()
        .success()
        .get_output()
        .clone();
    let stdout = stdout_of(&out);
    let stderr = stderr_of(&out);
    // /tree before any message: a hint, not an error.
    assert!(
        stderr.contains("nothing saved yet: send a message first"),
        "{stderr}"
    );
    assert!(!stderr.contains("error: nothing saved"), "{stderr}");
    // /memories marks matches without Markdown syntax on a plain terminal.
    assert!(stdout.contains("Bluebird"), "{stdout}");
    assert!(!stdout.contains("**"), "{stdout}");
    // A quoted template value keeps its spaces and commas.
    let reqs = fake.requests();
    let sent = reqs[0].body["messages"].as_array().unwrap().last().unwrap()["content"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(sent.contains("Rust is fast, safe and fun"), "{sent}");
    // A directory is refused once, with the way out; a missing directory is not created.
    assert_eq!(stderr.matches("is a directory").count(), 1, "{stderr}");
    assert!(stderr.contains("does not exist"), "{stderr}");
    assert!(!missing.exists(), "the directory was created");
}
