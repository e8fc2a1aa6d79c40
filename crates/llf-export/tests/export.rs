//! Every export format, the lossless JSON round trip and ChatGPT import, on a real history.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failed test

use chrono::{TimeZone, Utc};
use llf_core::chat::{ChatMessage, ToolCall};
use llf_export::{ExportOptions, Format, ImportOptions, ImportOutcome, Scope};
use llf_history::{ConversationTree, History, ListFilter, MessageId, NewMessage, TokenCounts};

struct Fixture {
    _dir: tempfile::TempDir,
    history: History,
    id: String,
    /// Leaf of the first (non-current) branch.
    old_leaf: MessageId,
}

/// A branched conversation with a system prompt, tool calls, Unicode and markup.
async fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let history = History::open(dir.path().join("history.db")).await.unwrap();
    let t = |h| Utc.with_ymd_and_hms(2025, 3, 1, h, 0, 0).unwrap();
    let c = history
        .create_conversation("Ünïcödé & <tags>", Some("smollm2".into()))
        .await
        .unwrap();
    let id = c.id.clone();
    let add = |m: ChatMessage, h: u32| NewMessage::new(m).at(t(h));
    history
        .append(&id, add(ChatMessage::system("You are terse. SYSPROMPT"), 8))
        .await
        .unwrap();
    let q = history
        .append(
            &id,
            add(
                ChatMessage::user("Grüße! What is 2+2? <script>alert(1)</script>"),
                9,
            ),
        )
        .await
        .unwrap();
    let mut call = ChatMessage::assistant("");
    call.tool_calls.push(ToolCall {
        id: "call_1".into(),
        name: "calculator".into(),
        arguments: r#"{"expr":"2+2"}"#.into(),
    });
    let first = history
        .append(
            &id,
            add(call, 10).model("smollm2").tokens(TokenCounts {
                prompt: Some(20),
                completion: Some(7),
            }),
        )
        .await
        .unwrap();
    history
        .append(&id, add(ChatMessage::tool_result("call_1", "4"), 11))
        .await
        .unwrap();
    let old_leaf = history
        .append(
            &id,
            add(ChatMessage::assistant("Vier — 四 — four."), 12).model("smollm2"),
        )
        .await
        .unwrap()
        .id;
    // A regenerated answer on a second branch (the current one).
    history
        .append_under(
            &id,
            Some(q.id),
            add(ChatMessage::assistant("Это 4. Ελληνικά: τέσσερα"), 13),
        )
        .await
        .unwrap();
    let _ = first;
    Fixture {
        _dir: dir,
        history,
        id,
        old_leaf,
    }
}

async fn render(f: &Fixture, opts: ExportOptions) -> String {
    let bytes = llf_export::export(&f.history, &f.id, &opts).await.unwrap();
    String::from_utf8(bytes).unwrap()
}

#[tokio::test]
async fn markdown_and_text_follow_the_options() {
    let f = fixture().await;
    let md = render(&f, ExportOptions::new(Format::Markdown)).await;
    assert!(md.starts_with("# Ünïcödé & <tags>\n"), "{md}");
    assert!(md.contains("- **Model:** smollm2"));
    assert!(md.contains("## System · 2025-03-01 08:00:00 UTC"), "{md}");
    assert!(md.contains("Это 4."));
    assert!(!md.contains("Vier"), "only the current branch by default");

    let bare = render(
        &f,
        ExportOptions::new(Format::Markdown)
            .timestamps(false)
            .metadata(false)
            .system_prompts(false),
    )
    .await;
    assert!(
        !bare.contains("SYSPROMPT") && !bare.contains("2025-03-01") && !bare.contains("**Model:**"),
        "{bare}"
    );

    let branch = render(
        &f,
        ExportOptions::new(Format::Markdown).scope(Scope::Branch(f.old_leaf)),
    )
    .await;
    assert!(branch.contains("Vier — 四 — four.") && !branch.contains("Это"));
    assert!(
        branch.contains("**Tool call** `calculator` (`call_1`)"),
        "{branch}"
    );
    assert!(branch.contains("*Result of tool call `call_1`*"));

    let tree = render(&f, ExportOptions::new(Format::Text).scope(Scope::Tree)).await;
    assert!(tree.contains("Vier") && tree.contains("Это"), "{tree}");
    assert!(tree.contains("-> tool call calculator (call_1): {\"expr\":\"2+2\"}"));
    assert!(tree.contains("↳ #"), "tree view names parents");

    // Date range: 09:00 ≤ t < 11:00 keeps the question and the tool call only.
    let ranged = render(
        &f,
        ExportOptions::new(Format::Text)
            .scope(Scope::Tree)
            .date_range(
                Some(Utc.with_ymd_and_hms(2025, 3, 1, 9, 0, 0).unwrap()),
                Some(Utc.with_ymd_and_hms(2025, 3, 1, 11, 0, 0).unwrap()),
            ),
    )
    .await;
    assert!(ranged.contains("Grüße") && ranged.contains("calculator"));
    assert!(!ranged.contains("SYSPROMPT") && !ranged.contains("Vier") && !ranged.contains("Это"));
}

#[tokio::test]
async fn html_is_self_contained_and_escapes_everything() {
    let f = fixture().await;
    let html = render(&f, ExportOptions::new(Format::Html).scope(Scope::Tree)).await;
    assert!(html.starts_with("<!DOCTYPE html>"));
    assert!(
        !html.contains("<script>"),
        "markup in a message must not survive"
    );
    assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
    assert!(html.contains("<title>Ünïcödé &amp; &lt;tags&gt;</title>"));
    assert!(html.contains("{&quot;expr&quot;:&quot;2+2&quot;}"));
    assert!(
        !html.contains("http://") && !html.contains("https://") && !html.contains("<link"),
        "no external resources"
    );
}

#[tokio::test]
async fn pdf_embeds_a_font_and_the_text_reads_back() {
    let f = fixture().await;
    let bytes = llf_export::export(
        &f.history,
        &f.id,
        &ExportOptions::new(Format::Pdf).scope(Scope::Tree),
    )
    .await
    .unwrap();
    assert!(bytes.starts_with(b"%PDF-"));
    let raw = String::from_utf8_lossy(&bytes);
    assert!(raw.contains("/FontFile2"), "the TrueType font is embedded");
    let text = pdf_extract::extract_text_from_mem(&bytes).unwrap();
    for needle in ["Grüße", "Это", "τέσσερα", "Vier", "calculator", "SYSPROMPT"] {
        assert!(
            text.contains(needle),
            "{needle} missing from PDF text:\n{text}"
        );
    }
    // A missing font is a clear error.
    let err = llf_export::export(
        &f.history,
        &f.id,
        &ExportOptions::new(Format::Pdf).font("/nonexistent/font.ttf"),
    )
    .await
    .unwrap_err();
    assert!(err.to_string().contains("fonts-dejavu-core"), "{err}");
}

#[tokio::test]
async fn pdf_of_a_long_conversation_spans_pages() {
    let dir = tempfile::tempdir().unwrap();
    let h = History::open(dir.path().join("h.db")).await.unwrap();
    let c = h.create_conversation("long", None).await.unwrap();
    for i in 0..60 {
        h.append(
            &c.id,
            ChatMessage::user(format!("line {i} {}", "word ".repeat(40))),
        )
        .await
        .unwrap();
    }
    let bytes = llf_export::export(&h, &c.id, &ExportOptions::new(Format::Pdf))
        .await
        .unwrap();
    let text = pdf_extract::extract_text_from_mem(&bytes).unwrap();
    assert!(text.contains("line 0") && text.contains("line 59"));
    let pages = pdf_extract::extract_text_from_mem_by_pages(&bytes).unwrap();
    assert!(pages.len() >= 3, "{} pages", pages.len());
    assert!(pages[0].contains("line 0") && pages.last().unwrap().contains("line 59"));
}

fn normalise(tree: &ConversationTree) -> Vec<serde_json::Value> {
    // Compare everything except the ids, which an import renumbers: map ids to positions.
    let pos = |id: MessageId| tree.messages.iter().position(|m| m.id == id);
    tree.messages
        .iter()
        .map(|m| {
            let mut v = serde_json::to_value(m).unwrap();
            v["id"] = serde_json::json!(pos(m.id));
            v["parent_id"] = serde_json::json!(m.parent_id.and_then(pos));
            v["conversation_id"] = serde_json::Value::Null;
            v
        })
        .collect()
}

#[tokio::test]
async fn json_round_trip_is_lossless_for_a_branched_tree() {
    let f = fixture().await;
    let original = f.history.tree(&f.id).await.unwrap();
    let json = llf_export::render(
        &original,
        &ExportOptions::new(Format::Json).scope(Scope::Tree),
    )
    .unwrap();
    let value: serde_json::Value = serde_json::from_slice(&json).unwrap();
    assert_eq!(value["format"], "llf-conversation");
    assert_eq!(value["version"], 1);

    let path = f._dir.path().join("out/conv.json");
    llf_export::write_file(&path, &json).unwrap();
    // The conversation is in this history already; a copy must be asked for.
    let report = llf_export::import_file(
        &f.history,
        &path,
        &ImportOptions::new().allow_duplicates(true),
    )
    .await
    .unwrap();
    let imported: Vec<_> = report.imported().collect();
    assert_eq!(imported.len(), 1);
    let copy = f.history.tree(&imported[0].id).await.unwrap();
    assert_ne!(copy.conversation.id, original.conversation.id);
    assert_eq!(copy.conversation.title, original.conversation.title);
    assert_eq!(copy.conversation.model, original.conversation.model);
    assert_eq!(
        copy.conversation.created_at,
        original.conversation.created_at
    );
    assert_eq!(normalise(&copy), normalise(&original));
    let leaf_pos = |t: &ConversationTree| {
        t.messages
            .iter()
            .position(|m| Some(m.id) == t.conversation.current_leaf)
    };
    assert_eq!(leaf_pos(&copy), leaf_pos(&original));
    assert_eq!(copy.leaves().len(), 2);

    // A newer version is refused with a clear message, and nothing is imported.
    let mut newer = value.clone();
    newer["version"] = serde_json::json!(99);
    let err = llf_export::parse_import(&serde_json::to_vec(&newer).unwrap()).unwrap_err();
    assert!(err.to_string().contains("update LLF"), "{err}");
    assert!(llf_export::parse_import(b"{\"hello\": 1}").is_err());
    assert!(llf_export::parse_import(b"not json").is_err());
}

#[tokio::test]
async fn chatgpt_export_imports_with_its_branches() {
    let dir = tempfile::tempdir().unwrap();
    let history = History::open(dir.path().join("h.db")).await.unwrap();
    // The shape of ChatGPT's conversations.json: a hidden root, a system node with no text,
    // a question with two alternative answers (the second is current).
    let export = serde_json::json!([{
        "title": "Pasta plans",
        "create_time": 1_700_000_000.5,
        "update_time": 1_700_000_100.0,
        "current_node": "a2",
        "conversation_id": "abc",
        "mapping": {
            "root": {"id": "root", "message": null, "parent": null, "children": ["sys"]},
            "sys": {"id": "sys", "parent": "root", "children": ["q"], "message": {
                "id": "sys", "author": {"role": "system"}, "create_time": null,
                "content": {"content_type": "text", "parts": [""]}, "metadata": {}}},
            "q": {"id": "q", "parent": "sys", "children": ["a1", "a2"], "message": {
                "id": "q", "author": {"role": "user"}, "create_time": 1_700_000_010.0,
                "content": {"content_type": "text", "parts": ["Carbonara ohne Sahne?"]}, "metadata": {}}},
            "a1": {"id": "a1", "parent": "q", "children": [], "message": {
                "id": "a1", "author": {"role": "assistant"}, "create_time": 1_700_000_020.0,
                "content": {"content_type": "text", "parts": ["Ja, nur Ei."]}, "metadata": {"model_slug": "gpt-4o"}}},
            "a2": {"id": "a2", "parent": "q", "children": [], "message": {
                "id": "a2", "author": {"role": "assistant"}, "create_time": 1_700_000_030.0,
                "content": {"content_type": "text", "parts": ["Genau: Eigelb, Pecorino, Guanciale."]}, "metadata": {"model_slug": "gpt-4o"}}}
        }
    }]);
    let path = dir.path().join("conversations.json");
    std::fs::write(&path, serde_json::to_vec(&export).unwrap()).unwrap();
    let report = llf_export::import_file(&history, &path, &ImportOptions::new())
        .await
        .unwrap();
    let imported: Vec<_> = report.imported().collect();
    assert_eq!(imported.len(), 1);
    let c = imported[0];
    assert_eq!(c.title, "Pasta plans");
    assert_eq!(c.model.as_deref(), Some("gpt-4o"));
    assert_eq!(c.created_at.timestamp_millis(), 1_700_000_000_500);
    let tree = history.tree(&c.id).await.unwrap();
    assert_eq!(tree.messages.len(), 3, "the empty system node is dropped");
    assert_eq!(tree.leaves().len(), 2);
    let path = history.current_path(&c.id).await.unwrap();
    let texts: Vec<&str> = path.iter().map(|m| m.message.content.as_str()).collect();
    assert_eq!(
        texts,
        [
            "Carbonara ohne Sahne?",
            "Genau: Eigelb, Pecorino, Guanciale."
        ]
    );
    assert_eq!(path[1].created_at.timestamp(), 1_700_000_030);
}

/// A ChatGPT node holding one message.
fn gpt_node(parent: Option<&str>, children: &[&str], role: &str, text: &str) -> serde_json::Value {
    serde_json::json!({
        "parent": parent, "children": children,
        "message": {"author": {"role": role}, "create_time": 1_700_000_010.0,
                    "content": {"content_type": "text", "parts": [text]}, "metadata": {}}
    })
}

#[tokio::test]
async fn chatgpt_mapping_with_a_cycle_never_becomes_an_empty_conversation() {
    let dir = tempfile::tempdir().unwrap();
    let history = History::open(dir.path().join("h.db")).await.unwrap();
    let export = serde_json::json!([
        {"id": "fine", "title": "Fine", "current_node": "b", "mapping": {
            "a": gpt_node(None, &["b"], "user", "hello"),
            "b": gpt_node(Some("a"), &[], "assistant", "hi"),
        }},
        // Every node is another's parent: there is no root at all.
        {"id": "loop", "title": "All loop", "current_node": "x", "mapping": {
            "x": gpt_node(Some("y"), &["y"], "user", "lost question"),
            "y": gpt_node(Some("x"), &["x"], "assistant", "lost answer"),
        }},
        // A sound start, and a loop hanging beside it (children lists pointing into it too).
        {"id": "half", "title": "Half loop", "current_node": "q2", "mapping": {
            "r": {"message": null, "parent": null, "children": ["q1"]},
            "q1": gpt_node(Some("r"), &["a1", "q2"], "user", "kept question"),
            "a1": gpt_node(Some("q1"), &[], "assistant", "kept answer"),
            "q2": gpt_node(Some("a2"), &["a2"], "user", "looped question"),
            "a2": gpt_node(Some("q2"), &["q2"], "assistant", "looped answer"),
        }},
    ]);
    let path = dir.path().join("conversations.json");
    std::fs::write(&path, serde_json::to_vec(&export).unwrap()).unwrap();
    let report = llf_export::import_file(&history, &path, &ImportOptions::new())
        .await
        .unwrap();
    let outcomes: Vec<(&str, &ImportOutcome)> = report
        .conversations
        .iter()
        .map(|i| (i.title.as_str(), &i.outcome))
        .collect();
    assert!(
        matches!(
            outcomes[0],
            ("Fine", ImportOutcome::Imported { left_out: 0, .. })
        ),
        "{outcomes:?}"
    );
    assert!(
        matches!(
            outcomes[1],
            ("All loop", ImportOutcome::Unreachable { left_out: 2 })
        ),
        "{outcomes:?}"
    );
    assert!(
        matches!(
            outcomes[2],
            ("Half loop", ImportOutcome::Imported { left_out: 2, .. })
        ),
        "{outcomes:?}"
    );
    assert_eq!(report.left_out(), 4);
    assert_eq!(report.imported().count(), 2);

    // No empty conversation reached the history, and the half one kept what a root reaches.
    let list = history.list(&ListFilter::default()).await.unwrap();
    assert_eq!(list.len(), 2);
    assert!(list.iter().all(|s| s.message_count > 0), "{list:?}");
    let half = list
        .iter()
        .find(|s| s.conversation.title == "Half loop")
        .unwrap();
    let tree = history.tree(&half.conversation.id).await.unwrap();
    let texts: Vec<&str> = tree
        .messages
        .iter()
        .map(|m| m.message.content.as_str())
        .collect();
    assert_eq!(texts, ["kept question", "kept answer"]);
    // The current node was in the loop; the conversation continues from a real leaf.
    assert!(tree.conversation.current_leaf.is_some());
}

#[tokio::test]
async fn importing_the_same_export_twice_adds_nothing_unless_asked() {
    let dir = tempfile::tempdir().unwrap();
    let history = History::open(dir.path().join("h.db")).await.unwrap();
    let export = serde_json::json!([{
        "conversation_id": "c-123", "title": "Twice", "mapping": {
            "a": gpt_node(None, &["b"], "user", "question"),
            "b": gpt_node(Some("a"), &[], "assistant", "answer"),
        }
    }]);
    let path = dir.path().join("conversations.json");
    std::fs::write(&path, serde_json::to_vec(&export).unwrap()).unwrap();
    let first = llf_export::import_file(&history, &path, &ImportOptions::new())
        .await
        .unwrap();
    let original = first.imported().next().unwrap().clone();
    assert_eq!(original.source_id.as_deref(), Some("chatgpt:c-123"));

    let second = llf_export::import_file(&history, &path, &ImportOptions::new())
        .await
        .unwrap();
    assert_eq!(second.imported().count(), 0);
    match &second.conversations[0].outcome {
        ImportOutcome::AlreadyPresent { existing } => assert_eq!(existing.id, original.id),
        other => panic!("{other:?}"),
    }
    assert_eq!(history.list(&ListFilter::default()).await.unwrap().len(), 1);

    let copy = llf_export::import_file(
        &history,
        &path,
        &ImportOptions::new().allow_duplicates(true),
    )
    .await
    .unwrap();
    assert_eq!(copy.imported().count(), 1);
    assert_eq!(history.list(&ListFilter::default()).await.unwrap().len(), 2);

    // An LLF export carries the origin along: exported here, imported into another history
    // and exported from there, it is still recognised here — and there.
    let json = llf_export::export(&history, &original.id, &ExportOptions::new(Format::Json))
        .await
        .unwrap();
    let here = dir.path().join("here.json");
    llf_export::write_file(&here, &json).unwrap();
    let other = History::open(dir.path().join("other.db")).await.unwrap();
    let moved = llf_export::import_file(&other, &here, &ImportOptions::new())
        .await
        .unwrap();
    let moved = moved.imported().next().unwrap().clone();
    assert_eq!(moved.origin(), "chatgpt:c-123");
    assert!(matches!(
        llf_export::import_file(&other, &here, &ImportOptions::new())
            .await
            .unwrap()
            .conversations[0]
            .outcome,
        ImportOutcome::AlreadyPresent { .. }
    ));

    // A conversation started in LLF: its export is recognised in its own history.
    let native = history.create_conversation("Native", None).await.unwrap();
    history
        .append(&native.id, ChatMessage::user("hello"))
        .await
        .unwrap();
    let json = llf_export::export(&history, &native.id, &ExportOptions::new(Format::Json))
        .await
        .unwrap();
    let back = dir.path().join("native.json");
    llf_export::write_file(&back, &json).unwrap();
    match &llf_export::import_file(&history, &back, &ImportOptions::new())
        .await
        .unwrap()
        .conversations[0]
        .outcome
    {
        ImportOutcome::AlreadyPresent { existing } => assert_eq!(existing.id, native.id),
        other => panic!("{other:?}"),
    }
    let there = llf_export::import_file(&other, &back, &ImportOptions::new())
        .await
        .unwrap();
    let there = there.imported().next().unwrap();
    assert_eq!(there.source_id, Some(format!("llf:{}", native.id)));
}

#[tokio::test]
async fn imported_titles_are_fitted_and_read_errors_print_each_cause_once() {
    let dir = tempfile::tempdir().unwrap();
    let history = History::open(dir.path().join("h.db")).await.unwrap();
    let export = serde_json::json!({
        "title": "t".repeat(5_000), "mapping": {"a": gpt_node(None, &[], "user", "q")}
    });
    let path = dir.path().join("one.json");
    std::fs::write(&path, serde_json::to_vec(&export).unwrap()).unwrap();
    let report = llf_export::import_file(&history, &path, &ImportOptions::new())
        .await
        .unwrap();
    let c = report.imported().next().unwrap();
    assert_eq!(c.title.chars().count(), llf_history::MAX_TITLE_CHARS);
    assert!(c.title.ends_with('…'));

    let err = llf_export::import_file(
        &history,
        &dir.path().join("missing.json"),
        &ImportOptions::new(),
    )
    .await
    .unwrap_err();
    assert!(err.to_string().contains("missing.json"), "{err}");
    llf_testkit::errors::assert_each_cause_once(&err);
}
