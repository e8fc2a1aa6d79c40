//! PDF through `printpdf`, with a TrueType font embedded so any script the font covers renders
//! (and is extractable: printpdf writes a ToUnicode map).

use std::path::{Path, PathBuf};

use llf_history::{ConversationTree, StoredMessage};
use printpdf::{Mm, PdfDocument};

use crate::markdown::text;
use crate::options::ExportOptions;
use crate::{ExportError, Result};

/// Where Debian's `fonts-dejavu-core` and similar packages put a Unicode sans font.
pub const FONT_CANDIDATES: [&str; 3] = [
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/TTF/DejaVuSans.ttf",
    "/usr/share/fonts/dejavu/DejaVuSans.ttf",
];

const PAGE_W: f32 = 210.0;
const PAGE_H: f32 = 297.0;
const MARGIN: f32 = 18.0;
const FONT_SIZE: f32 = 10.0;
const LINE_H: f32 = 4.8;
/// Characters per line: DejaVu Sans averages ~0.55 em, so 10 pt text fits about 88 in 174 mm.
const WRAP: usize = 88;

fn font_path(opts: &ExportOptions) -> Result<PathBuf> {
    if let Some(p) = &opts.font {
        return Ok(p.clone());
    }
    FONT_CANDIDATES
        .iter()
        .map(PathBuf::from)
        .find(|p| p.is_file())
        .ok_or_else(|| ExportError::Font(format!("none of {} exists", FONT_CANDIDATES.join(", "))))
}

fn load_font(path: &Path) -> Result<Vec<u8>> {
    std::fs::read(path).map_err(|e| ExportError::Font(format!("{}: {e}", path.display())))
}

/// Wraps a line at word boundaries to at most `width` characters (longer words are cut).
fn wrap(line: &str, width: usize) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut len = 0;
    for word in line.split(' ') {
        let wlen = word.chars().count();
        if len > 0 && len + 1 + wlen > width {
            out.push(std::mem::take(&mut cur));
            len = 0;
        }
        if wlen > width {
            let chars: Vec<char> = word.chars().collect();
            for chunk in chars.chunks(width) {
                if len > 0 {
                    out.push(std::mem::take(&mut cur));
                }
                cur = chunk.iter().collect();
                len = chunk.len();
            }
            continue;
        }
        if len > 0 {
            cur.push(' ');
            len += 1;
        }
        cur.push_str(word);
        len += wlen;
    }
    out.push(cur);
    out
}

pub(crate) fn pdf(
    tree: &ConversationTree,
    messages: &[StoredMessage],
    opts: &ExportOptions,
) -> Result<Vec<u8>> {
    let font_bytes = load_font(&font_path(opts)?)?;
    let body = text(tree, messages, opts);
    let (doc, page, layer) = PdfDocument::new(
        tree.conversation.title.clone(),
        Mm(PAGE_W),
        Mm(PAGE_H),
        "text",
    );
    // Subsetting keeps only the glyphs used: a small file, and a ToUnicode map that lists only
    // characters that occur.
    let font = doc
        .add_external_font_with_subsetting(std::io::Cursor::new(font_bytes), true)
        .map_err(|e| ExportError::Font(e.to_string()))?;
    let mut current = doc.get_page(page).get_layer(layer);
    let mut y = PAGE_H - MARGIN;
    for raw in body.lines() {
        // Tabs and control characters have no glyph; spaces keep code indented. Characters
        // beyond the Basic Multilingual Plane (emoji) become U+FFFD: printpdf 0.7 writes their
        // ToUnicode entries in a form readers reject, which would break copying all the text.
        let clean: String = raw
            .replace('\t', "    ")
            .chars()
            .filter(|c| !c.is_control())
            .map(|c| if u32::from(c) > 0xFFFF { '\u{FFFD}' } else { c })
            .collect();
        for line in wrap(&clean, WRAP) {
            if y < MARGIN {
                let (p, l) = doc.add_page(Mm(PAGE_W), Mm(PAGE_H), "text");
                current = doc.get_page(p).get_layer(l);
                y = PAGE_H - MARGIN;
            }
            if !line.is_empty() {
                current.use_text(line, FONT_SIZE, Mm(MARGIN), Mm(y), &font);
            }
            y -= LINE_H;
        }
    }
    doc.save_to_bytes()
        .map_err(|e| ExportError::Pdf(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::wrap;

    #[test]
    fn wraps_at_words_and_cuts_long_ones() {
        assert_eq!(wrap("aa bb cc", 5), ["aa bb", "cc"]);
        assert_eq!(wrap("abcdefgh", 3), ["abc", "def", "gh"]);
        assert_eq!(wrap("", 3), [""]);
    }
}
