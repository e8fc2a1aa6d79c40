//! Finding the files to ingest: paths given by the caller, directories walked, symbolic links
//! followed, every file counted once by its real (canonical) path, and every file left out
//! reported with the reason.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::extract::is_supported;
use crate::{RagError, Result};

/// A file (or directory) that was not ingested, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SkippedFile {
    /// The path as found (not resolved).
    pub path: PathBuf,
    /// Why it was left out.
    pub reason: SkipReason,
}

/// Why a file was left out of a store.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[non_exhaustive]
pub enum SkipReason {
    /// Its name starts with `.` (a hidden file or directory, e.g. `.git`).
    Hidden,
    /// Its extension is not one this crate reads.
    Unsupported,
    /// It is a fifo, socket or device, not a regular file.
    NotARegularFile,
    /// A symbolic link that leads back into itself or into a directory being walked.
    SymlinkLoop,
    /// A symbolic link to nothing.
    BrokenSymlink,
    /// The same file (or directory) as one already taken, reached through another path.
    Duplicate {
        /// The path it was first taken under.
        of: PathBuf,
    },
    /// Its content is binary (it holds NUL bytes), not text.
    Binary,
    /// It could not be read.
    Unreadable {
        /// The system's message.
        message: String,
    },
    /// Its format is broken (a PDF, HTML or JSON file that cannot be parsed).
    Malformed {
        /// What the parser said.
        message: String,
    },
}

impl SkipReason {
    /// Whether this is worth a person's attention (a file they may have expected to be added),
    /// as opposed to the routine hidden and unsupported files of a walked directory.
    pub fn is_notable(&self) -> bool {
        !matches!(self, Self::Hidden | Self::Unsupported)
    }
}

impl std::fmt::Display for SkipReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Hidden => f.write_str("hidden"),
            Self::Unsupported => f.write_str(
                "unsupported file type (text, Markdown, HTML, PDF, JSON, JSONL or source code)",
            ),
            Self::NotARegularFile => f.write_str("not a regular file (a fifo, socket or device)"),
            Self::SymlinkLoop => f.write_str("symbolic link loop"),
            Self::BrokenSymlink => f.write_str("broken symbolic link"),
            Self::Duplicate { of } => write!(f, "same file as {}", of.display()),
            Self::Binary => f.write_str("binary content, not text"),
            Self::Unreadable { message } => write!(f, "cannot be read: {message}"),
            Self::Malformed { message } => f.write_str(message),
        }
    }
}

/// The files found under some paths.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Collected {
    /// Supported regular files by canonical path, sorted, each once.
    pub files: Vec<PathBuf>,
    /// What was left out, in the order found.
    pub skipped: Vec<SkippedFile>,
}

/// Every supported file under `paths`: files as given, directories walked (hidden entries
/// skipped), symbolic links followed. A path given directly that does not exist, is not a
/// regular file or directory, or has an unsupported type is an error, since the caller named it;
/// inside a walked directory such entries are skipped and reported.
pub fn collect_files(paths: &[PathBuf]) -> Result<Collected> {
    let mut walk = Walk::default();
    for p in paths {
        let input = |reason: String| RagError::Input {
            path: p.clone(),
            reason,
        };
        let meta = std::fs::metadata(p).map_err(|e| input(io_reason(&e)))?;
        let real = std::fs::canonicalize(p).map_err(|e| input(io_reason(&e)))?;
        if meta.is_dir() {
            if let Some(first) = walk.dirs.get(&real) {
                walk.skip(p, SkipReason::Duplicate { of: first.clone() });
                continue;
            }
            walk.dirs.insert(real.clone(), p.clone());
            let mut ancestors = vec![real.clone()];
            walk.dir(p, &mut ancestors);
        } else if !meta.is_file() {
            return Err(input(SkipReason::NotARegularFile.to_string()));
        } else if !is_supported(p) {
            return Err(input(SkipReason::Unsupported.to_string()));
        } else {
            walk.file(p, real);
        }
    }
    let mut files: Vec<PathBuf> = walk.files.into_keys().collect();
    files.sort();
    Ok(Collected {
        files,
        skipped: walk.skipped,
    })
}

fn io_reason(e: &std::io::Error) -> String {
    if e.kind() == std::io::ErrorKind::NotFound {
        "no such file or directory".into()
    } else {
        e.to_string()
    }
}

/// ELOOP: too many levels of symbolic links.
const ELOOP: i32 = 40;

#[derive(Default)]
struct Walk {
    /// Canonical file path → the path it was found under.
    files: HashMap<PathBuf, PathBuf>,
    /// Canonical directory path → the path it was walked under.
    dirs: HashMap<PathBuf, PathBuf>,
    skipped: Vec<SkippedFile>,
}

impl Walk {
    fn skip(&mut self, path: &Path, reason: SkipReason) {
        tracing::debug!(path = %path.display(), %reason, "skipped");
        self.skipped.push(SkippedFile {
            path: path.to_owned(),
            reason,
        });
    }

    /// Takes a file once per real path. Of a file and a symbolic link to it, the file is kept
    /// and the link reported, whichever was found first.
    fn file(&mut self, found: &Path, real: PathBuf) {
        let Some(first) = self.files.get(&real).cloned() else {
            self.files.insert(real, found.to_owned());
            return;
        };
        let is_link =
            |p: &Path| std::fs::symlink_metadata(p).is_ok_and(|m| m.file_type().is_symlink());
        if is_link(&first) && !is_link(found) {
            self.files.insert(real, found.to_owned());
            self.skip(
                &first,
                SkipReason::Duplicate {
                    of: found.to_owned(),
                },
            );
        } else {
            self.skip(found, SkipReason::Duplicate { of: first });
        }
    }

    /// Walks `dir`; `ancestors` are the canonical directories from the walk's root down to it.
    fn dir(&mut self, dir: &Path, ancestors: &mut Vec<PathBuf>) {
        let entries = match std::fs::read_dir(dir) {
            Ok(entries) => entries,
            Err(e) => {
                self.skip(
                    dir,
                    SkipReason::Unreadable {
                        message: io_reason(&e),
                    },
                );
                return;
            }
        };
        let mut paths: Vec<(PathBuf, bool)> = Vec::new();
        for entry in entries {
            match entry {
                Ok(entry) => {
                    let hidden = entry.file_name().to_string_lossy().starts_with('.');
                    paths.push((entry.path(), hidden));
                }
                Err(e) => self.skip(
                    dir,
                    SkipReason::Unreadable {
                        message: io_reason(&e),
                    },
                ),
            }
        }
        // Sorted, so which of two paths to one file is kept does not depend on the file system.
        paths.sort();
        for (path, hidden) in paths {
            if hidden {
                self.skip(&path, SkipReason::Hidden);
                continue;
            }
            self.entry(&path, ancestors);
        }
    }

    fn entry(&mut self, path: &Path, ancestors: &mut Vec<PathBuf>) {
        // `metadata` follows symbolic links: a loop or a dangling link shows up here.
        let meta = match std::fs::metadata(path) {
            Ok(meta) => meta,
            Err(e) if e.raw_os_error() == Some(ELOOP) => {
                return self.skip(path, SkipReason::SymlinkLoop);
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return self.skip(path, SkipReason::BrokenSymlink);
            }
            Err(e) => {
                return self.skip(
                    path,
                    SkipReason::Unreadable {
                        message: io_reason(&e),
                    },
                );
            }
        };
        if meta.is_dir() {
            let real = match std::fs::canonicalize(path) {
                Ok(real) => real,
                Err(e) => {
                    return self.skip(
                        path,
                        SkipReason::Unreadable {
                            message: io_reason(&e),
                        },
                    );
                }
            };
            if ancestors.contains(&real) {
                return self.skip(path, SkipReason::SymlinkLoop);
            }
            if let Some(first) = self.dirs.get(&real) {
                let of = first.clone();
                return self.skip(path, SkipReason::Duplicate { of });
            }
            self.dirs.insert(real.clone(), path.to_owned());
            ancestors.push(real);
            self.dir(path, ancestors);
            ancestors.pop();
        } else if !meta.is_file() {
            self.skip(path, SkipReason::NotARegularFile);
        } else if !is_supported(path) {
            self.skip(path, SkipReason::Unsupported);
        } else {
            match std::fs::canonicalize(path) {
                Ok(real) => self.file(path, real),
                Err(e) => self.skip(
                    path,
                    SkipReason::Unreadable {
                        message: io_reason(&e),
                    },
                ),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    fn reasons(c: &Collected) -> Vec<(String, SkipReason)> {
        c.skipped
            .iter()
            .map(|s| {
                (
                    s.path.file_name().unwrap().to_string_lossy().into_owned(),
                    s.reason.clone(),
                )
            })
            .collect()
    }

    #[test]
    fn links_are_followed_once_and_every_skip_is_reported() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("docs");
        std::fs::create_dir_all(root.join("sub")).unwrap();
        std::fs::write(root.join("a.txt"), "a").unwrap();
        std::fs::write(root.join("sub/b.md"), "b").unwrap();
        std::fs::write(root.join("image.png"), "png").unwrap();
        std::fs::write(root.join(".hidden.txt"), "h").unwrap();
        symlink(root.join("a.txt"), root.join("link-to-a.txt")).unwrap();
        // Sorts before its target: the real file is still the one kept.
        symlink(root.join("sub/b.md"), root.join("sub/a-link.md")).unwrap();
        symlink(&root, root.join("sub/loop")).unwrap();
        symlink(root.join("sub/self.txt"), root.join("sub/self.txt")).unwrap_or(());
        symlink(root.join("nowhere.txt"), root.join("dangling.txt")).unwrap();
        nix_mkfifo(&root.join("pipe.txt"));

        let c = collect_files(std::slice::from_ref(&root)).unwrap();
        let real = std::fs::canonicalize(&root).unwrap();
        assert_eq!(c.files, vec![real.join("a.txt"), real.join("sub/b.md")]);
        let r = reasons(&c);
        assert!(
            r.contains(&(".hidden.txt".into(), SkipReason::Hidden)),
            "{r:?}"
        );
        assert!(
            r.contains(&("image.png".into(), SkipReason::Unsupported)),
            "{r:?}"
        );
        assert!(
            r.contains(&("dangling.txt".into(), SkipReason::BrokenSymlink)),
            "{r:?}"
        );
        assert!(
            r.contains(&("pipe.txt".into(), SkipReason::NotARegularFile)),
            "{r:?}"
        );
        assert!(
            r.contains(&("loop".into(), SkipReason::SymlinkLoop)),
            "{r:?}"
        );
        assert!(
            r.contains(&("self.txt".into(), SkipReason::SymlinkLoop)),
            "{r:?}"
        );
        assert!(
            r.contains(&(
                "a-link.md".into(),
                SkipReason::Duplicate {
                    of: root.join("sub/b.md")
                }
            )),
            "{r:?}"
        );
        assert!(
            r.contains(&(
                "link-to-a.txt".into(),
                SkipReason::Duplicate {
                    of: root.join("a.txt")
                }
            )),
            "{r:?}"
        );

        // Named directly, a fifo or an unsupported file is an error, not a silent skip.
        let err = collect_files(&[root.join("pipe.txt")]).unwrap_err();
        assert!(err.to_string().contains("not a regular file"), "{err}");
        let err = collect_files(&[root.join("image.png")]).unwrap_err();
        assert!(err.to_string().contains("unsupported"), "{err}");
    }

    fn nix_mkfifo(path: &Path) {
        let status = std::process::Command::new("mkfifo")
            .arg(path)
            .status()
            .unwrap();
        assert!(status.success());
    }
}
