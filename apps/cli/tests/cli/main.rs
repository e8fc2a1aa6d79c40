//! The `llf` binary, driven as a user would: one integration test binary with a module per command.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failed test

mod chat;
mod chat_features;
mod chat_input;
mod config;
mod conversation;
mod datastore;
mod datastore_robust;
mod import_and_damage;
mod memory;
mod misc;
mod model;
mod plugin;
mod repl_terminal;
mod robustness;
mod saved_chat;
mod secrets;
mod serve;
mod template;
mod tool;
mod trash;

use std::path::{Path, PathBuf};

use assert_cmd::Command;

/// An isolated LLF home: every test gets its own `LLF_HOME` and `HOME`, and none of the developer's
/// environment leaks in.
pub(crate) struct Sandbox {
    pub(crate) dir: tempfile::TempDir,
}

impl Drop for Sandbox {
    // A failing test must not leave a llama-server running.
    fn drop(&mut self) {
        llf_testkit::components::reap_servers(&self.home().join("state"));
    }
}

impl Sandbox {
    pub(crate) fn new() -> Self {
        Self {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    pub(crate) fn home(&self) -> PathBuf {
        self.dir.path().join("llf")
    }

    pub(crate) fn llf(&self) -> Command {
        let mut cmd = Command::cargo_bin("llf").unwrap();
        cmd.env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", self.dir.path())
            .env("LLF_HOME", self.home())
            .env("LLF_DEV_CACHE", self.dir.path().join("no-dev-cache"));
        cmd
    }

    /// The same isolated `llf` as [`Sandbox::llf`], as a `std` command that can run in the
    /// background.
    pub(crate) fn std_llf(&self) -> std::process::Command {
        let mut cmd = std::process::Command::new(assert_cmd::cargo::cargo_bin("llf"));
        cmd.env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", self.dir.path())
            .env("LLF_HOME", self.home())
            .env("LLF_DEV_CACHE", self.dir.path().join("no-dev-cache"));
        cmd
    }

    pub(crate) fn write_config(&self, value: serde_json::Value) -> PathBuf {
        let path = self.home().join("config.json");
        std::fs::create_dir_all(self.home()).unwrap();
        std::fs::write(&path, serde_json::to_vec_pretty(&value).unwrap()).unwrap();
        path
    }

    /// Points `llm_endpoint` at a (fake) OpenAI-compatible server, with no local server.
    pub(crate) fn remote_config(&self, base_url: &str, system_prompt: Option<&str>) {
        let mut cfg = serde_json::json!({
            "llm_endpoint": {"api_base_url": base_url, "model_name": "fake-model", "default_local_server": null,
                             "request_timeout": 30, "max_retries": 0},
            "local_llm_servers": []
        });
        if let Some(p) = system_prompt {
            cfg["prompt"] = serde_json::json!({"system_prompt": p});
        }
        self.write_config(cfg);
    }

    pub(crate) fn read_config(&self) -> serde_json::Value {
        read_json(&self.home().join("config.json"))
    }
}

pub(crate) fn read_json(path: &Path) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

pub(crate) fn stdout_of(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

pub(crate) fn stderr_of(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// A tokio runtime for tests that run a fake server (or open a database) beside the binary.
pub(crate) fn tokio_rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap()
}
