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
    let mut chunker = Chunker::new(size, overlap);
    let mut chunks = chunker.push(text);
    chunks.extend(chunker.finish());
    chunks
}

/// [`chunk_text`] over text that arrives in pieces: the same chunks, whatever the pieces, while
/// holding only about one chunk's worth of text plus the last piece.
#[derive(Debug, Clone)]
pub struct Chunker {
    size: usize,
    overlap: usize,
    /// Text not yet behind the next chunk's start.
    chars: Vec<char>,
    /// Characters of `chars` already consumed (dropped lazily, a block at a time).
    start: usize,
    /// Offset in the whole text of `chars[0]`.
    base: usize,
    position: usize,
}

impl Chunker {
    /// A chunker for chunks of `size` characters overlapping by `overlap`.
    pub fn new(size: usize, overlap: usize) -> Self {
        let size = size.max(16);
        Self {
            size,
            overlap: overlap.min(size / 2),
            chars: Vec::new(),
            start: 0,
            base: 0,
            position: 0,
        }
    }

    /// Adds the next piece of text; returns the chunks it completes.
    pub fn push(&mut self, piece: &str) -> Vec<Chunk> {
        self.chars.extend(piece.chars());
        self.cut(false)
    }

    /// Ends the text; returns the last chunks.
    pub fn finish(&mut self) -> Vec<Chunk> {
        let out = self.cut(true);
        self.chars.clear();
        self.start = 0;
        out
    }

    /// Emits every chunk whose end is known: all of them at the end of the text, else those
    /// whose window lies wholly inside the text seen so far.
    fn cut(&mut self, last: bool) -> Vec<Chunk> {
        let mut out = Vec::new();
        let size = self.size;
        loop {
            let chars = &self.chars;
            let n = chars.len();
            let mut start = self.start;
            // Skip leading whitespace so chunks start on content.
            while start < n && chars[start].is_whitespace() {
                start += 1;
            }
            self.start = start;
            if start >= n {
                break;
            }
            // Only a window with text after it can be cut early; otherwise wait for more.
            if !last && start + size >= n {
                break;
            }
            let hard_end = (start + size).min(n);
            let end = if hard_end == n {
                n
            } else {
                best_cut(chars, start + size * 4 / 5, hard_end).unwrap_or(hard_end)
            };
            let piece: String = chars[start..end].iter().collect();
            let piece = piece.trim_end();
            if !piece.is_empty() {
                out.push(Chunk {
                    position: self.position,
                    start: self.base + start,
                    hash: content_hash(piece.as_bytes()),
                    text: piece.to_owned(),
                });
                self.position += 1;
            }
            if end >= n {
                self.start = n;
                break;
            }
            let mut next = end.saturating_sub(self.overlap).max(start + 1);
            // Start the overlap at a word boundary.
            while next < end && !chars[next - 1].is_whitespace() {
                next += 1;
            }
            self.start = next;
        }
        // Drop consumed text once it is most of the buffer, keeping one character before the
        // start for the word-boundary test. Amortised, this moves each character once or twice.
        let keep_from = self.start.saturating_sub(1);
        if keep_from > 0 && keep_from * 2 >= self.chars.len() {
            self.chars.drain(..keep_from);
            self.base += keep_from;
            self.start -= keep_from;
        }
        out
    }
}

/// The best place to end a chunk in `lo..hi` (exclusive end index).
fn best_cut(chars: &[char], lo: usize, hi: usize) -> Option<usize> {
    let window = lo..hi;
    let find = |pred: &dyn Fn(usize) -> bool| window.clone().rev().find(|&i| pred(i));
    find(&|i| chars[i] == '\n' && i > 0 && chars[i - 1] == '\n')
        .or_else(|| {
            find(&|i| {
                chars[i].is_whitespace()
                    && i > 0
                    && matches!(chars[i - 1], '.' | '!' | '?' | ';' | ':')
            })
        })
        .or_else(|| find(&|i| chars[i].is_whitespace()))
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
    fn pieces_give_the_same_chunks_as_the_whole() {
        let mut text = String::new();
        for i in 0..300 {
            text.push_str(&format!("Sentence {i} is here; é ü 日本."));
            text.push(if i % 7 == 0 { '\n' } else { ' ' });
            if i % 13 == 0 {
                text.push_str("\n\n   ");
            }
        }
        let whole = chunk_text(&text, 120, 30);
        assert!(whole.len() > 20);
        let chars: Vec<char> = text.chars().collect();
        for step in [1, 7, 64, 119, 120, 121, 500] {
            let mut chunker = Chunker::new(120, 30);
            let mut pieces = Vec::new();
            for part in chars.chunks(step) {
                pieces.extend(chunker.push(&part.iter().collect::<String>()));
            }
            pieces.extend(chunker.finish());
            assert_eq!(pieces, whole, "pieces of {step} characters");
        }
        for c in &whole {
            let at: String = chars[c.start..]
                .iter()
                .take(c.text.chars().count())
                .collect();
            assert_eq!(at, c.text, "start offsets point at the chunk");
        }
    }

    #[test]
    fn multibyte_text_is_safe() {
        let text = "é ü 日本語 ".repeat(100);
        let chunks = chunk_text(&text, 50, 10);
        assert!(!chunks.is_empty());
    }
}
