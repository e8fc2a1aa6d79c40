//! The audit log: append-only JSON lines, each fsynced and carrying the SHA-256 of the previous
//! line, so a removed or edited line breaks the chain (`AuditLog::verify`). Rotated by size; the
//! chain continues across rotated files.
//!
//! A chain alone cannot tell a log cut short at the end (or emptied) from one that is complete, so
//! every append also rewrites an anchor beside the log, `<log>.anchor` (atomically): how many events
//! the kept files hold and the hash of the last one. Appends (and rotations) hold `<log>.lock`, so
//! several processes writing the log keep one chain and one anchor.

use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use crate::error::{Result, ToolError};

/// The `prev` of the very first line.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// Kinds of audit events (the design document's names).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum AuditEventType {
    /// A tool ran (with duration and outcome).
    ToolExecution,
    /// A call was refused (approval denied, unknown or disabled tool).
    ToolBlocked,
    /// Arguments failed validation.
    ValidationFailed,
    /// A call hit the tool's rate limit.
    RateLimitExceeded,
    /// A tool hit a sandbox limit.
    SandboxViolation,
    /// The user approved a tool.
    Approval,
    /// Tool configuration changed (enable, disable, import, remove, revoke).
    ConfigChanged,
}

impl AuditEventType {
    /// Every event type.
    pub const ALL: [Self; 7] = [
        Self::ToolExecution,
        Self::ToolBlocked,
        Self::ValidationFailed,
        Self::RateLimitExceeded,
        Self::SandboxViolation,
        Self::Approval,
        Self::ConfigChanged,
    ];

    /// The names of every event type, as written in the log.
    pub const NAMES: [&'static str; 7] = [
        "tool_execution",
        "tool_blocked",
        "validation_failed",
        "rate_limit_exceeded",
        "sandbox_violation",
        "approval",
        "config_changed",
    ];

    /// The name used in the log.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ToolExecution => "tool_execution",
            Self::ToolBlocked => "tool_blocked",
            Self::ValidationFailed => "validation_failed",
            Self::RateLimitExceeded => "rate_limit_exceeded",
            Self::SandboxViolation => "sandbox_violation",
            Self::Approval => "approval",
            Self::ConfigChanged => "config_changed",
        }
    }
}

/// One event to record.
#[derive(Debug, Clone, PartialEq)]
pub struct AuditEvent {
    /// Kind.
    pub event_type: AuditEventType,
    /// Tool concerned.
    pub tool: Option<String>,
    /// Details (arguments must already be redacted).
    pub details: Value,
}

impl AuditEvent {
    /// An event about `tool`.
    pub fn new(event_type: AuditEventType, tool: impl Into<String>, details: Value) -> Self {
        Self {
            event_type,
            tool: Some(tool.into()),
            details,
        }
    }
}

/// A line read back from the log.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditRecord {
    /// When.
    pub ts: DateTime<Utc>,
    /// Kind (as written).
    #[serde(rename = "type")]
    pub event_type: String,
    /// Tool concerned.
    #[serde(default)]
    pub tool: Option<String>,
    /// Details.
    #[serde(default)]
    pub details: Value,
    /// Hash of the previous line.
    pub prev: String,
    /// Hash of this line.
    pub hash: String,
}

/// Result of [`AuditLog::verify`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifyReport {
    /// Lines checked.
    pub lines: usize,
    /// Files checked, oldest first.
    pub files: Vec<PathBuf>,
    /// Whether an anchor vouched for the log's length. False only for a log written before LLF
    /// kept anchors (the next event writes one); its end could have been cut without a trace.
    pub anchored: bool,
}

/// What the anchor file holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Anchor {
    /// Events in the kept files (rotation subtracts those of a deleted file).
    lines: usize,
    /// Hash of the last event appended.
    last_hash: String,
}

/// The append-only audit log.
#[derive(Debug)]
pub struct AuditLog {
    path: PathBuf,
    max_bytes: u64,
    keep: u32,
    /// Serialises this process's appends; `<log>.lock` serialises processes.
    writer: tokio::sync::Mutex<()>,
}

impl AuditLog {
    /// A log at `path`, rotated at `max_bytes`, keeping `keep` rotated files.
    pub fn new(path: impl Into<PathBuf>, max_bytes: u64, keep: u32) -> Self {
        Self {
            path: path.into(),
            max_bytes: max_bytes.max(1),
            keep: keep.max(1),
            writer: tokio::sync::Mutex::new(()),
        }
    }

    /// The current file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Appends one event, fsynced, and moves the anchor to it.
    pub async fn record(&self, event: AuditEvent) -> Result<()> {
        let _writer = self.writer.lock().await;
        let path = self.path.clone();
        let max = self.max_bytes;
        let keep = self.keep;
        tokio::task::spawn_blocking(move || append(&path, max, keep, &event))
            .await
            .map_err(|e| ToolError::Audit {
                path: self.path.clone(),
                message: format!("writer task failed: {e}"),
            })?
    }

    /// The last `n` records (newest last), optionally of one type, across rotated files.
    pub fn tail(&self, n: usize, event_type: Option<&str>) -> Result<Vec<AuditRecord>> {
        let mut out = Vec::new();
        for file in self.files() {
            for line in read_lines(&file)? {
                let rec: AuditRecord =
                    serde_json::from_str(&line).map_err(|source| ToolError::Json {
                        path: file.clone(),
                        source,
                    })?;
                if event_type.is_none_or(|t| t == rec.event_type) {
                    out.push(rec);
                }
            }
        }
        let skip = out.len().saturating_sub(n);
        Ok(out.split_off(skip))
    }

    /// Checks every line's hash, the chain between lines and files, and that the log still holds
    /// every event its anchor counted (nothing cut from the end, the log not emptied).
    pub fn verify(&self) -> Result<VerifyReport> {
        let files = self.files();
        let mut prev: Option<String> = None;
        let mut hashes = Vec::new();
        for file in &files {
            for (i, line) in read_lines(file)?.into_iter().enumerate() {
                let broken = |message: String| ToolError::Audit {
                    path: file.clone(),
                    message: format!("line {}: {message}", i + 1),
                };
                let mut map: Map<String, Value> = serde_json::from_str(&line)
                    .map_err(|e| broken(format!("not a JSON object ({e})")))?;
                let hash = map
                    .remove("hash")
                    .and_then(|h| h.as_str().map(str::to_owned))
                    .ok_or_else(|| broken("no hash".into()))?;
                let body = Value::Object(map.clone()).to_string();
                if sha256_hex(&body) != hash {
                    return Err(broken("content does not match its hash (edited)".into()));
                }
                let line_prev = map.get("prev").and_then(Value::as_str).unwrap_or_default();
                // The oldest kept line may point at a rotated-away file: it anchors the chain.
                if let Some(p) = &prev
                    && p != line_prev
                {
                    return Err(broken(
                        "does not follow the previous line (a line was removed or reordered)"
                            .into(),
                    ));
                }
                prev = Some(hash.clone());
                hashes.push(hash);
            }
        }
        let anchor = read_anchor(&anchor_path(&self.path))?;
        if let Some(a) = &anchor {
            // Events past the anchor are fine: a crash between an append and the anchor update
            // leaves exactly that. Fewer events, or another event where the anchor points, mean
            // the log was cut.
            let truncated = |message: String| ToolError::Audit {
                path: self.path.clone(),
                message,
            };
            if hashes.len() < a.lines {
                return Err(truncated(format!(
                    "{} event(s) missing: the log holds {} but {} were written (truncated, emptied or a file deleted)",
                    a.lines - hashes.len(),
                    hashes.len(),
                    a.lines
                )));
            }
            if a.lines > 0 && hashes.get(a.lines - 1) != Some(&a.last_hash) {
                return Err(truncated(format!(
                    "event {} is not the one last written (the end of the log was replaced)",
                    a.lines
                )));
            }
        }
        Ok(VerifyReport {
            lines: hashes.len(),
            files,
            anchored: anchor.is_some() || hashes.is_empty(),
        })
    }

    /// Existing files, oldest first.
    fn files(&self) -> Vec<PathBuf> {
        let mut files: Vec<PathBuf> = (1..=self.keep)
            .rev()
            .map(|k| rotated(&self.path, k))
            .filter(|p| p.exists())
            .collect();
        if self.path.exists() {
            files.push(self.path.clone());
        }
        files
    }
}

fn rotated(path: &Path, k: u32) -> PathBuf {
    let mut s = path.as_os_str().to_owned();
    s.push(format!(".{k}"));
    PathBuf::from(s)
}

fn sha256_hex(text: &str) -> String {
    Sha256::digest(text.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn read_lines(path: &Path) -> Result<Vec<String>> {
    let file = std::fs::File::open(path).map_err(|e| ToolError::io("reading", path, e))?;
    let mut out = Vec::new();
    for line in std::io::BufReader::new(file).lines() {
        let line = line.map_err(|e| ToolError::io("reading", path, e))?;
        if !line.trim().is_empty() {
            out.push(line);
        }
    }
    Ok(out)
}

/// The hash of the newest event: the last line of the log, or of `.1` right after a rotation.
fn last_hash_on_disk(path: &Path) -> Result<String> {
    for candidate in [path.to_owned(), rotated(path, 1)] {
        if let Some(line) = last_line(&candidate)? {
            let map: Map<String, Value> =
                serde_json::from_str(&line).map_err(|source| ToolError::Json {
                    path: candidate.clone(),
                    source,
                })?;
            if let Some(h) = map.get("hash").and_then(Value::as_str) {
                return Ok(h.to_owned());
            }
        }
    }
    Ok(GENESIS.to_owned())
}

/// The last non-empty line of a file, read from the end (a log may be megabytes long).
fn last_line(path: &Path) -> Result<Option<String>> {
    use std::io::{Read, Seek, SeekFrom};
    let mut file = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(ToolError::io("reading", path, e)),
    };
    let len = file
        .metadata()
        .map_err(|e| ToolError::io("reading", path, e))?
        .len();
    let mut chunk: u64 = 16 * 1024;
    loop {
        let start = len.saturating_sub(chunk);
        let mut buf = Vec::new();
        file.seek(SeekFrom::Start(start))
            .and_then(|_| file.read_to_end(&mut buf))
            .map_err(|e| ToolError::io("reading", path, e))?;
        let text = String::from_utf8_lossy(&buf);
        let trimmed = text.trim_end();
        match trimmed.rfind('\n') {
            Some(i) => return Ok(Some(trimmed[i + 1..].to_owned())),
            None if start == 0 => {
                return Ok((!trimmed.is_empty()).then(|| trimmed.to_owned()));
            }
            None => chunk = chunk.saturating_mul(4),
        }
    }
}

fn anchor_path(log: &Path) -> PathBuf {
    let mut s = log.as_os_str().to_owned();
    s.push(".anchor");
    PathBuf::from(s)
}

fn read_anchor(path: &Path) -> Result<Option<Anchor>> {
    match std::fs::read(path) {
        Ok(bytes) => serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|source| ToolError::Json {
                path: path.to_owned(),
                source,
            }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(ToolError::io("reading", path, e)),
    }
}

fn write_anchor(path: &Path, anchor: &Anchor) -> Result<()> {
    let bytes = serde_json::to_vec(anchor).map_err(|source| ToolError::Json {
        path: path.to_owned(),
        source,
    })?;
    llf_core::fs::atomic_write(path, &bytes, 0o600)?;
    Ok(())
}

/// The hash of the last event and the number of events in the kept files, read from the files
/// (for a log that has no anchor yet).
fn scan_files(path: &Path, keep: u32) -> Result<Anchor> {
    let mut files: Vec<PathBuf> = (1..=keep).rev().map(|k| rotated(path, k)).collect();
    files.push(path.to_owned());
    let mut anchor = Anchor {
        lines: 0,
        last_hash: GENESIS.to_owned(),
    };
    for file in files.iter().filter(|f| f.exists()) {
        for line in read_lines(file)? {
            let map: Map<String, Value> =
                serde_json::from_str(&line).map_err(|source| ToolError::Json {
                    path: file.clone(),
                    source,
                })?;
            if let Some(h) = map.get("hash").and_then(Value::as_str) {
                anchor.last_hash = h.to_owned();
            }
            anchor.lines += 1;
        }
    }
    Ok(anchor)
}

fn append(path: &Path, max_bytes: u64, keep: u32, event: &AuditEvent) -> Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| ToolError::io("creating", dir, e))?;
    }
    let _lock = llf_core::fs::FileLock::for_file(path)?;
    let anchor_file = anchor_path(path);
    let mut anchor = match read_anchor(&anchor_file)? {
        Some(a) if last_hash_on_disk(path)? == a.last_hash => a,
        // A crash between an append and its anchor update leaves the log one event ahead:
        // count from the files then. A log behind its anchor was cut; the anchor stays as it is so
        // that `verify` keeps reporting it.
        Some(a) => {
            let on_disk = scan_files(path, keep)?;
            if on_disk.lines > a.lines { on_disk } else { a }
        }
        None => scan_files(path, keep)?,
    };
    if std::fs::metadata(path).is_ok_and(|m| m.len() >= max_bytes) {
        anchor.lines -= rotate(path, keep)?.min(anchor.lines);
    }
    let mut map = Map::new();
    map.insert("ts".into(), Value::from(Utc::now().to_rfc3339()));
    map.insert("type".into(), Value::from(event.event_type.as_str()));
    if let Some(t) = &event.tool {
        map.insert("tool".into(), Value::from(t.clone()));
    }
    map.insert("details".into(), event.details.clone());
    map.insert("prev".into(), Value::from(anchor.last_hash.clone()));
    let hash = sha256_hex(&Value::Object(map.clone()).to_string());
    map.insert("hash".into(), Value::from(hash.clone()));
    let mut line = Value::Object(map).to_string();
    line.push('\n');
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(|e| ToolError::io("opening", path, e))?;
    file.write_all(line.as_bytes())
        .and_then(|()| file.sync_data())
        .map_err(|e| ToolError::io("appending to", path, e))?;
    write_anchor(
        &anchor_file,
        &Anchor {
            lines: anchor.lines + 1,
            last_hash: hash,
        },
    )
}

/// Shifts the files by one and returns how many events the deleted oldest file held.
fn rotate(path: &Path, keep: u32) -> Result<usize> {
    let oldest = rotated(path, keep);
    let mut dropped = 0;
    if oldest.exists() {
        dropped = read_lines(&oldest)?.len();
        std::fs::remove_file(&oldest).map_err(|e| ToolError::io("removing", &oldest, e))?;
    }
    for k in (1..keep).rev() {
        let from = rotated(path, k);
        if from.exists() {
            let to = rotated(path, k + 1);
            std::fs::rename(&from, &to).map_err(|e| ToolError::io("rotating", &from, e))?;
        }
    }
    let to = rotated(path, 1);
    std::fs::rename(path, &to).map_err(|e| ToolError::io("rotating", path, e))?;
    Ok(dropped)
}
