//! Keys typed while an answer streams are kept for the next prompt but not echoed into the answer.

use std::io::IsTerminal;

use nix::sys::termios::{self, LocalFlags, SetArg, Termios};

/// Turns the terminal's echo off until dropped (a panic's unwinding restores it too). Does
/// nothing when stdin is not a terminal. The typed keys stay in the terminal's input queue, and
/// the line editor reads them at the next prompt (type-ahead).
pub(super) struct NoEcho {
    saved: Option<Termios>,
}

impl NoEcho {
    pub(super) fn start() -> Self {
        let stdin = std::io::stdin();
        if !stdin.is_terminal() {
            return Self { saved: None };
        }
        let Ok(saved) = termios::tcgetattr(&stdin) else {
            return Self { saved: None };
        };
        let mut quiet = saved.clone();
        quiet
            .local_flags
            .remove(LocalFlags::ECHO | LocalFlags::ECHONL);
        // TCSANOW: never wait for or discard queued input; the type-ahead is what we keep.
        if termios::tcsetattr(&stdin, SetArg::TCSANOW, &quiet).is_err() {
            return Self { saved: None };
        }
        Self { saved: Some(saved) }
    }
}

impl Drop for NoEcho {
    fn drop(&mut self) {
        if let Some(saved) = &self.saved {
            let _ = termios::tcsetattr(std::io::stdin(), SetArg::TCSANOW, saved);
        }
    }
}
