//! Performance records: one per request (model, tokens, time to first token, total time,
//! tokens/s, queue wait), appended to a JSON-lines file so history survives restarts.

use std::io::Write;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::{Result, RuntimeError};

/// One request's figures.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProfileRecord {
    /// When the request finished.
    pub timestamp: DateTime<Utc>,
    /// Endpoint base URL.
    pub endpoint: String,
    /// Model name.
    pub model: String,
    /// Prompt tokens (server usage, or estimated).
    pub prompt_tokens: u64,
    /// Generated tokens (server usage, or counted from streamed pieces).
    pub completion_tokens: u64,
    /// Whether the token counts came from the server.
    pub usage_reported: bool,
    /// Time spent building the prompt, in ms.
    pub prompt_build_ms: f64,
    /// Time waiting in the request queue, in ms.
    pub queue_wait_ms: f64,
    /// Time to first token (streaming) or to the response (non-streaming), in ms.
    pub ttft_ms: f64,
    /// Total time, in ms.
    pub total_ms: f64,
    /// Generation speed after the first token.
    pub tokens_per_second: f64,
    /// Whether the answer was streamed.
    pub streamed: bool,
    /// Whether it completed without error.
    pub success: bool,
}

/// Aggregates over records.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ProfileStats {
    /// Requests counted.
    pub requests: usize,
    /// Failed requests.
    pub failures: usize,
    /// Mean time to first token, ms.
    pub mean_ttft_ms: f64,
    /// Median time to first token, ms.
    pub p50_ttft_ms: f64,
    /// 95th percentile time to first token, ms.
    pub p95_ttft_ms: f64,
    /// Mean total time, ms.
    pub mean_total_ms: f64,
    /// Mean tokens per second.
    pub mean_tokens_per_second: f64,
    /// Prompt tokens in all.
    pub prompt_tokens: u64,
    /// Generated tokens in all.
    pub completion_tokens: u64,
}

impl ProfileStats {
    /// Aggregates `records`.
    pub fn from_records(records: &[ProfileRecord]) -> Self {
        if records.is_empty() {
            return Self::default();
        }
        let n = records.len() as f64;
        let mut ttft: Vec<f64> = records.iter().map(|r| r.ttft_ms).collect();
        ttft.sort_by(f64::total_cmp);
        let pct = |q: f64| ttft[((ttft.len() - 1) as f64 * q).round() as usize];
        Self {
            requests: records.len(),
            failures: records.iter().filter(|r| !r.success).count(),
            mean_ttft_ms: ttft.iter().sum::<f64>() / n,
            p50_ttft_ms: pct(0.5),
            p95_ttft_ms: pct(0.95),
            mean_total_ms: records.iter().map(|r| r.total_ms).sum::<f64>() / n,
            mean_tokens_per_second: records.iter().map(|r| r.tokens_per_second).sum::<f64>() / n,
            prompt_tokens: records.iter().map(|r| r.prompt_tokens).sum(),
            completion_tokens: records.iter().map(|r| r.completion_tokens).sum(),
        }
    }
}

/// The append-only log of records.
#[derive(Debug, Clone)]
pub struct ProfileLog {
    path: PathBuf,
}

impl ProfileLog {
    /// The log at `path` (created on first append).
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self { path: path.into() }
    }

    /// Where records go.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Appends one record as one line. A line is written with one `write` call in append mode, so
    /// concurrent LLF processes do not interleave partial lines.
    pub fn append(&self, record: &ProfileRecord) -> Result<()> {
        if let Some(dir) = self.path.parent() {
            std::fs::create_dir_all(dir).map_err(|e| RuntimeError::io("creating", dir, e))?;
        }
        let mut line =
            serde_json::to_vec(record).map_err(|e| RuntimeError::Invalid(e.to_string()))?;
        line.push(b'\n');
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.path)
            .map_err(|e| RuntimeError::io("opening", &self.path, e))?;
        f.write_all(&line)
            .map_err(|e| RuntimeError::io("writing", &self.path, e))
    }

    /// The last `n` records (all when `None`), oldest first. Damaged lines (a crash mid-write) are
    /// skipped.
    pub fn read(&self, last_n: Option<usize>) -> Result<Vec<ProfileRecord>> {
        let text = match std::fs::read_to_string(&self.path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(RuntimeError::io("reading", &self.path, e)),
        };
        let mut records: Vec<ProfileRecord> = text
            .lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect();
        if let Some(n) = last_n {
            let skip = records.len().saturating_sub(n);
            records.drain(..skip);
        }
        Ok(records)
    }

    /// Writes records to `out` as JSON (`.json`) or CSV (any other extension), atomically.
    pub fn export(&self, out: &Path, last_n: Option<usize>) -> Result<usize> {
        let records = self.read(last_n)?;
        let bytes = if out.extension().is_some_and(|e| e == "json") {
            serde_json::to_vec_pretty(&records).map_err(|e| RuntimeError::Invalid(e.to_string()))?
        } else {
            let mut csv = String::from(
                "timestamp,endpoint,model,prompt_tokens,completion_tokens,usage_reported,prompt_build_ms,queue_wait_ms,ttft_ms,total_ms,tokens_per_second,streamed,success\n",
            );
            for r in &records {
                csv.push_str(&format!(
                    "{},{},{},{},{},{},{:.3},{:.3},{:.3},{:.3},{:.3},{},{}\n",
                    r.timestamp.to_rfc3339(),
                    csv_field(&r.endpoint),
                    csv_field(&r.model),
                    r.prompt_tokens,
                    r.completion_tokens,
                    r.usage_reported,
                    r.prompt_build_ms,
                    r.queue_wait_ms,
                    r.ttft_ms,
                    r.total_ms,
                    r.tokens_per_second,
                    r.streamed,
                    r.success
                ));
            }
            csv.into_bytes()
        };
        llf_core::fs::atomic_write(out, &bytes, llf_core::fs::SHARED)?;
        Ok(records.len())
    }
}

fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(ttft: f64, ok: bool) -> ProfileRecord {
        ProfileRecord {
            timestamp: Utc::now(),
            endpoint: "http://x/v1".into(),
            model: "m,1".into(),
            prompt_tokens: 10,
            completion_tokens: 5,
            usage_reported: true,
            prompt_build_ms: 0.1,
            queue_wait_ms: 0.0,
            ttft_ms: ttft,
            total_ms: ttft * 2.0,
            tokens_per_second: 50.0,
            streamed: true,
            success: ok,
        }
    }

    #[test]
    fn append_read_stats_and_export() {
        let dir = tempfile::tempdir().unwrap();
        let log = ProfileLog::new(dir.path().join("perf.jsonl"));
        for (t, ok) in [(10.0, true), (20.0, true), (30.0, false)] {
            log.append(&record(t, ok)).unwrap();
        }
        // A torn last line from a crash is ignored.
        std::fs::OpenOptions::new()
            .append(true)
            .open(log.path())
            .unwrap()
            .write_all(b"{\"timest")
            .unwrap();
        let all = log.read(None).unwrap();
        assert_eq!(all.len(), 3);
        assert_eq!(log.read(Some(2)).unwrap()[0].ttft_ms, 20.0);
        let s = ProfileStats::from_records(&all);
        assert_eq!(
            (s.requests, s.failures, s.p50_ttft_ms, s.completion_tokens),
            (3, 1, 20.0, 15)
        );
        assert!((s.mean_ttft_ms - 20.0).abs() < 1e-9);

        let csv = dir.path().join("out.csv");
        assert_eq!(log.export(&csv, None).unwrap(), 3);
        let text = std::fs::read_to_string(&csv).unwrap();
        assert_eq!(text.lines().count(), 4);
        assert!(text.contains("\"m,1\""));
        let json = dir.path().join("out.json");
        log.export(&json, Some(1)).unwrap();
        let v: Vec<ProfileRecord> = serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
        assert_eq!(v.len(), 1);
    }
}
