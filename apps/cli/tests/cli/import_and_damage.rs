//! Conversation titles, imports that must not duplicate or come out empty, damaged databases,
//! and how `/memories` marks its matches — through the real binary.

use llf_testkit::FakeServer;

use crate::{Sandbox, stderr_of, stdout_of};

fn ok(sb: &Sandbox, args: &[&str]) -> std::process::Output {
    sb.llf().args(args).assert().success().get_output().clone()
}

fn fail(sb: &Sandbox, args: &[&str]) -> String {
    let out = sb.llf().args(args).assert().failure().get_output().clone();
    stderr_of(&out)
}

fn list(sb: &Sandbox) -> Vec<serde_json::Value> {
    let out = ok(sb, &["conversation", "list", "--json"]);
    serde_json::from_slice::<Vec<serde_json::Value>>(&out.stdout).unwrap()
}

/// A ChatGPT node holding one message.
fn node(parent: Option<&str>, children: &[&str], role: &str, text: &str) -> serde_json::Value {
    serde_json::json!({
        "parent": parent, "children": children,
        "message": {"author": {"role": role}, "create_time": 1_700_000_010.0,
                    "content": {"content_type": "text", "parts": [text]}}
    })
}

fn write_json(sb: &Sandbox, name: &str, value: &serde_json::Value) -> String {
    let path = sb.dir.path().join(name);
    std::fs::write(&path, serde_json::to_vec(value).unwrap()).unwrap();
    path.to_str().unwrap().to_owned()
}

#[test]
fn rename_refuses_an_empty_or_huge_title_and_keeps_the_old_one() {
    let sb = Sandbox::new();
    let file = write_json(
        &sb,
        "one.json",
        &serde_json::json!({"id": "c1", "title": "Original", "mapping": {
            "a": node(None, &[], "user", "hello")
        }}),
    );
    ok(&sb, &["conversation", "import", &file]);
    let id = list(&sb)[0]["id"].as_str().unwrap().to_owned();

    let err = fail(&sb, &["conversation", "rename", &id, "   "]);
    assert!(err.contains("title needs some text"), "{err}");
    let huge = "x".repeat(100_000);
    let err = fail(&sb, &["conversation", "rename", &id, &huge]);
    assert!(err.contains("at most 200 characters"), "{err}");
    assert!(
        err.len() < 1_000,
        "the title is not echoed back: {} bytes",
        err.len()
    );
    assert_eq!(list(&sb)[0]["title"], "Original");

    ok(&sb, &["conversation", "rename", &id, "  Better  "]);
    assert_eq!(list(&sb)[0]["title"], "Better");
}

#[test]
fn a_chatgpt_mapping_with_a_cycle_is_reported_and_never_imported_empty() {
    let sb = Sandbox::new();
    let file = write_json(
        &sb,
        "conversations.json",
        &serde_json::json!([
            {"id": "ok", "title": "Sound", "mapping": {
                "a": node(None, &["b"], "user", "question"),
                "b": node(Some("a"), &[], "assistant", "answer"),
            }},
            {"id": "loop", "title": "Cyclic", "current_node": "x", "mapping": {
                "x": node(Some("y"), &["y"], "user", "lost question"),
                "y": node(Some("x"), &["x"], "assistant", "lost answer"),
            }},
        ]),
    );
    let out = sb
        .llf()
        .args(["conversation", "import", &file])
        .assert()
        .failure()
        .get_output()
        .clone();
    let err = stderr_of(&out);
    assert!(
        err.contains("skipped \"Cyclic\"") && err.contains("cycle"),
        "names the conversation and the reason: {err}"
    );
    assert!(err.contains("imported 1 conversation(s)"), "{err}");
    assert!(
        err.contains("2 message(s)") && err.contains("damaged"),
        "{err}"
    );
    let titles: Vec<String> = list(&sb)
        .iter()
        .map(|c| {
            assert!(c["message_count"].as_u64().unwrap() > 0, "{c}");
            c["title"].as_str().unwrap().to_owned()
        })
        .collect();
    assert_eq!(titles, ["Sound"]);
}

#[test]
fn importing_the_same_file_again_is_skipped_unless_duplicates_are_allowed() {
    let sb = Sandbox::new();
    let file = write_json(
        &sb,
        "conversations.json",
        &serde_json::json!([{"conversation_id": "same-1", "title": "Once", "mapping": {
            "a": node(None, &["b"], "user", "question"),
            "b": node(Some("a"), &[], "assistant", "answer"),
        }}]),
    );
    ok(&sb, &["conversation", "import", &file]);
    let first = list(&sb)[0]["id"].as_str().unwrap().to_owned();

    let out = ok(&sb, &["conversation", "import", &file]);
    let err = stderr_of(&out);
    assert!(
        err.contains("skipped \"Once\"")
            && err.contains(&first)
            && err.contains("--allow-duplicates"),
        "{err}"
    );
    assert!(err.contains("imported 0 conversation(s)"), "{err}");
    assert_eq!(list(&sb).len(), 1);

    // The JSON report says the same.
    let report: serde_json::Value =
        serde_json::from_slice(&ok(&sb, &["conversation", "import", &file, "--json"]).stdout)
            .unwrap();
    assert_eq!(report["conversations"][0]["outcome"], "already_present");
    assert_eq!(report["conversations"][0]["source_id"], "chatgpt:same-1");
    assert_eq!(report["conversations"][0]["existing"]["id"], first.as_str());

    // A deleted copy still counts, and the message says how to get it back.
    ok(&sb, &["conversation", "delete", &first]);
    let err = stderr_of(&ok(&sb, &["conversation", "import", &file]));
    assert!(err.contains("llf conversation restore"), "{err}");
    ok(&sb, &["conversation", "restore", &first]);

    ok(
        &sb,
        &["conversation", "import", &file, "--allow-duplicates"],
    );
    assert_eq!(list(&sb).len(), 2);

    // An LLF export imported into the history it came from is recognised too.
    let json = sb.dir.path().join("once.json");
    ok(
        &sb,
        &[
            "conversation",
            "export",
            &first,
            "-o",
            json.to_str().unwrap(),
        ],
    );
    let err = stderr_of(&ok(
        &sb,
        &["conversation", "import", json.to_str().unwrap()],
    ));
    assert!(err.contains("skipped \"Once\""), "{err}");
    assert_eq!(list(&sb).len(), 2);
}

/// The file LLF would open, replaced by something that is not SQLite.
fn spoil(path: &std::path::Path) -> Vec<u8> {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let garbage = b"PK\x03\x04 this was a zip file once\n".repeat(100);
    std::fs::write(path, &garbage).unwrap();
    garbage
}

#[test]
fn a_damaged_database_is_one_clear_error_and_is_left_alone() {
    let sb = Sandbox::new();
    let cases: [(&str, std::path::PathBuf, &[&str]); 2] = [
        (
            "history",
            sb.home().join("state/history.db"),
            &["conversation", "list"],
        ),
        (
            "memory",
            sb.home().join("memory/memory.db"),
            &["memory", "list"],
        ),
    ];
    for (what, path, args) in cases {
        let garbage = spoil(&path);
        let err = fail(&sb, args);
        assert_eq!(
            err.matches("file is not a database").count(),
            1,
            "{what}: SQLite's reason printed once: {err}"
        );
        assert!(
            err.contains(&format!("error: {} is not", path.display())),
            "{what}: the error names the file: {err}"
        );
        assert!(
            err.contains(&format!("not a usable {what} database"))
                && err.contains("move it aside")
                && err.contains("backup"),
            "{what}: says what to do: {err}"
        );
        assert_eq!(
            std::fs::read(&path).unwrap(),
            garbage,
            "{what}: not touched"
        );
    }
}

#[test]
fn repl_memories_marks_matches_with_brackets_when_not_on_a_terminal() {
    let rt = crate::tokio_rt();
    let fake = rt.block_on(FakeServer::numbered("ok"));
    let sb = Sandbox::new();
    sb.remote_config(&fake.base_url(), None);
    let out = sb
        .llf()
        .args(["chat", "-i"])
        .write_stdin("/remember My cat is called Miso.\n/memories cat\n/exit\n")
        .assert()
        .success()
        .get_output()
        .clone();
    let stdout = stdout_of(&out);
    assert!(stdout.contains("My [cat] is called Miso."), "{stdout}");
    assert!(
        !stdout.contains("**"),
        "no Markdown in terminal output: {stdout}"
    );
}
