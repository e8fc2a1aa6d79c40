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

/// A free TCP port on loopback (bound then released; good enough for tests).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("no free loopback port")
}
