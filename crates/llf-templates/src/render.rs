//! `{name}` placeholders: finding them and filling them in.
//!
//! `{name}` with `name` made of letters, digits and `_` (not starting with a digit) is a
//! variable; `{{` and `}}` stand for literal braces; any other brace is kept as written, so code
//! with braces can sit in a template untouched.

use std::collections::BTreeMap;

use crate::{Result, TemplateError};

enum Piece<'a> {
    Text(&'a str),
    Var(&'a str),
}

fn pieces(template: &str) -> Vec<Piece<'_>> {
    let mut out = Vec::new();
    let bytes = template.as_bytes();
    let mut start = 0;
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'{' | b'}' if bytes.get(i + 1) == Some(&bytes[i]) => {
                out.push(Piece::Text(&template[start..=i]));
                i += 2;
                start = i;
            }
            b'{' => {
                let rest = &template[i + 1..];
                let end = rest.find('}');
                match end.map(|e| &rest[..e]).filter(|name| is_identifier(name)) {
                    Some(name) => {
                        out.push(Piece::Text(&template[start..i]));
                        out.push(Piece::Var(name));
                        i += name.len() + 2;
                        start = i;
                    }
                    None => i += 1,
                }
            }
            _ => i += 1,
        }
    }
    out.push(Piece::Text(&template[start..]));
    out
}

fn is_identifier(s: &str) -> bool {
    let mut chars = s.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// The variables of `template`, in order of first appearance, without repeats.
pub fn variables(template: &str) -> Vec<String> {
    let mut seen = Vec::<String>::new();
    for p in pieces(template) {
        if let Piece::Var(v) = p
            && !seen.iter().any(|s| s == v)
        {
            seen.push(v.to_owned());
        }
    }
    seen
}

/// Fills every placeholder of `template` from `values`. Every variable needs a value and every
/// value must belong to a variable, so a typo in a name is an error rather than a silent blank.
pub fn render(template: &str, values: &BTreeMap<String, String>) -> Result<String> {
    let needed = variables(template);
    let missing: Vec<String> = needed
        .iter()
        .filter(|v| !values.contains_key(*v))
        .cloned()
        .collect();
    if !missing.is_empty() {
        return Err(TemplateError::MissingVariables { missing, needed });
    }
    let unknown: Vec<String> = values
        .keys()
        .filter(|k| !needed.contains(k))
        .cloned()
        .collect();
    if !unknown.is_empty() {
        return Err(TemplateError::UnknownVariables { unknown, needed });
    }
    let mut out = String::with_capacity(template.len());
    for p in pieces(template) {
        match p {
            Piece::Text(t) => out.push_str(t),
            Piece::Var(v) => out.push_str(values.get(v).map_or("", String::as_str)),
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vals(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn finds_variables_and_keeps_other_braces() {
        let t = "fn {name}() {{ {body} }} {not a var} {name} {1x}";
        assert_eq!(variables(t), ["name", "body"]);
        let out = render(t, &vals(&[("name", "f"), ("body", "x+1")])).unwrap();
        assert_eq!(out, "fn f() { x+1 } {not a var} f {1x}");
    }

    #[test]
    fn missing_and_unknown_are_errors() {
        let err = render("{a} {b}", &vals(&[("a", "1")])).unwrap_err();
        assert_eq!(
            err.to_string(),
            "missing value(s) for b; this template needs: a, b"
        );
        let err = render("{a}", &vals(&[("a", "1"), ("z", "2")])).unwrap_err();
        assert!(
            matches!(err, TemplateError::UnknownVariables { ref unknown, .. } if unknown == &["z"])
        );
    }

    #[test]
    fn values_are_not_reinterpreted() {
        // A value containing a placeholder stays literal text.
        assert_eq!(render("{a}", &vals(&[("a", "{a}{{")])).unwrap(), "{a}{{");
    }
}
