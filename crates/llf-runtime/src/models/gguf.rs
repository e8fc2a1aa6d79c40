//! Reading the metadata header of a GGUF model file (architecture, name, context length, size
//! label, quantization), without loading tensors.

use std::io::{BufReader, Read, Seek, SeekFrom};
use std::path::Path;

use serde::Serialize;

use crate::{Result, RuntimeError};

/// What a GGUF header says about a model.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct GgufInfo {
    /// GGUF format version.
    pub version: u32,
    /// `general.architecture`, e.g. `llama`.
    pub architecture: Option<String>,
    /// `general.name`.
    pub name: Option<String>,
    /// `general.size_label`, e.g. `135M`.
    pub size_label: Option<String>,
    /// Quantization from `general.file_type`, e.g. `Q4_1`.
    pub quantization: Option<String>,
    /// `<arch>.context_length`: the context the model was trained with.
    pub context_length: Option<u64>,
    /// `<arch>.block_count`: layers.
    pub layers: Option<u64>,
    /// `<arch>.embedding_length`.
    pub embedding_length: Option<u64>,
    /// Whether the file carries a chat template.
    pub has_chat_template: bool,
    /// Number of tensors.
    pub tensor_count: u64,
}

/// Deepest nesting of arrays inside arrays accepted; real models use one level (token lists).
const MAX_ARRAY_DEPTH: u32 = 8;
/// Smallest encoding of a key/value pair: an empty key (8-byte length), a type (4) and a 1-byte value.
const MIN_KV_BYTES: u64 = 13;
/// Smallest encoding of a tensor description: empty name (8), dimension count (4), type (4),
/// offset (8).
const MIN_TENSOR_INFO_BYTES: u64 = 24;
/// Reads shorter than this are read and dropped instead of seeking, which keeps a `BufReader`'s
/// buffer (a tokenizer array is tens of thousands of short strings).
const SEEK_THRESHOLD: u64 = 8 * 1024;

/// Reads the header of the GGUF file at `path`.
pub fn read_info(path: &Path) -> Result<GgufInfo> {
    let file = std::fs::File::open(path).map_err(|e| RuntimeError::io("opening", path, e))?;
    read_info_from(BufReader::new(file), path)
}

/// Reads a GGUF header from any seekable source: a file, or `std::io::Cursor` over bytes (which is
/// how a fuzz target drives it). `source` names the input in errors.
///
/// Untrusted input is safe: every length and count is checked against the bytes that remain
/// before anything is allocated or skipped, arithmetic is checked, and arrays nest at most
/// eight deep, so a crafted file gives [`RuntimeError::NotGguf`], never a panic, an abort or a
/// huge allocation.
///
/// ```
/// use llf_runtime::models::read_info_from;
/// use llf_runtime::RuntimeError;
///
/// let mut bytes = b"GGUF".to_vec();
/// bytes.extend(3u32.to_le_bytes()); // version
/// bytes.extend(0u64.to_le_bytes()); // tensors
/// bytes.extend(u64::MAX.to_le_bytes()); // key/value pairs: far more than the input holds
/// let err = read_info_from(std::io::Cursor::new(bytes), "crafted.gguf".as_ref()).unwrap_err();
/// assert!(matches!(err, RuntimeError::NotGguf { .. }), "{err}");
/// ```
pub fn read_info_from<R: Read + Seek>(mut reader: R, source: &Path) -> Result<GgufInfo> {
    let len = reader
        .seek(SeekFrom::End(0))
        .and_then(|len| reader.seek(SeekFrom::Start(0)).map(|_| len))
        .map_err(|e| RuntimeError::io("reading", source, e))?;
    let mut h = Header {
        r: reader,
        path: source,
        pos: 0,
        len,
    };
    let mut magic = [0u8; 4];
    h.read_exact(&mut magic)?;
    if &magic != b"GGUF" {
        return Err(h.bad("the file does not start with the GGUF magic bytes".into()));
    }
    let version = h.u32()?;
    if !(2..=3).contains(&version) {
        return Err(h.bad(format!("unsupported GGUF version {version}")));
    }
    let tensor_count = h.u64()?;
    let kv_count = h.u64()?;
    h.fits(kv_count, MIN_KV_BYTES, "key/value count")?;
    let mut info = GgufInfo {
        version,
        tensor_count,
        ..GgufInfo::default()
    };
    let mut numbers: Vec<(String, u64)> = Vec::new();
    for _ in 0..kv_count {
        let key = h.string()?;
        let ty = h.u32()?;
        match (key.as_str(), ty) {
            ("general.architecture", 8) => info.architecture = Some(h.string()?),
            ("general.name", 8) => info.name = Some(h.string()?),
            ("general.size_label", 8) => info.size_label = Some(h.string()?),
            ("tokenizer.chat_template", 8) => {
                h.skip_value(8, 0)?;
                info.has_chat_template = true;
            }
            (_, 4 | 5 | 10 | 11) => {
                let v = h.integer(ty)?;
                numbers.push((key, v));
            }
            _ => h.skip_value(ty, 0)?,
        }
    }
    // The tensor descriptions follow; a count they cannot fit in is a damaged header.
    h.fits(tensor_count, MIN_TENSOR_INFO_BYTES, "tensor count")?;
    let arch = info.architecture.clone().unwrap_or_default();
    for (k, v) in numbers {
        match k.strip_prefix(&format!("{arch}.")) {
            Some("context_length") => info.context_length = Some(v),
            Some("block_count") => info.layers = Some(v),
            Some("embedding_length") => info.embedding_length = Some(v),
            _ if k == "general.file_type" => info.quantization = Some(file_type_name(v).to_owned()),
            _ => {}
        }
    }
    Ok(info)
}

struct Header<'p, R> {
    r: R,
    path: &'p Path,
    /// Bytes consumed so far.
    pos: u64,
    /// Size of the input.
    len: u64,
}

impl<R: Read + Seek> Header<'_, R> {
    fn bad(&self, detail: String) -> RuntimeError {
        RuntimeError::NotGguf {
            path: self.path.to_owned(),
            detail,
        }
    }

    fn remaining(&self) -> u64 {
        self.len.saturating_sub(self.pos)
    }

    /// Fails unless `count` items of at least `each` bytes fit in what remains.
    fn fits(&self, count: u64, each: u64, what: &str) -> Result<()> {
        match count.checked_mul(each) {
            Some(bytes) if bytes <= self.remaining() => Ok(()),
            _ => Err(self.bad(format!(
                "truncated or damaged header: {what} {count} at byte {} does not fit in the {}-byte file",
                self.pos, self.len
            ))),
        }
    }

    fn read_exact(&mut self, buf: &mut [u8]) -> Result<()> {
        if buf.len() as u64 > self.remaining() {
            return Err(self.bad(format!(
                "truncated header: {} bytes needed at byte {}, the file has {}",
                buf.len(),
                self.pos,
                self.len
            )));
        }
        self.r
            .read_exact(buf)
            .map_err(|e| self.bad(format!("truncated header: {e}")))?;
        self.pos += buf.len() as u64;
        Ok(())
    }

    fn u32(&mut self) -> Result<u32> {
        let mut b = [0u8; 4];
        self.read_exact(&mut b)?;
        Ok(u32::from_le_bytes(b))
    }

    fn u64(&mut self) -> Result<u64> {
        let mut b = [0u8; 8];
        self.read_exact(&mut b)?;
        Ok(u64::from_le_bytes(b))
    }

    fn string(&mut self) -> Result<String> {
        let len = self.u64()?;
        self.fits(len, 1, "string length")?;
        let size = usize::try_from(len).map_err(|_| self.bad(format!("string of {len} bytes")))?;
        let mut b = vec![0u8; size];
        self.read_exact(&mut b)?;
        Ok(String::from_utf8_lossy(&b).into_owned())
    }

    fn integer(&mut self, ty: u32) -> Result<u64> {
        Ok(match ty {
            4 => self.u32()?.into(),
            5 => self.u32()? as i32 as u64,
            _ => self.u64()?,
        })
    }

    fn skip(&mut self, n: u64) -> Result<()> {
        self.fits(n, 1, "value size")?;
        if n < SEEK_THRESHOLD {
            let copied = std::io::copy(&mut (&mut self.r).take(n), &mut std::io::sink())
                .map_err(|e| self.bad(format!("truncated header: {e}")))?;
            if copied != n {
                return Err(self.bad("truncated header".into()));
            }
        } else {
            let offset = i64::try_from(n).map_err(|_| self.bad(format!("value of {n} bytes")))?;
            self.r
                .seek(SeekFrom::Current(offset))
                .map_err(|e| self.bad(format!("truncated header: {e}")))?;
        }
        self.pos += n;
        Ok(())
    }

    /// Size in bytes of a fixed-size value type, `None` for strings and arrays.
    fn fixed_size(&self, ty: u32) -> Result<Option<u64>> {
        Ok(Some(match ty {
            0 | 1 | 7 => 1,
            2 | 3 => 2,
            4..=6 => 4,
            10..=12 => 8,
            8 | 9 => return Ok(None),
            other => return Err(self.bad(format!("unknown value type {other}"))),
        }))
    }

    fn skip_value(&mut self, ty: u32, depth: u32) -> Result<()> {
        if let Some(size) = self.fixed_size(ty)? {
            return self.skip(size);
        }
        if ty == 8 {
            let len = self.u64()?;
            return self.skip(len);
        }
        if depth >= MAX_ARRAY_DEPTH {
            return Err(self.bad(format!("arrays nested more than {MAX_ARRAY_DEPTH} deep")));
        }
        let item = self.u32()?;
        let count = self.u64()?;
        match self.fixed_size(item)? {
            Some(size) => {
                self.fits(count, size, "array length")?;
                self.skip(count * size)
            }
            None => {
                // Each string is at least its 8-byte length, each array its 12-byte header.
                let least = if item == 8 { 8 } else { 12 };
                self.fits(count, least, "array length")?;
                (0..count).try_for_each(|_| self.skip_value(item, depth + 1))
            }
        }
    }
}

/// llama.cpp's `llama_ftype` names.
fn file_type_name(v: u64) -> &'static str {
    match v {
        0 => "F32",
        1 => "F16",
        2 => "Q4_0",
        3 => "Q4_1",
        7 => "Q8_0",
        8 => "Q5_0",
        9 => "Q5_1",
        10 => "Q2_K",
        11 => "Q3_K_S",
        12 => "Q3_K_M",
        13 => "Q3_K_L",
        14 => "Q4_K_S",
        15 => "Q4_K_M",
        16 => "Q5_K_S",
        17 => "Q5_K_M",
        18 => "Q6_K",
        32 => "BF16",
        _ => "other",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A minimal GGUF v3 header with the keys LLF reads plus an array it must skip.
    pub(crate) fn tiny_gguf() -> Vec<u8> {
        fn s(out: &mut Vec<u8>, text: &str) {
            out.extend((text.len() as u64).to_le_bytes());
            out.extend(text.as_bytes());
        }
        let mut b = b"GGUF".to_vec();
        b.extend(3u32.to_le_bytes());
        b.extend(0u64.to_le_bytes());
        b.extend(6u64.to_le_bytes());
        s(&mut b, "general.architecture");
        b.extend(8u32.to_le_bytes());
        s(&mut b, "llama");
        s(&mut b, "general.name");
        b.extend(8u32.to_le_bytes());
        s(&mut b, "Tiny");
        s(&mut b, "tokenizer.ggml.tokens");
        b.extend(9u32.to_le_bytes());
        b.extend(8u32.to_le_bytes());
        b.extend(2u64.to_le_bytes());
        s(&mut b, "<s>");
        s(&mut b, "</s>");
        s(&mut b, "llama.context_length");
        b.extend(4u32.to_le_bytes());
        b.extend(2048u32.to_le_bytes());
        s(&mut b, "general.file_type");
        b.extend(4u32.to_le_bytes());
        b.extend(15u32.to_le_bytes());
        s(&mut b, "tokenizer.chat_template");
        b.extend(8u32.to_le_bytes());
        s(&mut b, "{{ messages }}");
        b
    }

    #[test]
    fn reads_a_synthetic_header() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("t.gguf");
        std::fs::write(&p, tiny_gguf()).unwrap();
        let info = read_info(&p).unwrap();
        assert_eq!(info.architecture.as_deref(), Some("llama"));
        assert_eq!(info.name.as_deref(), Some("Tiny"));
        assert_eq!(info.context_length, Some(2048));
        assert_eq!(info.quantization.as_deref(), Some("Q4_K_M"));
        assert!(info.has_chat_template);
    }

    fn parse(bytes: Vec<u8>) -> Result<GgufInfo> {
        read_info_from(std::io::Cursor::new(bytes), Path::new("crafted.gguf"))
    }

    /// A header whose single key holds `value_type` followed by `value`.
    fn one_key(value_type: u32, value: &[u8]) -> Vec<u8> {
        let mut b = b"GGUF".to_vec();
        b.extend(3u32.to_le_bytes());
        b.extend(0u64.to_le_bytes());
        b.extend(1u64.to_le_bytes());
        b.extend(1u64.to_le_bytes());
        b.push(b'k');
        b.extend(value_type.to_le_bytes());
        b.extend(value);
        b
    }

    #[test]
    fn deeply_nested_arrays_are_refused_not_a_stack_overflow() {
        // An array of one array of one array ... 100,000 deep: it overflowed the stack (SIGABRT).
        let mut value = Vec::new();
        for _ in 0..100_000 {
            value.extend(9u32.to_le_bytes());
            value.extend(1u64.to_le_bytes());
        }
        value.extend(0u32.to_le_bytes());
        value.extend(0u64.to_le_bytes());
        let err = parse(one_key(9, &value)).unwrap_err().to_string();
        assert!(err.contains("nested more than 8 deep"), "{err}");
    }

    #[test]
    fn huge_counts_are_refused_not_an_overflow() {
        // An array of u64 whose count times 8 overflows u64: it panicked in debug builds and
        // wrapped in release ones.
        let mut value = 10u32.to_le_bytes().to_vec();
        value.extend((u64::MAX / 4).to_le_bytes());
        let err = parse(one_key(9, &value)).unwrap_err().to_string();
        assert!(err.contains("array length"), "{err}");
        // A string longer than the file.
        let err = parse(one_key(8, &(1u64 << 40).to_le_bytes()))
            .unwrap_err()
            .to_string();
        assert!(err.contains("value size"), "{err}");
        // Key/value and tensor counts larger than the file can hold.
        let mut b = tiny_gguf();
        b[16..24].copy_from_slice(&u64::MAX.to_le_bytes());
        let err = parse(b).unwrap_err().to_string();
        assert!(err.contains("key/value count"), "{err}");
        let mut b = tiny_gguf();
        b[8..16].copy_from_slice(&u64::MAX.to_le_bytes());
        let err = parse(b).unwrap_err().to_string();
        assert!(err.contains("tensor count"), "{err}");
        // A string array of more strings than bytes.
        let mut value = 8u32.to_le_bytes().to_vec();
        value.extend(u64::MAX.to_le_bytes());
        assert!(parse(one_key(9, &value)).is_err());
    }

    #[test]
    fn every_prefix_of_a_valid_header_is_an_error_not_a_panic() {
        let full = tiny_gguf();
        assert!(parse(full.clone()).is_ok());
        for n in 0..full.len() {
            assert!(parse(full[..n].to_vec()).is_err(), "prefix of {n} bytes");
        }
    }

    #[test]
    fn rejects_other_files_clearly() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("x.gguf");
        std::fs::write(&p, b"PK\x03\x04not a model").unwrap();
        assert!(read_info(&p).unwrap_err().to_string().contains("magic"));
        std::fs::write(&p, &tiny_gguf()[..40]).unwrap();
        assert!(read_info(&p).unwrap_err().to_string().contains("truncated"));
    }
}
