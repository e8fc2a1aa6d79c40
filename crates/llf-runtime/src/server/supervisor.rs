//! Restarting a server that crashed while a long-running LLF process (the chat REPL, the HTTP API)
//! depends on it, with backoff, and giving up with a report on a crash loop.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::mpsc;

use super::{ServerManager, state};

/// What the supervisor did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SupervisorEvent {
    /// The server died and was started again.
    Restarted {
        /// The new pid.
        pid: u32,
        /// Restarts within the current window.
        attempt: u32,
    },
    /// A restart attempt failed; another will follow after the backoff.
    RestartFailed {
        /// Why.
        error: String,
    },
    /// Too many crashes in a row: the supervisor stopped trying.
    CrashLoop {
        /// Restarts attempted within the window.
        restarts: u32,
        /// Where to look.
        log: std::path::PathBuf,
    },
}

/// Restart limits.
#[derive(Debug, Clone)]
pub struct RestartPolicy {
    /// How often to check the process.
    pub poll: Duration,
    /// Restarts allowed within `window` before declaring a crash loop.
    pub max_restarts: u32,
    /// The window.
    pub window: Duration,
    /// First backoff; doubles each time up to `max_backoff`.
    pub initial_backoff: Duration,
    /// Largest backoff.
    pub max_backoff: Duration,
}

impl Default for RestartPolicy {
    fn default() -> Self {
        Self {
            poll: Duration::from_millis(500),
            max_restarts: 4,
            window: Duration::from_secs(120),
            initial_backoff: Duration::from_millis(500),
            max_backoff: Duration::from_secs(10),
        }
    }
}

/// A running supervisor; dropping it stops supervision (not the server).
#[derive(Debug)]
pub struct Supervisor {
    task: tokio::task::JoinHandle<()>,
    events: mpsc::UnboundedReceiver<SupervisorEvent>,
}

impl Supervisor {
    /// Watches `name`. A server whose state file disappeared was stopped on purpose (`llf server
    /// stop`), which ends supervision quietly; a state file whose process is gone is a crash.
    pub fn start(manager: Arc<ServerManager>, name: String, policy: RestartPolicy) -> Self {
        let (tx, events) = mpsc::unbounded_channel();
        let task = tokio::spawn(async move { watch(manager, name, policy, tx).await });
        Self { task, events }
    }

    /// The next event, without waiting.
    pub fn try_event(&mut self) -> Option<SupervisorEvent> {
        self.events.try_recv().ok()
    }

    /// Waits for the next event; `None` once supervision ended.
    pub async fn next_event(&mut self) -> Option<SupervisorEvent> {
        self.events.recv().await
    }
}

impl Drop for Supervisor {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn watch(
    manager: Arc<ServerManager>,
    name: String,
    policy: RestartPolicy,
    tx: mpsc::UnboundedSender<SupervisorEvent>,
) {
    let mut restarts: VecDeque<Instant> = VecDeque::new();
    let mut backoff = policy.initial_backoff;
    loop {
        tokio::time::sleep(policy.poll).await;
        let st = match state::read(manager.state_dir(), &name) {
            Ok(Some(st)) => st,
            // Stopped on purpose, or unreadable: nothing to supervise.
            Ok(None) | Err(_) => return,
        };
        if st.is_alive() {
            continue;
        }
        tracing::warn!(server = %name, pid = st.pid, "llama-server died; restarting");
        loop {
            let now = Instant::now();
            while restarts
                .front()
                .is_some_and(|t| now.duration_since(*t) > policy.window)
            {
                restarts.pop_front();
            }
            if restarts.len() as u32 >= policy.max_restarts {
                let _ = tx.send(SupervisorEvent::CrashLoop {
                    restarts: restarts.len() as u32,
                    log: st.log_file.clone(),
                });
                tracing::error!(server = %name, restarts = restarts.len(), "crash loop: giving up");
                return;
            }
            restarts.push_back(now);
            tokio::time::sleep(backoff).await;
            backoff = (backoff * 2).min(policy.max_backoff);
            match manager.start(Some(&name), |_| {}).await {
                Ok(new) => {
                    let _ = tx.send(SupervisorEvent::Restarted {
                        pid: new.pid,
                        attempt: restarts.len() as u32,
                    });
                    break;
                }
                Err(e) => {
                    let _ = tx.send(SupervisorEvent::RestartFailed {
                        error: e.to_string(),
                    });
                    // start() removed the state file on failure; keep trying within the policy.
                    if let Err(e) = state::write(manager.state_dir(), &st) {
                        tracing::warn!(error = %e, "cannot keep the server state while restarting");
                    }
                }
            }
        }
    }
}
