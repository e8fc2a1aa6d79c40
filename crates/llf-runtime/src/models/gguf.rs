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

/// Reads the header of `path`.
pub fn read_info(path: &Path) -> Result<GgufInfo> {
    let file = std::fs::File::open(path).map_err(|e| RuntimeError::io("opening", path, e))?;
    let mut r = BufReader::new(file);
    let bad = |detail: String| RuntimeError::NotGguf {
        path: path.to_owned(),
        detail,
    };
    let mut magic = [0u8; 4];
    r.read_exact(&mut magic).map_err(|e| bad(e.to_string()))?;
    if &magic != b"GGUF" {
        return Err(bad(
            "the file does not start with the GGUF magic bytes".into()
        ));
    }
    let mut h = Header { r, path };
    let version = h.u32()?;
    if !(2..=3).contains(&version) {
        return Err(bad(format!("unsupported GGUF version {version}")));
    }
    let tensor_count = h.u64()?;
    let kv_count = h.u64()?;
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
                h.skip_value(8)?;
                info.has_chat_template = true;
            }
            (_, 4 | 5 | 10 | 11) => {
                let v = h.integer(ty)?;
                numbers.push((key, v));
            }
            _ => h.skip_value(ty)?,
        }
    }
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
}

impl<R: Read + Seek> Header<'_, R> {
    fn err(&self, e: std::io::Error) -> RuntimeError {
        RuntimeError::NotGguf {
            path: self.path.to_owned(),
            detail: format!("truncated header: {e}"),
        }
    }
    fn u32(&mut self) -> Result<u32> {
        let mut b = [0u8; 4];
        self.r.read_exact(&mut b).map_err(|e| self.err(e))?;
        Ok(u32::from_le_bytes(b))
    }
    fn u64(&mut self) -> Result<u64> {
        let mut b = [0u8; 8];
        self.r.read_exact(&mut b).map_err(|e| self.err(e))?;
        Ok(u64::from_le_bytes(b))
    }
    fn string(&mut self) -> Result<String> {
        let len = self.u64()?;
        if len > 1 << 24 {
            return Err(RuntimeError::NotGguf {
                path: self.path.to_owned(),
                detail: format!("implausible string length {len}"),
            });
        }
        let mut b = vec![0u8; len as usize];
        self.r.read_exact(&mut b).map_err(|e| self.err(e))?;
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
        self.r
            .seek(SeekFrom::Current(n as i64))
            .map_err(|e| self.err(e))?;
        Ok(())
    }
    fn skip_value(&mut self, ty: u32) -> Result<()> {
        match ty {
            0 | 1 | 7 => self.skip(1),
            2 | 3 => self.skip(2),
            4..=6 => self.skip(4),
            10..=12 => self.skip(8),
            8 => {
                let len = self.u64()?;
                self.skip(len)
            }
            9 => {
                let item = self.u32()?;
                let count = self.u64()?;
                match item {
                    8 | 9 => (0..count).try_for_each(|_| self.skip_value(item)),
                    _ => {
                        let size = match item {
                            0 | 1 | 7 => 1,
                            2 | 3 => 2,
                            4..=6 => 4,
                            _ => 8,
                        };
                        self.skip(size * count)
                    }
                }
            }
            other => Err(RuntimeError::NotGguf {
                path: self.path.to_owned(),
                detail: format!("unknown value type {other}"),
            }),
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
