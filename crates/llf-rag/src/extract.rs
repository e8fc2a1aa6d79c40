//! Turning files into plain text, by extension.

use std::path::{Path, PathBuf};

use crate::{RagError, Result};

/// Extensions read as plain text (prose and source code).
const TEXT_EXTENSIONS: &[&str] = &[
    "txt", "md", "markdown", "rst", "org", "csv", "tsv", "log", "rs", "py", "js", "ts", "tsx",
    "jsx", "go", "java", "kt", "c", "h", "cc", "cpp", "hpp", "cs", "rb", "php", "swift", "scala",
    "sh", "bash", "zsh", "sql", "toml", "yaml", "yml", "ini", "cfg", "xml", "css", "scss", "lua",
    "r", "jl", "hs", "ml", "ex", "exs", "erl", "clj", "dart", "vue", "svelte", "proto",
];

/// Whether `path` has an extension this module can read.
pub fn is_supported(path: &Path) -> bool {
    let ext = extension(path);
    TEXT_EXTENSIONS.contains(&ext.as_str())
        || matches!(
            ext.as_str(),
            "html" | "htm" | "pdf" | "json" | "jsonl" | "ndjson"
        )
}

fn extension(path: &Path) -> String {
    path.extension()
        .map(|e| e.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default()
}

/// The readable text of `path`, or its bytes' text form for plain files.
pub fn extract(path: &Path, bytes: &[u8]) -> Result<String> {
    let bad = |reason: String| RagError::Input {
        path: path.to_owned(),
        reason,
    };
    match extension(path).as_str() {
        "html" | "htm" => {
            html2text::from_read(bytes, 100_000).map_err(|e| bad(format!("not valid HTML: {e}")))
        }
        // The PDF parser can panic on malformed files; user input must not crash the caller.
        "pdf" => std::panic::catch_unwind(|| pdf_extract::extract_text_from_mem(bytes))
            .map_err(|_| bad("the PDF is malformed (its parser gave up)".into()))?
            .map_err(|e| bad(format!("cannot extract text from the PDF: {e}"))),
        "json" => {
            let value: serde_json::Value =
                serde_json::from_slice(bytes).map_err(|e| bad(format!("not valid JSON: {e}")))?;
            let mut out = Vec::new();
            json_text(&value, &mut out);
            Ok(out.join("\n\n"))
        }
        "jsonl" | "ndjson" => {
            let text = std::str::from_utf8(bytes).map_err(|e| bad(format!("not UTF-8: {e}")))?;
            let mut out = Vec::new();
            for (n, line) in text.lines().enumerate() {
                if line.trim().is_empty() {
                    continue;
                }
                let value: serde_json::Value = serde_json::from_str(line)
                    .map_err(|e| bad(format!("line {}: not valid JSON: {e}", n + 1)))?;
                let mut parts = Vec::new();
                json_text(&value, &mut parts);
                out.push(parts.join("\n"));
            }
            Ok(out.join("\n\n"))
        }
        _ => String::from_utf8(bytes.to_vec())
            .map_err(|_| bad("not UTF-8 text; convert it or leave it out".into())),
    }
}

/// Collects the text of a JSON value: strings as they are, `key: value` for scalar fields of an
/// object so labels stay searchable.
fn json_text(value: &serde_json::Value, out: &mut Vec<String>) {
    use serde_json::Value;
    match value {
        Value::String(s) => out.push(s.clone()),
        Value::Array(items) => items.iter().for_each(|v| json_text(v, out)),
        Value::Object(map) => {
            for (k, v) in map {
                match v {
                    Value::String(s) => out.push(format!("{k}: {s}")),
                    Value::Number(n) => out.push(format!("{k}: {n}")),
                    Value::Bool(b) => out.push(format!("{k}: {b}")),
                    Value::Null => {}
                    _ => json_text(v, out),
                }
            }
        }
        Value::Number(n) => out.push(n.to_string()),
        Value::Bool(b) => out.push(b.to_string()),
        Value::Null => {}
    }
}

/// Every supported file under `paths` (files as given, directories walked; hidden entries
/// skipped), sorted and deduplicated.
pub fn collect_files(paths: &[PathBuf]) -> Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    for p in paths {
        let meta = std::fs::metadata(p).map_err(|e| RagError::Input {
            path: p.clone(),
            reason: e.to_string(),
        })?;
        if meta.is_dir() {
            walk(p, &mut files)?;
        } else if is_supported(p) {
            files.push(absolute(p));
        } else {
            return Err(RagError::Input {
                path: p.clone(),
                reason:
                    "unsupported file type (text, Markdown, HTML, PDF, JSON, JSONL or source code)"
                        .into(),
            });
        }
    }
    files.sort();
    files.dedup();
    Ok(files)
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) -> Result<()> {
    let entries = std::fs::read_dir(dir).map_err(|e| RagError::Input {
        path: dir.to_owned(),
        reason: e.to_string(),
    })?;
    for entry in entries {
        let entry = entry.map_err(|e| RagError::Input {
            path: dir.to_owned(),
            reason: e.to_string(),
        })?;
        let path = entry.path();
        if entry.file_name().to_string_lossy().starts_with('.') {
            continue;
        }
        let kind = entry.file_type().map_err(|e| RagError::Input {
            path: path.clone(),
            reason: e.to_string(),
        })?;
        if kind.is_dir() {
            walk(&path, out)?;
        } else if kind.is_file() && is_supported(&path) {
            out.push(absolute(&path));
        }
    }
    Ok(())
}

fn absolute(p: &Path) -> PathBuf {
    std::path::absolute(p).unwrap_or_else(|_| p.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn html_loses_its_tags() {
        let text = extract(
            Path::new("a.html"),
            b"<html><body><h1>Title</h1><p>Hello <b>world</b></p><script>x()</script></body></html>",
        )
        .unwrap();
        assert!(text.contains("Title"));
        assert!(text.contains("Hello"));
        assert!(!text.contains("<b>"));
    }

    #[test]
    fn json_and_jsonl_keep_labels() {
        let text = extract(
            Path::new("a.json"),
            br#"{"name": "Ada", "tags": ["x", "y"]}"#,
        )
        .unwrap();
        assert!(text.contains("name: Ada"));
        assert!(text.contains('y'));
        let text = extract(
            Path::new("a.jsonl"),
            b"{\"text\": \"one\"}\n\n{\"text\": \"two\"}\n",
        )
        .unwrap();
        assert!(text.contains("text: one") && text.contains("text: two"));
        let err = extract(Path::new("a.jsonl"), b"{\"text\": \"one\"}\n{oops\n").unwrap_err();
        assert!(err.to_string().contains("line 2"), "{err}");
    }

    /// A one-page PDF showing `text` in Helvetica, with a correct cross-reference table.
    fn pdf_with(text: &str) -> Vec<u8> {
        let stream = format!("BT /F1 12 Tf 72 720 Td ({text}) Tj ET");
        let objects = [
            "<< /Type /Catalog /Pages 2 0 R >>".to_owned(),
            "<< /Type /Pages /Kids [3 0 R] /Count 1 >>".to_owned(),
            "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>".to_owned(),
            format!("<< /Length {} >>\nstream\n{stream}\nendstream", stream.len()),
            "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>".to_owned(),
        ];
        let mut out = b"%PDF-1.4\n".to_vec();
        let mut offsets = Vec::new();
        for (i, o) in objects.iter().enumerate() {
            offsets.push(out.len());
            out.extend(format!("{} 0 obj\n{o}\nendobj\n", i + 1).as_bytes());
        }
        let xref = out.len();
        out.extend(format!("xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1).as_bytes());
        for off in offsets {
            out.extend(format!("{off:010} 00000 n \n").as_bytes());
        }
        out.extend(
            format!(
                "trailer\n<< /Size {} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n",
                objects.len() + 1
            )
            .as_bytes(),
        );
        out
    }

    #[test]
    fn pdf_text_is_extracted_and_garbage_refused() {
        let text = extract(
            Path::new("a.pdf"),
            &pdf_with("Invoice number 4711 is overdue"),
        )
        .unwrap();
        assert!(text.contains("Invoice number 4711"), "{text:?}");
        assert!(extract(Path::new("b.pdf"), b"%PDF-1.4 broken").is_err());
    }

    #[test]
    fn binary_is_refused() {
        assert!(extract(Path::new("a.txt"), &[0xff, 0xfe, 0x00]).is_err());
    }
}
