//! Crash-safe file primitives.
//!
//! Every file LLF rewrites (config, registries, state files, exports) goes through
//! [`atomic_write`]: readers see either the old content or the new, never a torn mix, and a failed
//! write leaves the old file untouched. A file that LLF reads, changes and writes back (the config,
//! tool state, approvals, usage counts) goes through [`update_locked`], so two processes changing
//! it at once both keep their change.

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

/// Reads `path` (`None` when it does not exist), passes its bytes to `update` and writes what it
/// returns atomically with `mode`, all while holding the exclusive advisory lock of `path` (see
/// [`FileLock::for_file`]). Every process that rewrites the file this way waits for the others, so
/// no read-modify-write cycle loses another's change. When `update` fails nothing is written.
///
/// ```
/// # fn main() -> llf_core::Result<()> {
/// let dir = tempfile::tempdir()?;
/// let counter = dir.path().join("count.txt");
/// for _ in 0..3 {
///     llf_core::fs::update_locked(&counter, llf_core::fs::PRIVATE, |old| {
///         let n: u32 = old.and_then(|b| std::str::from_utf8(b).ok()?.parse().ok()).unwrap_or(0);
///         Ok::<_, llf_core::Error>((n + 1).to_string().into_bytes())
///     })?;
/// }
/// assert_eq!(std::fs::read_to_string(&counter)?, "3");
/// # Ok(())
/// # }
/// ```
pub fn update_locked<E>(
    path: &Path,
    mode: u32,
    update: impl FnOnce(Option<&[u8]>) -> std::result::Result<Vec<u8>, E>,
) -> std::result::Result<(), E>
where
    E: From<Error>,
{
    let _lock = FileLock::for_file(path)?;
    let old = match std::fs::read(path) {
        Ok(bytes) => Some(bytes),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return Err(Error::io("reading", path, e).into()),
    };
    let new = update(old.as_deref())?;
    atomic_write(path, &new, mode)?;
    Ok(())
}

/// An exclusive advisory lock (`flock`) on a lock file, released when dropped (or when the process
/// dies, so a crash never leaves a stale lock). The lock file itself stays: removing it would let
/// two processes lock two different files of the same name.
#[derive(Debug)]
pub struct FileLock {
    _file: std::fs::File,
}

impl FileLock {
    /// Waits for the lock of `file`, held on `<file>.lock` beside it (the directory is created when
    /// missing).
    pub fn for_file(file: &Path) -> Result<Self> {
        Self::acquire(&lock_path(file))
    }

    /// Waits for the lock on the lock file `path` itself.
    pub fn acquire(path: &Path) -> Result<Self> {
        let file = open_lock_file(path)?;
        file.lock().map_err(|e| Error::io("locking", path, e))?;
        Ok(Self { _file: file })
    }

    /// Takes the lock on `path` if nobody holds it; `None` when another holder has it.
    pub fn try_acquire(path: &Path) -> Result<Option<Self>> {
        let file = open_lock_file(path)?;
        match file.try_lock() {
            Ok(()) => Ok(Some(Self { _file: file })),
            Err(std::fs::TryLockError::WouldBlock) => Ok(None),
            Err(std::fs::TryLockError::Error(e)) => Err(Error::io("locking", path, e)),
        }
    }
}

/// The lock file that guards `file`: `<file>.lock`.
pub fn lock_path(file: &Path) -> PathBuf {
    let mut name = file.as_os_str().to_owned();
    name.push(".lock");
    PathBuf::from(name)
}

fn open_lock_file(path: &Path) -> Result<std::fs::File> {
    let dir = parent_dir(path);
    std::fs::create_dir_all(&dir).map_err(|e| Error::io("creating directory", &dir, e))?;
    let mut options = std::fs::File::options();
    options.create(true).truncate(false).write(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(PRIVATE);
    }
    options
        .open(path)
        .map_err(|e| Error::io("opening lock file", path, e))
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
    fn update_locked_keeps_every_concurrent_change() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("list.txt");
        // Threads stand in for processes: flock locks belong to open files, not to processes, so
        // two opens of the lock file in one process exclude each other just the same.
        let threads: Vec<_> = (0..16)
            .map(|i| {
                let path = path.clone();
                std::thread::spawn(move || {
                    update_locked(&path, PRIVATE, |old| {
                        let mut text = old
                            .map(|b| String::from_utf8_lossy(b).into_owned())
                            .unwrap_or_default();
                        // Widen the window between read and write that a lost update needs.
                        std::thread::sleep(std::time::Duration::from_millis(5));
                        text.push_str(&format!("{i}\n"));
                        Ok::<_, Error>(text.into_bytes())
                    })
                    .unwrap();
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        let text = std::fs::read_to_string(&path).unwrap();
        let mut got: Vec<u32> = text.lines().map(|l| l.parse().unwrap()).collect();
        got.sort_unstable();
        assert_eq!(got, (0..16).collect::<Vec<_>>());
        assert!(
            lock_path(&path).exists(),
            "the lock file stays beside the file"
        );
    }

    #[test]
    fn a_failed_update_writes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        std::fs::write(&path, "old").unwrap();
        let r = update_locked(&path, PRIVATE, |_| {
            Err::<Vec<u8>, _>(Error::NothingToDelete(PathBuf::from("x")))
        });
        assert!(r.is_err());
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "old");
    }

    #[test]
    fn try_acquire_sees_a_held_lock() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.lock");
        let held = FileLock::try_acquire(&path).unwrap().unwrap();
        assert!(FileLock::try_acquire(&path).unwrap().is_none());
        drop(held);
        assert!(FileLock::try_acquire(&path).unwrap().is_some());
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
