//! `llf conversation …` on a history written through llf-history, as the chat loop writes it.

use chrono::{TimeZone, Utc};
use llf_core::chat::{ChatMessage, ToolCall};
use llf_history::{History, NewMessage};

use crate::{Sandbox, stderr_of, stdout_of};

struct Seeded {
    id: String,
    /// Leaf of the older branch.
    first_leaf: i64,
    /// Leaf of the current branch.
    second_leaf: i64,
    question: i64,
}

fn seed(sb: &Sandbox) -> Seeded {
    crate::tokio_rt().block_on(async {
        let h = History::open(sb.home().join("state/history.db"))
            .await
            .unwrap();
        let t = |d, hh| Utc.with_ymd_and_hms(2025, 2, d, hh, 0, 0).unwrap();
        let c = h
            .create_conversation("Kitchen chemistry", Some("smollm2".into()))
            .await
            .unwrap();
        h.append(
            &c.id,
            NewMessage::new(ChatMessage::system("You are a chef.")).at(t(1, 8)),
        )
        .await
        .unwrap();
        let q = h
            .append(
                &c.id,
                NewMessage::new(ChatMessage::user("Why does bread rise? <b>yeast</b>")).at(t(1, 9)),
            )
            .await
            .unwrap();
        let mut call = ChatMessage::assistant("Let me check.");
        call.tool_calls.push(ToolCall {
            id: "c1".into(),
            name: "lookup".into(),
            arguments: "{\"q\":\"yeast\"}".into(),
        });
        h.append(&c.id, NewMessage::new(call).at(t(1, 10)).model("smollm2"))
            .await
            .unwrap();
        let a1 = h
            .append(
                &c.id,
                NewMessage::new(ChatMessage::assistant(
                    "Yeast makes carbon dioxide, so the dough rises.",
                ))
                .at(t(1, 11)),
            )
            .await
            .unwrap();
        let a2 = h
            .regenerate(
                &c.id,
                a1.id,
                NewMessage::new(ChatMessage::assistant(
                    "Gas from fermentation: Gärung erzeugt CO₂.",
                ))
                .at(t(3, 12)),
            )
            .await
            .unwrap();
        let other = h.create_conversation("Garden", None).await.unwrap();
        h.append(
            &other.id,
            NewMessage::new(ChatMessage::user(
                "When to plant tomatoes? Not about yeast.",
            ))
            .at(t(5, 9)),
        )
        .await
        .unwrap();
        h.close().await;
        Seeded {
            id: c.id,
            first_leaf: a1.id,
            second_leaf: a2.id,
            question: q.id,
        }
    })
}

fn ok(sb: &Sandbox, args: &[&str]) -> std::process::Output {
    sb.llf().args(args).assert().success().get_output().clone()
}

fn fail(sb: &Sandbox, args: &[&str]) -> String {
    let out = sb.llf().args(args).assert().failure().get_output().clone();
    stderr_of(&out)
}

#[test]
fn list_show_rename_delete_restore() {
    let sb = Sandbox::new();
    let empty = ok(&sb, &["conversation", "list"]);
    assert!(stderr_of(&empty).contains("no conversations yet"));
    let s = seed(&sb);

    let text = stdout_of(&ok(&sb, &["conversation", "list"]));
    assert!(text.starts_with("ID"), "{text}");
    assert!(
        text.contains(&s.id) && text.contains("Kitchen chemistry") && text.contains("smollm2"),
        "{text}"
    );
    let json: serde_json::Value =
        serde_json::from_slice(&ok(&sb, &["conversation", "list", "--json"]).stdout).unwrap();
    let kitchen = json
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == s.id.as_str())
        .unwrap();
    assert_eq!(kitchen["message_count"], 5);
    assert_eq!(kitchen["branch_count"], 2);

    // Show the active branch by prefix; the other branch with --branch; everything with --tree.
    let prefix = &s.id[..20];
    let show = stdout_of(&ok(&sb, &["conversation", "show", prefix]));
    assert!(
        show.contains("Gärung erzeugt CO₂") && !show.contains("carbon dioxide"),
        "{show}"
    );
    assert!(show.contains("→ lookup({\"q\":\"yeast\"}) [c1]"), "{show}");
    let branch = stdout_of(&ok(
        &sb,
        &[
            "conversation",
            "show",
            prefix,
            "--branch",
            &s.first_leaf.to_string(),
        ],
    ));
    assert!(branch.contains("carbon dioxide") && !branch.contains("Gärung"));
    let tree = stdout_of(&ok(&sb, &["conversation", "show", prefix, "--tree"]));
    assert!(
        tree.contains("carbon dioxide") && tree.contains("Gärung") && tree.contains("← current"),
        "{tree}"
    );

    ok(&sb, &["conversation", "rename", prefix, "Baking science"]);
    assert!(stdout_of(&ok(&sb, &["conversation", "list"])).contains("Baking science"));

    let del = ok(&sb, &["conversation", "delete", &s.id]);
    assert!(
        stderr_of(&del).contains("llf conversation restore"),
        "{}",
        stderr_of(&del)
    );
    assert!(!stdout_of(&ok(&sb, &["conversation", "list"])).contains(&s.id));
    assert!(stdout_of(&ok(&sb, &["conversation", "list", "--deleted"])).contains(&s.id));
    let err = fail(&sb, &["conversation", "rename", &s.id, "x"]);
    assert!(err.contains("restore it first"), "{err}");
    ok(&sb, &["conversation", "restore", &s.id]);
    assert!(stdout_of(&ok(&sb, &["conversation", "list"])).contains(&s.id));

    let err = fail(&sb, &["conversation", "show", "ZZZZ"]);
    assert!(err.contains("no conversation `ZZZZ`"), "{err}");
}

#[test]
fn search_with_filters() {
    let sb = Sandbox::new();
    let s = seed(&sb);
    let out = stdout_of(&ok(&sb, &["conversation", "search", "yeast"]));
    assert_eq!(
        out.lines()
            .filter(|l| l.starts_with(char::is_alphanumeric))
            .count(),
        3,
        "{out}"
    );
    assert!(
        out.contains("[yeast]"),
        "plain markers when not on a terminal: {out}"
    );

    let hits: serde_json::Value = serde_json::from_slice(
        &ok(
            &sb,
            &[
                "conversation",
                "search",
                "yeast",
                "--role",
                "assistant",
                "--json",
            ],
        )
        .stdout,
    )
    .unwrap();
    let hits = hits.as_array().unwrap();
    assert_eq!(hits.len(), 1);
    assert_eq!(hits[0]["message"]["role"], "assistant");

    let ranged: serde_json::Value = serde_json::from_slice(
        &ok(
            &sb,
            &[
                "conversation",
                "search",
                "yeast",
                "--since",
                "2025-02-02",
                "--until",
                "2025-02-06T00:00:00Z",
                "--json",
            ],
        )
        .stdout,
    )
    .unwrap();
    assert_eq!(ranged.as_array().unwrap().len(), 1);
    assert_eq!(ranged[0]["conversation_title"], "Garden");

    let only: serde_json::Value = serde_json::from_slice(
        &ok(
            &sb,
            &[
                "conversation",
                "search",
                "yeast",
                "--conversation",
                &s.id,
                "--json",
            ],
        )
        .stdout,
    )
    .unwrap();
    assert_eq!(only.as_array().unwrap().len(), 2);

    assert!(
        fail(&sb, &["conversation", "search", "yeast", "--role", "robot"]).contains("unknown role")
    );
    assert!(
        fail(
            &sb,
            &["conversation", "search", "yeast", "--since", "last week"]
        )
        .contains("YYYY-MM-DD")
    );
    assert!(stderr_of(&ok(&sb, &["conversation", "search", "zzzzqq"])).contains("no matches"));
}

#[test]
fn branch_navigate_compare() {
    let sb = Sandbox::new();
    let s = seed(&sb);
    let list = stdout_of(&ok(&sb, &["conversation", "branch", &s.id]));
    assert!(
        list.contains(&format!("#{}", s.first_leaf))
            && list.contains(&format!("#{}", s.second_leaf)),
        "{list}"
    );
    assert!(
        list.lines()
            .any(|l| l.starts_with('*') && l.contains(&format!("#{}", s.second_leaf))),
        "{list}"
    );

    // A new branch from the question, with a new user message.
    let out = ok(
        &sb,
        &[
            "conversation",
            "branch",
            &s.id,
            "--from",
            &s.question.to_string(),
            "--message",
            "And sourdough?",
            "--json",
        ],
    );
    let m: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(m["parent_id"], s.question);
    let branches: serde_json::Value =
        serde_json::from_slice(&ok(&sb, &["conversation", "branch", &s.id, "--json"]).stdout)
            .unwrap();
    assert_eq!(branches.as_array().unwrap().len(), 3);
    assert!(stdout_of(&ok(&sb, &["conversation", "show", &s.id])).contains("And sourdough?"));

    // Navigate back to the first answer.
    ok(
        &sb,
        &["conversation", "navigate", &s.id, &s.first_leaf.to_string()],
    );
    let show = stdout_of(&ok(&sb, &["conversation", "show", &s.id]));
    assert!(
        show.contains("carbon dioxide") && !show.contains("sourdough"),
        "{show}"
    );
    assert!(fail(&sb, &["conversation", "navigate", &s.id, "99999"]).contains("no message 99999"));

    let cmp = stdout_of(&ok(
        &sb,
        &[
            "conversation",
            "compare-branches",
            &s.id,
            &s.first_leaf.to_string(),
            &s.second_leaf.to_string(),
        ],
    ));
    assert!(cmp.contains("shared: 3 message(s)"), "{cmp}");
    let row = cmp.lines().find(|l| l.contains("Yeast makes")).unwrap();
    assert!(
        row.contains('│') && row.contains("Gas from fermentation"),
        "side by side: {cmp}"
    );
}

#[test]
fn export_and_import_every_way() {
    let sb = Sandbox::new();
    let s = seed(&sb);
    let md = stdout_of(&ok(&sb, &["conversation", "export", &s.id]));
    assert!(md.starts_with("# Kitchen chemistry"), "{md}");
    assert!(md.contains("Gärung") && md.contains("You are a chef."));
    let bare = stdout_of(&ok(
        &sb,
        &[
            "conversation",
            "export",
            &s.id,
            "--format",
            "text",
            "--no-system",
            "--no-timestamps",
            "--no-metadata",
            "--tree",
        ],
    ));
    assert!(
        !bare.contains("chef")
            && !bare.contains("2025-02")
            && bare.contains("carbon dioxide")
            && bare.contains("Gärung"),
        "{bare}"
    );

    let html = sb.dir.path().join("out/k.html");
    ok(
        &sb,
        &[
            "conversation",
            "export",
            &s.id,
            "-o",
            html.to_str().unwrap(),
        ],
    );
    let page = std::fs::read_to_string(&html).unwrap();
    assert!(
        page.contains("&lt;b&gt;yeast&lt;/b&gt;") && !page.contains("<b>yeast"),
        "{page}"
    );

    let pdf = sb.dir.path().join("k.pdf");
    ok(
        &sb,
        &[
            "conversation",
            "export",
            &s.id,
            "--tree",
            "-o",
            pdf.to_str().unwrap(),
        ],
    );
    assert!(std::fs::read(&pdf).unwrap().starts_with(b"%PDF-"));
    assert!(fail(&sb, &["conversation", "export", &s.id, "--format", "pdf"]).contains("--output"));
    assert!(
        fail(&sb, &["conversation", "export", &s.id, "--format", "docx"])
            .contains("unknown export format")
    );

    // JSON out and back in: a second conversation with the same tree.
    let json = sb.dir.path().join("k.json");
    ok(
        &sb,
        &[
            "conversation",
            "export",
            &s.id,
            "--tree",
            "-o",
            json.to_str().unwrap(),
        ],
    );
    // The conversation is here already, so a second copy has to be asked for.
    let imported: serde_json::Value = serde_json::from_slice(
        &ok(
            &sb,
            &[
                "conversation",
                "import",
                json.to_str().unwrap(),
                "--allow-duplicates",
                "--json",
            ],
        )
        .stdout,
    )
    .unwrap();
    let new_id = imported["conversations"][0]["conversation"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_ne!(new_id, s.id);
    let branches: serde_json::Value =
        serde_json::from_slice(&ok(&sb, &["conversation", "branch", &new_id, "--json"]).stdout)
            .unwrap();
    assert_eq!(branches.as_array().unwrap().len(), 2);
    assert!(stdout_of(&ok(&sb, &["conversation", "show", &new_id])).contains("Gärung"));

    // ChatGPT's format.
    let gpt = sb.dir.path().join("conversations.json");
    std::fs::write(&gpt, serde_json::to_vec(&serde_json::json!([{
        "title": "From ChatGPT", "create_time": 1_700_000_000.0, "current_node": "b",
        "mapping": {
            "r": {"id": "r", "message": null, "parent": null, "children": ["a"]},
            "a": {"id": "a", "parent": "r", "children": ["b"], "message": {"author": {"role": "user"}, "create_time": 1_700_000_001.0, "content": {"content_type": "text", "parts": ["hello from gpt"]}}},
            "b": {"id": "b", "parent": "a", "children": [], "message": {"author": {"role": "assistant"}, "create_time": 1_700_000_002.0, "content": {"content_type": "text", "parts": ["hi there"]}}}
        }
    }])).unwrap()).unwrap();
    let out = ok(&sb, &["conversation", "import", gpt.to_str().unwrap()]);
    assert!(stderr_of(&out).contains("imported 1 conversation(s)"));
    assert!(stdout_of(&ok(&sb, &["conversation", "search", "gpt"])).contains("From ChatGPT"));
    std::fs::write(&gpt, "{\"nope\": true}").unwrap();
    assert!(
        fail(&sb, &["conversation", "import", gpt.to_str().unwrap()]).contains("cannot import")
    );
}
