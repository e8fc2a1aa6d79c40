//! Where the real components installed by `scripts/setup.sh` are. Tests fail with a clear message
//! when one is missing; they never skip.

use std::path::PathBuf;

fn cache() -> PathBuf {
    std::env::var_os("LLF_DEV_CACHE")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache/llf-dev")))
        .expect("neither LLF_DEV_CACHE nor HOME is set")
}

fn locate(var: &str, rel: &str) -> PathBuf {
    let path = std::env::var_os(var)
        .map(PathBuf::from)
        .unwrap_or_else(|| cache().join(rel));
    assert!(
        path.exists(),
        "{} is missing: run scripts/setup.sh (or source its env.sh)",
        path.display()
    );
    path
}

/// The `llama-server` binary.
pub fn llama_server() -> PathBuf {
    locate("LLF_LLAMA_SERVER", "bin/llama-server")
}

/// The SmolLM2-135M-Instruct Q4_1 GGUF model.
pub fn model() -> PathBuf {
    locate("LLF_TEST_MODEL", "models/SmolLM2-135M-Instruct.Q4_1.gguf")
}

/// The Python of the setup script's venv (with `cryptography`, `faiss-cpu`, `numpy`), for tests
/// that make files the way the Python version of LLF did.
pub fn python() -> PathBuf {
    let python = cache().join("venv/bin/python");
    assert!(
        python.is_file(),
        "the setup venv is missing at {}: run scripts/setup.sh",
        python.display()
    );
    python
}

/// A free TCP port on loopback (bound then released; good enough for tests).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("no free loopback port")
}

/// Kills every server recorded in the state files under `state_dir/servers/` (the layout of
/// `llf-runtime`), after checking that the pid still runs llama-server. Tests stop their servers
/// themselves; this is the safety net that keeps a *failing* test from leaving one behind.
pub fn reap_servers(state_dir: &std::path::Path) {
    let Ok(entries) = std::fs::read_dir(state_dir.join("servers")) else {
        return;
    };
    for entry in entries.flatten() {
        let Ok(text) = std::fs::read_to_string(entry.path()) else {
            continue;
        };
        let Some(pid) = serde_json::from_str::<serde_json::Value>(&text)
            .ok()
            .and_then(|v| v["pid"].as_u64())
        else {
            continue;
        };
        let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
        if String::from_utf8_lossy(&cmdline).contains("llama-server") {
            let _ = std::process::Command::new("kill")
                .args(["-9", &pid.to_string()])
                .status();
        }
    }
}

/// A temporary `LLF_HOME` whose servers are killed when it is dropped (see [`reap_servers`]).
pub struct TestHome {
    dir: tempfile::TempDir,
}

impl TestHome {
    /// A new empty home.
    pub fn new() -> Self {
        Self {
            dir: tempfile::tempdir().expect("temp dir"),
        }
    }

    /// Its path.
    pub fn path(&self) -> &std::path::Path {
        self.dir.path()
    }
}

impl Default for TestHome {
    fn default() -> Self {
        Self::new()
    }
}

impl Drop for TestHome {
    fn drop(&mut self) {
        reap_servers(&self.dir.path().join("state"));
    }
}
