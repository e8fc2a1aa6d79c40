//! Downloading GGUF files from a Hugging Face hub (or any server with its API): list a
//! repository's files, pick the quantization, resume an interrupted download, verify size and
//! SHA-256, and report progress.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::Duration;

use futures::StreamExt;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use tokio::io::AsyncWriteExt;

use crate::{Result, RuntimeError};

/// A file of a repository.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HubFile {
    /// Path inside the repository.
    pub path: String,
    /// Size in bytes.
    pub size: u64,
    /// SHA-256 of the content (from the LFS pointer), when the hub gives it.
    pub sha256: Option<String>,
}

#[derive(Deserialize)]
struct TreeEntry {
    #[serde(rename = "type")]
    kind: String,
    path: String,
    #[serde(default)]
    size: u64,
    #[serde(default)]
    lfs: Option<Lfs>,
}

#[derive(Deserialize)]
struct Lfs {
    oid: String,
    size: u64,
}

/// Bytes done and expected, for progress bars.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DownloadProgress {
    /// Bytes on disk so far (including a resumed part).
    pub downloaded: u64,
    /// Total size.
    pub total: u64,
}

/// A client for one hub.
#[derive(Debug, Clone)]
pub struct ModelHub {
    base_url: String,
    http: reqwest::Client,
}

impl ModelHub {
    /// A hub at `base_url` (e.g. `https://huggingface.co`).
    pub fn new(base_url: impl Into<String>) -> Self {
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(15))
            .build()
            .unwrap_or_default();
        Self {
            base_url: base_url.into().trim_end_matches('/').to_owned(),
            http,
        }
    }

    fn request_error(&self, e: reqwest::Error) -> RuntimeError {
        RuntimeError::Request {
            endpoint: self.base_url.clone(),
            message: e.to_string(),
            status: e.status().map(|s| s.as_u16()),
        }
    }

    /// The GGUF files of `repo` (`owner/name`).
    pub async fn gguf_files(&self, repo: &str) -> Result<Vec<HubFile>> {
        if repo.split('/').count() != 2 || repo.contains("..") {
            return Err(RuntimeError::Invalid(format!(
                "`{repo}` is not a repository id like `owner/name`"
            )));
        }
        let url = format!("{}/api/models/{repo}/tree/main", self.base_url);
        let resp = self
            .http
            .get(&url)
            .send()
            .await
            .map_err(|e| self.request_error(e))?;
        if resp.status() == reqwest::StatusCode::NOT_FOUND {
            return Err(RuntimeError::Invalid(format!(
                "repository `{repo}` not found on {}",
                self.base_url
            )));
        }
        let entries: Vec<TreeEntry> = resp
            .error_for_status()
            .map_err(|e| self.request_error(e))?
            .json()
            .await
            .map_err(|e| self.request_error(e))?;
        Ok(entries
            .into_iter()
            .filter(|e| e.kind == "file" && e.path.to_ascii_lowercase().ends_with(".gguf"))
            .map(|e| HubFile {
                size: e.lfs.as_ref().map(|l| l.size).unwrap_or(e.size),
                sha256: e.lfs.map(|l| l.oid),
                path: e.path,
            })
            .collect())
    }

    /// Picks the file to download: `file` exactly, else the one whose name contains `quant`
    /// (case-insensitive), else the only GGUF file.
    pub fn choose<'f>(
        files: &'f [HubFile],
        file: Option<&str>,
        quant: Option<&str>,
    ) -> Result<&'f HubFile> {
        let names = || {
            files
                .iter()
                .map(|f| f.path.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        };
        if let Some(name) = file {
            return files.iter().find(|f| f.path == name).ok_or_else(|| {
                RuntimeError::Invalid(format!(
                    "no file `{name}` in the repository (have: {})",
                    names()
                ))
            });
        }
        if let Some(q) = quant {
            let q = q.to_ascii_lowercase();
            let matching: Vec<_> = files
                .iter()
                .filter(|f| f.path.to_ascii_lowercase().contains(&q))
                .collect();
            return match matching.as_slice() {
                [one] => Ok(one),
                [] => Err(RuntimeError::Invalid(format!(
                    "no file matches quantization `{q}` (have: {})",
                    names()
                ))),
                _ => Err(RuntimeError::Invalid(format!(
                    "several files match `{q}`; pick one with --file (have: {})",
                    names()
                ))),
            };
        }
        match files {
            [one] => Ok(one),
            [] => Err(RuntimeError::Invalid(
                "the repository has no .gguf file".into(),
            )),
            _ => Err(RuntimeError::Invalid(format!(
                "the repository has several GGUF files; choose with --quant or --file: {}",
                names()
            ))),
        }
    }

    /// Downloads `file` of `repo` into `dest_dir`, resuming a `.part` file left by an earlier
    /// attempt, and verifies size and SHA-256 before moving it into place.
    pub async fn download(
        &self,
        repo: &str,
        file: &HubFile,
        dest_dir: &Path,
        progress: impl Fn(DownloadProgress),
    ) -> Result<PathBuf> {
        let name = Path::new(&file.path)
            .file_name()
            .ok_or_else(|| RuntimeError::Invalid(format!("bad file name `{}`", file.path)))?;
        std::fs::create_dir_all(dest_dir).map_err(|e| RuntimeError::io("creating", dest_dir, e))?;
        let dest = dest_dir.join(name);
        let part = dest_dir.join(format!("{}.part", name.to_string_lossy()));
        if dest.is_file() && std::fs::metadata(&dest).map(|m| m.len()).unwrap_or(0) == file.size {
            progress(DownloadProgress {
                downloaded: file.size,
                total: file.size,
            });
            return Ok(dest);
        }
        let mut have = std::fs::metadata(&part).map(|m| m.len()).unwrap_or(0);
        if have > file.size {
            have = 0;
        }
        let url = format!("{}/{repo}/resolve/main/{}", self.base_url, file.path);
        let mut req = self.http.get(&url);
        if have > 0 {
            req = req.header(reqwest::header::RANGE, format!("bytes={have}-"));
            tracing::info!(file = %file.path, resumed_at = have, "resuming download");
        }
        let resp = req
            .send()
            .await
            .map_err(|e| self.request_error(e))?
            .error_for_status()
            .map_err(|e| self.request_error(e))?;
        // A server that ignores Range sends everything again: start over.
        let append = have > 0 && resp.status() == reqwest::StatusCode::PARTIAL_CONTENT;
        if !append {
            have = 0;
        }
        // Writes (and the final fsync) go through tokio's file, off the async workers: a
        // multi-GB download must not stall other requests of the process.
        let mut out = tokio::fs::OpenOptions::new()
            .create(true)
            .write(true)
            .append(append)
            .truncate(!append)
            .open(&part)
            .await
            .map_err(|e| RuntimeError::io("opening", &part, e))?;
        progress(DownloadProgress {
            downloaded: have,
            total: file.size,
        });
        let mut body = resp.bytes_stream();
        let mut cause = None;
        while let Some(chunk) = body.next().await {
            let chunk = match chunk {
                Ok(c) => c,
                Err(e) => {
                    cause = Some(e.to_string());
                    break;
                }
            };
            out.write_all(&chunk)
                .await
                .map_err(|e| RuntimeError::io("writing", &part, e))?;
            have += chunk.len() as u64;
            progress(DownloadProgress {
                downloaded: have,
                total: file.size,
            });
        }
        out.flush()
            .await
            .map_err(|e| RuntimeError::io("writing", &part, e))?;
        out.sync_all()
            .await
            .map_err(|e| RuntimeError::io("syncing", &part, e))?;
        drop(out);
        if have != file.size {
            // Keep the part: the next attempt resumes from here.
            let why = cause.map(|c| format!(" ({c})")).unwrap_or_default();
            return Err(RuntimeError::Request {
                endpoint: self.base_url.clone(),
                message: format!(
                    "download of {} stopped at {have} of {} bytes{why}; run it again to resume",
                    file.path, file.size
                ),
                status: None,
            });
        }
        if let Some(expected) = &file.sha256 {
            let actual = sha256_of_async(part.clone()).await?;
            if !actual.eq_ignore_ascii_case(expected) {
                let _ = std::fs::remove_file(&part);
                return Err(RuntimeError::Corrupt {
                    path: dest,
                    detail: format!("sha256 {actual}, expected {expected}"),
                });
            }
        }
        std::fs::rename(&part, &dest).map_err(|e| RuntimeError::io("renaming", &part, e))?;
        Ok(dest)
    }
}

/// [`sha256_of`] on a blocking thread: hashing a multi-GB model takes seconds.
pub(crate) async fn sha256_of_async(path: PathBuf) -> Result<String> {
    let p = path.clone();
    tokio::task::spawn_blocking(move || sha256_of(&p))
        .await
        .map_err(|e| RuntimeError::io("hashing", &path, std::io::Error::other(e)))?
}

/// Hex SHA-256 of a file.
pub fn sha256_of(path: &Path) -> Result<String> {
    let mut f = std::fs::File::open(path).map_err(|e| RuntimeError::io("opening", path, e))?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = f
            .read(&mut buf)
            .map_err(|e| RuntimeError::io("reading", path, e))?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect())
}
