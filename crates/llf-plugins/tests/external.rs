//! External plugins as real sandboxed processes: the Python runner, a plugin in another language
//! (a shell script), restart with back-off after a crash, and a plugin that does not load.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failed test

use std::path::Path;
use std::time::Duration;

use llf_config::schema::ToolSandboxSettings;
use llf_core::chat::ChatMessage;
use llf_plugins::{
    Decision, ExternalPlugin, Hook, Launch, Manifest, Plugin, PluginError, ProcessProblem,
};
use llf_tools::sandbox::Sandbox;

fn write(dir: &Path, name: &str, text: &str) {
    std::fs::create_dir_all(dir).unwrap();
    std::fs::write(dir.join(name), text).unwrap();
}

async fn start(root: &Path, dir: &Path) -> llf_plugins::Result<ExternalPlugin> {
    let sandbox = Sandbox::new(ToolSandboxSettings::default(), root.join("runs"));
    ExternalPlugin::start(Launch {
        manifest: Manifest::load(dir)?,
        dir: dir.to_owned(),
        home: root.join("home"),
        sandbox,
    })
    .await
}

const CRASHER: &str = r#"
import os
from llf.plugin_system import Plugin, PluginMetadata, PluginHook

class PluginClass(Plugin):
    def get_metadata(self):
        return PluginMetadata(name="crasher", version="0.1", description="", author="",
                              dependencies=[], hooks=[PluginHook.PRE_REQUEST])

    def pre_request(self, messages, **kwargs):
        if messages[-1]["content"] == "crash":
            os._exit(3)
        return [dict(m, content=m["content"] + "!") for m in messages]
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crashed_process_is_restarted_after_a_back_off() {
    let root = tempfile::tempdir().unwrap();
    let dir = root.path().join("crasher");
    write(
        &dir,
        "plugin.json",
        r#"{"name": "crasher", "version": "0.1"}"#,
    );
    write(&dir, "plugin.py", CRASHER);
    let plugin = start(root.path(), &dir).await.unwrap();
    assert_eq!(plugin.hooks(), [Hook::PreRequest]);
    assert!(!plugin.wants(Hook::OnMessage));
    let first_pid = plugin.pid().await.unwrap();

    let ok = plugin
        .pre_request(&[ChatMessage::user("hi")])
        .await
        .unwrap();
    assert_eq!(ok, Decision::Replace(vec![ChatMessage::user("hi!")]));

    let crashed = plugin
        .pre_request(&[ChatMessage::user("crash")])
        .await
        .unwrap_err();
    let crashed = crashed.downcast::<PluginError>().unwrap();
    assert!(
        matches!(
            *crashed,
            PluginError::Process {
                problem: ProcessProblem::Exited,
                ..
            }
        ),
        "{crashed:?}"
    );
    // Within the back-off, calls fail fast instead of starting a process per call.
    let waiting = plugin
        .pre_request(&[ChatMessage::user("hi")])
        .await
        .unwrap_err();
    let waiting = waiting.downcast::<PluginError>().unwrap();
    assert!(
        matches!(
            *waiting,
            PluginError::Process {
                problem: ProcessProblem::Restarting(_),
                ..
            }
        ),
        "{waiting:?}"
    );
    assert_eq!(plugin.restarts(), 0);

    tokio::time::sleep(Duration::from_millis(150)).await;
    let again = plugin
        .pre_request(&[ChatMessage::user("back")])
        .await
        .unwrap();
    assert_eq!(again, Decision::Replace(vec![ChatMessage::user("back!")]));
    assert_eq!(plugin.restarts(), 1);
    assert_ne!(plugin.pid().await.unwrap(), first_pid);
    plugin.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plugin_in_another_language_speaks_the_same_protocol() {
    let root = tempfile::tempdir().unwrap();
    let dir = root.path().join("shout");
    write(
        &dir,
        "plugin.json",
        r#"{"name": "shout", "version": "1", "command": ["sh", "plugin.sh"]}"#,
    );
    write(
        &dir,
        "plugin.sh",
        r#"echo '{"ready": true, "name": "shout", "version": "1", "hooks": ["post_request"]}'
while IFS= read -r line; do
  id=$(printf '%s' "$line" | sed 's/^{"id":\([0-9]*\),.*/\1/')
  printf '{"id": %s, "decision": "replace", "value": "HELLO FROM SH"}\n' "$id"
done
"#,
    );
    let plugin = start(root.path(), &dir).await.unwrap();
    assert_eq!(plugin.hooks(), [Hook::PostRequest]);
    let d = plugin.post_request("hello").await.unwrap();
    assert_eq!(d, Decision::Replace("HELLO FROM SH".to_owned()));
    plugin.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plugin_that_does_not_load_says_why() {
    let root = tempfile::tempdir().unwrap();
    let dir = root.path().join("broken");
    write(&dir, "plugin.json", r#"{"name": "broken"}"#);
    write(&dir, "plugin.py", "class NotIt: pass\n");
    let err = start(root.path(), &dir).await.unwrap_err();
    assert!(
        matches!(&err, PluginError::Process { problem: ProcessProblem::LoadFailed(why), .. }
            if why.contains("no PluginClass")),
        "{err:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plugin_has_no_network_unless_its_manifest_asks() {
    let root = tempfile::tempdir().unwrap();
    let dir = root.path().join("net");
    write(&dir, "plugin.json", r#"{"name": "net"}"#);
    write(
        &dir,
        "plugin.py",
        r#"
import socket
from llf.plugin_system import Plugin

class PluginClass(Plugin):
    def post_request(self, response, **kwargs):
        try:
            socket.create_connection(("127.0.0.1", int(response)), timeout=2).close()
            return "connected"
        except OSError:
            return "no network"
"#,
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port().to_string();
    let plugin = start(root.path(), &dir).await.unwrap();
    let d = plugin.post_request(&port).await.unwrap();
    let sandbox = Sandbox::new(ToolSandboxSettings::default(), root.path().join("runs"));
    let expected = if sandbox.isolation().await.namespaces {
        "no network"
    } else {
        "connected"
    };
    assert_eq!(d, Decision::Replace(expected.to_owned()));
    plugin.stop().await;
}
