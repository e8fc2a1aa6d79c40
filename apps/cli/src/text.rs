//! How the CLI decides on colour.

/// Whether to colour output written to a stream that is (`terminal`) or is not a terminal:
/// never when it is not one, nor when `NO_COLOR` is set (<https://no-color.org>).
pub(crate) fn color(terminal: bool) -> bool {
    terminal && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}
