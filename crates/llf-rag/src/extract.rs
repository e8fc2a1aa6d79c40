//! Turning files into plain text, by extension, in whatever encoding they come.
//!
//! Plain text and source files are streamed: they are read and decoded a block at a time, so a
//! file of any size costs a bounded amount of memory. HTML, PDF and
//! JSON are parsed whole. Text that is not UTF-8 is decoded from the encoding `chardetng`
//! detects (Latin-1 text comes out as windows-1252, its superset); files with NUL bytes are
//! binary, not text, unless a byte-order mark says UTF-16. With only a few accented letters, the
//! Latin encodings cannot be told apart (the detector may call French windows-1250), so such a
//! guess becomes windows-1252, the usual legacy encoding of Western text.

use std::io::Read;
use std::path::Path;

use encoding_rs::{
    Decoder, Encoding, ISO_8859_2, ISO_8859_4, ISO_8859_13, ISO_8859_15, ISO_8859_16, UTF_8,
    WINDOWS_1250, WINDOWS_1252, WINDOWS_1254, WINDOWS_1257, WINDOWS_1258,
};
use sha2::{Digest, Sha256};

use crate::collect::SkipReason;
use crate::{RagError, Result};

/// Extensions read as plain text (prose and source code).
const TEXT_EXTENSIONS: &[&str] = &[
    "txt", "md", "markdown", "rst", "org", "csv", "tsv", "log", "rs", "py", "js", "ts", "tsx",
    "jsx", "go", "java", "kt", "c", "h", "cc", "cpp", "hpp", "cs", "rb", "php", "swift", "scala",
    "sh", "bash", "zsh", "sql", "toml", "yaml", "yml", "ini", "cfg", "xml", "css", "scss", "lua",
    "r", "jl", "hs", "ml", "ex", "exs", "erl", "clj", "dart", "vue", "svelte", "proto",
];

/// Bytes read at a time.
const BLOCK: usize = 64 * 1024;

/// Bytes shown to the encoding detector: its guess does not improve with more.
const DETECT_BYTES: usize = 1024 * 1024;

/// Whether `e` is a legacy encoding of Latin-script text; they differ only in some accented
/// letters.
fn is_latin(e: &'static Encoding) -> bool {
    [
        WINDOWS_1250,
        WINDOWS_1252,
        WINDOWS_1254,
        WINDOWS_1257,
        WINDOWS_1258,
        ISO_8859_2,
        ISO_8859_4,
        ISO_8859_13,
        ISO_8859_15,
        ISO_8859_16,
    ]
    .contains(&e)
}

/// Non-ASCII bytes below which a Latin-encoding guess is not trusted over windows-1252.
const LATIN_EVIDENCE: usize = 64;

/// How a file's text is obtained.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// Plain text or source code, streamed.
    Text,
    Html,
    Pdf,
    Json,
    JsonLines,
}

impl Kind {
    pub(crate) fn of(path: &Path) -> Option<Self> {
        let ext = extension(path);
        match ext.as_str() {
            "html" | "htm" => Some(Self::Html),
            "pdf" => Some(Self::Pdf),
            "json" => Some(Self::Json),
            "jsonl" | "ndjson" => Some(Self::JsonLines),
            e if TEXT_EXTENSIONS.contains(&e) => Some(Self::Text),
            _ => None,
        }
    }
}

/// Whether `path` has an extension this module can read.
pub fn is_supported(path: &Path) -> bool {
    Kind::of(path).is_some()
}

fn extension(path: &Path) -> String {
    path.extension()
        .map(|e| e.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default()
}

/// What one pass over a file's bytes tells: its hash, and how to decode it.
#[derive(Debug, Clone)]
pub(crate) struct Sniffed {
    /// Hex SHA-256 of the bytes.
    pub(crate) hash: String,
    /// Its size in bytes.
    pub(crate) size: u64,
    /// The encoding of its text; `None` when it is binary.
    pub(crate) encoding: Option<&'static Encoding>,
}

/// Incremental encoding detection over the blocks of a file.
struct Detector {
    bom: Option<&'static Encoding>,
    seen: usize,
    utf8_valid: bool,
    /// An incomplete UTF-8 sequence at the end of the last block.
    carry: Vec<u8>,
    nul: bool,
    guess: chardetng::EncodingDetector,
    fed: usize,
    /// Bytes above 0x7f shown to the detector: its evidence.
    non_ascii: usize,
}

impl Detector {
    fn new() -> Self {
        Self {
            bom: None,
            seen: 0,
            utf8_valid: true,
            carry: Vec::new(),
            nul: false,
            guess: chardetng::EncodingDetector::new(),
            fed: 0,
            non_ascii: 0,
        }
    }

    fn feed(&mut self, block: &[u8]) {
        if self.seen == 0 {
            self.bom = Encoding::for_bom(block).map(|(e, _)| e);
        }
        self.seen += block.len();
        if self.bom.is_some() {
            return;
        }
        self.nul |= block.contains(&0);
        let mut informative = false;
        if self.utf8_valid {
            let mut joined = std::mem::take(&mut self.carry);
            joined.extend_from_slice(block);
            match std::str::from_utf8(&joined) {
                Ok(_) => {}
                // Cut inside a character: keep its first bytes for the next block.
                Err(e) if e.error_len().is_none() => {
                    self.carry = joined[e.valid_up_to()..].to_vec();
                }
                Err(_) => {
                    self.utf8_valid = false;
                    informative = true;
                }
            }
        }
        if self.fed < DETECT_BYTES || informative {
            self.guess.feed(block, false);
            self.fed += block.len();
            self.non_ascii += block.iter().filter(|&&b| b > 0x7f).count();
        }
    }

    fn finish(mut self) -> Option<&'static Encoding> {
        if let Some(bom) = self.bom {
            return Some(bom);
        }
        if self.nul {
            return None;
        }
        if self.utf8_valid && self.carry.is_empty() {
            return Some(UTF_8);
        }
        self.guess.feed(&[], true);
        let guess = self.guess.guess(None, false);
        if is_latin(guess) && self.non_ascii < LATIN_EVIDENCE {
            return Some(WINDOWS_1252);
        }
        Some(guess)
    }
}

/// Reads `path` once: hash, size, encoding. Blocking.
pub(crate) fn sniff(path: &Path, kind: Kind) -> std::io::Result<Sniffed> {
    let mut file = std::fs::File::open(path)?;
    let mut hasher = Sha256::new();
    let mut detector = Detector::new();
    let mut buf = vec![0u8; BLOCK];
    let mut size = 0u64;
    loop {
        let n = match file.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        hasher.update(&buf[..n]);
        if kind != Kind::Pdf {
            detector.feed(&buf[..n]);
        }
        size += n as u64;
    }
    let hash = hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    // A PDF is binary by nature; its parser finds the text.
    let encoding = if kind == Kind::Pdf {
        Some(UTF_8)
    } else {
        detector.finish()
    };
    Ok(Sniffed {
        hash,
        size,
        encoding,
    })
}

/// The text of a plain text file, a block at a time.
pub(crate) struct TextStream {
    file: tokio::fs::File,
    decoder: Decoder,
    buf: Vec<u8>,
    done: bool,
}

impl TextStream {
    pub(crate) async fn open(path: &Path, encoding: &'static Encoding) -> std::io::Result<Self> {
        Ok(Self {
            file: tokio::fs::File::open(path).await?,
            decoder: encoding.new_decoder_with_bom_removal(),
            buf: vec![0u8; BLOCK],
            done: false,
        })
    }

    /// The next piece of text with the number of bytes it came from, `None` at the end.
    /// Undecodable bytes become U+FFFD.
    pub(crate) async fn next_piece(&mut self) -> std::io::Result<Option<(String, usize)>> {
        use tokio::io::AsyncReadExt;
        if self.done {
            return Ok(None);
        }
        let n = loop {
            match self.file.read(&mut self.buf).await {
                Ok(n) => break n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            }
        };
        let last = n == 0;
        let capacity = self.decoder.max_utf8_buffer_length(n).unwrap_or(n * 3 + 16);
        let mut out = String::with_capacity(capacity);
        // With room for the worst case, the decoder consumes the whole input.
        let _ = self
            .decoder
            .decode_to_string(&self.buf[..n], &mut out, last);
        self.done = last;
        Ok(Some((out, n)))
    }
}

/// `bytes` as text in `encoding` (BOM removed, undecodable bytes as U+FFFD).
fn decode(bytes: &[u8], encoding: &'static Encoding) -> String {
    encoding.decode_with_bom_removal(bytes).0.into_owned()
}

/// The readable text of a whole file of `kind` whose bytes are `bytes` in `encoding`. Errors
/// are the reason to skip the file.
pub(crate) fn extract_kind(
    kind: Kind,
    bytes: &[u8],
    encoding: &'static Encoding,
) -> std::result::Result<String, SkipReason> {
    let bad = |message: String| SkipReason::Malformed { message };
    match kind {
        Kind::Text => Ok(decode(bytes, encoding)),
        Kind::Html => html2text::from_read(decode(bytes, encoding).as_bytes(), 100_000)
            .map_err(|e| bad(format!("not valid HTML: {e}"))),
        // The PDF parser can panic on malformed files; user input must not crash the caller.
        Kind::Pdf => std::panic::catch_unwind(|| pdf_extract::extract_text_from_mem(bytes))
            .map_err(|_| bad("the PDF is malformed (its parser gave up)".into()))?
            .map_err(|e| bad(format!("cannot extract text from the PDF: {e}"))),
        Kind::Json => {
            let value: serde_json::Value = serde_json::from_str(&decode(bytes, encoding))
                .map_err(|e| bad(format!("not valid JSON: {e}")))?;
            let mut out = Vec::new();
            json_text(&value, &mut out);
            Ok(out.join("\n\n"))
        }
        Kind::JsonLines => {
            let text = decode(bytes, encoding);
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
    }
}

/// The readable text of `path` whose content is `bytes`: the whole-file form of what a store
/// ingests, with the same encoding detection.
pub fn extract(path: &Path, bytes: &[u8]) -> Result<String> {
    let failed = |reason: SkipReason| RagError::Input {
        path: path.to_owned(),
        reason: reason.to_string(),
    };
    let kind = Kind::of(path).ok_or_else(|| failed(SkipReason::Unsupported))?;
    let encoding = if kind == Kind::Pdf {
        UTF_8
    } else {
        let mut detector = Detector::new();
        for block in bytes.chunks(BLOCK) {
            detector.feed(block);
        }
        detector
            .finish()
            .ok_or_else(|| failed(SkipReason::Binary))?
    };
    extract_kind(kind, bytes, encoding).map_err(failed)
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
        let png = [
            0x89, b'P', b'N', b'G', 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 0x0d,
        ];
        let err = extract(Path::new("a.txt"), &png).unwrap_err();
        assert!(err.to_string().contains("binary"), "{err}");
    }

    #[test]
    fn legacy_encodings_and_boms_are_decoded() {
        // "Café crème à la façon de l'été" in Latin-1.
        let latin1 = b"Caf\xe9 cr\xe8me \xe0 la fa\xe7on de l'\xe9t\xe9, tr\xe8s appr\xe9ci\xe9e.";
        assert_eq!(
            extract(Path::new("a.txt"), latin1).unwrap(),
            "Café crème à la façon de l'été, très appréciée."
        );
        // Russian in windows-1251 is not mistaken for a Latin encoding.
        let (cp1251, _, _) = encoding_rs::WINDOWS_1251
            .encode("Привет, мир! Это тестовый документ о погоде в Москве и о зиме.");
        assert_eq!(
            extract(Path::new("ru.txt"), &cp1251).unwrap(),
            "Привет, мир! Это тестовый документ о погоде в Москве и о зиме."
        );
        let mut utf16 = vec![0xff, 0xfe];
        for unit in "héllo".encode_utf16() {
            utf16.extend(unit.to_le_bytes());
        }
        assert_eq!(extract(Path::new("a.md"), &utf16).unwrap(), "héllo");
        assert_eq!(
            extract(Path::new("a.txt"), "\u{feff}naïve".as_bytes()).unwrap(),
            "naïve"
        );
    }

    #[tokio::test]
    async fn a_stream_decodes_characters_cut_between_blocks() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("big.txt");
        // 'é' is two bytes in UTF-8; an odd prefix puts one astride every block boundary.
        let text = format!("x{}", "é".repeat(BLOCK));
        std::fs::write(&path, &text).unwrap();
        let sniffed = sniff(&path, Kind::Text).unwrap();
        assert_eq!(sniffed.encoding, Some(UTF_8));
        assert_eq!(sniffed.size, text.len() as u64);
        let mut stream = TextStream::open(&path, UTF_8).await.unwrap();
        let mut back = String::new();
        while let Some((piece, _)) = stream.next_piece().await.unwrap() {
            back.push_str(&piece);
        }
        assert_eq!(back, text);
    }
}
