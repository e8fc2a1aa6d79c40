//! Redaction of secret-looking argument values before they reach the audit log or a prompt.

use std::sync::LazyLock;

use regex::Regex;
use serde_json::Value;

static SECRET_KEY: LazyLock<Option<Regex>> = LazyLock::new(|| {
    Regex::new(r"(?i)(passw(or)?d|passwd|secret|token|api[_-]?key|^auth$|authorization|credential|private[_-]?key|cookie)").ok()
});

static SECRET_VALUE: LazyLock<Option<Regex>> = LazyLock::new(|| {
    Regex::new(
        r"^(sk-[A-Za-z0-9_-]{10,}|ghp_[A-Za-z0-9]{10,}|gho_[A-Za-z0-9]{10,}|xox[bp]-[A-Za-z0-9-]{10,}|AKIA[0-9A-Z]{16}|(?i:bearer)\s+\S{8,}|eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]+)$",
    )
    .ok()
});

/// The marker that replaces a secret.
pub const REDACTED: &str = "***";

/// A copy of `value` with secret-looking values (by key name or by shape) replaced by `***`.
pub fn redact_value(value: &Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| {
                    let secret_key = SECRET_KEY.as_ref().is_some_and(|re| re.is_match(k));
                    let v = if secret_key && !v.is_object() && !v.is_array() && !v.is_null() {
                        Value::from(REDACTED)
                    } else {
                        redact_value(v)
                    };
                    (k.clone(), v)
                })
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(redact_value).collect()),
        Value::String(s)
            if SECRET_VALUE
                .as_ref()
                .is_some_and(|re| re.is_match(s.trim())) =>
        {
            Value::from(REDACTED)
        }
        other => other.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_by_key_and_by_shape() {
        let v = serde_json::json!({
            "api_key": "abc", "query": "weather",
            "nested": {"Password": "x", "note": "sk-abcdefghijklmnop"},
            "list": ["Bearer abcdefghijkl", "plain"]
        });
        let r = redact_value(&v);
        assert_eq!(r["api_key"], "***");
        assert_eq!(r["query"], "weather");
        assert_eq!(r["nested"]["Password"], "***");
        assert_eq!(r["nested"]["note"], "***");
        assert_eq!(r["list"][0], "***");
        assert_eq!(r["list"][1], "plain");
    }
}
