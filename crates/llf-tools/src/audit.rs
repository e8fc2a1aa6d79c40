//! The audit log: append-only JSON lines, each fsynced and carrying the SHA-256 of the previous
//! line, so a removed or edited line breaks the chain (`AuditLog::verify`). Rotated by size; the
//! chain continues across rotated files.

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
}

/// The append-only audit log.
#[derive(Debug)]
pub struct AuditLog {
    path: PathBuf,
    max_bytes: u64,
    keep: u32,
    last_hash: tokio::sync::Mutex<Option<String>>,
}

impl AuditLog {
    /// A log at `path`, rotated at `max_bytes`, keeping `keep` rotated files.
    pub fn new(path: impl Into<PathBuf>, max_bytes: u64, keep: u32) -> Self {
        Self {
            path: path.into(),
            max_bytes: max_bytes.max(1),
            keep: keep.max(1),
            last_hash: tokio::sync::Mutex::new(None),
        }
    }

    /// The current file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Appends one event, fsynced.
    pub async fn record(&self, event: AuditEvent) -> Result<()> {
        let mut last = self.last_hash.lock().await;
        let path = self.path.clone();
        let max = self.max_bytes;
        let keep = self.keep;
        let known = last.clone();
        let hash = tokio::task::spawn_blocking(move || append(&path, max, keep, known, &event))
            .await
            .map_err(|e| ToolError::Audit {
                path: self.path.clone(),
                message: format!("writer task failed: {e}"),
            })??;
        *last = Some(hash);
        Ok(())
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

    /// Checks every line's hash and the chain between lines and files.
    pub fn verify(&self) -> Result<VerifyReport> {
        let files = self.files();
        let mut prev: Option<String> = None;
        let mut lines = 0;
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
                prev = Some(hash);
                lines += 1;
            }
        }
        Ok(VerifyReport { lines, files })
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

fn last_hash_on_disk(path: &Path) -> Result<String> {
    for candidate in [path.to_owned(), rotated(path, 1)] {
        if !candidate.exists() {
            continue;
        }
        if let Some(line) = read_lines(&candidate)?.pop() {
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

fn append(
    path: &Path,
    max_bytes: u64,
    keep: u32,
    known: Option<String>,
    event: &AuditEvent,
) -> Result<String> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| ToolError::io("creating", dir, e))?;
    }
    let prev = match known {
        Some(h) => h,
        None => last_hash_on_disk(path)?,
    };
    if std::fs::metadata(path).is_ok_and(|m| m.len() >= max_bytes) {
        rotate(path, keep)?;
    }
    let mut map = Map::new();
    map.insert("ts".into(), Value::from(Utc::now().to_rfc3339()));
    map.insert("type".into(), Value::from(event.event_type.as_str()));
    if let Some(t) = &event.tool {
        map.insert("tool".into(), Value::from(t.clone()));
    }
    map.insert("details".into(), event.details.clone());
    map.insert("prev".into(), Value::from(prev));
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
    Ok(hash)
}

fn rotate(path: &Path, keep: u32) -> Result<()> {
    let oldest = rotated(path, keep);
    if oldest.exists() {
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
    Ok(())
}
