//! Turning user text into a safe FTS5 query, and measuring how much of it a memory covers.
//!
//! Users type FTS5 syntax by accident (`don't`, `C++`, `"unbalanced`, `-flag`, `(a`) and the
//! chat passes whole sentences, so the text is never handed to `MATCH` as is: its words are
//! extracted and each is quoted as a phrase, which FTS5 reads literally. A word followed by `*`
//! stays a prefix search. Operators (`AND`, `OR`, `NOT`, `NEAR`) become ordinary words, and common
//! English words are dropped when the text has others.

use crate::types::MatchMode;
use crate::{MemoryError, Result};

/// Most words taken from one text: a pasted page must not become a thousand-term query.
const MAX_TERMS: usize = 32;

/// English words too common to say what a text is about. They are left out of a query that has
/// other words: they would match most memories, drown the informative words, and `AND`/`OR`/`NOT`
/// typed as operators would otherwise be required as words.
const STOP_WORDS: &[&str] = &[
    "a", "about", "all", "am", "an", "and", "any", "are", "as", "at", "be", "been", "but", "by",
    "can", "could", "did", "do", "does", "for", "from", "had", "has", "have", "he", "her", "him",
    "his", "how", "i", "if", "in", "into", "is", "it", "its", "me", "my", "no", "not", "of", "on",
    "or", "our", "she", "should", "so", "some", "that", "the", "their", "them", "then", "there",
    "these", "they", "this", "to", "us", "was", "we", "were", "what", "when", "where", "which",
    "who", "why", "will", "with", "would", "you", "your",
];

/// One word of a query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Term {
    pub(crate) word: String,
    pub(crate) prefix: bool,
}

/// A parsed search text: the FTS5 expression and its words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Parsed {
    pub(crate) expr: String,
    pub(crate) terms: Vec<Term>,
}

/// Lower-case runs of letters and digits, each with whether a `*` follows it.
fn words(text: &str) -> Vec<Term> {
    let mut out: Vec<Term> = Vec::new();
    let mut word = String::new();
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if !c.is_alphanumeric() {
            continue;
        }
        word.extend(c.to_lowercase());
        if chars.peek().is_none_or(|n| !n.is_alphanumeric()) {
            let term = Term {
                word: std::mem::take(&mut word),
                prefix: chars.peek() == Some(&'*'),
            };
            if !out.contains(&term) {
                out.push(term);
            }
        }
    }
    out
}

/// The FTS5 expression for `text`; an error when it holds no word.
pub(crate) fn parse(text: &str, mode: MatchMode) -> Result<Parsed> {
    let mut terms = words(text);
    if terms.iter().any(|t| !is_stop_word(t)) {
        terms.retain(|t| !is_stop_word(t));
    }
    terms.truncate(MAX_TERMS);
    if terms.is_empty() {
        return Err(MemoryError::EmptyQuery(text.to_owned()));
    }
    let quoted: Vec<String> = terms
        .iter()
        .map(|t| {
            let star = if t.prefix { "*" } else { "" };
            format!("\"{}\"{star}", t.word)
        })
        .collect();
    let joiner = match mode {
        MatchMode::All => " ",
        MatchMode::Any => " OR ",
    };
    Ok(Parsed {
        expr: quoted.join(joiner),
        terms,
    })
}

fn is_stop_word(t: &Term) -> bool {
    !t.prefix && STOP_WORDS.binary_search(&t.word.as_str()).is_ok()
}

/// Share (0..1) of the query's terms found in `content`. A term matches a word equal to it, or
/// one that extends it or that it extends by a short suffix — close to what the porter stemmer
/// of the index does (`run` ~ `runs`), without running it.
pub(crate) fn coverage(terms: &[Term], content: &str) -> f64 {
    if terms.is_empty() {
        return 0.0;
    }
    let doc = words(content);
    let found = terms
        .iter()
        .filter(|t| {
            doc.iter().any(|d| {
                let (d, w) = (d.word.as_str(), t.word.as_str());
                d == w
                    || (t.prefix && d.starts_with(w))
                    || (w.len() >= 3 && d.starts_with(w) && d.len() <= w.len() + 3)
                    || (d.len() >= 3 && w.starts_with(d) && w.len() <= d.len() + 3)
            })
        })
        .count();
    found as f64 / terms.len() as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stop_words_are_sorted() {
        assert!(STOP_WORDS.windows(2).all(|w| w[0] < w[1]));
    }

    #[test]
    fn quotes_words_and_drops_syntax() {
        let p = |t, m| parse(t, m).unwrap().expr;
        assert_eq!(
            p(r#"say "hi" AND (bye -x"#, MatchMode::All),
            r#""say" "hi" "bye" "x""#
        );
        assert_eq!(p("rust* lang", MatchMode::Any), r#""rust"* OR "lang""#);
        assert_eq!(p("Über ÜBER", MatchMode::All), r#""über""#);
        assert_eq!(
            p("what is the deploy day", MatchMode::Any),
            r#""deploy" OR "day""#
        );
        assert_eq!(
            p("what is the", MatchMode::Any),
            r#""what" OR "is" OR "the""#
        );
        assert!(matches!(
            parse("🙂 ** ( ) \"", MatchMode::All),
            Err(MemoryError::EmptyQuery(_))
        ));
    }

    #[test]
    fn coverage_counts_query_words_found() {
        let q = parse("what tea does Alice like", MatchMode::Any).unwrap();
        assert_eq!(q.terms.len(), 3);
        let c = coverage(&q.terms, "Alice likes green tea");
        assert!((c - 1.0).abs() < 1e-9, "{c}");
        let c = coverage(&q.terms, "Bob drinks coffee");
        assert_eq!(c, 0.0);
    }
}
