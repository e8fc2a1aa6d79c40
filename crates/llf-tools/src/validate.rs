//! Argument validation before anything runs: the JSON Schema of `tool_definition.json`, then the
//! design document's `validation_schema` rules. Paths are confined after resolving `..` and
//! symlinks and are rewritten to their resolved absolute form, so the tool sees exactly the file
//! that was checked.

use std::path::{Component, Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Kinds of `validation_schema` rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RuleType {
    /// Text.
    String,
    /// A file-system path confined to a base directory.
    Path,
    /// An http(s) URL.
    Url,
    /// An integer.
    Integer,
    /// A number.
    #[serde(alias = "number")]
    Float,
    /// One of `allowed_values`.
    Enum,
    /// `true` or `false`.
    Boolean,
}

/// One argument's rule in `validation_schema`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ArgRule {
    /// The kind of value.
    #[serde(rename = "type")]
    pub rule_type: RuleType,
    /// The argument must be present.
    #[serde(default)]
    pub required: bool,
    /// Shortest text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_length: Option<usize>,
    /// Longest text (characters).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_length: Option<usize>,
    /// A regex the whole text must match.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pattern: Option<String>,
    /// Values allowed for `enum`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allowed_values: Option<Vec<Value>>,
    /// Smallest number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_value: Option<f64>,
    /// Largest number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_value: Option<f64>,
    /// Base directory for `path` (default: the configured `tools.allowed_roots`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base_path: Option<PathBuf>,
    /// The path must exist.
    #[serde(default)]
    pub must_exist: bool,
    /// File extensions allowed for `path`, with the dot (`.txt`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allowed_extensions: Option<Vec<String>>,
    /// URL schemes (default `http`, `https`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allowed_schemes: Option<Vec<String>>,
    /// URL hosts allowed, each also allowing its subdomains. Unset: any host.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allowed_domains: Option<Vec<String>>,
}

/// Checks `args` and returns them with paths resolved, or a message the model can act on.
pub fn validate_arguments(
    schema: &Value,
    rules: &std::collections::BTreeMap<String, ArgRule>,
    allowed_roots: &[PathBuf],
    args: &Value,
) -> Result<Value, String> {
    let validator = jsonschema::validator_for(schema)
        .map_err(|e| format!("the tool's parameter schema is invalid: {e}"))?;
    let errors: Vec<String> = validator
        .iter_errors(args)
        .map(|e| {
            let at = e.instance_path().to_string();
            if at.is_empty() {
                e.to_string()
            } else {
                format!("{at}: {e}")
            }
        })
        .collect();
    if !errors.is_empty() {
        return Err(format!("invalid arguments: {}", errors.join("; ")));
    }
    let Some(obj) = args.as_object() else {
        return Err("arguments must be a JSON object".into());
    };
    let mut out = obj.clone();
    for (name, rule) in rules {
        match obj.get(name) {
            None | Some(Value::Null) => {
                if rule.required {
                    return Err(format!("missing required argument `{name}`"));
                }
            }
            Some(value) => {
                let checked = check(name, rule, allowed_roots, value)?;
                out.insert(name.clone(), checked);
            }
        }
    }
    Ok(Value::Object(out))
}

fn check(name: &str, rule: &ArgRule, roots: &[PathBuf], value: &Value) -> Result<Value, String> {
    match rule.rule_type {
        RuleType::String => {
            let s = as_str(name, value)?;
            check_text(name, rule, s)?;
            Ok(value.clone())
        }
        RuleType::Enum => {
            let allowed = rule.allowed_values.as_deref().unwrap_or_default();
            if allowed.contains(value) {
                Ok(value.clone())
            } else {
                Err(format!(
                    "`{name}` must be one of {}, got {value}",
                    Value::from(allowed.to_vec())
                ))
            }
        }
        RuleType::Boolean => match value {
            Value::Bool(_) => Ok(value.clone()),
            _ => Err(format!("`{name}` must be true or false, got {value}")),
        },
        RuleType::Integer => {
            let n = value
                .as_i64()
                .ok_or_else(|| format!("`{name}` must be an integer, got {value}"))?;
            check_range(name, rule, n as f64)?;
            Ok(value.clone())
        }
        RuleType::Float => {
            let n = value
                .as_f64()
                .ok_or_else(|| format!("`{name}` must be a number, got {value}"))?;
            check_range(name, rule, n)?;
            Ok(value.clone())
        }
        RuleType::Url => {
            let s = as_str(name, value)?;
            check_text(name, rule, s)?;
            check_url(name, rule, s).map(Value::from)
        }
        RuleType::Path => {
            let s = as_str(name, value)?;
            check_text(name, rule, s)?;
            let bases: Vec<PathBuf> = match &rule.base_path {
                Some(b) => vec![b.clone()],
                None => roots.to_vec(),
            };
            let resolved = confine(name, Path::new(s), &bases)?;
            if rule.must_exist && !resolved.exists() {
                return Err(format!("`{name}`: {s} does not exist"));
            }
            if let Some(exts) = &rule.allowed_extensions {
                let ext = resolved
                    .extension()
                    .map(|e| format!(".{}", e.to_string_lossy().to_lowercase()));
                let ok = resolved.is_dir()
                    || ext
                        .as_deref()
                        .is_some_and(|e| exts.iter().any(|a| a.eq_ignore_ascii_case(e)));
                if !ok {
                    return Err(format!(
                        "`{name}`: extension not allowed; allowed: {}",
                        exts.join(", ")
                    ));
                }
            }
            Ok(Value::from(resolved.to_string_lossy().into_owned()))
        }
    }
}

fn as_str<'a>(name: &str, value: &'a Value) -> Result<&'a str, String> {
    value
        .as_str()
        .ok_or_else(|| format!("`{name}` must be a string, got {value}"))
}

fn check_text(name: &str, rule: &ArgRule, s: &str) -> Result<(), String> {
    let len = s.chars().count();
    if let Some(min) = rule.min_length
        && len < min
    {
        return Err(format!("`{name}` is too short ({len} < {min} characters)"));
    }
    if let Some(max) = rule.max_length
        && len > max
    {
        return Err(format!("`{name}` is too long ({len} > {max} characters)"));
    }
    if let Some(p) = &rule.pattern {
        // Anchored: a pattern describes the whole value, not a substring of it.
        let re = regex::Regex::new(&format!("^(?:{p})$"))
            .map_err(|e| format!("the tool's pattern for `{name}` is invalid: {e}"))?;
        if !re.is_match(s) {
            return Err(format!("`{name}` does not match the pattern {p}"));
        }
    }
    Ok(())
}

fn check_range(name: &str, rule: &ArgRule, n: f64) -> Result<(), String> {
    if let Some(min) = rule.min_value
        && n < min
    {
        return Err(format!("`{name}` must be at least {min}, got {n}"));
    }
    if let Some(max) = rule.max_value
        && n > max
    {
        return Err(format!("`{name}` must be at most {max}, got {n}"));
    }
    Ok(())
}

fn check_url(name: &str, rule: &ArgRule, s: &str) -> Result<String, String> {
    let url = url::Url::parse(s).map_err(|e| format!("`{name}` is not a valid URL: {e}"))?;
    let schemes = rule
        .allowed_schemes
        .clone()
        .unwrap_or_else(|| vec!["http".into(), "https".into()]);
    if !schemes.iter().any(|x| x.eq_ignore_ascii_case(url.scheme())) {
        return Err(format!(
            "`{name}`: scheme `{}` is not allowed; use {}",
            url.scheme(),
            schemes.join(" or ")
        ));
    }
    if !url.username().is_empty() || url.password().is_some() {
        // `http://allowed.example@evil.example/` reads as allowed but goes to evil.example.
        return Err(format!(
            "`{name}`: URLs with credentials (user@host) are not allowed"
        ));
    }
    // The parsed host, not the text: percent-encoding, IP spellings and case are normalised here.
    let host = url
        .host_str()
        .ok_or_else(|| format!("`{name}`: the URL has no host"))?
        .trim_end_matches('.')
        .to_ascii_lowercase();
    if let Some(domains) = &rule.allowed_domains {
        let ok = domains.iter().any(|d| {
            let d = d.trim_start_matches('.').to_ascii_lowercase();
            host == d || host.ends_with(&format!(".{d}"))
        });
        if !ok {
            return Err(format!(
                "`{name}`: host `{host}` is not allowed; allowed: {}",
                domains.join(", ")
            ));
        }
    }
    Ok(url.to_string())
}

/// Resolves `path` (relative paths against the first base) through symlinks and `..`, and
/// requires the result inside one of `bases`.
fn confine(name: &str, path: &Path, bases: &[PathBuf]) -> Result<PathBuf, String> {
    if bases.is_empty() {
        return Err(format!(
            "`{name}`: no directory is open to tools; set `tools.allowed_roots` in the config"
        ));
    }
    let joined = if path.is_absolute() {
        path.to_owned()
    } else {
        bases[0].join(path)
    };
    let resolved = resolve(&joined).map_err(|e| format!("`{name}`: {e}"))?;
    for base in bases {
        let Ok(base) = base.canonicalize() else {
            continue;
        };
        if resolved.starts_with(&base) {
            return Ok(resolved);
        }
    }
    Err(format!(
        "`{name}`: {} is outside the directories open to tools",
        path.display()
    ))
}

/// `canonicalize` for paths whose tail may not exist yet: the longest existing prefix is resolved
/// (symlinks included), the rest is appended after `..` is folded.
fn resolve(path: &Path) -> Result<PathBuf, String> {
    let mut existing = path.to_owned();
    let mut tail: Vec<std::ffi::OsString> = Vec::new();
    loop {
        match existing.canonicalize() {
            Ok(real) => {
                let mut out = real;
                for part in tail.iter().rev() {
                    out.push(part);
                }
                return Ok(out);
            }
            Err(_) => {
                let file = existing
                    .file_name()
                    .map(ToOwned::to_owned)
                    .ok_or_else(|| format!("cannot resolve {}", path.display()))?;
                tail.push(file);
                if !existing.pop() {
                    return Err(format!("cannot resolve {}", path.display()));
                }
            }
        }
        // A `..` in the missing tail cannot be resolved against the real file system safely.
        if existing
            .components()
            .next_back()
            .is_some_and(|c| matches!(c, Component::ParentDir))
        {
            return Err(format!("cannot resolve `..` in {}", path.display()));
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn url_tricks_are_caught() {
        let rule: ArgRule = serde_json::from_value(serde_json::json!({
            "type": "url", "allowed_domains": ["example.com"]
        }))
        .unwrap();
        assert!(check_url("u", &rule, "https://example.com/a").is_ok());
        assert!(check_url("u", &rule, "https://api.example.com/a").is_ok());
        for bad in [
            "https://example.com@evil.com/",
            "https://example.com.evil.com/",
            "https://evilexample.com/",
            "file:///etc/passwd",
            "javascript:alert(1)",
            "http://2130706433/",
        ] {
            assert!(check_url("u", &rule, bad).is_err(), "{bad} accepted");
        }
    }
}
