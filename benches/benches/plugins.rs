//! Plugin hook overhead and usage recording:
//! - a `pre_request` call through `PluginHost` with one in-process no-op plugin, and with one
//!   external no-op plugin (a Python-era `plugin.py` in the sandbox), against a host without
//!   plugins;
//! - recording one usage event (with a tool call) against a bare one-row SQLite insert in the same
//!   WAL settings: the write itself, and what a chat turn pays (`Llf::record_usage`, which hands
//!   the write to a background task).
//!
//! Run: `cargo bench -p llf-benches --bench plugins`
#![allow(missing_docs, clippy::unwrap_used, clippy::print_stdout)] // bench harness code

use std::sync::Arc;
use std::time::Duration;

use llf_analytics::{Analytics, ToolUse, UsageEvent};
use llf_benches::{measure, report};
use llf_config::schema::ToolSandboxSettings;
use llf_core::chat::ChatMessage;
use llf_plugins::{ExternalPlugin, Launch, Manifest, Plugin, PluginHost, PluginSettings};
use llf_tools::sandbox::Sandbox;

struct NoOp;

#[async_trait::async_trait]
impl Plugin for NoOp {
    fn name(&self) -> &str {
        "noop"
    }
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let messages = vec![
        ChatMessage::system("Be brief."),
        ChatMessage::user("What is the capital of France?"),
    ];
    let empty = PluginHost::new();
    let baseline = measure(20_000, || {
        rt.block_on(empty.pre_request(messages.clone())).unwrap()
    });

    let mut inproc = PluginHost::new();
    inproc.add(Arc::new(NoOp), PluginSettings::default());
    let llf = measure(20_000, || {
        rt.block_on(inproc.pre_request(messages.clone())).unwrap()
    });
    report("pre_request, one in-process no-op plugin", baseline, llf);

    let dir = tempfile::tempdir().unwrap();
    let plugin_dir = dir.path().join("noop");
    std::fs::create_dir_all(&plugin_dir).unwrap();
    std::fs::write(plugin_dir.join("plugin.json"), r#"{"name": "noop"}"#).unwrap();
    std::fs::write(
        plugin_dir.join("plugin.py"),
        "from llf.plugin_system import Plugin\n\nclass PluginClass(Plugin):\n    def pre_request(self, messages, **kwargs):\n        return messages\n",
    )
    .unwrap();
    let external = rt
        .block_on(ExternalPlugin::start(Launch {
            manifest: Manifest::load(&plugin_dir).unwrap(),
            dir: plugin_dir,
            home: dir.path().join("home"),
            sandbox: Sandbox::new(ToolSandboxSettings::default(), dir.path().join("runs")),
        }))
        .unwrap();
    let external = Arc::new(external);
    let mut host = PluginHost::new();
    host.add(external.clone(), PluginSettings::default());
    let llf = measure(2_000, || {
        rt.block_on(host.pre_request(messages.clone())).unwrap()
    });
    report("pre_request, one external no-op plugin", baseline, llf);
    rt.block_on(external.stop());

    let db = rt
        .block_on(Analytics::open(dir.path().join("analytics.db")))
        .unwrap();
    let bare = rt
        .block_on(sqlx::SqlitePool::connect_with(
            sqlx::sqlite::SqliteConnectOptions::new()
                .filename(dir.path().join("bare.db"))
                .create_if_missing(true)
                .journal_mode(sqlx::sqlite::SqliteJournalMode::Wal)
                .synchronous(sqlx::sqlite::SqliteSynchronous::Normal),
        ))
        .unwrap();
    rt.block_on(sqlx::query("CREATE TABLE t (x INTEGER)").execute(&bare))
        .unwrap();
    let baseline = measure(2_000, || {
        rt.block_on(sqlx::query("INSERT INTO t (x) VALUES (1)").execute(&bare))
            .unwrap()
    });
    let event = UsageEvent {
        at: chrono::Utc::now(),
        conversation: Some("01J0000000000000000000000".into()),
        model: "SmolLM2-135M-Instruct.Q4_1".into(),
        endpoint: "default".into(),
        prompt_tokens: 120,
        completion_tokens: 40,
        time_to_first_token: Some(Duration::from_millis(80)),
        total: Duration::from_millis(900),
        tokens_per_second: 45.0,
        tools: vec![ToolUse {
            name: "calculator".into(),
            success: true,
            duration: Duration::from_millis(12),
        }],
        error: None,
        cost: 0.0,
    };
    let llf = measure(2_000, || rt.block_on(db.record(&event)).unwrap());
    report("record a usage event (the write itself)", baseline, llf);

    // What a turn pays: `Llf::record_usage` hands the event to a background write.
    let home = dir.path().join("home");
    let file = llf_config::ConfigFile::from_value(
        home.join("config.json"),
        serde_json::json!({}),
        false,
        &llf_config::Environment::with_home(&home),
    )
    .unwrap();
    let app = llf::Llf::new(file);
    let _guard = rt.enter();
    rt.block_on(app.flush_usage());
    let turn = measure(2_000, || app.record_usage(event.clone()));
    rt.block_on(app.flush_usage());
    report("record a usage event on the turn's path", baseline, turn);
}
