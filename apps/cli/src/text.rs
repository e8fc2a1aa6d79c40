//! How the CLI decides on colour.

use std::sync::atomic::{AtomicBool, Ordering};

/// `NO_COLOR` was set (captured once at start-up from the environment LLF read).
static NO_COLOR: AtomicBool = AtomicBool::new(false);

/// Records whether the user asked for no colour (`NO_COLOR`, <https://no-color.org>).
pub(crate) fn set_no_color(no_color: bool) {
    NO_COLOR.store(no_color, Ordering::Relaxed);
}

/// Whether to colour output written to a stream that is (`terminal`) or is not a terminal:
/// never when it is not one, nor when the user asked for no colour.
pub(crate) fn color(terminal: bool) -> bool {
    terminal && !NO_COLOR.load(Ordering::Relaxed)
}
