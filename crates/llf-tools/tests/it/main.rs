//! Integration tests of llf-tools with real subprocesses.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failed test

mod builtins;
mod mcp;
mod policy;
mod sandbox;
mod scaffold;
mod state_files;
mod validation;

use std::path::{Path, PathBuf};

use llf_config::schema::ToolSandboxSettings;
use llf_core::tool::{ToolInvocation, ToolOutcome};
use llf_tools::{ToolRegistry, ToolRegistryBuilder, ToolSet};
use serde_json::{Value, json};

/// A user tools directory in a temp dir, with helpers to add tools.
pub(crate) struct Bench {
    pub(crate) dir: tempfile::TempDir,
}

impl Bench {
    pub(crate) fn new() -> Self {
        Self {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    pub(crate) fn tools_dir(&self) -> PathBuf {
        self.dir.path().join("tools")
    }

    pub(crate) fn work(&self) -> PathBuf {
        self.dir.path().join("work")
    }

    /// Adds an enabled tool whose program is `script` (with a shebang), taking `params` (a JSON
    /// Schema properties object) and extra config keys.
    pub(crate) fn add(&self, name: &str, script: &str, params: Value, extra: Value) -> PathBuf {
        let dir = self.tools_dir().join(name);
        std::fs::create_dir_all(&dir).unwrap();
        let mut config = json!({
            "name": name, "type": "llm_invokable", "description": format!("test tool {name}"),
            "version": "1", "author": "tests", "metadata": {"enabled": true}
        });
        for (k, v) in extra.as_object().unwrap() {
            config[k] = v.clone();
        }
        std::fs::write(dir.join("config.json"), config.to_string()).unwrap();
        let def = json!({"type": "function", "function": {
            "name": name, "description": format!("test tool {name}"),
            "parameters": {"type": "object", "properties": params}
        }});
        std::fs::write(dir.join("tool_definition.json"), def.to_string()).unwrap();
        let run = dir.join("run");
        std::fs::write(&run, script).unwrap();
        set_mode(&run, 0o755);
        dir
    }

    pub(crate) fn set(&self) -> ToolSet {
        ToolSet::load(&self.tools_dir(), Some(&self.builtin())).unwrap()
    }

    /// The embedded built-in tools, unpacked in this bench's home.
    pub(crate) fn builtin(&self) -> PathBuf {
        llf_tools::builtin::install(&self.dir.path().join("builtin")).unwrap()
    }

    /// A sandbox with the default limits, working under this bench's home.
    pub(crate) fn sandbox(&self) -> llf_tools::sandbox::Sandbox {
        llf_tools::sandbox::Sandbox::new(ToolSandboxSettings::default(), self.work())
    }

    pub(crate) fn builder(&self) -> ToolRegistryBuilder {
        self.builder_with(ToolSandboxSettings::default())
    }

    pub(crate) fn builder_with(&self, s: ToolSandboxSettings) -> ToolRegistryBuilder {
        ToolRegistry::builder(self.set())
            .sandbox(s)
            .work_root(self.work())
    }

    pub(crate) fn registry(&self) -> ToolRegistry {
        self.builder().build()
    }
}

pub(crate) fn set_mode(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

pub(crate) fn call(name: &str, args: Value) -> ToolInvocation {
    ToolInvocation {
        call_id: format!("call-{name}"),
        name: name.into(),
        arguments: args.to_string(),
    }
}

pub(crate) fn error_of(outcome: &ToolOutcome) -> String {
    assert!(!outcome.success, "expected a failure, got {outcome:?}");
    outcome.content["error"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}
