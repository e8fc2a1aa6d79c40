//! Which values of a config are secrets, and the two encrypted value formats.

use serde_json::Value;

use crate::secret::{is_env_map, is_secret_key};

/// Values LLF encrypts: `llf-enc:v1:<key id>:<base64url(nonce || ciphertext)>`.
pub(crate) const PREFIX: &str = "llf-enc:v1:";
/// Values the Python version encrypted: `encrypted:<base64url(Fernet token)>`.
pub(crate) const LEGACY_PREFIX: &str = "encrypted:";
/// How the base64 of every Fernet token of this era begins.
const FERNET_B64: &str = "Z0FBQUFB";

/// An encrypted value, told apart by its prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Sealed<'a> {
    /// LLF's format: the id of the key (in the salt file) and the base64 payload.
    V1 { id: &'a str, data: &'a str },
    /// The Python version's format: base64 of a Fernet token.
    Legacy { data: &'a str },
}

impl<'a> Sealed<'a> {
    pub(crate) fn parse(text: &'a str) -> Option<Self> {
        if let Some(rest) = text.strip_prefix(PREFIX) {
            let (id, data) = rest.split_once(':').unwrap_or(("", rest));
            return Some(Self::V1 { id, data });
        }
        // A Fernet token starts with "gAAAAA" (version byte 0x80, a timestamp below 2^32), which
        // base64 turns into "Z0FBQUFB": a system prompt that happens to begin with `encrypted:`
        // is not taken for a secret.
        text.strip_prefix(LEGACY_PREFIX)
            .filter(|data| data.starts_with(FERNET_B64))
            .map(|data| Self::Legacy { data })
    }
}

/// One string of the config, as the walk meets it.
pub(crate) struct Leaf<'v> {
    /// Its key path (`tools.mcp_servers[0].env.GITHUB_TOKEN`).
    pub(crate) path: String,
    /// Whether it is a secret: under a secret-named key, or a value of an `env` map (MCP servers,
    /// tools).
    pub(crate) secret: bool,
    pub(crate) value: &'v mut String,
}

/// Calls `f` for every string in `value`, with its key path starting at `path` and whether it is a
/// secret (`secret`: the caller already knows the place is secret).
pub(crate) fn walk<E>(
    value: &mut Value,
    path: &str,
    secret: bool,
    f: &mut impl FnMut(Leaf<'_>) -> Result<(), E>,
) -> Result<(), E> {
    match value {
        Value::String(s) => f(Leaf {
            path: path.to_owned(),
            secret,
            value: s,
        }),
        Value::Array(items) => {
            for (i, item) in items.iter_mut().enumerate() {
                walk(item, &format!("{path}[{i}]"), secret, f)?;
            }
            Ok(())
        }
        Value::Object(map) => {
            for (k, v) in map.iter_mut() {
                let child = if path.is_empty() {
                    k.clone()
                } else {
                    format!("{path}.{k}")
                };
                walk(v, &child, secret || child_is_secret(k, v), f)?;
            }
            Ok(())
        }
        _ => Ok(()),
    }
}

/// Whether the value under key `key` is secret: secret-named keys, and every variable of an
/// environment map given to a subprocess (an MCP server's `env` holds `DATABASE_URL`s with
/// passwords in them as often as `GITHUB_TOKEN`s).
pub(crate) fn child_is_secret(key: &str, value: &Value) -> bool {
    is_secret_key(key) || is_env_map(key, value)
}

/// Whether a value set at `path` (segments as written in `llf config set`) lands in a secret place.
pub(crate) fn path_is_secret<'k>(segments: impl IntoIterator<Item = Option<&'k str>>) -> bool {
    // `None` is a list index; the `env` rule needs the key right above a variable.
    let mut above = None;
    for seg in segments {
        if let Some(k) = seg
            && (is_secret_key(k) || above == Some("env"))
        {
            return true;
        }
        above = seg;
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn leaves(mut v: Value) -> Vec<(String, bool)> {
        let mut out = Vec::new();
        walk::<()>(&mut v, "", false, &mut |l| {
            out.push((l.path, l.secret));
            Ok(())
        })
        .unwrap();
        out
    }

    #[test]
    fn secret_names_and_env_maps_are_secret_other_strings_are_not() {
        let got = leaves(json!({
            "llm_endpoint": {"api_key": "k", "model_name": "m"},
            "tools": {"mcp_servers": [{"name": "gh", "env": {"GITHUB_TOKEN": "t", "DB": "postgres://u:p@h"}}]},
            "plugins": {"auth": {"password": "p"}, "max_tokens": "12"}
        }));
        assert_eq!(
            got,
            vec![
                ("llm_endpoint.api_key".into(), true),
                ("llm_endpoint.model_name".into(), false),
                ("tools.mcp_servers[0].name".into(), false),
                ("tools.mcp_servers[0].env.GITHUB_TOKEN".into(), true),
                ("tools.mcp_servers[0].env.DB".into(), true),
                ("plugins.auth.password".into(), true),
                ("plugins.max_tokens".into(), false),
            ]
        );
    }

    #[test]
    fn set_paths_are_secret_by_their_last_key_or_an_env_map() {
        assert!(path_is_secret([Some("llm_endpoint"), Some("api_key")]));
        assert!(path_is_secret([
            Some("tools"),
            Some("mcp_servers"),
            None,
            Some("env"),
            Some("DB")
        ]));
        assert!(!path_is_secret([Some("llm_endpoint"), Some("model_name")]));
        assert!(!path_is_secret([
            Some("inference_params"),
            Some("max_tokens")
        ]));
    }

    #[test]
    fn formats_are_told_apart_by_prefix() {
        assert_eq!(
            Sealed::parse("llf-enc:v1:ab12:xyz"),
            Some(Sealed::V1 {
                id: "ab12",
                data: "xyz"
            })
        );
        assert_eq!(
            Sealed::parse("encrypted:Z0FBQUFBBmX"),
            Some(Sealed::Legacy {
                data: "Z0FBQUFBBmX"
            })
        );
        assert_eq!(Sealed::parse("encrypted: talk like a pirate"), None);
        assert_eq!(Sealed::parse("sk-plain"), None);
    }
}
