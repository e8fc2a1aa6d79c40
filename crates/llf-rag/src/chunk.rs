//! Splitting text into overlapping chunks.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// One piece of a document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Chunk {
    /// Index of the chunk within its source, from 0.
    pub position: usize,
    /// Character offset of the chunk's start in the extracted text.
    pub start: usize,
    /// The text.
    pub text: String,
    /// SHA-256 of the text, hex.
    pub hash: String,
}

/// Hex SHA-256 of `bytes`.
pub fn content_hash(bytes: &[u8]) -> String {
    let digest = Sha256::digest(bytes);
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// Splits `text` into chunks of at most `size` characters, neighbours sharing about `overlap`
/// characters. Cuts prefer a paragraph break, then a sentence end, then whitespace in the last
/// fifth of the window, so chunks rarely split words.
pub fn chunk_text(text: &str, size: usize, overlap: usize) -> Vec<Chunk> {
    let size = size.max(16);
    let overlap = overlap.min(size / 2);
    let chars: Vec<(usize, char)> = text.char_indices().collect();
    let n = chars.len();
    let byte_at = |i: usize| chars.get(i).map_or(text.len(), |&(b, _)| b);
    let mut chunks = Vec::new();
    let mut start = 0;
    while start < n {
        // Skip leading whitespace so chunks start on content.
        while start < n && chars[start].1.is_whitespace() {
            start += 1;
        }
        if start >= n {
            break;
        }
        let hard_end = (start + size).min(n);
        let end = if hard_end == n {
            n
        } else {
            best_cut(&chars, start + size * 4 / 5, hard_end).unwrap_or(hard_end)
        };
        let piece = text[byte_at(start)..byte_at(end)].trim_end();
        if !piece.is_empty() {
            chunks.push(Chunk {
                position: chunks.len(),
                start,
                text: piece.to_owned(),
                hash: content_hash(piece.as_bytes()),
            });
        }
        if end >= n {
            break;
        }
        let mut next = end.saturating_sub(overlap).max(start + 1);
        // Start the overlap at a word boundary.
        while next < end && !chars[next - 1].1.is_whitespace() {
            next += 1;
        }
        start = next;
    }
    chunks
}

/// The best place to end a chunk in `lo..hi` (exclusive end index).
fn best_cut(chars: &[(usize, char)], lo: usize, hi: usize) -> Option<usize> {
    let window = lo..hi;
    let find = |pred: &dyn Fn(usize) -> bool| window.clone().rev().find(|&i| pred(i));
    find(&|i| chars[i].1 == '\n' && i > 0 && chars[i - 1].1 == '\n')
        .or_else(|| {
            find(&|i| {
                chars[i].1.is_whitespace()
                    && i > 0
                    && matches!(chars[i - 1].1, '.' | '!' | '?' | ';' | ':')
            })
        })
        .or_else(|| find(&|i| chars[i].1.is_whitespace()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_text_is_one_chunk() {
        let c = chunk_text("hello world", 100, 20);
        assert_eq!(c.len(), 1);
        assert_eq!(c[0].text, "hello world");
        assert_eq!(c[0].hash, content_hash(b"hello world"));
    }

    #[test]
    fn long_text_overlaps_and_covers_everything() {
        let words: Vec<String> = (0..400).map(|i| format!("w{i}")).collect();
        let text = words.join(" ");
        let chunks = chunk_text(&text, 200, 50);
        assert!(chunks.len() > 5);
        for c in &chunks {
            assert!(c.text.chars().count() <= 200, "{}", c.text.len());
            assert!(!c.text.starts_with(' '));
        }
        for pair in chunks.windows(2) {
            let last_word = pair[0].text.split(' ').next_back().unwrap_or_default();
            assert!(
                pair[1].text.contains(last_word),
                "no overlap between chunks"
            );
        }
        for w in &words {
            assert!(
                chunks.iter().any(|c| c.text.split(' ').any(|x| x == w)),
                "{w} lost"
            );
        }
    }

    #[test]
    fn cuts_prefer_paragraphs() {
        let text = format!("{}\n\n{}", "a".repeat(170), "b ".repeat(100));
        let chunks = chunk_text(&text, 200, 0);
        assert_eq!(chunks[0].text, "a".repeat(170));
    }

    #[test]
    fn multibyte_text_is_safe() {
        let text = "é ü 日本語 ".repeat(100);
        let chunks = chunk_text(&text, 50, 10);
        assert!(!chunks.is_empty());
    }
}
