//! Search: ranking, snippets, every filter, paging, hostile query text.

use chrono::{Duration as Days, Utc};
use llf_memory::{MatchMode, MemoryError, NewMemory, SearchQuery, TagMode};

use crate::db;

#[tokio::test]
async fn ranking_prefers_relevance_then_importance() {
    let d = db().await;
    // Filler so that BM25's IDF is meaningful.
    let filler: Vec<NewMemory> = (0..40)
        .map(|i| NewMemory::new(format!("unrelated filler note number {i} about gardening")))
        .collect();
    d.mem.add_many("notes", filler).await.unwrap();
    let strong = d
        .mem
        .add("notes", NewMemory::new("python python python tips"))
        .await
        .unwrap();
    let weak = d
        .mem
        .add(
            "notes",
            NewMemory::new(
                "a long note that mentions python once among many other words about travel",
            ),
        )
        .await
        .unwrap();
    let hits = d
        .mem
        .search("notes", &SearchQuery::new().text("python"))
        .await
        .unwrap();
    assert_eq!(
        hits.iter()
            .map(|h| h.memory.id.as_str())
            .collect::<Vec<_>>(),
        [&strong.id, &weak.id]
    );
    assert!(hits[0].score > hits[1].score);
    assert!(hits.iter().all(|h| h.score > 0.0 && h.score <= 1.0));

    // Same text, different importance: the important one ranks first.
    let low = d
        .mem
        .add("notes", NewMemory::new("meeting with Bob").importance(0.1))
        .await
        .unwrap();
    let high = d
        .mem
        .add("notes", NewMemory::new("meeting with Bob").importance(0.9))
        .await
        .unwrap();
    let hits = d
        .mem
        .search("notes", &SearchQuery::new().text("bob meeting"))
        .await
        .unwrap();
    assert_eq!(hits[0].memory.id, high.id);
    assert_eq!(hits[1].memory.id, low.id);
}

#[tokio::test]
async fn snippets_highlight_matches_and_stemming_finds_word_forms() {
    let d = db().await;
    let long = format!(
        "{} the deployment pipeline runs every Friday {}",
        "lorem ipsum ".repeat(30),
        "dolor sit ".repeat(30)
    );
    d.mem.add("notes", NewMemory::new(long)).await.unwrap();
    let hits = d
        .mem
        .search("notes", &SearchQuery::new().text("run friday"))
        .await
        .unwrap();
    assert_eq!(hits.len(), 1, "porter stemming: run ~ runs");
    let snip = hits[0].snippet.as_deref().unwrap();
    assert!(
        snip.contains("[runs]") && snip.contains("[Friday]"),
        "brackets by default: {snip}"
    );
    assert!(
        snip.contains('…') && snip.len() < 200,
        "a window, not the whole text: {snip}"
    );
    // Prefix search.
    let hits = d
        .mem
        .search("notes", &SearchQuery::new().text("pipel*"))
        .await
        .unwrap();
    assert_eq!(hits.len(), 1);
    assert!(hits[0].snippet.as_deref().unwrap().contains("[pipeline]"));
    // Without text: no snippet, score = importance.
    let hits = d.mem.search("notes", &SearchQuery::new()).await.unwrap();
    assert_eq!(hits[0].snippet, None);
    assert_eq!(hits[0].score, 0.5);
}

#[tokio::test]
async fn every_filter_applies() {
    let d = db().await;
    d.mem.create_store("other", "").await.unwrap();
    let now = Utc::now();
    let add = |text: &str, tags: &[&str], imp: f64, days_ago: i64| {
        NewMemory::new(text)
            .tags(tags.iter().copied())
            .importance(imp)
            .created_at(now - Days::days(days_ago))
    };
    d.mem
        .add_many(
            "notes",
            vec![
                add("apple pie recipe", &["food", "baking"], 0.9, 10),
                add("apple orchard visit", &["travel"], 0.4, 5),
                add("banana bread recipe", &["food"], 0.6, 1),
                add("apple stock price", &["finance", "food"], 0.2, 0),
            ],
        )
        .await
        .unwrap();
    d.mem
        .add("other", add("apple in another store", &["food"], 1.0, 0))
        .await
        .unwrap();

    let texts = |hits: Vec<llf_memory::SearchHit>| {
        let mut v: Vec<String> = hits.into_iter().map(|h| h.memory.content).collect();
        v.sort();
        v
    };
    let q = || SearchQuery::new().text("apple");
    assert_eq!(
        d.mem.search("notes", &q()).await.unwrap().len(),
        3,
        "store isolation"
    );
    assert_eq!(
        texts(
            d.mem
                .search("notes", &q().tags(["food"], TagMode::Any))
                .await
                .unwrap()
        ),
        ["apple pie recipe", "apple stock price"]
    );
    assert_eq!(
        texts(
            d.mem
                .search("notes", &q().tags(["FOOD", "baking"], TagMode::All))
                .await
                .unwrap()
        ),
        ["apple pie recipe"]
    );
    assert_eq!(
        texts(
            d.mem
                .search("notes", &q().tags(["baking", "travel"], TagMode::Any))
                .await
                .unwrap()
        ),
        ["apple orchard visit", "apple pie recipe"]
    );
    assert_eq!(
        texts(
            d.mem
                .search("notes", &q().min_importance(0.5))
                .await
                .unwrap()
        ),
        ["apple pie recipe"]
    );
    assert_eq!(
        texts(
            d.mem
                .search("notes", &q().since(now - Days::days(6)))
                .await
                .unwrap()
        ),
        ["apple orchard visit", "apple stock price"]
    );
    assert_eq!(
        texts(
            d.mem
                .search(
                    "notes",
                    &q().since(now - Days::days(6)).until(now - Days::days(2))
                )
                .await
                .unwrap()
        ),
        ["apple orchard visit"]
    );
    assert!(matches!(
        d.mem
            .search("notes", &q().since(now).until(now - Days::days(1)))
            .await,
        Err(MemoryError::InvalidDateRange)
    ));
    assert!(matches!(
        d.mem.search("notes", &q().min_importance(1.5)).await,
        Err(MemoryError::InvalidImportance(_))
    ));
    // "all words" vs "any word".
    assert_eq!(
        d.mem
            .search("notes", &SearchQuery::new().text("apple recipe"))
            .await
            .unwrap()
            .len(),
        1
    );
    assert_eq!(
        d.mem
            .search(
                "notes",
                &SearchQuery::new()
                    .text("apple recipe")
                    .match_mode(MatchMode::Any)
            )
            .await
            .unwrap()
            .len(),
        4
    );
    // Tags alone, without text: newest first.
    let hits = d
        .mem
        .search("notes", &SearchQuery::new().tags(["food"], TagMode::Any))
        .await
        .unwrap();
    assert_eq!(
        hits.iter()
            .map(|h| h.memory.content.as_str())
            .collect::<Vec<_>>(),
        [
            "apple stock price",
            "banana bread recipe",
            "apple pie recipe"
        ]
    );
    // Several stores at once.
    let both = d
        .mem
        .search_stores(&["notes".into(), "other".into()], &q())
        .await
        .unwrap();
    assert_eq!(both.len(), 4);
}

#[tokio::test]
async fn paging_walks_all_hits_without_repeats() {
    let d = db().await;
    let batch: Vec<NewMemory> = (0..25)
        .map(|i| NewMemory::new(format!("shared word entry {i}")).importance(i as f64 / 25.0))
        .collect();
    d.mem.add_many("notes", batch).await.unwrap();
    let mut seen = Vec::new();
    for page in 0..3 {
        let hits = d
            .mem
            .search(
                "notes",
                &SearchQuery::new()
                    .text("shared")
                    .limit(10)
                    .offset(page * 10),
            )
            .await
            .unwrap();
        seen.extend(hits.into_iter().map(|h| h.memory.id));
    }
    assert_eq!(seen.len(), 25);
    let mut unique = seen.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), 25);
    // Filters that exclude most candidates still fill the page (the candidate pool grows).
    let many: Vec<NewMemory> = (0..600)
        .map(|i| NewMemory::new(format!("common term {i}")))
        .collect();
    d.mem.add_many("notes", many).await.unwrap();
    d.mem
        .add(
            "notes",
            NewMemory::new("common term rare tagged").tags(["needle"]),
        )
        .await
        .unwrap();
    let hits = d
        .mem
        .search(
            "notes",
            &SearchQuery::new()
                .text("common")
                .tags(["needle"], TagMode::Any),
        )
        .await
        .unwrap();
    assert_eq!(hits.len(), 1);
    assert!(
        d.mem
            .search("notes", &SearchQuery::new().text("common").limit(0))
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn very_common_words_rank_recent_matches_and_filters_reach_older_ones() {
    let d = db().await;
    let old = d
        .mem
        .add(
            "notes",
            NewMemory::new("frequent word in the oldest memory").tags(["first"]),
        )
        .await
        .unwrap();
    let many: Vec<NewMemory> = (0..6_000)
        .map(|i| NewMemory::new(format!("frequent word number {i}")))
        .collect();
    d.mem.add_many("notes", many).await.unwrap();
    let hits = d
        .mem
        .search("notes", &SearchQuery::new().text("frequent").limit(5))
        .await
        .unwrap();
    assert_eq!(hits.len(), 5);
    assert!(hits.iter().all(|h| h.memory.id != old.id));
    // The oldest match lies outside the ranking window; a filter that only it passes widens it.
    let hits = d
        .mem
        .search(
            "notes",
            &SearchQuery::new()
                .text("frequent")
                .tags(["first"], TagMode::Any),
        )
        .await
        .unwrap();
    assert_eq!(hits.len(), 1);
    assert_eq!(hits[0].memory.id, old.id);
}

#[tokio::test]
async fn hostile_query_text_never_reaches_sql_as_syntax() {
    let d = db().await;
    d.mem
        .add(
            "notes",
            NewMemory::new("Don't forget: C++ and \"quotes\" (parens) NEAR the end 🙂"),
        )
        .await
        .unwrap();
    for q in [
        "\"",
        "\"unbalanced",
        "AND",
        "OR OR",
        "NOT",
        "a AND",
        "(",
        "((x",
        ")",
        "-x",
        "x -y",
        "*",
        "fo*",
        "col:umn",
        "NEAR(a b)",
        "^start",
        "don't",
        "C++",
        "'; DROP TABLE memories; --",
        "🙂 quotes",
        "\u{0}",
        "x\"y\"z",
        "{a b}",
        "a + b",
        "memories_fts",
    ] {
        for mode in [MatchMode::All, MatchMode::Any] {
            match d
                .mem
                .search("notes", &SearchQuery::new().text(q).match_mode(mode))
                .await
            {
                Ok(_) | Err(MemoryError::EmptyQuery(_)) => {}
                Err(e) => panic!("{q:?} ({mode:?}) gave {e}"),
            }
        }
    }
    let hits = d
        .mem
        .search("notes", &SearchQuery::new().text("don't"))
        .await
        .unwrap();
    assert_eq!(hits.len(), 1);
    let hits = d
        .mem
        .search("notes", &SearchQuery::new().text("\"quotes\" AND (parens"))
        .await
        .unwrap();
    assert_eq!(hits.len(), 1, "operators are words; all words must match");
    let err = d
        .mem
        .search("notes", &SearchQuery::new().text("🙂 \" ( *"))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("no words to look for"), "{err}");
    d.mem.check_integrity().await.unwrap();
    assert_eq!(d.mem.stats("notes").await.unwrap().count, 1);
}

#[tokio::test]
async fn snippet_markers_are_the_callers_choice() {
    let d = db().await;
    d.mem
        .add("notes", NewMemory::new("The deploy runs on Fridays"))
        .await
        .unwrap();
    let snippet = |q: SearchQuery| {
        let mem = d.mem.clone();
        async move {
            mem.search("notes", &q.text("deploy")).await.unwrap()[0]
                .snippet
                .clone()
                .unwrap()
        }
    };
    assert_eq!(
        snippet(SearchQuery::new()).await,
        "The [deploy] runs on Fridays"
    );
    assert_eq!(
        snippet(SearchQuery::new().highlight("", "")).await,
        "The deploy runs on Fridays",
        "no markup at all: no literal `**`"
    );
    assert_eq!(
        snippet(SearchQuery::new().highlight("\x1b[1m", "\x1b[0m")).await,
        "The \x1b[1mdeploy\x1b[0m runs on Fridays"
    );
}
