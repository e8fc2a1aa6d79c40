//! Memory records read from JSON lines: LLF's own export format and the Python version's files.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::rows::{self, NewRow};
use crate::store::json_text;
use crate::types::{Metadata, check_importance, normalize_tags};

/// A line that was not imported, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SkippedLine {
    /// 1-based line number in the source file.
    pub line: u64,
    /// Why it was skipped.
    pub reason: String,
}

/// One JSON line as found in a file. Python records carry `timestamp`; LLF exports carry
/// `created_at`/`updated_at`. Fields LLF does not know are kept in the metadata.
#[derive(Debug, Deserialize)]
struct Record {
    id: Option<serde_json::Value>,
    content: Option<String>,
    #[serde(default)]
    tags: Option<Vec<String>>,
    importance: Option<f64>,
    timestamp: Option<String>,
    created_at: Option<String>,
    updated_at: Option<String>,
    access_count: Option<u64>,
    metadata: Option<Metadata>,
    /// LLF exports name the store; the importing store wins.
    #[serde(default)]
    #[allow(dead_code)] // read to keep it out of `extra`
    store: Option<String>,
    #[serde(flatten)]
    extra: Metadata,
}

/// Parses one line into a row; `Err` holds the reason to report.
pub(crate) fn parse_line(line: &str, now: DateTime<Utc>) -> Result<NewRow, String> {
    let r: Record = serde_json::from_str(line).map_err(|e| format!("not a JSON object: {e}"))?;
    let id = match r.id {
        Some(serde_json::Value::String(s)) if !s.trim().is_empty() => s,
        Some(serde_json::Value::Number(n)) => n.to_string(),
        _ => return Err("missing `id`".to_owned()),
    };
    let content = r.content.as_deref().map(str::trim).unwrap_or_default();
    if content.is_empty() {
        return Err("missing or empty `content`".to_owned());
    }
    let importance = r.importance.unwrap_or(crate::NewMemory::DEFAULT_IMPORTANCE);
    check_importance(importance).map_err(|e| e.to_string())?;
    let created = match r.created_at.as_deref().or(r.timestamp.as_deref()) {
        Some(t) => parse_time(t).ok_or_else(|| format!("unreadable timestamp `{t}`"))?,
        None => now,
    };
    let updated = match r.updated_at.as_deref() {
        Some(t) => parse_time(t).ok_or_else(|| format!("unreadable timestamp `{t}`"))?,
        None => created,
    };
    let mut metadata = r.metadata.unwrap_or_default();
    for (k, v) in r.extra {
        metadata.entry(k).or_insert(v);
    }
    // Our own ids are kept, so that export → import round-trips; foreign ids are remembered as
    // the legacy id, which makes a second import of the same file add nothing.
    let (id, legacy_id) = match id.parse::<ulid::Ulid>() {
        Ok(u) => (u.to_string(), None),
        Err(_) => (ulid::Ulid::new().to_string(), Some(id)),
    };
    Ok(NewRow {
        id,
        content: content.to_owned(),
        tags: json_text(&normalize_tags(&r.tags.unwrap_or_default())),
        importance,
        access_count: i64::try_from(r.access_count.unwrap_or(0)).unwrap_or(i64::MAX),
        created_at: rows::ts(created),
        updated_at: rows::ts(updated),
        metadata: json_text(&metadata),
        legacy_id,
    })
}

/// RFC 3339, the naive ISO form Python's `datetime.isoformat()` writes (read as UTC), or a day.
fn parse_time(text: &str) -> Option<DateTime<Utc>> {
    llf_core::time::parse_date(text).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn python_record_keeps_its_id_as_legacy_id_and_extra_fields() {
        let now = Utc::now();
        let row = parse_line(
            r#"{"id":"mem_1","content":" Alice ","tags":["User_Info"],"importance":0.9,"timestamp":"2025-01-01T10:00:00","source":"chat"}"#,
            now,
        )
        .unwrap();
        assert_eq!(row.legacy_id.as_deref(), Some("mem_1"));
        assert_eq!(row.content, "Alice");
        assert_eq!(row.tags, r#"["user_info"]"#);
        assert_eq!(row.created_at, "2025-01-01T10:00:00.000000Z");
        assert_eq!(row.metadata, r#"{"source":"chat"}"#);
    }

    #[test]
    fn bad_records_give_reasons() {
        let now = Utc::now();
        for (line, reason) in [
            ("{", "not a JSON object"),
            (r#"{"content":"x"}"#, "missing `id`"),
            (r#"{"id":"a","content":"  "}"#, "empty `content`"),
            (
                r#"{"id":"a","content":"x","importance":1.5}"#,
                "between 0.0 and 1.0",
            ),
            (
                r#"{"id":"a","content":"x","timestamp":"yesterday"}"#,
                "unreadable timestamp",
            ),
        ] {
            let err = parse_line(line, now).unwrap_err();
            assert!(err.contains(reason), "{line}: {err}");
        }
    }
}
