//! [`ExternalPlugin`]: a plugin in any language, run as one long-lived process in the tool
//! sandbox, speaking JSON lines over stdin/stdout.
//!
//! The protocol: the process first writes `{"ready": true, "name", "version", "hooks": [...]}`
//! (or `{"ready": false, "error"}`); then for each request `{"id", "hook", "args"}` it answers
//! `{"id", "decision": "continue" | "replace" | "skip" | "stop", "value"?, "reason"?}` or
//! `{"id", "error"}`. Closing its stdin asks it to end. A process that dies is started again on
//! the next call, after a back-off that doubles from 100 ms to 30 s while it keeps dying.

use std::collections::HashSet;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use llf_core::chat::ChatMessage;
use llf_core::tool::{ToolInvocation, ToolOutcome};
use llf_tools::sandbox::Sandbox;
use serde::Deserialize;
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader, Lines};
use tokio::process::{Child, ChildStdin, ChildStdout};
use tokio::sync::Mutex;

use crate::directory::copy_dir;
use crate::error::{PluginError, ProcessProblem, Result};
use crate::manifest::Manifest;
use crate::plugin::{Decision, Hook, HookResult, Plugin};

/// LLF's runner for Python-era plugin directories (`plugin.py` with `PluginClass`).
pub const PYTHON_RUNNER: &str = include_str!("runner.py");

/// How long a process may take to say it is ready (a Python interpreter importing a plugin).
const READY_TIMEOUT: Duration = Duration::from_secs(20);
const FIRST_BACKOFF: Duration = Duration::from_millis(100);
const MAX_BACKOFF: Duration = Duration::from_secs(30);

/// What an external plugin needs to (re)start its process.
#[derive(Debug, Clone)]
pub struct Launch {
    /// The plugin's directory (copied into the process's private working directory).
    pub dir: PathBuf,
    /// Its manifest.
    pub manifest: Manifest,
    /// Its home directory (`HOME`): where it keeps files between runs.
    pub home: PathBuf,
    /// The sandbox it runs in.
    pub sandbox: Sandbox,
}

/// A plugin served by a process.
pub struct ExternalPlugin {
    name: String,
    version: String,
    hooks: HashSet<Hook>,
    launch: Launch,
    state: Mutex<State>,
    next_id: AtomicU64,
    restarts: AtomicU64,
}

impl std::fmt::Debug for ExternalPlugin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ExternalPlugin")
            .field("name", &self.name)
            .field("hooks", &self.hooks)
            .finish_non_exhaustive()
    }
}

struct State {
    process: Option<Process>,
    backoff: Duration,
    retry_at: Option<Instant>,
}

struct Process {
    child: Child,
    stdin: ChildStdin,
    stdout: Lines<BufReader<ChildStdout>>,
    /// The private working directory, kept while the process runs.
    _work: tempfile::TempDir,
}

#[derive(Deserialize)]
struct Ready {
    ready: bool,
    #[serde(default)]
    error: Option<String>,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    version: Option<String>,
    #[serde(default)]
    hooks: Vec<String>,
}

#[derive(Deserialize)]
struct Reply {
    #[serde(default)]
    id: Option<u64>,
    #[serde(default)]
    decision: Option<String>,
    #[serde(default)]
    value: Value,
    #[serde(default)]
    reason: Option<String>,
    #[serde(default)]
    error: Option<String>,
}

impl ExternalPlugin {
    /// Starts the plugin's process and waits until it is ready.
    pub async fn start(launch: Launch) -> Result<Self> {
        let name = launch.manifest.name.clone();
        let (process, ready) = spawn(&launch).await?;
        let hooks = ready
            .hooks
            .iter()
            .filter_map(|h| Hook::from_name(h))
            .collect();
        tracing::info!(plugin = %name, hooks = ?ready.hooks, "plugin started");
        Ok(Self {
            version: ready
                .version
                .unwrap_or_else(|| launch.manifest.version.clone()),
            name: ready.name.unwrap_or(name),
            hooks,
            launch,
            state: Mutex::new(State {
                process: Some(process),
                backoff: FIRST_BACKOFF,
                retry_at: None,
            }),
            next_id: AtomicU64::new(1),
            restarts: AtomicU64::new(0),
        })
    }

    /// The version the plugin reported.
    pub fn version(&self) -> &str {
        &self.version
    }

    /// The hooks the plugin implements.
    pub fn hooks(&self) -> Vec<Hook> {
        Hook::ALL
            .into_iter()
            .filter(|h| self.hooks.contains(h))
            .collect()
    }

    /// How many times its process was started again after dying.
    pub fn restarts(&self) -> u64 {
        self.restarts.load(Ordering::Relaxed)
    }

    /// The process id of the running process, if one runs.
    pub async fn pid(&self) -> Option<u32> {
        let state = self.state.lock().await;
        state.process.as_ref().and_then(|p| p.child.id())
    }

    /// Ends the process: closes its input (it calls `on_unload`) and waits a moment for it.
    pub async fn stop(&self) {
        let mut state = self.state.lock().await;
        if let Some(mut p) = state.process.take() {
            drop(p.stdin);
            if tokio::time::timeout(Duration::from_secs(2), p.child.wait())
                .await
                .is_err()
            {
                let _ = p.child.kill().await;
            }
        }
    }

    fn problem(&self, problem: ProcessProblem) -> PluginError {
        PluginError::Process {
            plugin: self.name.clone(),
            problem,
        }
    }

    /// Sends one request and waits for its answer (restarting a dead process first).
    async fn request(&self, hook: Hook, args: Value) -> Result<Reply> {
        let mut state = self.state.lock().await;
        if state.process.is_none() {
            if let Some(at) = state.retry_at
                && at > Instant::now()
            {
                return Err(self.problem(ProcessProblem::Restarting(at - Instant::now())));
            }
            match spawn(&self.launch).await {
                Ok((p, _)) => {
                    self.restarts.fetch_add(1, Ordering::Relaxed);
                    tracing::info!(plugin = %self.name, "plugin process restarted");
                    state.process = Some(p);
                }
                Err(e) => {
                    died(&mut state);
                    return Err(e);
                }
            }
        }
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let mut line = json!({"id": id, "hook": hook.as_str(), "args": args}).to_string();
        line.push('\n');
        let Some(p) = state.process.as_mut() else {
            return Err(self.problem(ProcessProblem::Exited));
        };
        if let Err(e) = p.stdin.write_all(line.as_bytes()).await {
            died(&mut state);
            return Err(self.problem(ProcessProblem::Pipe(e)));
        }
        // Answers to calls that timed out earlier arrive late: skip them by their id.
        loop {
            let next = match state.process.as_mut() {
                Some(p) => p.stdout.next_line().await,
                None => return Err(self.problem(ProcessProblem::Exited)),
            };
            match next {
                Ok(Some(text)) => {
                    let reply: Reply = serde_json::from_str(&text)
                        .map_err(|e| self.problem(ProcessProblem::BadLine(e)))?;
                    if reply.id == Some(id) {
                        state.backoff = FIRST_BACKOFF;
                        return Ok(reply);
                    }
                }
                Ok(None) => {
                    died(&mut state);
                    return Err(self.problem(ProcessProblem::Exited));
                }
                Err(e) => {
                    died(&mut state);
                    return Err(self.problem(ProcessProblem::Pipe(e)));
                }
            }
        }
    }

    /// A request whose answer is a decision over a value of type `T` (skip: `S`).
    async fn decide<T, S>(
        &self,
        hook: Hook,
        args: Value,
        replace: impl FnOnce(Value) -> Option<T>,
        skip: impl FnOnce(Value) -> Option<S>,
    ) -> HookResult<Decision<T, S>> {
        let reply = self.request(hook, args).await?;
        if let Some(error) = reply.error {
            return Err(Box::new(self.problem(ProcessProblem::HookFailed(error))));
        }
        let bad = |what: &str| -> HookResult<Decision<T, S>> {
            Err(Box::new(self.problem(ProcessProblem::HookFailed(format!(
                "its {what} value for {hook} has the wrong shape"
            )))))
        };
        match reply.decision.as_deref() {
            None | Some("continue") => Ok(Decision::Continue),
            Some("replace") => match replace(reply.value) {
                Some(v) => Ok(Decision::Replace(v)),
                None => bad("replace"),
            },
            Some("skip") => match skip(reply.value) {
                Some(v) => Ok(Decision::Skip(v)),
                None => bad("skip"),
            },
            Some("stop") => Ok(Decision::Stop(
                reply.reason.unwrap_or_else(|| "no reason given".into()),
            )),
            Some(other) => Err(Box::new(self.problem(ProcessProblem::HookFailed(format!(
                "unknown decision `{other}`"
            ))))),
        }
    }

    async fn notify(&self, hook: Hook, args: Value) -> HookResult<()> {
        let reply = self.request(hook, args).await?;
        match reply.error {
            Some(error) => Err(Box::new(self.problem(ProcessProblem::HookFailed(error)))),
            None => Ok(()),
        }
    }
}

fn died(state: &mut State) {
    state.process = None;
    state.retry_at = Some(Instant::now() + state.backoff);
    state.backoff = (state.backoff * 2).min(MAX_BACKOFF);
}

fn text(v: Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s),
        _ => None,
    }
}

/// The result of a tool call as Python-era plugins saw it.
fn result_value(o: &ToolOutcome) -> Value {
    if o.success {
        json!({"success": true, "result": o.content})
    } else {
        let error = o.content.get("error").cloned().unwrap_or(o.content.clone());
        json!({"success": false, "error": error})
    }
}

/// A rewritten result back into an outcome.
fn outcome_from(old: &ToolOutcome, v: Value) -> Option<ToolOutcome> {
    let success = v
        .get("success")
        .and_then(Value::as_bool)
        .unwrap_or(old.success);
    let content = if success {
        v.get("result").cloned().unwrap_or(v)
    } else {
        json!({"error": v.get("error").cloned().unwrap_or(v)})
    };
    Some(ToolOutcome {
        success,
        content,
        ..old.clone()
    })
}

#[async_trait::async_trait]
impl Plugin for ExternalPlugin {
    fn name(&self) -> &str {
        &self.name
    }

    fn wants(&self, hook: Hook) -> bool {
        self.hooks.contains(&hook)
    }

    async fn pre_request(
        &self,
        messages: &[ChatMessage],
    ) -> HookResult<Decision<Vec<ChatMessage>, String>> {
        self.decide(
            Hook::PreRequest,
            json!({"messages": messages}),
            |v| serde_json::from_value(v).ok(),
            text,
        )
        .await
    }

    async fn post_request(&self, answer: &str) -> HookResult<Decision<String>> {
        self.decide(Hook::PostRequest, json!({"response": answer}), text, text)
            .await
    }

    async fn pre_tool_execution(
        &self,
        call: &ToolInvocation,
    ) -> HookResult<Decision<String, Value>> {
        // Python-era plugins got the arguments as a dict; malformed JSON is passed as text.
        let arguments = serde_json::from_str::<Value>(&call.arguments)
            .unwrap_or_else(|_| Value::String(call.arguments.clone()));
        self.decide(
            Hook::PreToolExecution,
            json!({"tool_name": call.name, "call_id": call.call_id, "arguments": arguments}),
            |v| match v {
                Value::String(s) => Some(s),
                other => Some(other.to_string()),
            },
            Some,
        )
        .await
    }

    async fn post_tool_execution(
        &self,
        outcome: &ToolOutcome,
    ) -> HookResult<Decision<ToolOutcome>> {
        let args = json!({"tool_name": outcome.name, "result": result_value(outcome)});
        self.decide(
            Hook::PostToolExecution,
            args,
            |v| outcome_from(outcome, v),
            |v| outcome_from(outcome, v),
        )
        .await
    }

    async fn on_message(&self, message: &ChatMessage) -> HookResult<Decision<()>> {
        let args = json!({"role": message.role, "content": message.content});
        self.decide(Hook::OnMessage, args, |_| Some(()), |_| Some(()))
            .await
    }

    async fn on_token(&self, token: &str) -> HookResult<Decision<String>> {
        self.decide(Hook::OnToken, json!({"token": token}), text, text)
            .await
    }

    async fn on_error(&self, error: &str) -> HookResult<()> {
        self.notify(Hook::OnError, json!({"error": error})).await
    }

    async fn on_startup(&self) -> HookResult<()> {
        self.notify(Hook::OnStartup, json!({})).await
    }

    async fn on_shutdown(&self) -> HookResult<()> {
        self.notify(Hook::OnShutdown, json!({})).await
    }
}

/// Starts the process in the sandbox and reads its ready line.
async fn spawn(launch: &Launch) -> Result<(Process, Ready)> {
    let m = &launch.manifest;
    let fail = |problem| PluginError::Process {
        plugin: m.name.clone(),
        problem,
    };
    // The plugin's files are copied into the process's private directory, so the sandbox user
    // can read them wherever they are installed; the process runs in that copy, so relative
    // paths in `command` name the plugin's files.
    let argv: Vec<OsString> = if m.command.is_empty() {
        vec![
            "python3".into(),
            "-c".into(),
            PYTHON_RUNNER.into(),
            ".".into(),
        ]
    } else {
        let mut argv: Vec<OsString> = m.command.iter().map(OsString::from).collect();
        if launch.dir.join(&m.command[0]).is_file() {
            argv[0] = Path::new(".").join(&m.command[0]).into_os_string();
        }
        argv
    };
    std::fs::create_dir_all(&launch.home)
        .map_err(|e| PluginError::io("create", &launch.home, e))?;
    let home_ok = launch
        .sandbox
        .hand_over(&launch.home)
        .await
        .map_err(|e| PluginError::io("hand over", &launch.home, e))?;
    let home = if home_ok {
        launch.home.clone()
    } else {
        tracing::warn!(
            plugin = %m.name, home = %launch.home.display(),
            "the sandbox user cannot reach the plugin's home; it gets a home that lasts as long as its process"
        );
        PathBuf::from("home")
    };
    let env = vec![
        ("HOME".to_owned(), home.to_string_lossy().into_owned()),
        ("LLF_PLUGIN_NAME".to_owned(), m.name.clone()),
    ];
    let (mut cmd, work) = launch
        .sandbox
        .long_lived(argv, &env, m.network)
        .await
        .map_err(|e| fail(ProcessProblem::Spawn(e)))?;
    let copy = work.path().join("plugin");
    copy_dir(&launch.dir, &copy)?;
    if !home_ok {
        let h = work.path().join("home");
        std::fs::create_dir_all(&h).map_err(|e| PluginError::io("create", &h, e))?;
        // `home` is relative to the working directory: make it absolute for the process.
        cmd.env("HOME", &h);
    }
    launch
        .sandbox
        .hand_over(work.path())
        .await
        .map_err(|e| PluginError::io("hand over", work.path(), e))?;
    cmd.current_dir(&copy)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().map_err(|e| fail(ProcessProblem::Spawn(e)))?;
    let (Some(stdin), Some(stdout), Some(stderr)) =
        (child.stdin.take(), child.stdout.take(), child.stderr.take())
    else {
        return Err(fail(ProcessProblem::Exited));
    };
    let name = m.name.clone();
    tokio::spawn(async move {
        let mut lines = BufReader::new(stderr).lines();
        while let Ok(Some(line)) = lines.next_line().await {
            tracing::info!(plugin = %name, "{line}");
        }
    });
    let mut stdout = BufReader::new(stdout).lines();
    let first = tokio::time::timeout(READY_TIMEOUT, stdout.next_line())
        .await
        .map_err(|_| fail(ProcessProblem::NotReady(READY_TIMEOUT)))?
        .map_err(|e| fail(ProcessProblem::Pipe(e)))?
        .ok_or_else(|| fail(ProcessProblem::Exited))?;
    let ready: Ready =
        serde_json::from_str(&first).map_err(|e| fail(ProcessProblem::BadLine(e)))?;
    if !ready.ready {
        return Err(fail(ProcessProblem::LoadFailed(
            ready.error.unwrap_or_else(|| "no reason given".into()),
        )));
    }
    Ok((
        Process {
            child,
            stdin,
            stdout,
            _work: work,
        },
        ready,
    ))
}
