//! Text shown to people: shortening to a width, and marking matched words in search snippets.

use std::borrow::Cow;

/// `text` cut to at most `max_chars` characters (Unicode scalar values), ending in `…` when it
/// was cut; the ellipsis counts towards `max_chars`. Text that fits is returned as is.
///
/// ```
/// use llf_core::text::truncate;
/// assert_eq!(truncate("Grüße aus Köln", 8), "Grüße a…");
/// assert_eq!(truncate("short", 8), "short");
/// ```
pub fn truncate(text: &str, max_chars: usize) -> Cow<'_, str> {
    match text.char_indices().nth(max_chars) {
        None => Cow::Borrowed(text),
        Some(_) if max_chars == 0 => Cow::Borrowed(""),
        Some(_) => {
            let mut cut: String = text.chars().take(max_chars - 1).collect();
            cut.push('…');
            Cow::Owned(cut)
        }
    }
}

/// The markers put around matched words in search snippets (`llf-history` and `llf-memory`).
///
/// A terminal frontend passes ANSI codes (`Highlight::new("\x1b[1m", "\x1b[0m")`), a web page
/// HTML tags (after escaping), and plain output [`Highlight::none`]. The default is brackets,
/// readable everywhere: `the [deploy] runs`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Highlight {
    /// Put before a match.
    pub open: String,
    /// Put after a match.
    pub close: String,
}

impl Highlight {
    /// Matches marked with `open` and `close`.
    pub fn new(open: impl Into<String>, close: impl Into<String>) -> Self {
        Self {
            open: open.into(),
            close: close.into(),
        }
    }

    /// Matches not marked at all.
    pub fn none() -> Self {
        Self::new("", "")
    }

    /// Matches in `[` `]`, the default.
    pub fn brackets() -> Self {
        Self::new("[", "]")
    }
}

impl Default for Highlight {
    fn default() -> Self {
        Self::brackets()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn truncate_counts_characters_and_includes_the_ellipsis() {
        assert_eq!(truncate("abcdef", 6), "abcdef");
        assert_eq!(truncate("abcdefg", 6), "abcde…");
        assert_eq!(truncate("abcdefg", 6).chars().count(), 6);
        assert_eq!(truncate("ééééé", 3), "éé…");
        assert_eq!(truncate("ab", 1), "…");
        assert_eq!(truncate("ab", 0), "");
        assert_eq!(truncate("", 0), "");
        assert!(matches!(truncate("fits", 10), Cow::Borrowed(_)));
    }

    #[test]
    fn default_highlight_is_brackets() {
        assert_eq!(Highlight::default(), Highlight::new("[", "]"));
        assert_eq!(Highlight::none().open, "");
    }
}
