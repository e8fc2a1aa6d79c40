//! Lifecycle of the local `llama-server` instances named in `local_llm_servers`.
//!
//! [`ServerManager::start`] spawns the server detached (its own process group, output to
//! `<logs>/server-<name>.log`), records a state file, waits for `/health`, and sends one tiny
//! warm-up request so the user's first answer is not the slow one. Any later `llf` process finds
//! the server through its state file; stale files (dead or recycled pids) are cleaned up.
//! [`ServerManager::stop`] sends SIGTERM and SIGKILL after a grace period.

mod process;
mod state;
mod supervisor;

use std::collections::HashMap;
use std::path::PathBuf;
use std::process::Stdio;
use std::time::{Duration, Instant};

use llf_config::schema::LocalServer;
use llf_config::{Config, Paths};
use serde::Serialize;
use tokio::sync::Mutex;

pub use state::ServerState;
pub use supervisor::{RestartPolicy, Supervisor, SupervisorEvent};

use crate::{Result, RuntimeError};

/// How long `stop` waits after SIGTERM before SIGKILL.
const STOP_GRACE: Duration = Duration::from_secs(5);
/// How long a warm-up or `/props` request may take.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// Progress of [`ServerManager::start`], for spinners.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StartPhase {
    /// The process was spawned.
    Spawned {
        /// Its pid.
        pid: u32,
    },
    /// Waiting for the model to load (`/health` answers 503).
    Loading,
    /// Sending the warm-up request.
    WarmingUp,
    /// Ready for requests.
    Ready,
}

/// Whether a server is running.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "status", rename_all = "lowercase")]
pub enum ServerStatus {
    /// Running, as recorded in its state file.
    Running(ServerState),
    /// Not running.
    Stopped,
}

/// What llama-server reports about itself (`/props`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ServerProps {
    /// Context size in tokens of each slot.
    pub context_size: usize,
    /// Whether the chat template supports tools natively.
    pub supports_tools: bool,
    /// The model file the server loaded.
    pub model_path: String,
}

/// Starts, finds and stops the configured local servers.
pub struct ServerManager {
    servers: Vec<LocalServer>,
    default: Option<String>,
    state_dir: PathBuf,
    logs_dir: PathBuf,
    http: reqwest::Client,
    children: Mutex<HashMap<String, tokio::process::Child>>,
}

impl std::fmt::Debug for ServerManager {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerManager")
            .field("servers", &self.servers)
            .field("state_dir", &self.state_dir)
            .finish()
    }
}

impl ServerManager {
    /// A manager for the servers of `config`, keeping state in `paths.state` and logs in
    /// `paths.logs`.
    pub fn new(config: &Config, paths: &Paths) -> Self {
        Self {
            servers: config.local_llm_servers.clone(),
            default: config.llm_endpoint.default_local_server.clone(),
            state_dir: paths.state.clone(),
            logs_dir: paths.logs.clone(),
            http: crate::http::local(),
            children: Mutex::new(HashMap::new()),
        }
    }

    /// The configured servers.
    pub fn servers(&self) -> &[LocalServer] {
        &self.servers
    }

    /// The name of the default server (`llm_endpoint.default_local_server`).
    pub fn default_name(&self) -> Option<&str> {
        self.default.as_deref()
    }

    /// The configuration of `name`, or of the default server when `None`.
    pub fn server(&self, name: Option<&str>) -> Result<&LocalServer> {
        let wanted = name.or(self.default.as_deref());
        let found = match wanted {
            Some(n) => self.servers.iter().find(|s| s.name == n),
            None => self.servers.first(),
        };
        found.ok_or_else(|| RuntimeError::UnknownServer {
            name: wanted.unwrap_or("(default)").to_owned(),
            known: self
                .servers
                .iter()
                .map(|s| s.name.as_str())
                .collect::<Vec<_>>()
                .join(", "),
        })
    }

    /// The log file of a server.
    pub fn log_file(&self, name: &str) -> PathBuf {
        self.logs_dir.join(format!("server-{name}.log"))
    }

    /// Whether `name` runs; removes a stale state file (dead or recycled pid) on the way.
    pub async fn status(&self, name: &str) -> Result<ServerStatus> {
        self.server(Some(name))?;
        Ok(match state::read(&self.state_dir, name)? {
            Some(s) if s.is_alive() => ServerStatus::Running(s),
            Some(s) => {
                tracing::info!(server = name, pid = s.pid, "removing stale server state");
                state::remove(&self.state_dir, name)?;
                ServerStatus::Stopped
            }
            None => ServerStatus::Stopped,
        })
    }

    /// Every configured server with its status.
    pub async fn list(&self) -> Result<Vec<(LocalServer, ServerStatus)>> {
        let mut out = Vec::new();
        for s in &self.servers {
            out.push((s.clone(), self.status(&s.name).await?));
        }
        Ok(out)
    }

    /// Starts `name` (the default server when `None`) unless it already runs, and returns its
    /// state once it answered a warm-up request.
    pub async fn start(
        &self,
        name: Option<&str>,
        progress: impl Fn(StartPhase),
    ) -> Result<ServerState> {
        let server = self.server(name)?.clone();
        // One start per server at a time, across processes: a second caller waits here until the
        // first one's server is ready (or its start failed), then uses it (or tries itself).
        let _starting = self.start_lock(&server).await?;
        if let ServerStatus::Running(s) = self.status(&server.name).await? {
            self.wait_healthy(&server, &s).await?;
            return Ok(s);
        }
        let binary = process::find_executable(&server.llama_server_path)?;
        let model = server
            .model_file()
            .ok_or_else(|| RuntimeError::NoModelConfigured(server.name.clone()))?;
        if !model.is_file() {
            return Err(RuntimeError::ModelMissing(model));
        }
        if process::port_in_use(&server.host, server.port) {
            return Err(RuntimeError::PortInUse {
                host: server.host.clone(),
                port: server.port,
            });
        }

        let log_path = self.log_file(&server.name);
        std::fs::create_dir_all(&self.logs_dir)
            .map_err(|e| RuntimeError::io("creating", &self.logs_dir, e))?;
        let mut log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log_path)
            .map_err(|e| RuntimeError::io("opening", &log_path, e))?;
        // Errors quote this start's log lines only, not those an earlier failed start left.
        let log_offset = log
            .metadata()
            .map_err(|e| RuntimeError::io("opening", &log_path, e))?
            .len();
        {
            use std::io::Write;
            let _ = writeln!(
                log,
                "=== llf: starting `{}` at {} ===",
                server.name,
                chrono::Utc::now().to_rfc3339()
            );
        }
        let log_err = log
            .try_clone()
            .map_err(|e| RuntimeError::io("opening", &log_path, e))?;
        let args = launch_args(&server, &model);
        tracing::debug!(server = %server.name, binary = %binary.display(), ?args, "spawning llama-server");
        let mut cmd = tokio::process::Command::new(&binary);
        cmd.args(&args)
            .stdin(Stdio::null())
            .stdout(Stdio::from(log))
            .stderr(Stdio::from(log_err))
            // Its own process group: Ctrl-C in the terminal that ran `llf` must not kill a server
            // other llf processes may be using.
            .process_group(0)
            .kill_on_drop(false);
        let child = cmd
            .spawn()
            .map_err(|e| RuntimeError::io("starting", &binary, e))?;
        let pid = child
            .id()
            .ok_or_else(|| RuntimeError::Invalid("llama-server exited at once".into()))?;
        progress(StartPhase::Spawned { pid });
        let st = ServerState {
            name: server.name.clone(),
            pid,
            host: server.host.clone(),
            port: server.port,
            model: model.clone(),
            started_at: chrono::Utc::now(),
            log_file: log_path.clone(),
            log_offset,
        };
        state::write(&self.state_dir, &st)?;
        self.children
            .lock()
            .await
            .insert(server.name.clone(), child);

        match self.wait_ready(&server, &st, &progress).await {
            Ok(()) => {
                progress(StartPhase::Ready);
                tracing::info!(server = %server.name, pid, port = server.port, "llama-server ready");
                Ok(st)
            }
            Err(e) => {
                let _ = self.stop(&server.name).await;
                Err(e)
            }
        }
    }

    async fn wait_ready(
        &self,
        server: &LocalServer,
        st: &ServerState,
        progress: &impl Fn(StartPhase),
    ) -> Result<()> {
        let deadline = Instant::now() + Duration::from_secs(server.startup_timeout);
        let health = format!("{}/health", st.root_url());
        let mut said_loading = false;
        loop {
            if let Some(status) = self.exit_status(&server.name).await {
                state::remove(&self.state_dir, &server.name)?;
                return Err(RuntimeError::ServerDied {
                    name: server.name.clone(),
                    status,
                    log: st.log_file.clone(),
                    tail: st.log_tail(15),
                });
            }
            match self
                .http
                .get(&health)
                .timeout(Duration::from_secs(2))
                .send()
                .await
            {
                Ok(r) if r.status().is_success() => break,
                Ok(_) if !said_loading => {
                    said_loading = true;
                    progress(StartPhase::Loading);
                }
                _ => {}
            }
            if Instant::now() > deadline {
                return Err(RuntimeError::StartTimeout {
                    name: server.name.clone(),
                    secs: server.startup_timeout,
                    log: st.log_file.clone(),
                });
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        progress(StartPhase::WarmingUp);
        let warm =
            serde_json::json!({"messages": [{"role": "user", "content": "Hi"}], "max_tokens": 1});
        let resp = self
            .http
            .post(format!("{}/v1/chat/completions", st.root_url()))
            .json(&warm)
            .timeout(REQUEST_TIMEOUT)
            .send()
            .await
            .map_err(|e| RuntimeError::Request {
                endpoint: st.root_url(),
                message: e.to_string(),
                status: None,
            })?;
        if !resp.status().is_success() {
            return Err(RuntimeError::Request {
                endpoint: st.root_url(),
                message: format!("warm-up request failed with HTTP {}", resp.status()),
                status: Some(resp.status().as_u16()),
            });
        }
        Ok(())
    }

    /// Takes the start lock of `server`, waiting (without blocking a thread) while another caller
    /// or process starts it, for at most its start-up timeout plus a margin.
    async fn start_lock(&self, server: &LocalServer) -> Result<llf_core::fs::FileLock> {
        let path = state::start_lock(&self.state_dir, &server.name);
        let deadline = Instant::now() + Duration::from_secs(server.startup_timeout + 30);
        loop {
            if let Some(lock) = llf_core::fs::FileLock::try_acquire(&path)? {
                return Ok(lock);
            }
            if Instant::now() > deadline {
                return Err(RuntimeError::StartTimeout {
                    name: server.name.clone(),
                    secs: server.startup_timeout,
                    log: self.log_file(&server.name),
                });
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Waits until a server that is already running answers `/health` with 200 (not 503 while
    /// its model loads): a server started by another process may still be loading.
    async fn wait_healthy(&self, server: &LocalServer, st: &ServerState) -> Result<()> {
        let deadline = Instant::now() + Duration::from_secs(server.startup_timeout);
        let health = format!("{}/health", st.root_url());
        loop {
            let ok = self
                .http
                .get(&health)
                .timeout(Duration::from_secs(2))
                .send()
                .await
                .is_ok_and(|r| r.status().is_success());
            if ok {
                return Ok(());
            }
            if !st.is_alive() {
                state::remove(&self.state_dir, &server.name)?;
                return Err(RuntimeError::ServerDied {
                    name: server.name.clone(),
                    status: "exited".into(),
                    log: st.log_file.clone(),
                    tail: st.log_tail(15),
                });
            }
            if Instant::now() > deadline {
                return Err(RuntimeError::StartTimeout {
                    name: server.name.clone(),
                    secs: server.startup_timeout,
                    log: st.log_file.clone(),
                });
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// The exit status of a child this manager started, if it has exited.
    async fn exit_status(&self, name: &str) -> Option<String> {
        let mut children = self.children.lock().await;
        let child = children.get_mut(name)?;
        match child.try_wait() {
            Ok(Some(status)) => {
                children.remove(name);
                Some(status.to_string())
            }
            _ => None,
        }
    }

    /// Stops `name`: SIGTERM, then SIGKILL after a grace period. Returns false when it was not
    /// running.
    pub async fn stop(&self, name: &str) -> Result<bool> {
        self.server(Some(name))?;
        let st = state::read(&self.state_dir, name)?;
        // Remove the state first: a supervisor (in this or another process) that sees the process
        // gone while its state file remains would take it for a crash and restart it.
        state::remove(&self.state_dir, name)?;
        let child = self.children.lock().await.remove(name);
        let result = match &st {
            Some(s) if s.is_alive() => {
                let killed =
                    process::terminate(s.pid, &s.model.display().to_string(), STOP_GRACE).await;
                tracing::info!(server = name, pid = s.pid, killed, "llama-server stopped");
                true
            }
            _ => false,
        };
        // Reap our own child so it does not linger as a zombie.
        if let Some(mut c) = child {
            let _ = c.wait().await;
        }
        Ok(result)
    }

    /// Stops then starts `name`.
    pub async fn restart(&self, name: &str, progress: impl Fn(StartPhase)) -> Result<ServerState> {
        self.stop(name).await?;
        self.start(Some(name), progress).await
    }

    /// Reads `/props` of a running server.
    pub async fn props(&self, st: &ServerState) -> Result<ServerProps> {
        let url = format!("{}/props", st.root_url());
        let v: serde_json::Value = self
            .http
            .get(&url)
            .timeout(REQUEST_TIMEOUT)
            .send()
            .await
            .and_then(|r| r.error_for_status())
            .map_err(|e| RuntimeError::Request {
                endpoint: st.root_url(),
                message: e.to_string(),
                status: e.status().map(|s| s.as_u16()),
            })?
            .json()
            .await
            .map_err(|e| RuntimeError::Malformed {
                endpoint: url.clone(),
                detail: e.to_string(),
            })?;
        parse_props(&v).ok_or_else(|| RuntimeError::Malformed {
            endpoint: url,
            detail: "no n_ctx in /props".into(),
        })
    }

    /// The state directory (for supervisors and tests).
    pub(crate) fn state_dir(&self) -> &std::path::Path {
        &self.state_dir
    }
}

/// Reads the fields LLF needs from a `/props` document.
pub fn parse_props(v: &serde_json::Value) -> Option<ServerProps> {
    let n_ctx = v
        .pointer("/default_generation_settings/n_ctx")
        .or_else(|| v.get("n_ctx"))?
        .as_u64()?;
    Some(ServerProps {
        context_size: usize::try_from(n_ctx).ok()?,
        supports_tools: v
            .pointer("/chat_template_caps/supports_tools")
            .and_then(|b| b.as_bool())
            .unwrap_or(false),
        model_path: v
            .get("model_path")
            .and_then(|m| m.as_str())
            .unwrap_or_default()
            .to_owned(),
    })
}

/// The command line for a server: model, host, port, threads, then `server_params` (`true` → bare
/// flag, `false`/`null` → omitted). `--host`/`--port` in `server_params` are ignored: the typed
/// fields already carry them. Threads are `server.threads`, else the physical cores that are
/// free (llama-server's own default, every physical core, collapses on a loaded or quota-limited
/// machine), unless `server_params` sets `--threads`/`-t` itself.
pub fn launch_args(server: &LocalServer, model: &std::path::Path) -> Vec<String> {
    let mut args = vec![
        "-m".to_owned(),
        model.display().to_string(),
        "--host".to_owned(),
        server.host.clone(),
        "--port".to_owned(),
        server.port.to_string(),
    ];
    let params_set_threads = ["--threads", "-t"]
        .iter()
        .any(|f| server.server_params.contains_key(*f));
    if !params_set_threads {
        let threads = server.threads.unwrap_or_else(process::default_threads);
        tracing::debug!(server = %server.name, threads, "llama-server threads");
        args.extend(["--threads".to_owned(), threads.to_string()]);
    }
    for (flag, value) in &server.server_params {
        if flag == "--host" || flag == "--port" {
            continue;
        }
        match value {
            serde_json::Value::Bool(true) => args.push(flag.clone()),
            serde_json::Value::Bool(false) | serde_json::Value::Null => {}
            serde_json::Value::String(s) => args.extend([flag.clone(), s.clone()]),
            other => args.extend([flag.clone(), other.to_string()]),
        }
    }
    args
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn launch_args_render_params() {
        let mut s = LocalServer {
            port: 8123,
            ..LocalServer::default()
        };
        s.server_params
            .insert("--ctx-size".into(), serde_json::json!(2048));
        s.server_params
            .insert("--jinja".into(), serde_json::json!(true));
        s.server_params
            .insert("--mlock".into(), serde_json::json!(false));
        s.server_params
            .insert("--port".into(), serde_json::json!(9999));
        s.server_params
            .insert("--alias".into(), serde_json::json!("smol"));
        s.threads = Some(3);
        let args = launch_args(&s, std::path::Path::new("/m.gguf"));
        assert_eq!(
            args,
            [
                "-m",
                "/m.gguf",
                "--host",
                "127.0.0.1",
                "--port",
                "8123",
                "--threads",
                "3",
                "--ctx-size",
                "2048",
                "--jinja",
                "--alias",
                "smol"
            ]
        );
    }

    #[test]
    fn threads_default_to_the_machine_and_server_params_win() {
        let s = LocalServer::default();
        let args = launch_args(&s, std::path::Path::new("/m.gguf"));
        let at = args.iter().position(|a| a == "--threads").unwrap();
        let threads: usize = args[at + 1].parse().unwrap();
        assert!(threads >= 1);

        let mut s = LocalServer {
            threads: Some(3),
            ..LocalServer::default()
        };
        s.server_params.insert("-t".into(), serde_json::json!(1));
        let args = launch_args(&s, std::path::Path::new("/m.gguf"));
        assert!(!args.contains(&"--threads".to_owned()), "{args:?}");
        assert_eq!(args.iter().filter(|a| *a == "-t").count(), 1);
    }

    #[test]
    fn props_are_read_from_llama_server_shape() {
        let v = serde_json::json!({"default_generation_settings": {"n_ctx": 8192},
            "chat_template_caps": {"supports_tools": false}, "model_path": "/m.gguf"});
        let p = parse_props(&v).unwrap();
        assert_eq!(
            p,
            ServerProps {
                context_size: 8192,
                supports_tools: false,
                model_path: "/m.gguf".into()
            }
        );
        assert!(parse_props(&serde_json::json!({})).is_none());
    }
}
