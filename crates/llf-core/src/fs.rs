//! Crash-safe file primitives.
//!
//! Every file LLF rewrites (config, registries, state files, exports) goes through
//! [`atomic_write`]: readers see either the old content or the new, never a torn mix, and a failed
//! write leaves the old file untouched.

use std::io::Write;
use std::path::{Path, PathBuf};

use crate::{Error, Result};

/// Unix permission bits for private files (config with secrets, registries): owner read/write.
pub const PRIVATE: u32 = 0o600;
/// Unix permission bits for ordinary files the user shares (exports).
pub const SHARED: u32 = 0o644;

/// Writes `contents` to `path` atomically with the given Unix `mode`.
///
/// The bytes go to a temporary file in the same directory, which is flushed to disk and then
/// renamed over `path`; the directory entry is synced too, so after a crash the file holds the old
/// or the new content. The parent directory is created when missing.
pub fn atomic_write(path: &Path, contents: &[u8], mode: u32) -> Result<()> {
    let dir = parent_dir(path);
    std::fs::create_dir_all(&dir).map_err(|e| Error::io("creating directory", &dir, e))?;
    let mut tmp = tempfile::Builder::new()
        .prefix(".llf-tmp-")
        .tempfile_in(&dir)
        .map_err(|e| Error::io("creating a temporary file in", &dir, e))?;
    tmp.write_all(contents)
        .map_err(|e| Error::io("writing", tmp.path().to_owned(), e))?;
    set_mode(tmp.as_file(), mode).map_err(|e| Error::io("setting permissions of", path, e))?;
    tmp.as_file()
        .sync_all()
        .map_err(|e| Error::io("syncing", tmp.path().to_owned(), e))?;
    tmp.persist(path)
        .map_err(|e| Error::io("replacing", path, e.error))?;
    sync_dir(&dir);
    Ok(())
}

/// Flushes a directory entry to disk after a rename; best effort, as not every file system allows
/// opening a directory for that.
pub fn sync_dir(dir: &Path) {
    if let Ok(d) = std::fs::File::open(dir) {
        let _ = d.sync_all();
    }
}

/// Total size in bytes of a file, or of every file under a directory. Symlinks count as themselves
/// and are not followed.
pub fn disk_size(path: &Path) -> std::io::Result<u64> {
    let meta = std::fs::symlink_metadata(path)?;
    if !meta.is_dir() {
        return Ok(meta.len());
    }
    let mut total = 0;
    for entry in std::fs::read_dir(path)? {
        total += disk_size(&entry?.path())?;
    }
    Ok(total)
}

fn parent_dir(path: &Path) -> PathBuf {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_owned(),
        _ => PathBuf::from("."),
    }
}

#[cfg(unix)]
fn set_mode(file: &std::fs::File, mode: u32) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    file.set_permissions(std::fs::Permissions::from_mode(mode))
}

#[cfg(not(unix))]
fn set_mode(_file: &std::fs::File, _mode: u32) -> std::io::Result<()> {
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn atomic_write_replaces_content_and_sets_mode() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/file.json");
        atomic_write(&path, b"one", PRIVATE).unwrap();
        atomic_write(&path, b"two", PRIVATE).unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "two");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600);
        }
        // No temp files left behind.
        let names: Vec<_> = std::fs::read_dir(path.parent().unwrap())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from("file.json")]);
    }

    #[test]
    fn failed_write_leaves_old_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("target");
        std::fs::write(&path, "old").unwrap();
        // Writing "into" a path whose parent is a file cannot succeed.
        let bad = path.join("child");
        assert!(atomic_write(&bad, b"new", PRIVATE).is_err());
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "old");
    }

    #[test]
    fn disk_size_sums_directories() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("a")).unwrap();
        std::fs::write(dir.path().join("a/x"), [0u8; 10]).unwrap();
        std::fs::write(dir.path().join("y"), [0u8; 5]).unwrap();
        assert_eq!(disk_size(dir.path()).unwrap(), 15);
    }
}
