//! Process-level operations on llama-server: spawning it detached, checking that a pid is still
//! *our* server, and stopping it.

use std::path::{Path, PathBuf};
use std::time::Duration;

use nix::sys::signal::{self, Signal};
use nix::unistd::Pid;

use crate::{Result, RuntimeError};

/// Resolves a bare executable name on `PATH`.
pub(super) fn find_executable(path: &Path) -> Result<PathBuf> {
    if path.components().count() > 1 {
        return if path.is_file() {
            Ok(path.to_owned())
        } else {
            Err(RuntimeError::ServerBinaryMissing(path.to_owned()))
        };
    }
    std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default())
        .map(|dir| dir.join(path))
        .find(|p| p.is_file())
        .ok_or_else(|| RuntimeError::ServerBinaryMissing(path.to_owned()))
}

/// True while `pid` is a live (non-zombie) process whose command line mentions `needle`; guards
/// against a recycled pid being mistaken for our server.
pub(super) fn is_alive(pid: u32, needle: &str) -> bool {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return false;
    };
    // Field 3, after the parenthesised command name, is the state; Z and X are dead.
    let state = stat
        .rsplit_once(')')
        .and_then(|(_, rest)| rest.split_whitespace().next());
    if matches!(state, Some("Z") | Some("X") | None) {
        return false;
    }
    std::fs::read(format!("/proc/{pid}/cmdline"))
        .map(|c| String::from_utf8_lossy(&c).contains(needle))
        .unwrap_or(false)
}

/// Sends SIGTERM, waits up to `grace` for the process to go, then sends SIGKILL.
/// Returns true when SIGKILL was needed.
pub(super) async fn terminate(pid: u32, needle: &str, grace: Duration) -> bool {
    let Ok(raw) = i32::try_from(pid) else {
        return false;
    };
    let target = Pid::from_raw(raw);
    if signal::kill(target, Signal::SIGTERM).is_err() {
        return false;
    }
    let deadline = tokio::time::Instant::now() + grace;
    while tokio::time::Instant::now() < deadline {
        if !is_alive(pid, needle) {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let _ = signal::kill(target, Signal::SIGKILL);
    for _ in 0..100 {
        if !is_alive(pid, needle) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    true
}

/// The last `n` lines of a log file.
pub(super) fn tail(path: &Path, n: usize) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

/// Whether something already listens on `host:port`.
pub(super) fn port_in_use(host: &str, port: u16) -> bool {
    std::net::TcpListener::bind((host, port)).is_err()
}
