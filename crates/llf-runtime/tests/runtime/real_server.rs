//! The real llama-server and SmolLM2 through the public API.

use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use llf_runtime::server::{RestartPolicy, ServerStatus, StartPhase, Supervisor, SupervisorEvent};
use llf_runtime::{ChatEvent, ChatRequest, Runtime, RuntimeError, Target};

use crate::{local_config, pid_alive};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stream_and_complete_with_the_real_model_then_stop() {
    let dir = llf_testkit::components::TestHome::new();
    let file = local_config(dir.path(), &["smol"], serde_json::json!({}));
    let rt = Runtime::new(file.config(), file.paths());

    let phases = std::sync::Mutex::new(Vec::new());
    let conn = rt
        .connect(&Target::Default, |p| phases.lock().unwrap().push(p))
        .await
        .unwrap();
    let state = conn.server.clone().unwrap();
    let phases = phases.into_inner().unwrap();
    assert!(
        matches!(phases.first(), Some(StartPhase::Spawned { .. })),
        "{phases:?}"
    );
    assert_eq!(phases.last(), Some(&StartPhase::Ready));
    assert!(pid_alive(state.pid));
    // The window comes from /props (--ctx-size 2048) and the template has no native tools.
    assert_eq!(conn.limit.as_ref().unwrap().context_size, 2048);
    assert!(!conn.supports_tools);

    // A second connect finds the running server instead of starting another.
    let again = rt
        .connect(&Target::Server("smol".into()), |_| {})
        .await
        .unwrap();
    assert_eq!(again.server.unwrap().pid, state.pid);

    let session = rt.session(&conn, rt.prompt_builder());
    let prompt = session
        .prepare("What is the capital of France? Answer in one word.")
        .await
        .unwrap();
    // Far below the 2048-token window: sent without the exact count's two round trips.
    assert_eq!(prompt.prompt_tokens, None);
    // The exact count (/apply-template + /tokenize) of the same messages, as a longer prompt gets.
    let exact = conn
        .limit
        .as_ref()
        .unwrap()
        .counter
        .count(&prompt.messages)
        .await
        .unwrap();
    assert!(exact > 10 && exact < 100, "{exact}");
    let mut stream = session.stream(&prompt).await.unwrap();
    let mut tokens = 0;
    let mut text = String::new();
    let mut done = None;
    while let Some(ev) = stream.next().await {
        match ev {
            ChatEvent::Token(t) => {
                tokens += 1;
                text.push_str(&t);
            }
            ChatEvent::Done(c) => done = Some(c),
            ChatEvent::Error { error, .. } => panic!("stream failed: {error}"),
            _ => {}
        }
    }
    let done = done.expect("stream ends with Done");
    assert!(tokens >= 1);
    assert_eq!(done.content, text);
    assert!(done.usage_reported, "llama-server reports usage");
    assert!(
        done.usage.prompt_tokens > 10 && done.usage.completion_tokens >= 1,
        "{:?}",
        done.usage
    );
    assert!(done.metrics.time_to_first_token <= done.metrics.total);
    assert!(
        text.to_lowercase().contains("paris"),
        "SmolLM2 at temperature 0 names Paris: {text:?}"
    );

    let whole = conn
        .client
        .complete(ChatRequest::new(prompt.messages.clone()).params(session.params().clone()))
        .await
        .unwrap();
    assert!(!whole.content.is_empty());
    assert!(whole.usage_reported);

    // Both requests were profiled and persisted.
    let records = rt.profile_log().read(None).unwrap();
    assert_eq!(records.len(), 2, "{records:?}");
    assert!(
        records
            .iter()
            .all(|r| r.success && r.prompt_tokens > 0 && r.completion_tokens > 0)
    );
    assert!(records[0].streamed && !records[1].streamed);
    assert!(records[0].ttft_ms > 0.0 && records[0].ttft_ms <= records[0].total_ms);

    // Stopping leaves no process and no state behind.
    assert!(rt.servers().stop("smol").await.unwrap());
    assert!(!pid_alive(state.pid));
    assert_eq!(
        rt.servers().status("smol").await.unwrap(),
        ServerStatus::Stopped
    );
    assert!(
        !rt.servers().stop("smol").await.unwrap(),
        "stopping twice is harmless"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_servers_on_two_ports_and_a_later_process_sees_them() {
    let dir = llf_testkit::components::TestHome::new();
    let file = local_config(dir.path(), &["a", "b"], serde_json::json!({}));
    let rt = Runtime::new(file.config(), file.paths());
    let (a, b) = tokio::join!(
        rt.servers().start(Some("a"), |_| {}),
        rt.servers().start(Some("b"), |_| {})
    );
    let (a, b) = (a.unwrap(), b.unwrap());
    assert_ne!(a.port, b.port);
    assert_ne!(a.pid, b.pid);

    // Another Runtime (as another `llf` process would) finds both through their state files.
    let other = Runtime::new(file.config(), file.paths());
    let list = other.servers().list().await.unwrap();
    assert_eq!(list.len(), 2);
    assert!(
        list.iter()
            .all(|(_, s)| matches!(s, ServerStatus::Running(_)))
    );
    let conn = other
        .connect(&Target::Server("b".into()), |_| {})
        .await
        .unwrap();
    assert_eq!(conn.server.as_ref().unwrap().pid, b.pid);
    let answer = conn
        .client
        .complete(ChatRequest::new(vec![llf_core::chat::ChatMessage::user(
            "Say hello.",
        )]))
        .await
        .unwrap();
    assert!(!answer.content.is_empty());

    // The other process stops them: SIGTERM works on processes it did not start.
    assert!(other.servers().stop("a").await.unwrap());
    assert!(other.servers().stop("b").await.unwrap());
    tokio::time::sleep(Duration::from_millis(100)).await;
    // The original manager reaps its children; none is left running.
    rt.servers().stop("a").await.unwrap();
    rt.servers().stop("b").await.unwrap();
    assert!(!pid_alive(a.pid) && !pid_alive(b.pid));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crashed_server_is_restarted_by_the_supervisor() {
    let dir = llf_testkit::components::TestHome::new();
    let file = local_config(dir.path(), &["sup"], serde_json::json!({}));
    let rt = Runtime::new(file.config(), file.paths());
    let first = rt.servers().start(Some("sup"), |_| {}).await.unwrap();
    let policy = RestartPolicy {
        poll: Duration::from_millis(100),
        initial_backoff: Duration::from_millis(50),
        ..RestartPolicy::default()
    };
    let mut sup = Supervisor::start(Arc::clone(rt.servers()), "sup".into(), policy);

    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(first.pid as i32),
        nix::sys::signal::Signal::SIGKILL,
    )
    .unwrap();
    let event = tokio::time::timeout(Duration::from_secs(120), sup.next_event())
        .await
        .unwrap()
        .unwrap();
    let SupervisorEvent::Restarted { pid, attempt } = event else {
        panic!("{event:?}")
    };
    assert_ne!(pid, first.pid);
    assert_eq!(attempt, 1);
    let ServerStatus::Running(now) = rt.servers().status("sup").await.unwrap() else {
        panic!("not running")
    };
    assert_eq!(now.pid, pid);

    // An intentional stop ends supervision without a restart.
    rt.servers().stop("sup").await.unwrap();
    let end = tokio::time::timeout(Duration::from_secs(5), sup.next_event())
        .await
        .unwrap();
    assert_eq!(end, None);
    assert!(!pid_alive(pid));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dropped_test_home_reaps_a_server_left_running() {
    // The safety net every server test relies on when it fails halfway.
    let home = llf_testkit::components::TestHome::new();
    let file = local_config(home.path(), &["left"], serde_json::json!({}));
    let rt = Runtime::new(file.config(), file.paths());
    let st = rt.servers().start(Some("left"), |_| {}).await.unwrap();
    assert!(pid_alive(st.pid));
    drop(home);
    // Killed: a zombie until reaped, which `pid_alive` counts as gone.
    for _ in 0..100 {
        if !pid_alive(st.pid) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(!pid_alive(st.pid), "the reaper did not kill the server");
    // Reap our own child (its state file went with the home).
    assert!(!rt.servers().stop("left").await.unwrap());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_cold_starts_at_once_share_one_ready_server() {
    // `llf chat hi & llf chat hi` with no server running: two processes (two Runtimes here) start
    // the same server at the same moment.
    let dir = llf_testkit::components::TestHome::new();
    // No retries: a request to a server still loading its model fails at once with HTTP 503.
    let file = local_config(
        dir.path(),
        &["cold"],
        serde_json::json!({"llm_endpoint": {"max_retries": 0}}),
    );
    let one = Runtime::new(file.config(), file.paths());
    let two = Runtime::new(file.config(), file.paths());
    let (a, b) = tokio::join!(
        one.connect(&Target::Default, |_| {}),
        two.connect(&Target::Default, |_| {})
    );
    let (a, b) = (a.unwrap(), b.unwrap());
    let (sa, sb) = (a.server.clone().unwrap(), b.server.clone().unwrap());
    assert_eq!(sa.pid, sb.pid, "one server for both");
    // Both connected to a loaded server: each read its context window from /props.
    assert_eq!(a.limit.as_ref().map(|l| l.context_size), Some(2048));
    assert_eq!(b.limit.as_ref().map(|l| l.context_size), Some(2048));
    // Both may use it at once: neither sees 503 "Loading model".
    let hi = || ChatRequest::new(vec![llf_core::chat::ChatMessage::user("Say hi.")]);
    let (ra, rb) = tokio::join!(a.client.complete(hi()), b.client.complete(hi()));
    ra.unwrap();
    rb.unwrap();
    one.servers().stop("cold").await.unwrap();
    two.servers().stop("cold").await.unwrap();
    assert!(!pid_alive(sa.pid));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_killed_mid_answer_is_reported_as_stopped_with_its_log() {
    let dir = llf_testkit::components::TestHome::new();
    let file = local_config(
        dir.path(),
        &["dies"],
        serde_json::json!({"inference_params": {"max_tokens": 400}}),
    );
    // Lines an earlier start left in the log must not be quoted.
    let log = file.paths().logs.join("server-dies.log");
    std::fs::create_dir_all(log.parent().unwrap()).unwrap();
    std::fs::write(&log, "LEFT-BY-AN-EARLIER-START\n").unwrap();
    let rt = Runtime::new(file.config(), file.paths());
    let conn = rt.connect(&Target::Default, |_| {}).await.unwrap();
    let pid = conn.server.as_ref().unwrap().pid;
    let session = rt.session(&conn, rt.prompt_builder());
    let prompt = session
        .prepare("Count from 1 to 500, one number per line.")
        .await
        .unwrap();
    let mut stream = session.stream(&prompt).await.unwrap();
    let mut killed = false;
    let mut last = None;
    while let Some(ev) = stream.next().await {
        if matches!(ev, ChatEvent::Token(_)) && !killed {
            nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(pid as i32),
                nix::sys::signal::Signal::SIGKILL,
            )
            .unwrap();
            killed = true;
        }
        last = Some(ev);
    }
    match last {
        Some(ChatEvent::Error { error, .. }) => {
            let RuntimeError::ServerStopped { name, tail, .. } = &error else {
                panic!("expected ServerStopped, got {error:?}: {error}")
            };
            assert_eq!(name, "dies");
            assert!(
                error.to_string().contains("llf server start dies"),
                "{error}"
            );
            assert!(!tail.is_empty());
            assert!(!tail.contains("LEFT-BY-AN-EARLIER-START"), "{tail}");
        }
        other => panic!("the answer must end in an error, got {other:?}"),
    }
    rt.servers().stop("dies").await.unwrap();
}
