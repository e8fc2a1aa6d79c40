//! Dotted key paths for `llf config get/set`: `llm_endpoint.model_name`,
//! `local_llm_servers[1].port` (or `local_llm_servers.1.port`).

use serde_json::Value;

use crate::{ConfigError, Result};

#[derive(Debug, Clone, PartialEq, Eq)]
enum Segment {
    Key(String),
    Index(usize),
}

/// A parsed key path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct KeyPath {
    text: String,
    segments: Vec<Segment>,
}

impl KeyPath {
    pub(crate) fn parse(text: &str) -> Result<Self> {
        let bad = |why: &str| {
            ConfigError::Key(format!(
                "invalid key `{text}`: {why} (example: local_llm_servers[0].port)"
            ))
        };
        let mut segments = Vec::new();
        for part in text.split('.') {
            let (name, mut rest) = match part.find('[') {
                Some(i) => (&part[..i], &part[i..]),
                None => (part, ""),
            };
            if name.is_empty() && segments.is_empty() && rest.is_empty() {
                return Err(bad("empty key"));
            }
            if !name.is_empty() {
                match name.parse::<usize>() {
                    Ok(i) if !segments.is_empty() => segments.push(Segment::Index(i)),
                    _ => segments.push(Segment::Key(name.to_owned())),
                }
            } else if rest.is_empty() {
                return Err(bad("empty segment"));
            }
            while let Some(stripped) = rest.strip_prefix('[') {
                let end = stripped.find(']').ok_or_else(|| bad("missing `]`"))?;
                let idx = stripped[..end]
                    .parse()
                    .map_err(|_| bad("index must be a number"))?;
                segments.push(Segment::Index(idx));
                rest = &stripped[end + 1..];
            }
            if !rest.is_empty() {
                return Err(bad("unexpected text after `]`"));
            }
        }
        Ok(Self {
            text: text.to_owned(),
            segments,
        })
    }

    pub(crate) fn lookup<'v>(&self, mut value: &'v Value) -> Option<&'v Value> {
        for seg in &self.segments {
            value = match seg {
                Segment::Key(k) => value.get(k)?,
                Segment::Index(i) => value.get(i)?,
            };
        }
        Some(value)
    }

    /// Sets the value, creating objects on the way; an index may address an existing element or
    /// append one right after the last.
    pub(crate) fn assign(&self, root: &mut Value, new: Value) -> Result<()> {
        let mut cur = root;
        for (n, seg) in self.segments.iter().enumerate() {
            let last = n + 1 == self.segments.len();
            cur = match seg {
                Segment::Key(k) => {
                    if cur.is_null() {
                        *cur = Value::Object(Default::default());
                    }
                    let obj = cur
                        .as_object_mut()
                        .ok_or_else(|| self.not_container(n, "an object"))?;
                    obj.entry(k.clone()).or_insert(Value::Null)
                }
                Segment::Index(i) => {
                    if cur.is_null() {
                        *cur = Value::Array(Vec::new());
                    }
                    let arr = cur
                        .as_array_mut()
                        .ok_or_else(|| self.not_container(n, "a list"))?;
                    if *i == arr.len() {
                        arr.push(Value::Null);
                    }
                    let len = arr.len();
                    arr.get_mut(*i).ok_or_else(|| {
                        ConfigError::Key(format!(
                            "`{}`: index {i} is out of range (the list has {len} entries)",
                            self.text
                        ))
                    })?
                }
            };
            if last {
                *cur = new;
                return Ok(());
            }
        }
        Ok(())
    }

    /// The segments: a key name, or `None` for a list index.
    pub(crate) fn names(&self) -> Vec<Option<&str>> {
        self.segments
            .iter()
            .map(|s| match s {
                Segment::Key(k) => Some(k.as_str()),
                Segment::Index(_) => None,
            })
            .collect()
    }

    /// The key as the configuration's messages write it: `local_llm_servers[1].port`.
    pub(crate) fn canonical(&self) -> String {
        let mut out = String::new();
        for seg in &self.segments {
            match seg {
                Segment::Key(k) => {
                    if !out.is_empty() {
                        out.push('.');
                    }
                    out.push_str(k);
                }
                Segment::Index(i) => out.push_str(&format!("[{i}]")),
            }
        }
        out
    }

    /// Whether `other` (a canonical key path) is this key, lies inside it, or contains it.
    pub(crate) fn overlaps(&self, other: &str) -> bool {
        let me = self.canonical();
        let within = |outer: &str, inner: &str| {
            inner == outer
                || inner
                    .strip_prefix(outer)
                    .is_some_and(|rest| rest.starts_with('.') || rest.starts_with('['))
        };
        within(&me, other) || within(other, &me)
    }

    fn not_container(&self, n: usize, what: &str) -> ConfigError {
        let prefix: Vec<String> = self.segments[..n]
            .iter()
            .map(|s| match s {
                Segment::Key(k) => k.clone(),
                Segment::Index(i) => i.to_string(),
            })
            .collect();
        ConfigError::Key(format!(
            "`{}`: `{}` is not {what}",
            self.text,
            prefix.join(".")
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn parses_both_index_styles() {
        let a = KeyPath::parse("local_llm_servers[1].port").unwrap();
        let b = KeyPath::parse("local_llm_servers.1.port").unwrap();
        assert_eq!(a.segments, b.segments);
        assert!(KeyPath::parse("").is_err());
        assert!(KeyPath::parse("a[x]").is_err());
        assert!(KeyPath::parse("a[1").is_err());
        assert!(KeyPath::parse("a..b").is_err());
    }

    #[test]
    fn overlap_is_by_whole_segments() {
        let k = KeyPath::parse("no.such.key").unwrap();
        assert!(k.overlaps("no"));
        assert!(k.overlaps("no.such.key.deeper"));
        assert!(!k.overlaps("nope"));
        let k = KeyPath::parse("local_llm_servers.1.port").unwrap();
        assert_eq!(k.canonical(), "local_llm_servers[1].port");
        assert!(k.overlaps("local_llm_servers[1]"));
        assert!(!k.overlaps("local_llm_servers[10]"));
    }

    #[test]
    fn assign_creates_and_appends() {
        let mut v = json!({});
        KeyPath::parse("rag.cache.enabled")
            .unwrap()
            .assign(&mut v, json!(false))
            .unwrap();
        KeyPath::parse("rag.attached_stores[0]")
            .unwrap()
            .assign(&mut v, json!("docs"))
            .unwrap();
        assert_eq!(
            v,
            json!({"rag": {"cache": {"enabled": false}, "attached_stores": ["docs"]}})
        );
        let err = KeyPath::parse("rag.attached_stores[5]")
            .unwrap()
            .assign(&mut v, json!(1))
            .unwrap_err();
        assert!(err.to_string().contains("out of range"), "{err}");
        let err = KeyPath::parse("rag.cache.enabled.x")
            .unwrap()
            .assign(&mut v, json!(1))
            .unwrap_err();
        assert!(err.to_string().contains("is not an object"), "{err}");
    }
}
