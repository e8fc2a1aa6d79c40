//! The configuration reference, generated from the config types themselves: their JSON Schema
//! (`llf config schema`, for editors that validate `config.json`) and the Markdown page
//! `docs/CONFIG.md` rendered from it. A test compares the page with what this code renders, so
//! the reference cannot drift from the code.

use serde_json::{Map, Value};

use crate::Config;

/// The JSON Schema (2020-12) of `config.json`: every key, its type, default and description.
pub fn json_schema() -> Value {
    schemars::schema_for!(Config).to_value()
}

/// The configuration reference as Markdown: one section per object of the config, one table row
/// per key (type, default, allowed values, what it does).
pub fn reference_markdown() -> String {
    let schema = json_schema();
    let defs = schema
        .get("$defs")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    let mut out = String::from(
        "# Configuration reference\n\n\
         <!-- Generated from the config types by `llf_config::reference_markdown()`; do not edit.\n\
         Regenerate: LLF_UPDATE_DOCS=1 cargo test -p llf-config --test reference -->\n\n\
         `config.json` lives at `~/.config/llf/config.json` (or `$LLF_HOME/config.json`, or the file\n\
         `--config`/`LLF_CONFIG` names). Every key is optional: a missing key takes its default, so\n\
         a Python-era file loads unchanged. `llf config schema` prints the JSON Schema this page is\n\
         made from; `llf config set KEY VALUE` changes one key and validates it first.\n",
    );
    let mut sections = vec![(String::new(), schema.clone())];
    while let Some((path, object)) = sections.first().cloned() {
        sections.remove(0);
        let object = resolve(&object, &defs);
        let Some(props) = object.get("properties").and_then(Value::as_object) else {
            continue;
        };
        out.push('\n');
        if path.is_empty() {
            out.push_str("## Top level\n\n");
        } else {
            out.push_str(&format!("## `{path}`\n\n"));
            if let Some(d) = object.get("description").and_then(Value::as_str) {
                out.push_str(&one_line(d));
                out.push_str("\n\n");
            }
        }
        out.push_str("| key | type | default | description |\n| --- | --- | --- | --- |\n");
        let mut nested = Vec::new();
        for (key, prop) in props {
            let full = if path.is_empty() {
                key.clone()
            } else {
                format!("{path}.{key}")
            };
            let target = resolve(&non_null(prop, &defs), &defs);
            let ty = type_name(prop, &defs);
            let nested_before = nested.len();
            if target.get("properties").is_some() {
                nested.push((full.clone(), target.clone()));
            } else if let Some(items) = target.get("items") {
                let item = resolve(items, &defs);
                if item.get("properties").is_some() {
                    nested.push((format!("{full}[]"), item));
                }
            }
            let default = match (nested.len() > nested_before, prop.get("default")) {
                // Its keys have their own section, with their defaults.
                (true, _) => format!("see `{}`", nested[nested_before].0),
                (false, Some(d)) => render_default(d),
                (false, None) => "–".to_owned(),
            };
            let mut description = prop
                .get("description")
                .or_else(|| target.get("description"))
                .and_then(Value::as_str)
                .map(one_line)
                .unwrap_or_default();
            if let Some(allowed) = allowed_values(&target) {
                description.push_str(&format!(" One of: {allowed}."));
            }
            out.push_str(&format!(
                "| `{key}` | {ty} | {default} | {} |\n",
                escape(description.trim())
            ));
        }
        // Nested objects follow their parent, in key order.
        for (i, section) in nested.into_iter().enumerate() {
            sections.insert(i, section);
        }
    }
    out
}

/// Follows a `$ref` into `$defs`.
fn resolve(schema: &Value, defs: &Map<String, Value>) -> Value {
    match schema
        .get("$ref")
        .and_then(Value::as_str)
        .and_then(|r| r.strip_prefix("#/$defs/"))
    {
        Some(name) => defs.get(name).cloned().unwrap_or(Value::Null),
        None => schema.clone(),
    }
}

/// The non-null branch of an `Option`'s `anyOf`.
fn non_null(schema: &Value, defs: &Map<String, Value>) -> Value {
    if let Some(any) = schema.get("anyOf").and_then(Value::as_array)
        && let Some(inner) = any.iter().find(|s| s.get("type") != Some(&"null".into()))
    {
        return resolve(inner, defs);
    }
    schema.clone()
}

fn type_name(schema: &Value, defs: &Map<String, Value>) -> String {
    let optional = schema
        .get("anyOf")
        .and_then(Value::as_array)
        .is_some_and(|a| a.iter().any(|s| s.get("type") == Some(&"null".into())))
        || schema
            .get("type")
            .and_then(Value::as_array)
            .is_some_and(|t| t.iter().any(|t| t == "null"));
    let inner = resolve(&non_null(schema, defs), defs);
    let base = match inner.get("type") {
        Some(Value::String(t)) => t.clone(),
        Some(Value::Array(ts)) => ts
            .iter()
            .filter_map(Value::as_str)
            .filter(|t| *t != "null")
            .collect::<Vec<_>>()
            .join(" or "),
        _ if allowed_values(&inner).is_some() => "string".to_owned(),
        _ => "any".to_owned(),
    };
    let base = match (base.as_str(), inner.get("items")) {
        ("array", Some(items)) => format!("array of {}", type_name(items, defs)),
        ("object", _) if inner.get("properties").is_none() => "map".to_owned(),
        _ => base,
    };
    if optional {
        format!("{base} (optional)")
    } else {
        base
    }
}

fn allowed_values(schema: &Value) -> Option<String> {
    let values: Vec<String> = if let Some(e) = schema.get("enum").and_then(Value::as_array) {
        e.iter().map(|v| format!("`{}`", render(v))).collect()
    } else if let Some(one) = schema.get("oneOf").and_then(Value::as_array) {
        one.iter()
            .filter_map(|v| v.get("const").or_else(|| v.get("enum")?.get(0)))
            .map(|v| format!("`{}`", render(v)))
            .collect()
    } else {
        return None;
    };
    (!values.is_empty()).then(|| values.join(", "))
}

fn render(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn render_default(v: &Value) -> String {
    let text = match v {
        Value::Null => return "unset".to_owned(),
        Value::Array(a) if a.is_empty() => return "empty".to_owned(),
        Value::Object(o) if o.is_empty() => return "empty".to_owned(),
        Value::String(s) if s.is_empty() => return "empty".to_owned(),
        other => render(other),
    };
    let text = if text.chars().count() > 60 {
        format!("{}…", text.chars().take(60).collect::<String>())
    } else {
        text
    };
    format!("`{}`", text.replace('`', "'"))
}

fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn escape(text: &str) -> String {
    text.replace('|', "\\|")
}
