//! llf-history against real SQLite files.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failed test

use std::time::Duration;

use chrono::{TimeZone, Utc};
use futures::StreamExt;
use llf_core::chat::{ChatMessage, Role, ToolCall};
use llf_history::{
    Finish, History, HistoryError, ListFilter, MAX_TITLE_CHARS, MessageStatus, NewMessage,
    SearchQuery, TokenCounts, TreeInsert,
};

async fn open() -> (tempfile::TempDir, History) {
    let dir = tempfile::tempdir().unwrap();
    let h = History::open(dir.path().join("state/history.db"))
        .await
        .unwrap();
    (dir, h)
}

#[tokio::test]
async fn interrupted_stream_keeps_every_message_up_to_the_crash() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("history.db");
    let history = History::open(&db).await.unwrap();
    let conv = history
        .create_conversation("stream", Some("smollm2".into()))
        .await
        .unwrap();
    history
        .append(&conv.id, ChatMessage::system("be brief"))
        .await
        .unwrap();
    history
        .append(&conv.id, ChatMessage::user("count to ten"))
        .await
        .unwrap();

    // The chat loop: start the answer, save the text after every token. The token stream never
    // ends by itself; the task is aborted midway, as a crash or Ctrl-C would stop it.
    let (saved_tx, mut saved_rx) = tokio::sync::mpsc::unbounded_channel::<usize>();
    let h = history.clone();
    let conv_id = conv.id.clone();
    let task = tokio::spawn(async move {
        let msg = h
            .start_message(
                &conv_id,
                NewMessage::new(ChatMessage::assistant("")).model("smollm2"),
            )
            .await
            .unwrap();
        let tokens = futures::stream::iter(1..).map(|n| format!("{n} "));
        futures::pin_mut!(tokens);
        let mut text = String::new();
        while let Some(tok) = tokens.next().await {
            text.push_str(&tok);
            h.update_content(msg.id, &text).await.unwrap();
            saved_tx.send(text.split_whitespace().count()).unwrap();
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    });
    let mut seen = 0;
    while seen < 5 {
        seen = saved_rx.recv().await.unwrap();
    }
    task.abort();
    assert!(task.await.unwrap_err().is_cancelled());
    history.close().await;

    // A fresh process opens the file and finds everything up to the interruption.
    let reopened = History::open(&db).await.unwrap();
    let path = reopened.current_path(&conv.id).await.unwrap();
    let roles: Vec<Role> = path.iter().map(|m| m.role()).collect();
    assert_eq!(roles, [Role::System, Role::User, Role::Assistant]);
    let partial = &path[2];
    assert_eq!(partial.status, MessageStatus::Partial);
    assert_eq!(partial.model.as_deref(), Some("smollm2"));
    let words: Vec<&str> = partial.message.content.split_whitespace().collect();
    assert!(words.len() >= 5, "{words:?}");
    assert_eq!(words[..5], ["1", "2", "3", "4", "5"]);

    // The partial answer can still be sealed later.
    let done = reopened
        .finish_message(
            partial.id,
            Finish {
                content: "1 2 3".into(),
                tool_calls: vec![],
                tokens: TokenCounts {
                    prompt: Some(12),
                    completion: Some(3),
                },
            },
        )
        .await
        .unwrap();
    assert_eq!(done.status, MessageStatus::Complete);
    assert_eq!(done.tokens.completion, Some(3));
    // A complete message refuses streaming updates.
    assert!(reopened.update_content(done.id, "x").await.is_err());
}

#[tokio::test]
async fn branching_regenerating_navigating_and_comparing() {
    let (_d, h) = open().await;
    let c = h.create_conversation("tree", None).await.unwrap();
    let q1 = h.append(&c.id, ChatMessage::user("q1")).await.unwrap();
    let a1 = h.append(&c.id, ChatMessage::assistant("a1")).await.unwrap();
    let q2 = h.append(&c.id, ChatMessage::user("q2")).await.unwrap();
    let a2 = h.append(&c.id, ChatMessage::assistant("a2")).await.unwrap();
    assert_eq!(q2.parent_id, Some(a1.id));

    // Regenerate a2: a sibling under q2 becomes the current leaf.
    let a2b = h
        .regenerate(&c.id, a2.id, ChatMessage::assistant("a2 again"))
        .await
        .unwrap();
    assert_eq!(a2b.parent_id, Some(q2.id));
    assert_eq!(
        h.conversation(&c.id).await.unwrap().current_leaf,
        Some(a2b.id)
    );

    // Branch from a1 with a different question.
    let q2c = h
        .append_under(&c.id, Some(a1.id), ChatMessage::user("q2 other"))
        .await
        .unwrap();
    let branches = h.branches(&c.id).await.unwrap();
    let leaves: Vec<i64> = branches.iter().map(|b| b.leaf.id).collect();
    assert_eq!(leaves, [a2.id, a2b.id, q2c.id]);
    assert_eq!(branches.iter().filter(|b| b.current).count(), 1);
    assert!(branches[2].current);
    assert_eq!(branches[0].length, 4);

    // Paths from the root.
    let ids = |v: Vec<llf_history::StoredMessage>| v.into_iter().map(|m| m.id).collect::<Vec<_>>();
    assert_eq!(
        ids(h.path(&c.id, a2b.id).await.unwrap()),
        [q1.id, a1.id, q2.id, a2b.id]
    );
    assert_eq!(
        ids(h.current_path(&c.id).await.unwrap()),
        [q1.id, a1.id, q2c.id]
    );

    // Go to a2 and continue there.
    h.checkout(&c.id, a2.id).await.unwrap();
    let q3 = h.append(&c.id, ChatMessage::user("q3")).await.unwrap();
    assert_eq!(q3.parent_id, Some(a2.id));

    // Compare two branches: shared prefix and the two tails.
    let cmp = h.compare(&c.id, q3.id, q2c.id).await.unwrap();
    assert_eq!(ids(cmp.common), [q1.id, a1.id]);
    assert_eq!(ids(cmp.left), [q2.id, a2.id, q3.id]);
    assert_eq!(ids(cmp.right), [q2c.id]);

    // Bad targets are clear errors, not panics.
    assert!(matches!(
        h.regenerate(&c.id, q1.id, ChatMessage::user("x")).await,
        Err(HistoryError::NoParent(_))
    ));
    let other = h.create_conversation("other", None).await.unwrap();
    assert!(matches!(
        h.checkout(&other.id, a1.id).await,
        Err(HistoryError::MessageNotFound { .. })
    ));
    assert_eq!(h.tree(&c.id).await.unwrap().messages.len(), 7);
}

#[tokio::test]
async fn tool_calls_and_unicode_survive_storage() {
    let (_d, h) = open().await;
    let c = h.create_conversation("tools ✓", None).await.unwrap();
    let mut call = ChatMessage::assistant("");
    call.tool_calls.push(ToolCall {
        id: "c1".into(),
        name: "calc".into(),
        arguments: r#"{"x":"ünï"}"#.into(),
    });
    h.append(&c.id, call.clone()).await.unwrap();
    h.append(&c.id, ChatMessage::tool_result("c1", "Ωmega 日本"))
        .await
        .unwrap();
    let path = h.current_path(&c.id).await.unwrap();
    assert_eq!(path[0].message, call);
    assert_eq!(
        path[1].message,
        ChatMessage::tool_result("c1", "Ωmega 日本")
    );
}

#[tokio::test]
async fn search_ranks_and_filters() {
    let (_d, h) = open().await;
    let t = |d| Utc.with_ymd_and_hms(2025, 1, d, 12, 0, 0).unwrap();
    let a = h.create_conversation("A", None).await.unwrap();
    let b = h.create_conversation("B", None).await.unwrap();
    h.append(
        &a.id,
        NewMessage::new(ChatMessage::user("How do I tune the sqlite cache?")).at(t(1)),
    )
    .await
    .unwrap();
    let best = h
        .append(
            &a.id,
            NewMessage::new(ChatMessage::assistant(
                "sqlite cache: the sqlite cache_size pragma sets the sqlite page cache",
            ))
            .at(t(2)),
        )
        .await
        .unwrap();
    h.append(&b.id, NewMessage::new(ChatMessage::user("unrelated text about gardens, then a long tail of words that dilutes one mention of sqlite somewhere inside it")).at(t(5)))
        .await
        .unwrap();
    h.append(
        &b.id,
        NewMessage::new(ChatMessage::assistant("Crème brûlée")).at(t(6)),
    )
    .await
    .unwrap();

    let hits = h.search(&SearchQuery::new("sqlite")).await.unwrap();
    assert_eq!(hits.len(), 3);
    assert_eq!(hits[0].message.id, best.id, "densest match ranks first");
    assert!(hits[0].score >= hits[1].score && hits[1].score >= hits[2].score);
    assert!(hits[0].snippet.contains("[sqlite]"), "{}", hits[0].snippet);
    assert_eq!(hits[0].conversation_title, "A");

    // Every word must match; prefixes with *.
    assert_eq!(
        h.search(&SearchQuery::new("sqlite gardens"))
            .await
            .unwrap()
            .len(),
        1
    );
    assert_eq!(
        h.search(&SearchQuery::new("garden*")).await.unwrap().len(),
        1
    );
    // Diacritics fold: "creme" finds "Crème".
    assert_eq!(h.search(&SearchQuery::new("creme")).await.unwrap().len(), 1);

    // Filters.
    let users = h
        .search(&SearchQuery::new("sqlite").role(Role::User))
        .await
        .unwrap();
    assert_eq!(users.len(), 2);
    assert!(users.iter().all(|x| x.message.role() == Role::User));
    let ranged = h
        .search(&SearchQuery::new("sqlite").since(t(2)).until(t(6)))
        .await
        .unwrap();
    assert_eq!(ranged.len(), 2);
    let in_b = h
        .search(&SearchQuery::new("sqlite").conversation(&b.id[..20]))
        .await
        .unwrap();
    assert_eq!(in_b.len(), 1);
    assert_eq!(in_b[0].message.conversation_id, b.id);
    assert_eq!(
        h.search(&SearchQuery::new("sqlite").limit(1))
            .await
            .unwrap()
            .len(),
        1
    );
    let marked = h
        .search(&SearchQuery::new("cache").highlight("<<", ">>"))
        .await
        .unwrap();
    assert!(marked[0].snippet.contains("<<cache>>"));

    // Deleted conversations drop out of search; restored ones come back.
    h.delete(&a.id).await.unwrap();
    assert_eq!(
        h.search(&SearchQuery::new("sqlite")).await.unwrap().len(),
        1
    );
    h.restore(&a.id).await.unwrap();
    assert_eq!(
        h.search(&SearchQuery::new("sqlite")).await.unwrap().len(),
        3
    );
    assert!(matches!(
        h.search(&SearchQuery::new(" () ")).await,
        Err(HistoryError::EmptyQuery)
    ));
}

#[tokio::test]
async fn list_rename_delete_restore_purge() {
    let (_d, h) = open().await;
    let a = h
        .create_conversation("first", Some("m".into()))
        .await
        .unwrap();
    h.append(&a.id, ChatMessage::user("hi")).await.unwrap();
    let b = h.create_conversation("second", None).await.unwrap();
    let list = h.list(&ListFilter::default()).await.unwrap();
    assert_eq!(list.len(), 2);
    let first = list.iter().find(|s| s.conversation.id == a.id).unwrap();
    assert_eq!((first.message_count, first.branch_count), (1, 1));

    let renamed = h
        .rename(&a.id.to_lowercase()[..22], "renamed")
        .await
        .unwrap();
    assert_eq!(renamed.title, "renamed");
    assert!(renamed.updated_at >= a.updated_at);

    h.delete(&b.id).await.unwrap();
    assert_eq!(h.list(&ListFilter::default()).await.unwrap().len(), 1);
    let trash = h
        .list(&ListFilter {
            deleted: true,
            limit: None,
        })
        .await
        .unwrap();
    assert_eq!(trash[0].conversation.id, b.id);
    assert!(matches!(
        h.append(&b.id, ChatMessage::user("x")).await,
        Err(HistoryError::Deleted(_))
    ));
    assert!(matches!(
        h.restore(&a.id).await,
        Err(HistoryError::NotDeleted(_))
    ));

    // Within the retention nothing is purged; past it (zero retention) the item goes for good.
    assert_eq!(h.purge_deleted(Duration::from_secs(3600)).await.unwrap(), 0);
    h.restore(&b.id).await.unwrap();
    h.delete(&a.id).await.unwrap();
    assert_eq!(h.purge_deleted(Duration::ZERO).await.unwrap(), 1);
    assert!(matches!(
        h.conversation(&a.id).await,
        Err(HistoryError::ConversationNotFound(_))
    ));
    assert!(h.search(&SearchQuery::new("hi")).await.unwrap().is_empty());
    assert!(matches!(
        h.conversation("zz").await,
        Err(HistoryError::ConversationNotFound(_))
    ));
}

#[tokio::test]
async fn insert_tree_rejects_a_dangling_parent_and_writes_nothing() {
    let (_d, h) = open().await;
    let c = h.create_conversation("src", None).await.unwrap();
    h.append(&c.id, ChatMessage::user("q")).await.unwrap();
    let mut tree = h.tree(&c.id).await.unwrap();
    tree.messages[0].parent_id = Some(999);
    assert!(matches!(
        h.insert_tree(&tree).await,
        Err(HistoryError::InvalidTree(_))
    ));
    assert_eq!(h.list(&ListFilter::default()).await.unwrap().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn several_openers_of_a_new_database_all_succeed_and_share_it() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("history.db");
    // Separate pools, as separate processes would have, racing to create the schema.
    let tasks: Vec<_> = (0..6)
        .map(|i| {
            let db = db.clone();
            tokio::spawn(async move {
                let h = History::open(&db).await.unwrap();
                let c = h.create_conversation(format!("c{i}"), None).await.unwrap();
                for n in 0..10 {
                    h.append(&c.id, ChatMessage::user(format!("hello {i} {n}")))
                        .await
                        .unwrap();
                }
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap();
    }
    let h = History::open(&db).await.unwrap();
    let list = h.list(&ListFilter::default()).await.unwrap();
    assert_eq!(list.len(), 6);
    assert!(
        list.iter()
            .all(|c| c.message_count == 10 && c.branch_count == 1)
    );
    assert_eq!(
        h.search(&SearchQuery::new("hello").limit(100))
            .await
            .unwrap()
            .len(),
        60
    );
}

#[tokio::test]
async fn titles_must_hold_some_text_and_at_most_200_characters() {
    let (_d, h) = open().await;
    let c = h.create_conversation("  Kept  ", None).await.unwrap();
    assert_eq!(c.title, "Kept", "titles are trimmed");
    for empty in ["", "   ", "\n\t"] {
        assert!(matches!(
            h.rename(&c.id, empty).await,
            Err(HistoryError::EmptyTitle)
        ));
        assert!(matches!(
            h.create_conversation(empty, None).await,
            Err(HistoryError::EmptyTitle)
        ));
    }
    let huge = "x".repeat(100_000);
    let err = h.rename(&c.id, huge.as_str()).await.unwrap_err();
    assert!(
        matches!(
            err,
            HistoryError::TitleTooLong {
                chars: 100_000,
                max: MAX_TITLE_CHARS
            }
        ),
        "{err}"
    );
    assert!(err.to_string().contains("at most 200 characters"), "{err}");
    // Counted in characters, not bytes.
    let longest = "é".repeat(MAX_TITLE_CHARS);
    assert_eq!(
        h.rename(&c.id, longest.as_str()).await.unwrap().title,
        longest
    );
    assert!(matches!(
        h.rename(&c.id, format!("{longest}é")).await,
        Err(HistoryError::TitleTooLong { chars: 201, .. })
    ));
    assert_eq!(h.conversation(&c.id).await.unwrap().title, longest);
    // An imported tree follows the same rule.
    let mut tree = h.tree(&c.id).await.unwrap();
    tree.conversation.title = " ".into();
    assert!(matches!(
        h.insert_tree(&tree).await,
        Err(HistoryError::EmptyTitle)
    ));
    assert_eq!(h.list(&ListFilter::default()).await.unwrap().len(), 1);
}

#[tokio::test]
async fn a_file_that_is_not_a_database_is_a_typed_error_and_left_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("history.db");
    let garbage = b"this is not a database, it is a shopping list\n".repeat(200);
    std::fs::write(&path, &garbage).unwrap();
    let err = History::open(&path).await.unwrap_err();
    match &err {
        HistoryError::NotADatabase { path: p, .. } => assert_eq!(p, &path),
        other => panic!("expected NotADatabase, got {other:?}"),
    }
    let text = err.to_string();
    assert!(
        text.contains(&path.display().to_string())
            && text.contains("move it aside")
            && text.contains("backup"),
        "{text}"
    );
    llf_testkit::errors::assert_each_cause_once(&err);
    let chain = llf_testkit::errors::chain(&err).join("\n");
    assert_eq!(
        chain.matches("file is not a database").count(),
        1,
        "{chain}"
    );
    assert_eq!(
        std::fs::read(&path).unwrap(),
        garbage,
        "the file is not changed"
    );
    for suffix in ["-wal", "-shm"] {
        let side = dir.path().join(format!("history.db{suffix}"));
        assert!(
            !side.exists() || std::fs::metadata(&side).unwrap().len() == 0,
            "{side:?}"
        );
    }
}

#[tokio::test]
async fn query_errors_print_each_cause_once() {
    let (_d, h) = open().await;
    h.close().await;
    let err = h.list(&ListFilter::default()).await.unwrap_err();
    assert!(matches!(err, HistoryError::Database(_)), "{err:?}");
    llf_testkit::errors::assert_each_cause_once(&err);
}

#[tokio::test]
async fn insert_tree_if_new_recognises_a_conversation_by_its_origin() {
    let (_d, h) = open().await;
    let native = h.create_conversation("native", None).await.unwrap();
    h.append(&native.id, ChatMessage::user("q")).await.unwrap();
    let mut tree = h.tree(&native.id).await.unwrap();
    assert_eq!(tree.conversation.origin(), format!("llf:{}", native.id));

    // An export of a conversation of this history is the conversation itself.
    tree.conversation.source_id = Some(tree.conversation.origin());
    match h.insert_tree_if_new(&tree).await.unwrap() {
        TreeInsert::AlreadyPresent(c) => assert_eq!(c.id, native.id),
        other => panic!("{other:?}"),
    }

    // A foreign conversation is saved once, with its origin; a second time it is recognised,
    // also from the trash.
    tree.conversation.source_id = Some("chatgpt:abc".into());
    let copy = match h.insert_tree_if_new(&tree).await.unwrap() {
        TreeInsert::Inserted(c) => c,
        other => panic!("{other:?}"),
    };
    assert_eq!(copy.source_id.as_deref(), Some("chatgpt:abc"));
    assert_eq!(copy.origin(), "chatgpt:abc");
    h.delete(&copy.id).await.unwrap();
    match h.insert_tree_if_new(&tree).await.unwrap() {
        TreeInsert::AlreadyPresent(c) => {
            assert_eq!(c.id, copy.id);
            assert!(c.deleted_at.is_some());
        }
        other => panic!("{other:?}"),
    }
    // insert_tree always saves, keeping the origin.
    let again = h.insert_tree(&tree).await.unwrap();
    assert_eq!(again.source_id.as_deref(), Some("chatgpt:abc"));
    assert_eq!(
        h.list(&ListFilter::default()).await.unwrap().len(),
        2,
        "native + the deliberate copy"
    );
}
