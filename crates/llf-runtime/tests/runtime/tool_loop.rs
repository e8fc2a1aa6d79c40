//! The tool-calling loop: scripted tool calls from a fake server (native mode), and a full round
//! trip with the real llama-server and SmolLM2 through JSON-schema constrained output.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use llf_config::schema::InferenceParams;
use llf_core::chat::{ChatMessage, Role};
use llf_core::tool::{ToolExecutor, ToolInvocation, ToolOutcome, ToolSpec};
use llf_runtime::{
    ChatClient, EndpointSpec, RequestQueue, Runtime, Target, ToolLoop, ToolLoopEvent, ToolMode,
};
use llf_testkit::{FakeServer, Reply, chunk};
use serde_json::{Value, json};

/// In-process tools, the way a program embedding LLF would provide them.
#[derive(Default)]
struct TestTools {
    calls: Mutex<Vec<ToolInvocation>>,
    /// Offer only these tools (all when empty).
    only: Vec<&'static str>,
}

#[async_trait::async_trait]
impl ToolExecutor for TestTools {
    fn specs(&self) -> Vec<ToolSpec> {
        let all = vec![
            ToolSpec {
                name: "get_weather".into(),
                description: "Current weather for a city.".into(),
                parameters: json!({"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}),
            },
            ToolSpec {
                name: "slow".into(),
                description: "Takes a second.".into(),
                parameters: json!({"type": "object", "properties": {}}),
            },
            ToolSpec {
                name: "broken".into(),
                description: "Always fails.".into(),
                parameters: json!({"type": "object", "properties": {}}),
            },
        ];
        all.into_iter()
            .filter(|t| self.only.is_empty() || self.only.contains(&t.name.as_str()))
            .collect()
    }

    async fn execute(&self, call: &ToolInvocation) -> ToolOutcome {
        self.calls.lock().unwrap().push(call.clone());
        let start = Instant::now();
        let args: Value = match serde_json::from_str(&call.arguments) {
            Ok(v) => v,
            Err(e) => {
                return ToolOutcome::failure(
                    call,
                    format!("arguments are not valid JSON: {e}"),
                    start.elapsed(),
                );
            }
        };
        let ok = |content: Value| ToolOutcome {
            call_id: call.call_id.clone(),
            name: call.name.clone(),
            success: true,
            content,
            duration: start.elapsed(),
        };
        match call.name.as_str() {
            "get_weather" => ok(json!({"city": args["city"], "forecast": "sunny, 21°C"})),
            "slow" => {
                tokio::time::sleep(Duration::from_secs(1)).await;
                ok(json!("done"))
            }
            "broken" => ToolOutcome::failure(call, "the tool crashed", start.elapsed()),
            other => ToolOutcome::failure(call, format!("unknown tool `{other}`"), start.elapsed()),
        }
    }
}

fn client(base_url: String) -> ChatClient {
    let spec = EndpointSpec {
        base_url: base_url.clone(),
        api_key: None,
        model: "fake".into(),
        timeout: Duration::from_secs(10),
        max_retries: 0,
    };
    ChatClient::new(spec, RequestQueue::new(base_url, &Default::default()))
}

fn ask(text: &str) -> Vec<ChatMessage> {
    vec![ChatMessage::system("You help."), ChatMessage::user(text)]
}

#[tokio::test]
async fn a_single_call_round_trip_with_messages_in_openai_shape() {
    let fake = FakeServer::start(|req, _| {
        // Answer once a tool result is in the conversation.
        let has_result = req.body["messages"].as_array().unwrap().iter().any(|m| m["role"] == "tool");
        if has_result {
            Reply::stream_text(&["It is sunny in Paris."])
        } else {
            let ev = vec![
                chunk(json!({"tool_calls": [{"index": 0, "id": "c1", "function": {"name": "get_weather", "arguments": "{\"city\":\"Paris\"}"}}]}), Value::Null).to_string(),
                chunk(json!({}), json!("tool_calls")).to_string(),
                "[DONE]".into(),
            ];
            Reply::Sse { events: ev, delay: Duration::ZERO }
        }
    })
    .await;
    let tools = Arc::new(TestTools::default());
    let lp = ToolLoop::new(
        client(fake.base_url()),
        tools.clone(),
        InferenceParams::default(),
        ToolMode::Native,
    );
    let events = Mutex::new(Vec::new());
    let result = lp
        .run(ask("Weather in Paris?"), |e| events.lock().unwrap().push(e))
        .await
        .unwrap();
    assert_eq!(result.answer, "It is sunny in Paris.");
    assert_eq!(result.rounds, 2);
    let events = events.into_inner().unwrap();
    assert!(matches!(&events[0], ToolLoopEvent::ToolStarted(c) if c.name == "get_weather"));
    assert!(matches!(&events[1], ToolLoopEvent::ToolFinished(o) if o.success));
    assert!(matches!(events.last(), Some(ToolLoopEvent::Token(t)) if t == "It is sunny in Paris."));

    let reqs = fake.requests();
    assert_eq!(reqs[0].body["tools"][0]["function"]["name"], "get_weather");
    let msgs = reqs[1].body["messages"].as_array().unwrap();
    assert_eq!(msgs[2]["role"], "assistant");
    assert_eq!(msgs[2]["content"], Value::Null);
    assert_eq!(msgs[2]["tool_calls"][0]["id"], "c1");
    assert_eq!(
        msgs[3],
        json!({"role": "tool", "tool_call_id": "c1",
        "content": "{\"success\":true,\"result\":{\"city\":\"Paris\",\"forecast\":\"sunny, 21°C\"}}"})
    );
    // The new messages are what a history would save.
    let roles: Vec<Role> = result.new_messages.iter().map(|m| m.role).collect();
    assert_eq!(roles, [Role::Assistant, Role::Tool, Role::Assistant]);
}

#[tokio::test]
async fn several_calls_of_one_turn_run_in_parallel_and_failures_are_fed_back() {
    let fake = FakeServer::scripted(vec![
        Reply::stream_tool_calls(&[
            ("a", "slow", "{}"),
            ("b", "slow", "{}"),
            ("c", "slow", "{}"),
            ("d", "broken", "{}"),
            ("e", "get_weather", "{\"city\": "),
            ("f", "teleport", "{}"),
        ]),
        Reply::stream_text(&["Done."]),
    ])
    .await;
    let tools = Arc::new(TestTools::default());
    let lp = ToolLoop::new(
        client(fake.base_url()),
        tools.clone(),
        InferenceParams::default(),
        ToolMode::Native,
    );
    let t = Instant::now();
    let result = lp.run(ask("go"), |_| {}).await.unwrap();
    assert!(
        t.elapsed() < Duration::from_millis(2500),
        "three 1-second tools took {:?}",
        t.elapsed()
    );
    let ids: Vec<&str> = result.outcomes.iter().map(|o| o.call_id.as_str()).collect();
    assert_eq!(ids, ["a", "b", "c", "d", "e", "f"], "results in call order");
    let ok: Vec<bool> = result.outcomes.iter().map(|o| o.success).collect();
    assert_eq!(ok, [true, true, true, false, false, false]);
    let msgs = fake.requests()[1].body["messages"]
        .as_array()
        .unwrap()
        .clone();
    let tool_msgs: Vec<&Value> = msgs.iter().filter(|m| m["role"] == "tool").collect();
    assert_eq!(tool_msgs.len(), 6);
    assert!(
        tool_msgs[3]["content"]
            .as_str()
            .unwrap()
            .contains("the tool crashed")
    );
    assert!(
        tool_msgs[4]["content"]
            .as_str()
            .unwrap()
            .contains("not valid JSON")
    );
    assert!(
        tool_msgs[5]["content"]
            .as_str()
            .unwrap()
            .contains("unknown tool `teleport`")
    );
    assert_eq!(result.answer, "Done.");
}

#[tokio::test]
async fn a_model_that_never_stops_calling_tools_is_cut_off() {
    let fake = FakeServer::scripted(vec![Reply::stream_tool_calls(&[(
        "x",
        "get_weather",
        "{\"city\": \"Oslo\"}",
    )])])
    .await;
    let lp = ToolLoop::new(
        client(fake.base_url()),
        Arc::new(TestTools::default()),
        InferenceParams::default(),
        ToolMode::Native,
    )
    .max_rounds(3);
    let err = lp.run(ask("loop"), |_| {}).await.unwrap_err();
    assert!(
        err.to_string().contains("kept calling tools for 3 rounds"),
        "{err}"
    );
    let reqs = fake.requests();
    assert_eq!(reqs.len(), 3);
    assert!(
        reqs[2].body.get("tools").is_none(),
        "the last round offers no tools"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn smollm2_round_trip_through_constrained_output() {
    let dir = llf_testkit::components::TestHome::new();
    let file = crate::local_config(
        dir.path(),
        &["tools"],
        json!({"inference_params": {"max_tokens": 128}}),
    );
    let rt = Runtime::new(file.config(), file.paths());
    let conn = rt.connect(&Target::Default, |_| {}).await.unwrap();
    assert!(
        !conn.supports_tools,
        "SmolLM2's template has no tool support"
    );
    let tools = Arc::new(TestTools {
        only: vec!["get_weather"],
        ..TestTools::default()
    });
    let lp = ToolLoop::new(
        conn.client.clone(),
        tools.clone(),
        file.config().inference_params.clone(),
        ToolMode::Constrained,
    );
    let result = lp.run(ask("What is the weather in Paris?"), |_| {}).await;
    rt.servers().stop("tools").await.unwrap();
    let result = result.unwrap();
    let calls = tools.calls.lock().unwrap().clone();
    assert!(!calls.is_empty(), "the model called no tool");
    assert_eq!(calls[0].name, "get_weather");
    let args: Value = serde_json::from_str(&calls[0].arguments).unwrap();
    assert!(
        args["city"]
            .as_str()
            .unwrap()
            .to_lowercase()
            .contains("paris"),
        "{args}"
    );
    assert!(!result.answer.trim().is_empty());
    assert!(result.rounds >= 2);
    let answer = result.answer.to_lowercase();
    assert!(
        answer.contains("sunny") || answer.contains("21"),
        "the answer uses the tool's result: {answer}"
    );
}
