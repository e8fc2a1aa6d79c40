//! Plugins through the real chat path: the shipped plugin directories (the Python-era
//! `message_logger` unchanged, the redactor, the tool guard) as sandboxed processes, and
//! in-process plugins that rewrite, skip, stop, fail, panic or hang — against the scripted fake
//! endpoint (to check exactly what the model received), and one turn with the real model.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use llf::chat::{ChatOptions, TurnEvent};
use llf::core::chat::ChatMessage;
use llf::core::tool::{ToolExecutor, ToolInvocation, ToolOutcome, ToolSpec};
use llf::plugins::{Decision, Hook, HookResult, Plugin, PluginError, PluginSettings};
use llf_testkit::{FakeServer, Reply, configs};
use serde_json::json;

use crate::{Home, events, tokens};

/// The plugin directories shipped with examples/plugin-basics.
fn shipped(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../examples/plugin-basics/plugins")
        .join(name)
}

/// A home whose directories the sandbox's user (`nobody`, when tests run as root) can reach, as
/// a user's home directory is: plugin processes keep their files in their home under it.
fn reachable(home: &Home) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(home.dir.path(), std::fs::Permissions::from_mode(0o711)).unwrap();
}

fn remote_home(fake: &FakeServer) -> Home {
    let home = Home::new(configs::with(
        configs::remote(&fake.base_url()),
        json!({"prompt": {"system_prompt": "Be brief."}, "memory": {"enabled": false}}),
    ));
    reachable(&home);
    home
}

/// The user message the fake endpoint received last in request `i`.
fn sent_user_text(fake: &FakeServer, i: usize) -> String {
    let requests = fake.requests();
    let messages = requests[i].body["messages"].as_array().unwrap().clone();
    messages
        .iter()
        .rev()
        .find(|m| m["role"] == "user")
        .and_then(|m| m["content"].as_str())
        .unwrap()
        .to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_redactor_rewrites_what_the_model_receives_and_the_history_keeps_the_original() {
    let fake = FakeServer::scripted(vec![Reply::stream_text(&["Noted", "."])]).await;
    let home = remote_home(&fake);
    home.llf.install_plugin(&shipped("redactor")).unwrap();
    let chat = home.llf.chat(ChatOptions::new()).await.unwrap();
    let text = "Mail jane.doe@example.com or call +1 (555) 123-4567 about order 42 on 2024-05-01.";
    let summary = chat.send(text).finish().await.unwrap();
    assert_eq!(summary.answer, "Noted.");

    assert_eq!(
        sent_user_text(&fake, 0),
        "Mail [email] or call [phone] about order 42 on 2024-05-01."
    );
    // The system prompt passed through untouched.
    assert_eq!(
        fake.requests()[0].body["messages"][0]["content"],
        "Be brief."
    );
    let conv = summary.conversation.unwrap();
    assert_eq!(home.path(&conv).await[1].1, text);
    home.llf.shutdown_plugins().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_design_documents_message_logger_copied_unchanged_logs_a_chat() {
    let fake = FakeServer::scripted(vec![Reply::stream_text(&["Hello", " there"])]).await;
    let home = remote_home(&fake);
    // The directory is the design document's, byte for byte, installed as a user would.
    let installed = home.llf.install_plugin(&shipped("example_logger")).unwrap();
    assert_eq!(installed.manifest.name, "message_logger");
    for f in ["plugin.py", "plugin.json"] {
        assert_eq!(
            std::fs::read(installed.dir.join(f)).unwrap(),
            std::fs::read(shipped("example_logger").join(f)).unwrap()
        );
    }
    let chat = home.llf.chat(ChatOptions::new()).await.unwrap();
    chat.send("Hi, who are you?").finish().await.unwrap();
    home.llf.shutdown_plugins().await;

    // It logs to ~/.llf/message_logs; its `~` is its own home under LLF's state directory.
    let logs = home
        .llf
        .locations()
        .plugin_home("message_logger")
        .join(".llf/message_logs");
    let files: Vec<_> = std::fs::read_dir(&logs).unwrap().collect();
    assert_eq!(files.len(), 1);
    let log = std::fs::read_to_string(files[0].as_ref().unwrap().path()).unwrap();
    let lines: Vec<&str> = log.lines().collect();
    assert_eq!(lines.len(), 3, "{log}");
    assert!(lines[0].ends_with("] SYSTEM: Framework started"), "{log}");
    assert!(lines[1].ends_with("] USER: Hi, who are you?"), "{log}");
    assert!(lines[2].ends_with("] ASSISTANT: Hello there"), "{log}");
    assert!(lines[0].starts_with('['));
}

/// Tools of the test's own, counting the calls that really ran.
#[derive(Default)]
struct Tools {
    ran: AtomicUsize,
}

#[async_trait::async_trait]
impl ToolExecutor for Tools {
    fn specs(&self) -> Vec<ToolSpec> {
        ["web_fetch", "calculator"]
            .iter()
            .map(|n| ToolSpec {
                name: (*n).to_owned(),
                description: format!("the {n} tool"),
                parameters: json!({"type": "object", "properties": {}}),
            })
            .collect()
    }

    async fn execute(&self, call: &ToolInvocation) -> ToolOutcome {
        self.ran.fetch_add(1, Ordering::SeqCst);
        ToolOutcome {
            call_id: call.call_id.clone(),
            name: call.name.clone(),
            success: true,
            content: json!({"value": 2}),
            duration: Duration::from_millis(1),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_tool_guard_answers_a_blocked_call_without_running_the_tool() {
    let fake = FakeServer::scripted(vec![
        Reply::stream_tool_calls(&[
            ("c1", "web_fetch", r#"{"url": "http://example.com"}"#),
            ("c2", "calculator", r#"{"expression": "1+1"}"#),
        ]),
        Reply::stream_text(&["Done."]),
    ])
    .await;
    let home = remote_home(&fake);
    home.llf.install_plugin(&shipped("tool_guard")).unwrap();
    let tools = Arc::new(Tools::default());
    let chat = home
        .llf
        .chat(ChatOptions::new().tool_executor(tools.clone()))
        .await
        .unwrap();
    let summary = chat.send("Fetch and add").finish().await.unwrap();
    assert_eq!(summary.answer, "Done.");
    // Only the calculator ran; web_fetch was answered by the guard.
    assert_eq!(tools.ran.load(Ordering::SeqCst), 1);
    let blocked = &summary.tool_outcomes[0];
    assert_eq!(blocked.name, "web_fetch");
    assert!(!blocked.success);
    assert_eq!(
        blocked.content["error"],
        "the tool guard does not allow web_fetch"
    );
    assert!(summary.tool_outcomes[1].success);
    // The model got the guard's answer as the tool's result.
    let second = &fake.requests()[1].body["messages"];
    let tool_messages: Vec<&serde_json::Value> = second
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["role"] == "tool")
        .collect();
    assert!(
        tool_messages[0]["content"]
            .as_str()
            .unwrap()
            .contains("the tool guard does not allow web_fetch")
    );
    home.llf.shutdown_plugins().await;
}

/// An in-process plugin that misbehaves in `pre_request` as told.
struct Faulty {
    name: &'static str,
    how: &'static str,
}

#[async_trait::async_trait]
impl Plugin for Faulty {
    fn name(&self) -> &str {
        self.name
    }

    fn wants(&self, hook: Hook) -> bool {
        hook == Hook::PreRequest
    }

    async fn pre_request(
        &self,
        _messages: &[ChatMessage],
    ) -> HookResult<Decision<Vec<ChatMessage>, String>> {
        match self.how {
            "error" => Err("the plugin broke".into()),
            "panic" => panic!("the plugin panicked"),
            "slow" => {
                tokio::time::sleep(Duration::from_secs(30)).await;
                Ok(Decision::Continue)
            }
            "stop" => Ok(Decision::Stop("not today".into())),
            "skip" => Ok(Decision::Skip("Answered by a plugin.".into())),
            _ => Ok(Decision::Continue),
        }
    }
}

/// Records the messages it is given (after the plugins before it).
#[derive(Default)]
struct Recorder {
    seen: Mutex<Vec<Vec<ChatMessage>>>,
}

#[async_trait::async_trait]
impl Plugin for Recorder {
    fn name(&self) -> &str {
        "recorder"
    }

    async fn pre_request(
        &self,
        messages: &[ChatMessage],
    ) -> HookResult<Decision<Vec<ChatMessage>, String>> {
        self.seen.lock().unwrap().push(messages.to_vec());
        Ok(Decision::Continue)
    }
}

fn budget(ms: u64) -> PluginSettings {
    PluginSettings {
        timeout: Duration::from_millis(ms),
        ..PluginSettings::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_panicking_or_slow_plugin_is_skipped_and_counted_and_the_turn_goes_on() {
    let fake = FakeServer::scripted(vec![Reply::stream_text(&["Fine", "."])]).await;
    let home = remote_home(&fake);
    let recorder = Arc::new(Recorder::default());
    let mut options = ChatOptions::new();
    for (name, how) in [("e", "error"), ("p", "panic"), ("s", "slow")] {
        options = options.plugin(Arc::new(Faulty { name, how }), budget(200));
    }
    let options = options.plugin(recorder.clone(), budget(200));
    let chat = home.llf.chat(options).await.unwrap();
    let started = Instant::now();
    let all = events(chat.send("Hello")).await;
    let Some(TurnEvent::Done(summary)) = all.last() else {
        panic!("{all:?}")
    };
    assert_eq!(summary.answer, "Fine.");
    assert_eq!(tokens(&all), "Fine.");
    // The slow plugin cost its budget, not its 30 s.
    assert!(started.elapsed() < Duration::from_secs(5));
    // The plugin after the faulty ones still ran, on the untouched prompt.
    let seen = recorder.seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].last().unwrap().content, "Hello");
    assert_eq!(fake.requests().len(), 1);

    let host = home.llf.plugins().await.unwrap();
    assert!(host.is_empty(), "no installed plugins");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plugin_faults_are_counted_per_plugin() {
    use llf::plugins::PluginHost;
    let mut host = PluginHost::new();
    for (name, how) in [
        ("e", "error"),
        ("p", "panic"),
        ("s", "slow"),
        ("ok", "none"),
    ] {
        host.add(Arc::new(Faulty { name, how }), budget(100));
    }
    for _ in 0..2 {
        host.pre_request(vec![ChatMessage::user("x")])
            .await
            .unwrap();
    }
    let stats: Vec<(String, u64, u64, u64, u64)> = host
        .stats()
        .into_iter()
        .map(|s| (s.name, s.calls, s.errors, s.panics, s.timeouts))
        .collect();
    assert_eq!(
        stats,
        [
            ("e".into(), 0, 2, 0, 0),
            ("p".into(), 0, 0, 2, 0),
            ("s".into(), 0, 0, 0, 2),
            ("ok".into(), 2, 0, 0, 0),
        ]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_required_plugin_that_fails_fails_the_turn_before_the_model_is_called() {
    let fake = FakeServer::scripted(vec![Reply::stream_text(&["Never"])]).await;
    let home = remote_home(&fake);
    let settings = PluginSettings {
        required: true,
        ..budget(200)
    };
    for how in ["error", "panic", "slow"] {
        let chat = home
            .llf
            .chat(
                ChatOptions::new()
                    .plugin(Arc::new(Faulty { name: "guard", how }), settings.clone()),
            )
            .await
            .unwrap();
        let err = chat.send("Hello").finish().await.unwrap_err();
        assert!(
            matches!(
                &err,
                llf::Error::Plugins(PluginError::RequiredFailed { plugin, hook: Hook::PreRequest, .. })
                    if plugin == "guard"
            ),
            "{how}: {err:?}"
        );
    }
    assert!(fake.requests().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plugin_can_answer_in_place_of_the_model_or_stop_the_turn() {
    let fake = FakeServer::scripted(vec![Reply::stream_text(&["Never"])]).await;
    let home = remote_home(&fake);
    let skip = home
        .llf
        .chat(ChatOptions::new().plugin(
            Arc::new(Faulty {
                name: "cache",
                how: "skip",
            }),
            PluginSettings::default(),
        ))
        .await
        .unwrap();
    let all = events(skip.send("Hello")).await;
    let Some(TurnEvent::Done(summary)) = all.last() else {
        panic!("{all:?}")
    };
    assert_eq!(summary.answer, "Answered by a plugin.");
    assert_eq!(tokens(&all), "Answered by a plugin.");
    assert_eq!(summary.rounds, 0);
    // Saved like any answer.
    let conv = summary.conversation.clone().unwrap();
    assert_eq!(home.path(&conv).await[2].1, "Answered by a plugin.");

    let stop = home
        .llf
        .chat(ChatOptions::new().plugin(
            Arc::new(Faulty {
                name: "policy",
                how: "stop",
            }),
            PluginSettings::default(),
        ))
        .await
        .unwrap();
    let err = stop.send("Hello").finish().await.unwrap_err();
    assert!(
        matches!(&err, llf::Error::Plugins(PluginError::Stopped { plugin, reason, .. })
            if plugin == "policy" && reason == "not today"),
        "{err:?}"
    );
    assert!(fake.requests().is_empty(), "the model was never called");
}

/// Rewrites tokens and answers.
struct Shout;

#[async_trait::async_trait]
impl Plugin for Shout {
    fn name(&self) -> &str {
        "shout"
    }

    async fn on_token(&self, token: &str) -> HookResult<Decision<String>> {
        Ok(Decision::Replace(token.to_uppercase()))
    }

    async fn post_request(&self, answer: &str) -> HookResult<Decision<String>> {
        Ok(Decision::Replace(format!("{answer}!")))
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn token_and_answer_rewrites_reach_the_stream_and_the_history() {
    let fake = FakeServer::scripted(vec![Reply::stream_text(&["hello", " there"])]).await;
    let home = remote_home(&fake);
    let chat = home
        .llf
        .chat(ChatOptions::new().plugin(Arc::new(Shout), PluginSettings::default()))
        .await
        .unwrap();
    let all = events(chat.send("Hi")).await;
    let Some(TurnEvent::Done(summary)) = all.last() else {
        panic!("{all:?}")
    };
    assert_eq!(tokens(&all), "HELLO THERE");
    assert_eq!(summary.answer, "HELLO THERE!");
    let conv = summary.conversation.clone().unwrap();
    assert_eq!(home.path(&conv).await[2].1, "HELLO THERE!");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn installed_plugins_are_listed_disabled_enabled_and_removed_to_the_trash() {
    let fake = FakeServer::scripted(vec![Reply::stream_text(&["ok"])]).await;
    let home = remote_home(&fake);
    home.llf.install_plugin(&shipped("redactor")).unwrap();
    home.llf.install_plugin(&shipped("example_logger")).unwrap();
    let again = home.llf.install_plugin(&shipped("redactor")).unwrap_err();
    assert!(
        matches!(again, llf::Error::Plugins(PluginError::Exists(_))),
        "{again:?}"
    );
    let names: Vec<String> = home
        .llf
        .plugin_listing()
        .unwrap()
        .plugins
        .iter()
        .map(|p| p.manifest.name.clone())
        .collect();
    assert_eq!(names, ["message_logger", "redactor"]);

    let off = home.llf.enable_plugin("redactor", false).unwrap();
    assert!(!off.manifest.enabled);
    // Every other field of plugin.json is kept.
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(off.dir.join("plugin.json")).unwrap())
            .unwrap();
    assert_eq!(json["enabled"], false);
    assert_eq!(json["config"]["email_placeholder"], "[email]");
    // A disabled plugin does not run.
    let chat = home.llf.chat(ChatOptions::new()).await.unwrap();
    chat.send("jane@example.com").finish().await.unwrap();
    assert_eq!(sent_user_text(&fake, 0), "jane@example.com");
    assert_eq!(
        home.llf.plugins().await.unwrap().names(),
        ["message_logger"]
    );
    home.llf.shutdown_plugins().await;

    let item = home.llf.remove_plugin("redactor").await.unwrap();
    assert!(!off.dir.exists());
    assert!(home.llf.plugin("redactor").is_err());
    home.llf.trash().restore(&item.id).await.unwrap();
    assert!(
        home.llf
            .plugin("redactor")
            .unwrap()
            .dir
            .join("plugin.py")
            .is_file()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plugins_run_on_a_real_turn_with_the_real_model() {
    let home = Home::new(configs::with(
        configs::local_servers(&["smol"]),
        json!({
            "prompt": {"system_prompt": "You are a helpful assistant."},
            "memory": {"enabled": false},
            "inference_params": {"max_tokens": 40, "temperature": 0}
        }),
    ));
    reachable(&home);
    home.llf.install_plugin(&shipped("example_logger")).unwrap();
    home.llf.install_plugin(&shipped("redactor")).unwrap();
    // Runs after the redactor (order -10): it sees what the model receives.
    let recorder = Arc::new(Recorder::default());
    let chat = home
        .llf
        .chat(ChatOptions::new().plugin(recorder.clone(), PluginSettings::default()))
        .await
        .unwrap();
    let text = "My e-mail is jane.doe@example.com. Say hello.";
    let summary = chat.send(text).finish().await.unwrap();
    assert!(!summary.answer.trim().is_empty());
    assert!(summary.completion.usage.completion_tokens > 0);
    let seen = recorder.seen.lock().unwrap().clone();
    assert_eq!(
        seen[0].last().unwrap().content,
        "My e-mail is [email]. Say hello."
    );
    home.llf.shutdown_plugins().await;

    let logs = home
        .llf
        .locations()
        .plugin_home("message_logger")
        .join(".llf/message_logs");
    let file = std::fs::read_dir(&logs)
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let log = std::fs::read_to_string(file).unwrap();
    assert!(log.contains(&format!("] USER: {text}\n")), "{log}");
    let first_line: String = summary.answer.chars().take(200).collect();
    let first_line = first_line.lines().next().unwrap_or_default().to_owned();
    assert!(
        log.contains(&format!("] ASSISTANT: {first_line}")),
        "{log}\n---\n{}",
        summary.answer
    );
}

/// Waits until the installed plugins (as reloaded by the watcher) satisfy `ok`.
async fn until_reloaded(home: &Home, ok: impl Fn(&[String]) -> bool) {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let names = home.llf.plugins().await.unwrap().names();
        if ok(&names) {
            return;
        }
        assert!(Instant::now() < deadline, "not reloaded: {names:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn editing_the_plugin_directory_takes_effect_in_an_open_chat() {
    let fake = FakeServer::scripted(vec![
        Reply::stream_text(&["a"]),
        Reply::stream_text(&["b"]),
        Reply::stream_text(&["c"]),
    ])
    .await;
    let home = remote_home(&fake);
    let redactor = home.llf.install_plugin(&shipped("redactor")).unwrap();
    let chat = home.llf.chat(ChatOptions::new()).await.unwrap();
    chat.send("to jane@example.com").finish().await.unwrap();
    assert_eq!(sent_user_text(&fake, 0), "to [email]");

    // An edit of plugin.json (a new placeholder): the plugin restarts with it.
    let path = redactor.dir.join("plugin.json");
    let edited = std::fs::read_to_string(&path)
        .unwrap()
        .replace("\"[email]\"", "\"<hidden address>\"");
    std::fs::write(&path, edited).unwrap();
    let first = home.llf.plugins().await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(15);
    // The same names, but a new host once the reload ran: wait for the new placeholder.
    loop {
        let host = home.llf.plugins().await.unwrap();
        let flow = host
            .pre_request(vec![ChatMessage::user("x@example.com")])
            .await
            .unwrap();
        if let llf::plugins::Flow::Go(m) = flow
            && m[0].content == "<hidden address>"
        {
            break;
        }
        assert!(Instant::now() < deadline, "the edit was not picked up");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    drop(first);
    chat.send("to jane@example.com").finish().await.unwrap();
    assert_eq!(sent_user_text(&fake, 1), "to <hidden address>");

    // Disabled: the open chat's next turn goes out as written.
    home.llf.enable_plugin("redactor", false).unwrap();
    until_reloaded(&home, |names| names.is_empty()).await;
    chat.send("to jane@example.com").finish().await.unwrap();
    assert_eq!(sent_user_text(&fake, 2), "to jane@example.com");
    home.llf.shutdown_plugins().await;
}
