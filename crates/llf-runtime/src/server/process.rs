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

/// The last `n` lines of a log file from byte `from` on (what one start of a server wrote).
pub(super) fn tail(path: &Path, from: u64, n: usize) -> String {
    use std::io::{Read, Seek, SeekFrom};
    let mut bytes = Vec::new();
    if let Ok(mut f) = std::fs::File::open(path) {
        let _ = f
            .seek(SeekFrom::Start(from))
            .and_then(|_| f.read_to_end(&mut bytes));
    }
    let text = String::from_utf8_lossy(&bytes);
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

/// Whether something already listens on `host:port`.
pub(super) fn port_in_use(host: &str, port: u16) -> bool {
    std::net::TcpListener::bind((host, port)).is_err()
}

/// Threads for generation when the config names none: the physical cores (hyper-threads share a
/// core's arithmetic units), but no more than the CPUs this process may use
/// (`available_parallelism` honours affinity and cgroup quotas, which `/proc/cpuinfo` does not
/// show) minus those other work keeps busy (the one-minute load average). llama.cpp's threads
/// meet at a barrier after every operation, so one preempted thread stalls them all: on a
/// 2-core machine with a load of 12, 2 threads generated 0.6 tokens/s and 1 thread 17.
pub(super) fn default_threads() -> usize {
    let allowed = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
    let physical = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|text| physical_cores(&text))
        .unwrap_or(allowed);
    let busy = std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|text| busy_cpus(&text))
        .unwrap_or(0);
    physical.min(allowed.saturating_sub(busy)).max(1)
}

/// CPUs other work keeps busy: the one-minute load average of a `/proc/loadavg`, rounded.
pub(super) fn busy_cpus(loadavg: &str) -> Option<usize> {
    let load: f64 = loadavg.split_whitespace().next()?.parse().ok()?;
    (load.is_finite() && load >= 0.0).then(|| load.round() as usize)
}

/// Distinct (package, core) pairs in a `/proc/cpuinfo`; `None` when it does not say.
pub(super) fn physical_cores(cpuinfo: &str) -> Option<usize> {
    let mut cores = std::collections::HashSet::new();
    let mut package = "";
    for line in cpuinfo.lines() {
        let Some((key, value)) = line.split_once(':') else {
            continue;
        };
        match key.trim() {
            "physical id" => package = value.trim(),
            "core id" => {
                cores.insert((package.to_owned(), value.trim().to_owned()));
            }
            _ => {}
        }
    }
    (!cores.is_empty()).then_some(cores.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn physical_cores_count_cores_not_hyperthreads() {
        let two_cores_four_threads = "processor: 0\nphysical id: 0\ncore id: 0\n\n\
            processor: 1\nphysical id: 0\ncore id: 1\n\n\
            processor: 2\nphysical id: 0\ncore id: 0\n\n\
            processor: 3\nphysical id: 0\ncore id: 1\n";
        assert_eq!(physical_cores(two_cores_four_threads), Some(2));
        let two_packages = "physical id: 0\ncore id: 0\n\nphysical id: 1\ncore id: 0\n";
        assert_eq!(physical_cores(two_packages), Some(2));
        assert_eq!(physical_cores("processor: 0\nBogoMIPS: 1\n"), None);
        assert_eq!(busy_cpus("11.70 12.12 10.76 12/189 28737\n"), Some(12));
        assert_eq!(busy_cpus("0.20 0.1 0.1 1/100 1"), Some(0));
        assert_eq!(busy_cpus(""), None);
        let threads = default_threads();
        assert!(threads >= 1);
        assert!(threads <= std::thread::available_parallelism().unwrap().get());
    }
}
