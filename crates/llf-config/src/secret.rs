//! A string that must never reach a log line or a terminal by accident.

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A secret such as an API key. `Debug` and `Display` print `***`; only [`Secret::expose`] gives
/// the value, so every place that needs it is easy to find.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct Secret(String);

impl Secret {
    /// The text shown instead of a secret.
    pub const REDACTED: &'static str = "***";

    /// Wraps a value.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The value itself; use only to hand it to the service it authenticates with.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// True for an empty value (treated as no key at all).
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Secret({})", Self::REDACTED)
    }
}

impl std::fmt::Display for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(Self::REDACTED)
    }
}

// Serialization writes the real value: it is how the config file is saved (0600). Anything shown
// to a person goes through `redact` first.
/// A secret is a string in `config.json` (plain, or an `llf-enc:v1:` / Python-era `encrypted:`
/// value once the config is encrypted).
impl schemars::JsonSchema for Secret {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Secret".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "string",
            "description": "A secret: never shown or logged; stored encrypted once `llf config encrypt` ran.",
            "writeOnly": true
        })
    }
}

impl Serialize for Secret {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for Secret {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d).map(Secret)
    }
}

/// Key names that hold a secret wherever they appear.
const SECRET_NAMES: &[&str] = &[
    "api_key",
    "apikey",
    "token",
    "access_token",
    "refresh_token",
    "password",
    "passwd",
    "passphrase",
    "secret",
    "client_secret",
    "authorization",
    "private_key",
    "secret_key",
    "access_key",
];

/// Endings that make a key name secret (`github_token`, `OPENAI_API_KEY`, `db_password`). They
/// start at a word boundary, so `max_tokens` or `tokenizer` are not secrets.
const SECRET_SUFFIXES: &[&str] = &[
    "_api_key",
    "_apikey",
    "_token",
    "_password",
    "_passwd",
    "_secret",
    "_private_key",
    "_secret_key",
    "_access_key",
];

/// Whether values under the key `key` are secrets, including keys LLF does not know (a Python-era
/// config may carry its own, an MCP server's `env` holds `GITHUB_TOKEN`). Whole names and
/// word-boundary suffixes are matched, case-insensitively with `-` and camelCase humps taken as
/// `_` (`X-Api-Key`, `accessToken`); a substring match would hide `max_tokens`.
pub fn is_secret_key(key: &str) -> bool {
    let k = snake_case(key);
    SECRET_NAMES.contains(&k.as_str()) || SECRET_SUFFIXES.iter().any(|s| k.ends_with(s))
}

fn snake_case(key: &str) -> String {
    let mut out = String::with_capacity(key.len() + 4);
    let mut prev_lower = false;
    for c in key.chars() {
        if c.is_ascii_uppercase() && prev_lower {
            out.push('_');
        }
        prev_lower = c.is_ascii_lowercase() || c.is_ascii_digit();
        out.push(if c == '-' {
            '_'
        } else {
            c.to_ascii_lowercase()
        });
    }
    out
}

/// Whether `value` under `key` is an environment map given to a subprocess (an MCP server's or a
/// tool's `env`). Every variable in it is a secret, whatever its name: `DATABASE_URL`s carry
/// passwords as often as `GITHUB_TOKEN`s do.
pub(crate) fn is_env_map(key: &str, value: &serde_json::Value) -> bool {
    key == "env" && value.is_object()
}

/// Replaces every non-empty value under a secret-looking key, and every variable of an `env` map,
/// with `***`.
pub fn redact(value: &mut serde_json::Value) {
    let hide = |v: &mut serde_json::Value| {
        if !v.is_null() && v.as_str() != Some("") {
            *v = serde_json::Value::String(Secret::REDACTED.to_owned());
        }
    };
    match value {
        serde_json::Value::Object(map) => {
            for (k, v) in map.iter_mut() {
                if is_secret_key(k) {
                    hide(v);
                } else if is_env_map(k, v) {
                    v.as_object_mut()
                        .into_iter()
                        .flat_map(|vars| vars.values_mut())
                        .for_each(hide);
                } else {
                    redact(v);
                }
            }
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(redact),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_and_display_hide_the_value() {
        let s = Secret::new("sk-live-123");
        assert_eq!(format!("{s:?} {s}"), "Secret(***) ***");
        assert_eq!(s.expose(), "sk-live-123");
    }

    #[test]
    fn redact_walks_nested_values() {
        let mut v = serde_json::json!({
            "llm_endpoint": {"api_key": "sk-1", "model_name": "m"},
            "plugins": [{"auth_token": "t"}, {"password": ""}],
            "tools": {"mcp_servers": [{"name": "db", "env": {"DATABASE_URL": "postgres://u:pw@h"}}]}
        });
        redact(&mut v);
        assert_eq!(v["tools"]["mcp_servers"][0]["env"]["DATABASE_URL"], "***");
        assert_eq!(v["tools"]["mcp_servers"][0]["name"], "db");
        assert_eq!(v["llm_endpoint"]["api_key"], "***");
        assert_eq!(v["llm_endpoint"]["model_name"], "m");
        assert_eq!(v["plugins"][0]["auth_token"], "***");
        assert_eq!(v["plugins"][1]["password"], "");
    }

    #[test]
    fn secret_names_are_matched_whole_or_as_suffixes() {
        for secret in [
            "api_key",
            "API_KEY",
            "OPENAI_API_KEY",
            "X-Api-Key",
            "token",
            "auth_token",
            "GITHUB_TOKEN",
            "password",
            "db_password",
            "client_secret",
            "Authorization",
            "AWS_SECRET_ACCESS_KEY",
            "accessToken",
            "apiKey",
        ] {
            assert!(is_secret_key(secret), "{secret} must be secret");
        }
        for plain in [
            "max_tokens",
            "completion_tokens",
            "tokenizer",
            "token_count",
            "secretary",
            "passwords_allowed_in_tests",
            "keyboard",
            "top_k",
            "maxTokens",
        ] {
            assert!(!is_secret_key(plain), "{plain} must not be secret");
        }
    }
}
