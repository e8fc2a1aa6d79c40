//! Small text helpers for what the CLI prints.

/// `s` cut to at most `max` characters, with an ellipsis when cut.
pub(crate) fn truncate(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_owned()
    } else {
        let mut t: String = s.chars().take(max.saturating_sub(1)).collect();
        t.push('…');
        t
    }
}

/// Whether to colour output written to a stream that is (`terminal`) or is not a terminal:
/// never when it is not one, nor when `NO_COLOR` is set (<https://no-color.org>).
pub(crate) fn color(terminal: bool) -> bool {
    terminal && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}
