//! What reaches the model from the command line: words and piped text together, words that look
//! like subcommands, empty messages, `--json` with tools, and tools that write memory.

use llf_testkit::{FakeServer, Reply};
use predicates::prelude::*;

use crate::{Sandbox, stderr_of, stdout_of};

fn last_user_message(fake: &FakeServer, request: usize) -> String {
    let reqs = fake.requests();
    let msgs = reqs[request].body["messages"].as_array().unwrap();
    msgs.iter().rev().find(|m| m["role"] == "user").unwrap()["content"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[test]
fn a_prompt_and_piped_text_are_sent_together() {
    let rt = crate::tokio_rt();
    let fake = rt.block_on(FakeServer::numbered("ok"));
    let sb = Sandbox::new();
    sb.remote_config(&fake.base_url(), None);
    sb.llf()
        .args(["chat", "What fruit is in the text?"])
        .write_stdin("the text is: bananas\n")
        .assert()
        .success();
    assert_eq!(
        last_user_message(&fake, 0),
        "What fruit is in the text?\n\nthe text is: bananas\n"
    );
    sb.llf()
        .arg("chat")
        .arg("--help")
        .assert()
        .success()
        .stdout(predicate::str::contains("stdin"));
}

#[test]
fn words_that_name_subcommands_reach_the_model() {
    let rt = crate::tokio_rt();
    let fake = rt.block_on(FakeServer::numbered("ok"));
    let sb = Sandbox::new();
    sb.remote_config(&fake.base_url(), None);
    sb.llf()
        .args(["chat", "compare", "apples", "and", "oranges"])
        .assert()
        .success();
    sb.llf()
        .args(["chat", "help", "me", "write", "a", "haiku"])
        .assert()
        .success();
    assert_eq!(last_user_message(&fake, 0), "compare apples and oranges");
    assert_eq!(last_user_message(&fake, 1), "help me write a haiku");
}

#[test]
fn an_empty_message_is_refused_before_anything_is_sent() {
    let rt = crate::tokio_rt();
    let fake = rt.block_on(FakeServer::numbered("ok"));
    let sb = Sandbox::new();
    sb.remote_config(&fake.base_url(), None);
    sb.llf()
        .args(["chat", ""])
        .write_stdin("")
        .assert()
        .failure()
        .stderr(predicate::str::contains("the message is empty"));
    sb.llf()
        .args(["chat", "  "])
        .write_stdin("")
        .assert()
        .failure();
    assert!(fake.requests().is_empty());
}

#[test]
fn json_output_with_tools_is_json() {
    let rt = crate::tokio_rt();
    let fake = rt.block_on(FakeServer::start(|req, _| {
        let msgs = req.body["messages"].as_array().unwrap();
        if msgs.iter().any(|m| m["role"] == "tool") {
            Reply::completion("It is 84.")
        } else {
            Reply::tool_calls(&[("c1", "calculator", "{\"expression\": \"12*7\"}")])
        }
    }));
    let sb = Sandbox::new();
    sb.remote_config(&fake.base_url(), None);
    let out = sb
        .llf()
        .args(["chat", "--tools", "--json", "What is 12 times 7?"])
        .assert()
        .success()
        .get_output()
        .clone();
    let v: serde_json::Value =
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", stdout_of(&out)));
    assert_eq!(v["content"], "It is 84.");
}

#[test]
fn memory_writes_by_the_model_need_approval() {
    let rt = crate::tokio_rt();
    let fake = rt.block_on(FakeServer::start(|req, _| {
        let msgs = req.body["messages"].as_array().unwrap();
        if msgs.iter().any(|m| m["role"] == "tool") {
            Reply::stream_text(&["noted"])
        } else {
            Reply::stream_tool_calls(&[("m1", "memory_store", "{\"content\": \"2024-03-01\"}")])
        }
    }));
    let sb = Sandbox::new();
    sb.remote_config(&fake.base_url(), None);
    // The memory tools are offered once a memory database exists.
    sb.llf()
        .args(["memory", "add", "The user likes tea"])
        .assert()
        .success();
    // No terminal to ask and no --yes: the write is denied, and the model is told so.
    let out = sb
        .llf()
        .args(["chat", "--tools", "Remember the date"])
        .assert()
        .success()
        .get_output()
        .clone();
    // Without a query: every memory, newest first, unmarked.
    let search = |sb: &Sandbox| stdout_of(&sb.llf().args(["memory", "search"]).output().unwrap());
    assert!(
        search(&sb).contains("The user likes tea"),
        "the listing works"
    );
    assert!(!search(&sb).contains("2024-03-01"), "{}", stderr_of(&out));
    let reqs = fake.requests();
    let tool_result = reqs[1].body["messages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["role"] == "tool")
        .unwrap()["content"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        tool_result.contains("denied") || tool_result.contains("approv"),
        "{tool_result}"
    );
    // With --yes it is stored.
    sb.llf()
        .args(["chat", "--tools", "-y", "Remember the date"])
        .assert()
        .success();
    assert!(search(&sb).contains("2024-03-01"));
}
