//! Conversation history at 100k messages: appending (FTS index, tree pointer, transaction) against
//! a plain SQLite insert, search (joins, filters, snippets) against a bare FTS5 query on the same
//! text, and exporting a 5,000-message conversation against plain `serde_json` serialisation.
//!
//! Run: `cargo bench -p llf-benches --bench history`
#![allow(missing_docs, clippy::unwrap_used, clippy::print_stdout)] // bench harness code

use std::time::Instant;

use chrono::{Duration, Utc};
use llf_benches::{measure, report};
use llf_core::chat::{ChatMessage, Role};
use llf_export::{ExportOptions, Format};
use llf_history::{
    Conversation, ConversationTree, History, MessageStatus, SearchQuery, StoredMessage, TokenCounts,
};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};

const WORDS: [&str; 24] = [
    "model", "token", "server", "rust", "async", "memory", "vector", "search", "branch", "tree",
    "prompt", "answer", "stream", "sqlite", "index", "config", "latency", "cache", "thread",
    "socket", "parser", "export", "tensor", "kernel",
];
const TOTAL: usize = 100_000;
const PER_CONVERSATION: usize = 1_000;

struct Lcg(u64);
impl Lcg {
    fn next(&mut self) -> usize {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 33) as usize
    }
    fn text(&mut self, words: usize) -> String {
        (0..words)
            .map(|_| WORDS[self.next() % WORDS.len()])
            .collect::<Vec<_>>()
            .join(" ")
    }
}

fn tree(rng: &mut Lcg, n: usize, title: &str) -> ConversationTree {
    let start = Utc::now() - Duration::days(30);
    let messages = (0..n)
        .map(|i| {
            let at = start + Duration::seconds(i as i64);
            StoredMessage {
                id: i as i64 + 1,
                conversation_id: String::new(),
                parent_id: (i > 0).then_some(i as i64),
                message: ChatMessage::new(
                    if i % 2 == 0 {
                        Role::User
                    } else {
                        Role::Assistant
                    },
                    rng.text(30),
                ),
                model: None,
                tokens: TokenCounts::default(),
                status: MessageStatus::Complete,
                created_at: at,
                updated_at: at,
            }
        })
        .collect();
    ConversationTree {
        conversation: Conversation {
            id: String::new(),
            title: title.to_owned(),
            model: None,
            created_at: start,
            updated_at: start,
            current_leaf: Some(n as i64),
            deleted_at: None,
            source_id: None,
        },
        messages,
    }
}

fn main() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let history = rt
        .block_on(History::open(dir.path().join("history.db")))
        .unwrap();
    let mut rng = Lcg(42);

    // Baseline database: same pragmas, one plain table and one bare FTS5 table with the same text.
    let opts = SqliteConnectOptions::new()
        .filename(dir.path().join("plain.db"))
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Normal);
    let plain = rt
        .block_on(
            SqlitePoolOptions::new()
                .max_connections(1)
                .connect_with(opts),
        )
        .unwrap();
    rt.block_on(async {
        sqlx::query("CREATE TABLE plain (id INTEGER PRIMARY KEY, content TEXT NOT NULL)")
            .execute(&plain)
            .await
            .unwrap();
        sqlx::query("CREATE VIRTUAL TABLE fts USING fts5(content)")
            .execute(&plain)
            .await
            .unwrap();
    });

    let t = Instant::now();
    let mut texts = Vec::with_capacity(TOTAL);
    for c in 0..TOTAL / PER_CONVERSATION {
        let tr = tree(&mut rng, PER_CONVERSATION, &format!("conversation {c}"));
        texts.extend(tr.messages.iter().map(|m| m.message.content.clone()));
        rt.block_on(history.insert_tree(&tr)).unwrap();
    }
    rt.block_on(async {
        let mut tx = plain.begin().await.unwrap();
        for text in &texts {
            sqlx::query("INSERT INTO fts(content) VALUES (?1)")
                .bind(text)
                .execute(&mut *tx)
                .await
                .unwrap();
        }
        tx.commit().await.unwrap();
    });
    println!("history of {TOTAL} messages built in {:?}", t.elapsed());

    let conv = rt
        .block_on(history.create_conversation("bench", None))
        .unwrap();
    let baseline = measure(2_000, || {
        rt.block_on(
            sqlx::query("INSERT INTO plain(content) VALUES (?1)")
                .bind("a plain message about rust async")
                .execute(&plain),
        )
        .unwrap()
    });
    let llf = measure(2_000, || {
        rt.block_on(history.append(
            &conv.id,
            ChatMessage::user("a saved message about rust async"),
        ))
        .unwrap()
    });
    report(
        "append one message (100k history) vs plain INSERT",
        baseline,
        llf,
    );

    let answer = rt
        .block_on(history.start_message(&conv.id, ChatMessage::assistant("")))
        .unwrap();
    let mut text = String::new();
    let llf = measure(2_000, || {
        text.push_str(" tok");
        rt.block_on(history.update_content(answer.id, &text))
            .unwrap()
    });
    report(
        "streaming update of a growing answer vs plain INSERT",
        baseline,
        llf,
    );

    let baseline = measure(200, || {
        rt.block_on(
            sqlx::query("SELECT rowid FROM fts WHERE fts MATCH ?1 ORDER BY rank LIMIT 20")
                .bind("\"kernel\" \"tensor\"")
                .fetch_all(&plain),
        )
        .unwrap()
    });
    let llf = measure(200, || {
        rt.block_on(history.search(&SearchQuery::new("kernel tensor")))
            .unwrap()
    });
    report(
        "search 2 words, top 20 with snippets vs bare FTS5",
        baseline,
        llf,
    );
    let llf = measure(200, || {
        rt.block_on(
            history.search(
                &SearchQuery::new("kernel tensor")
                    .role(Role::Assistant)
                    .since(Utc::now() - Duration::days(31)),
            ),
        )
        .unwrap()
    });
    report(
        "search with role + date filters vs bare FTS5",
        baseline,
        llf,
    );

    let big = tree(&mut rng, 5_000, "big");
    let baseline = measure(20, || serde_json::to_vec(&big.messages).unwrap());
    for format in [Format::Json, Format::Markdown, Format::Html, Format::Text] {
        let opts = ExportOptions::new(format);
        let llf = measure(20, || llf_export::render(&big, &opts).unwrap());
        report(
            &format!("export 5,000 messages as {format:?} vs serde_json::to_vec"),
            baseline,
            llf,
        );
    }
    let opts = ExportOptions::new(Format::Pdf);
    let llf = measure(3, || llf_export::render(&big, &opts).unwrap());
    report(
        "export 5,000 messages as Pdf vs serde_json::to_vec",
        baseline,
        llf,
    );
}
