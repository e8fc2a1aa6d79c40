//! `llf server …`: start, stop and inspect the local llama-server instances.

use std::io::IsTerminal;
use std::time::Duration;

use clap::Subcommand;
use llf::runtime::server::ServerStatus;
use llf::runtime::{ProfileStats, RequestQueue, Runtime};

use crate::Context;
use crate::output;
use crate::progress::StartSpinner;

#[derive(Debug, Subcommand)]
pub(crate) enum ServerCmd {
    /// Start a server (the default one when no name is given) and wait until it answers.
    Start {
        /// Server name from local_llm_servers.
        name: Option<String>,
    },
    /// Stop a server: SIGTERM, then SIGKILL after 5 s.
    Stop {
        /// Server name (default: the default server).
        name: Option<String>,
        /// Stop every running server.
        #[arg(long, conflicts_with = "name")]
        all: bool,
    },
    /// Stop and start a server.
    Restart {
        /// Server name.
        name: Option<String>,
    },
    /// Show whether servers run, their pid, port, model, uptime, and the request limits.
    Status {
        /// Server name (default: all).
        name: Option<String>,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// List configured servers and which is the default.
    List {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Make NAME the default server (saved in config.json).
    Switch {
        /// Server name.
        name: String,
    },
    /// Print a server's log.
    Logs {
        /// Server name.
        name: Option<String>,
        /// Number of lines from the end.
        #[arg(short = 'n', long, default_value_t = 40)]
        lines: usize,
        /// Keep printing as the log grows (Ctrl-C to stop).
        #[arg(short, long)]
        follow: bool,
    },
}

pub(crate) fn runtime(ctx: &Context) -> anyhow::Result<&Runtime> {
    Ok(ctx.llf()?.runtime())
}

/// Starts `name` (or the default server) with a spinner when on a terminal.
pub(crate) async fn start_with_spinner(
    rt: &Runtime,
    name: Option<&str>,
) -> anyhow::Result<llf::runtime::server::ServerState> {
    let server = rt.servers().server(name)?.name.clone();
    // A running server needs no spinner, but still goes through `start`: another process may be
    // starting it, and `start` waits until it is ready.
    let running = matches!(
        rt.servers().status(&server).await?,
        ServerStatus::Running(_)
    );
    if std::io::stderr().is_terminal() && !running {
        let spinner = StartSpinner::new(&server);
        let result = rt
            .servers()
            .start(Some(&server), |p| spinner.phase(p))
            .await;
        spinner.finish();
        Ok(result?)
    } else {
        Ok(rt.servers().start(Some(&server), |_| {}).await?)
    }
}

pub(crate) async fn run(ctx: &Context, cmd: ServerCmd) -> anyhow::Result<()> {
    let rt = runtime(ctx)?;
    match cmd {
        ServerCmd::Start { name } => {
            let st = start_with_spinner(rt, name.as_deref()).await?;
            eprintln!(
                "server `{}` ready at {}/v1 (pid {}, log {})",
                st.name,
                st.root_url(),
                st.pid,
                st.log_file.display()
            );
        }
        ServerCmd::Stop { name, all } => {
            let names: Vec<String> = if all {
                rt.servers()
                    .servers()
                    .iter()
                    .map(|s| s.name.clone())
                    .collect()
            } else {
                vec![rt.servers().server(name.as_deref())?.name.clone()]
            };
            for n in names {
                if rt.servers().stop(&n).await? {
                    eprintln!("stopped `{n}`");
                } else if !all {
                    eprintln!("`{n}` was not running");
                }
            }
        }
        ServerCmd::Restart { name } => {
            let n = rt.servers().server(name.as_deref())?.name.clone();
            rt.servers().stop(&n).await?;
            let st = start_with_spinner(rt, Some(&n)).await?;
            eprintln!("server `{}` restarted (pid {})", st.name, st.pid);
        }
        ServerCmd::Status { name, json } => status(rt, name.as_deref(), json).await?,
        ServerCmd::List { json } => {
            let list = rt.servers().list().await?;
            let default = rt.servers().default_name().map(str::to_owned);
            if json {
                let v: Vec<_> = list
                    .iter()
                    .map(|(s, st)| {
                        serde_json::json!({"name": s.name, "default": Some(&s.name) == default.as_ref(),
                            "host": s.host, "port": s.port, "model": s.model_file(), "running": matches!(st, ServerStatus::Running(_))})
                    })
                    .collect();
                return output::json(&serde_json::Value::Array(v));
            }
            output::line(format!(
                "{:<2}{:<16} {:<22} {:<9} MODEL",
                "", "NAME", "ADDRESS", "STATE"
            ))?;
            for (s, st) in list {
                let mark = if Some(&s.name) == default.as_ref() {
                    "*"
                } else {
                    ""
                };
                let state = if matches!(st, ServerStatus::Running(_)) {
                    "running"
                } else {
                    "stopped"
                };
                let model = s
                    .model_file()
                    .map(|m| m.display().to_string())
                    .unwrap_or_else(|| "(none)".into());
                output::line(format!(
                    "{mark:<2}{:<16} {:<22} {state:<9} {model}",
                    s.name,
                    format!("{}:{}", s.host, s.port)
                ))?;
            }
        }
        ServerCmd::Switch { name } => {
            rt.servers().server(Some(&name))?;
            let mut file = ctx.config()?.clone();
            file.set(
                "llm_endpoint.default_local_server",
                &serde_json::to_string(&name)?,
            )?;
            file.save()?;
            eprintln!("default server is now `{name}`");
        }
        ServerCmd::Logs {
            name,
            lines,
            follow,
        } => {
            let n = rt.servers().server(name.as_deref())?.name.clone();
            let path = rt.servers().log_file(&n);
            let text = std::fs::read_to_string(&path).map_err(|e| {
                anyhow::anyhow!(
                    "cannot read {}: {e} (has `{n}` ever been started?)",
                    path.display()
                )
            })?;
            let all: Vec<&str> = text.lines().collect();
            for l in &all[all.len().saturating_sub(lines)..] {
                output::line(l)?;
            }
            if follow {
                follow_file(&path, text.len() as u64).await?;
            }
        }
    }
    Ok(())
}

async fn status(rt: &Runtime, name: Option<&str>, json: bool) -> anyhow::Result<()> {
    let servers: Vec<String> = match name {
        Some(n) => vec![rt.servers().server(Some(n))?.name.clone()],
        None => rt
            .servers()
            .servers()
            .iter()
            .map(|s| s.name.clone())
            .collect(),
    };
    let recent = ProfileStats::from_records(&rt.profile_log().read(Some(100))?);
    let mut out = Vec::new();
    for n in servers {
        let st = rt.servers().status(&n).await?;
        let mut entry = serde_json::json!({"name": n, "status": st});
        if let ServerStatus::Running(s) = &st {
            let uptime = (chrono::Utc::now() - s.started_at).num_seconds().max(0);
            entry["uptime_secs"] = uptime.into();
            if let Ok(p) = rt.servers().props(s).await {
                entry["context_size"] = p.context_size.into();
                entry["supports_tools"] = p.supports_tools.into();
            }
            let queue: RequestQueue = rt.queue(&format!("{}/v1", s.root_url()));
            entry["queue"] = serde_json::to_value(queue.stats())?;
        }
        out.push(entry);
    }
    if json {
        return output::json(&serde_json::json!({"servers": out, "recent_requests": recent}));
    }
    for e in &out {
        let name = e["name"].as_str().unwrap_or_default();
        match e["status"]["status"].as_str() {
            Some("running") => {
                let s = &e["status"];
                output::line(format!(
                    "{name}: running (pid {}, {}:{}, up {}s, context {} tokens)",
                    s["pid"],
                    s["host"].as_str().unwrap_or_default(),
                    s["port"],
                    e["uptime_secs"],
                    e["context_size"]
                ))?;
                output::line(format!(
                    "  model: {}",
                    s["model"].as_str().unwrap_or_default()
                ))?;
                let q = &e["queue"];
                output::line(format!(
                    "  queue limits: {} concurrent, {} waiting max, {} requests/s",
                    q["max_concurrent"], q["max_size"], q["max_requests_per_second"]
                ))?;
            }
            _ => output::line(format!("{name}: stopped"))?,
        }
    }
    if recent.requests > 0 {
        output::line(format!(
            "last {} requests: time to first token p50 {:.0} ms, {:.1} tokens/s, {} failed",
            recent.requests, recent.p50_ttft_ms, recent.mean_tokens_per_second, recent.failures
        ))?;
    }
    Ok(())
}

async fn follow_file(path: &std::path::Path, mut pos: u64) -> anyhow::Result<()> {
    use tokio::io::{AsyncReadExt, AsyncSeekExt};
    loop {
        tokio::select! {
            _ = tokio::signal::ctrl_c() => return Ok(()),
            _ = tokio::time::sleep(Duration::from_millis(300)) => {}
        }
        let mut f = tokio::fs::File::open(path).await?;
        let len = f.metadata().await?.len();
        if len < pos {
            pos = 0; // rotated or truncated
        }
        if len > pos {
            f.seek(std::io::SeekFrom::Start(pos)).await?;
            let mut buf = String::new();
            f.read_to_string(&mut buf).await?;
            pos = len;
            use std::io::Write;
            let mut out = std::io::stdout().lock();
            out.write_all(buf.as_bytes())?;
            out.flush()?;
        }
    }
}
