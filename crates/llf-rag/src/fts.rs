//! User text as a safe SQLite FTS5 query, with stop words left out.
//!
//! Every word is quoted, so FTS5 operators and punctuation in what a person typed can never
//! become query syntax, and the words are joined with `OR`, so BM25 ranks by how many of them a
//! text holds. Stop words ("in", "a", "the"…) are dropped: nearly every text contains them, and
//! a match on them alone says nothing about relevance, yet in hybrid search it would lift an
//! unrelated text above a relevant one. A query made only of stop words keeps them, so "to be or
//! not to be" still finds something.
//!
//! The module depends on nothing else in this crate, so the other crates with FTS5 tables can
//! move to it.
//!
//! ```
//! use llf_rag::fts::match_expression;
//!
//! assert_eq!(
//!     match_expression("memory safety in a systems language").as_deref(),
//!     Some("\"memory\" OR \"safety\" OR \"systems\" OR \"language\"")
//! );
//! assert_eq!(match_expression("in a").as_deref(), Some("\"in\" OR \"a\""));
//! assert_eq!(match_expression(" ?! "), None);
//! ```

/// English stop words: function words that carry no topic (articles, pronouns, auxiliaries,
/// prepositions, conjunctions), lowercase and sorted so [`is_stop_word`] can binary-search.
pub const STOP_WORDS: &[&str] = &[
    "a",
    "about",
    "above",
    "after",
    "again",
    "against",
    "all",
    "am",
    "an",
    "and",
    "any",
    "are",
    "as",
    "at",
    "be",
    "because",
    "been",
    "before",
    "being",
    "below",
    "between",
    "both",
    "but",
    "by",
    "can",
    "could",
    "did",
    "do",
    "does",
    "doing",
    "down",
    "during",
    "each",
    "few",
    "for",
    "from",
    "further",
    "had",
    "has",
    "have",
    "having",
    "he",
    "her",
    "here",
    "hers",
    "herself",
    "him",
    "himself",
    "his",
    "how",
    "i",
    "if",
    "in",
    "into",
    "is",
    "it",
    "its",
    "itself",
    "just",
    "me",
    "more",
    "most",
    "my",
    "myself",
    "no",
    "nor",
    "not",
    "of",
    "off",
    "on",
    "once",
    "only",
    "or",
    "other",
    "our",
    "ours",
    "ourselves",
    "out",
    "over",
    "own",
    "same",
    "she",
    "should",
    "so",
    "some",
    "such",
    "than",
    "that",
    "the",
    "their",
    "theirs",
    "them",
    "themselves",
    "then",
    "there",
    "these",
    "they",
    "this",
    "those",
    "through",
    "to",
    "too",
    "under",
    "until",
    "up",
    "very",
    "was",
    "we",
    "were",
    "what",
    "when",
    "where",
    "which",
    "while",
    "who",
    "whom",
    "why",
    "will",
    "with",
    "would",
    "you",
    "your",
    "yours",
    "yourself",
    "yourselves",
];

/// Whether `word` (any case) is a stop word.
pub fn is_stop_word(word: &str) -> bool {
    let lower = word.to_lowercase();
    STOP_WORDS.binary_search(&lower.as_str()).is_ok()
}

/// The words of `text` as FTS5's default tokenizer sees them, roughly: runs of letters, digits,
/// `_` and inner `-` (so codes such as `E-4021` stay whole).
pub fn words(text: &str) -> impl Iterator<Item = &str> {
    text.split(|c: char| !(c.is_alphanumeric() || c == '_' || c == '-'))
        .map(|t| t.trim_matches('-'))
        .filter(|t| !t.is_empty())
}

/// `text` as an FTS5 match expression: its words quoted and joined with `OR`, stop words left
/// out unless there is nothing else. `None` when `text` has no words.
pub fn match_expression(text: &str) -> Option<String> {
    let all: Vec<&str> = words(text).collect();
    let content: Vec<&str> = all.iter().copied().filter(|w| !is_stop_word(w)).collect();
    let chosen = if content.is_empty() { all } else { content };
    if chosen.is_empty() {
        return None;
    }
    Some(
        chosen
            .iter()
            .map(|w| format!("\"{w}\""))
            .collect::<Vec<_>>()
            .join(" OR "),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stop_words_are_sorted_lowercase_and_unique() {
        assert!(STOP_WORDS.windows(2).all(|w| w[0] < w[1]));
        assert!(STOP_WORDS.iter().all(|w| *w == w.to_lowercase()));
        assert!(is_stop_word("In") && is_stop_word("THE"));
        assert!(!is_stop_word("memory"));
    }

    #[test]
    fn words_are_quoted_so_syntax_cannot_leak() {
        assert_eq!(
            match_expression("error E-4021: \"bad\" x*").as_deref(),
            Some("\"error\" OR \"E-4021\" OR \"bad\" OR \"x\"")
        );
        // `OR` typed by a person is a stop word here, not an operator.
        assert_eq!(
            match_expression("cats OR dogs").as_deref(),
            Some("\"cats\" OR \"dogs\"")
        );
        assert_eq!(match_expression("  ?! "), None);
    }

    #[test]
    fn stop_words_go_unless_they_are_all_there_is() {
        assert_eq!(
            match_expression("memory safety in a systems language").as_deref(),
            Some("\"memory\" OR \"safety\" OR \"systems\" OR \"language\"")
        );
        assert_eq!(
            match_expression("to be or not").as_deref(),
            Some("\"to\" OR \"be\" OR \"or\" OR \"not\"")
        );
    }
}
