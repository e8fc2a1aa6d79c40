//! Running an external tool with limits, without `unsafe`: the tool is started through a chain of
//! small util-linux launchers that each set something up and `exec` the next —
//! `setpriv` (drop root to `nobody`), `unshare` (user + network namespaces), `prlimit` (rlimits) —
//! so the tool keeps the pid LLF spawned, in a process group of its own that LLF kills as a whole.
//!
//! Why drop root: the kernel never enforces `RLIMIT_NPROC` for uid 0, so a fork bomb run as root
//! would only stop at the timeout after filling the pid table. Run as `nobody` inside its own user
//! namespace, the process count is limited per run.

use std::ffi::OsString;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use llf_config::schema::ToolSandboxSettings;
use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::sync::OnceCell;

/// The Python runner shipped with LLF for `execute.py` tools.
pub const PYTHON_RUNNER: &str = include_str!("runner.py");

/// The uid/gid tools run as when LLF runs as root.
const NOBODY: u32 = 65534;
/// `PATH` of the cleared environment.
pub(crate) const SAFE_PATH: &str = "/usr/local/bin:/usr/bin:/bin";

/// What the sandbox could set up on this machine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Isolation {
    /// User + network namespaces work (`unshare`).
    pub namespaces: bool,
    /// Why they do not, when they do not.
    pub note: Option<String>,
    /// LLF runs as root, so sandboxed tools run as `nobody`.
    pub drops_root: bool,
}

/// A limit the tool hit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Violation {
    /// Killed at the wall-clock timeout.
    Timeout,
    /// Printed more than the output cap.
    OutputLimit,
    /// Used up its CPU seconds.
    CpuLimit,
    /// Tried to write a file larger than allowed.
    FileSizeLimit,
    /// Ran out of address space.
    MemoryLimit,
    /// Could not create more processes.
    ProcessLimit,
}

impl Violation {
    /// A sentence for the model and the user.
    pub fn describe(self, s: &ToolSandboxSettings, timeout: Duration) -> String {
        match self {
            Self::Timeout => format!(
                "the tool was stopped after {} s (timeout); its whole process group was killed",
                timeout.as_secs_f64()
            ),
            Self::OutputLimit => format!(
                "the tool printed more than {} KiB and was stopped",
                s.max_output_kb
            ),
            Self::CpuLimit => format!("the tool used more than {} s of CPU time", s.max_cpu_time),
            Self::FileSizeLimit => format!(
                "the tool tried to write a file larger than {} MiB",
                s.max_file_size_mb
            ),
            Self::MemoryLimit => format!("the tool ran out of memory ({} MiB)", s.max_memory_mb),
            Self::ProcessLimit => format!(
                "the tool tried to start more than {} processes",
                s.max_processes
            ),
        }
    }
}

/// One run.
#[derive(Debug, Clone)]
pub struct RunRequest {
    /// Program and arguments.
    pub argv: Vec<OsString>,
    /// The tool directory (staged into the working dir when root is dropped).
    pub tool_dir: PathBuf,
    /// Bytes written to stdin.
    pub stdin: Vec<u8>,
    /// Wall-clock limit.
    pub timeout: Duration,
    /// Full isolation (namespaces, root drop); `false` for `allow_sandbox: false` tools.
    pub isolate: bool,
    /// Keep the network.
    pub network: bool,
    /// Variables added to the cleared environment.
    pub env: Vec<(String, String)>,
}

/// What came out of a run.
#[derive(Debug, Clone)]
pub struct RunReport {
    /// Exit code, if it exited.
    pub code: Option<i32>,
    /// Signal, if it was killed.
    pub signal: Option<i32>,
    /// Stdout (at most the cap).
    pub stdout: Vec<u8>,
    /// Stderr (at most the cap), for the log.
    pub stderr: String,
    /// Wall time.
    pub duration: Duration,
    /// A limit it hit.
    pub violation: Option<Violation>,
    /// It ran without network access.
    pub network_isolated: bool,
}

/// Starts tools with the configured limits.
#[derive(Debug, Clone)]
pub struct Sandbox {
    settings: ToolSandboxSettings,
    work_root: PathBuf,
    isolation: Arc<OnceCell<Isolation>>,
}

impl Sandbox {
    /// A sandbox with these limits; per-run working directories go under `work_root`.
    pub fn new(settings: ToolSandboxSettings, work_root: impl Into<PathBuf>) -> Self {
        Self {
            settings,
            work_root: work_root.into(),
            isolation: Arc::new(OnceCell::new()),
        }
    }

    /// The limits.
    pub fn settings(&self) -> &ToolSandboxSettings {
        &self.settings
    }

    /// Probes (once) what isolation the kernel allows.
    pub async fn isolation(&self) -> Isolation {
        self.isolation.get_or_init(probe).await.clone()
    }

    /// Runs one tool process to completion, whatever it does.
    pub async fn run(&self, req: RunRequest) -> std::io::Result<RunReport> {
        let iso = self.isolation().await;
        let sandboxed = self.settings.enabled && req.isolate;
        let drop_root = sandboxed && iso.drops_root;
        let use_ns = sandboxed && iso.namespaces;
        let network_isolated = use_ns && !req.network && !self.settings.allow_network;

        std::fs::create_dir_all(&self.work_root)?;
        // `nobody` must be able to reach its working directory; under a private home it cannot,
        // so such runs use a fresh random directory in the system temp dir instead.
        let base = if drop_root && !reachable_by_others(&self.work_root) {
            std::env::temp_dir()
        } else {
            self.work_root.clone()
        };
        let work = tempfile::Builder::new()
            .prefix("llf-tool-")
            .tempdir_in(&base)?;
        let mut argv = req.argv.clone();
        if drop_root {
            // `nobody` may not be able to read the user's tool directory: give it a copy.
            let staged = work.path().join("tool");
            copy_dir(&req.tool_dir, &staged)?;
            for a in argv.iter_mut() {
                if let Ok(rest) = Path::new(a.as_os_str()).strip_prefix(&req.tool_dir) {
                    *a = staged.join(rest).into_os_string();
                }
            }
            chown_tree(work.path())?;
        }
        let launch = Launch {
            drop_root,
            namespaces: use_ns,
            network_isolated,
            cpu_limit: true,
        };
        let mut cmd = self.launcher(&launch, argv, &req.env, work.path());

        let started = Instant::now();
        let mut child = cmd.spawn()?;
        let pgid = child
            .id()
            .map(|id| Pid::from_raw(id as i32))
            .ok_or_else(|| std::io::Error::other("the tool exited before it could be watched"))?;
        if let Some(mut stdin) = child.stdin.take() {
            let input = req.stdin.clone();
            tokio::spawn(async move {
                // A tool that does not read its arguments closes the pipe: not an error.
                let _ = stdin.write_all(&input).await;
            });
        }
        let cap = (self.settings.max_output_kb * 1024) as usize;
        let overflow = Arc::new(AtomicBool::new(false));
        let stdout = child.stdout.take();
        let stderr = child.stderr.take();
        let out_task = tokio::spawn(read_capped(stdout, cap, Some((pgid, overflow.clone()))));
        let err_task = tokio::spawn(read_capped(stderr, cap, None));

        let mut timed_out = false;
        let status = match tokio::time::timeout(req.timeout, child.wait()).await {
            Ok(status) => status?,
            Err(_) => {
                timed_out = true;
                kill_group(pgid);
                child.wait().await?
            }
        };
        // Whatever the tool left behind in its group (background children) goes too.
        kill_group(pgid);
        let grace = Duration::from_secs(2);
        let stdout = match tokio::time::timeout(grace, out_task).await {
            Ok(Ok(b)) => b,
            _ => Vec::new(),
        };
        let stderr_bytes = match tokio::time::timeout(grace, err_task).await {
            Ok(Ok(b)) => b,
            _ => Vec::new(),
        };
        let duration = started.elapsed();
        let stderr = String::from_utf8_lossy(&stderr_bytes).into_owned();
        let signal = status.signal();
        let violation = classify(
            timed_out,
            overflow.load(Ordering::SeqCst),
            signal,
            status.success(),
            &stderr,
            &stdout,
        );
        if let Some(v) = violation {
            tracing::warn!(violation = ?v, signal = ?signal, "tool hit a sandbox limit");
        }
        Ok(RunReport {
            code: status.code(),
            signal,
            stdout,
            stderr,
            duration,
            violation,
            network_isolated,
        })
    }
}

/// How a process is started.
struct Launch {
    drop_root: bool,
    namespaces: bool,
    network_isolated: bool,
    /// A CPU-time limit; off for long-lived processes, which would hit any limit eventually.
    cpu_limit: bool,
}

impl Sandbox {
    /// The launcher chain for `argv` with the configured limits, a cleared environment (plus
    /// `env`) and `work` as home, temp and working directory, in a process group of its own that
    /// dies with its handle.
    fn launcher(
        &self,
        launch: &Launch,
        argv: Vec<OsString>,
        env: &[(String, String)],
        work: &Path,
    ) -> tokio::process::Command {
        let mut full: Vec<OsString> = Vec::new();
        if launch.drop_root {
            full.extend(
                [
                    "setpriv",
                    &format!("--reuid={NOBODY}"),
                    &format!("--regid={NOBODY}"),
                    "--clear-groups",
                    "--",
                ]
                .map(OsString::from),
            );
        }
        if launch.namespaces {
            full.extend(["unshare", "--user", "--map-root-user"].map(OsString::from));
            if launch.network_isolated {
                full.push("--net".into());
            }
            full.push("--".into());
        }
        if self.settings.enabled {
            let s = &self.settings;
            let mib = 1024 * 1024;
            full.push("prlimit".into());
            if launch.cpu_limit {
                full.push(format!("--cpu={}:{}", s.max_cpu_time, s.max_cpu_time + 1).into());
            }
            full.extend(
                [
                    format!("--as={}", s.max_memory_mb * mib),
                    format!("--fsize={}", s.max_file_size_mb * mib),
                    format!("--nofile={}", s.max_open_files),
                    format!("--nproc={}", s.max_processes),
                    "--core=0".to_string(),
                    "--".to_string(),
                ]
                .map(OsString::from),
            );
        }
        full.extend(argv);
        let mut cmd = tokio::process::Command::new(&full[0]);
        cmd.args(&full[1..])
            .env_clear()
            .env("PATH", SAFE_PATH)
            .env("HOME", work)
            .env("TMPDIR", work)
            .env("LANG", "C.UTF-8")
            .envs(env.iter().map(|(k, v)| (k, v)))
            .current_dir(work)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0)
            .kill_on_drop(true);
        cmd
    }

    /// A command for a long-lived helper process (an MCP server, a plugin) in the same sandbox as
    /// tools: `nobody` when LLF runs as root, user and network namespaces (the network only when
    /// `network`), the memory, file, process and open-file limits (no CPU-time limit), a cleared
    /// environment plus `env`, and a private working directory — returned with the command, and
    /// removed when dropped, so keep it as long as the process runs. When LLF runs as root, the
    /// program and its files must be readable by `nobody`.
    pub async fn long_lived(
        &self,
        argv: Vec<OsString>,
        env: &[(String, String)],
        network: bool,
    ) -> std::io::Result<(tokio::process::Command, tempfile::TempDir)> {
        let iso = self.isolation().await;
        let sandboxed = self.settings.enabled;
        let drop_root = sandboxed && iso.drops_root;
        let namespaces = sandboxed && iso.namespaces;
        std::fs::create_dir_all(&self.work_root)?;
        let base = if drop_root && !reachable_by_others(&self.work_root) {
            std::env::temp_dir()
        } else {
            self.work_root.clone()
        };
        let work = tempfile::Builder::new()
            .prefix("llf-process-")
            .tempdir_in(&base)?;
        if drop_root {
            chown_tree(work.path())?;
        }
        let launch = Launch {
            drop_root,
            namespaces,
            network_isolated: namespaces && !network && !self.settings.allow_network,
            cpu_limit: false,
        };
        let cmd = self.launcher(&launch, argv, env, work.path());
        Ok((cmd, work))
    }

    /// Gives the directory tree `dir` to the user long-lived processes run as: owned by `nobody`
    /// when LLF runs as root and the sandbox drops root (a plugin's copied program, its home).
    /// Returns whether that user can reach `dir` at all (every directory above it searchable by
    /// others); when not, the process cannot use it.
    pub async fn hand_over(&self, dir: &Path) -> std::io::Result<bool> {
        let iso = self.isolation().await;
        if !(self.settings.enabled && iso.drops_root) {
            return Ok(true);
        }
        chown_tree(dir)?;
        Ok(reachable_by_others(dir))
    }
}

fn classify(
    timed_out: bool,
    overflow: bool,
    signal: Option<i32>,
    success: bool,
    stderr: &str,
    stdout: &[u8],
) -> Option<Violation> {
    let out = String::from_utf8_lossy(stdout);
    let forks = stderr.contains("fork: retry") || stderr.contains("fork: Resource temporarily");
    if overflow {
        Some(Violation::OutputLimit)
    } else if forks {
        Some(Violation::ProcessLimit)
    } else if timed_out {
        Some(Violation::Timeout)
    } else if signal == Some(Signal::SIGXCPU as i32) {
        Some(Violation::CpuLimit)
    } else if signal == Some(Signal::SIGXFSZ as i32) {
        Some(Violation::FileSizeLimit)
    } else if !success
        && (stderr.contains("MemoryError") || stderr.contains("Cannot allocate memory"))
        || out.contains("\"MemoryError")
    {
        Some(Violation::MemoryLimit)
    } else if stderr.contains("fork") && stderr.contains("Resource temporarily unavailable") {
        Some(Violation::ProcessLimit)
    } else {
        None
    }
}

fn kill_group(pgid: Pid) {
    // ESRCH (nothing left) is the normal case.
    let _ = killpg(pgid, Signal::SIGKILL);
}

async fn read_capped<R: AsyncRead + Unpin>(
    reader: Option<R>,
    cap: usize,
    kill_on_overflow: Option<(Pid, Arc<AtomicBool>)>,
) -> Vec<u8> {
    let Some(mut reader) = reader else {
        return Vec::new();
    };
    let mut kept = Vec::new();
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = match reader.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        let room = cap.saturating_sub(kept.len());
        kept.extend_from_slice(&buf[..n.min(room)]);
        // Stdout past the cap stops the tool; stderr past the cap is drained and dropped so the
        // tool does not block on a full pipe.
        if n > room
            && let Some((pgid, flag)) = &kill_on_overflow
        {
            flag.store(true, Ordering::SeqCst);
            kill_group(*pgid);
            break;
        }
    }
    kept
}

async fn probe() -> Isolation {
    let drops_root = nix::unistd::geteuid().is_root();
    let mut cmd = if drops_root {
        let mut c = tokio::process::Command::new("setpriv");
        c.args([
            &format!("--reuid={NOBODY}"),
            &format!("--regid={NOBODY}"),
            "--clear-groups",
            "--",
            "unshare",
        ]);
        c
    } else {
        tokio::process::Command::new("unshare")
    };
    cmd.args(["--user", "--map-root-user", "--net", "--", "true"])
        .env_clear()
        .env("PATH", SAFE_PATH)
        .current_dir("/")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    let (namespaces, note) = match cmd.output().await {
        Ok(o) if o.status.success() => (true, None),
        Ok(o) => (
            false,
            Some(format!(
                "tools can reach the network: the kernel refused a user/network namespace ({}); \
                 enable unprivileged user namespaces (sysctl kernel.unprivileged_userns_clone=1)",
                String::from_utf8_lossy(&o.stderr).trim()
            )),
        ),
        Err(e) => (
            false,
            Some(format!(
                "tools can reach the network: `unshare` could not be started ({e}); install util-linux"
            )),
        ),
    };
    if let Some(n) = &note {
        tracing::warn!(note = %n, "tool network isolation unavailable");
    }
    Isolation {
        namespaces,
        note,
        drops_root,
    }
}

/// Every ancestor of `dir` lets other users through (the `x` bit for others).
fn reachable_by_others(dir: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    let Ok(dir) = dir.canonicalize() else {
        return false;
    };
    dir.ancestors()
        .all(|d| std::fs::metadata(d).is_ok_and(|m| m.permissions().mode() & 0o001 != 0))
}

fn copy_dir(from: &Path, to: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(to)?;
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        let ty = entry.file_type()?;
        let dest = to.join(entry.file_name());
        if ty.is_dir() {
            copy_dir(&entry.path(), &dest)?;
        } else if ty.is_file() {
            std::fs::copy(entry.path(), &dest)?;
        }
        // Symlinks are not staged: a tool may not point outside its directory.
    }
    Ok(())
}

fn chown_tree(dir: &Path) -> std::io::Result<()> {
    let id = Some(nix::unistd::Uid::from_raw(NOBODY));
    let gid = Some(nix::unistd::Gid::from_raw(NOBODY));
    nix::unistd::chown(dir, id, gid).map_err(std::io::Error::from)?;
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        if entry.file_type()?.is_dir() {
            chown_tree(&entry.path())?;
        } else {
            nix::unistd::chown(&entry.path(), id, gid).map_err(std::io::Error::from)?;
        }
    }
    Ok(())
}
