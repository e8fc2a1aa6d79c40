//! Moving files into and out of the trash, across file systems when needed.

use std::path::Path;

use crate::{Error, Result};

/// Moves `from` to `to` (which must not exist). A rename when both are on one file system; else a
/// copy to a temporary sibling of `to`, a rename of that copy into place, and only then the removal
/// of `from`, so a crash at any point leaves at least one complete copy.
pub(super) fn move_path(from: &Path, to: &Path) -> Result<()> {
    match std::fs::rename(from, to) {
        Ok(()) => {
            if let Some(dir) = to.parent() {
                crate::fs::sync_dir(dir);
            }
            Ok(())
        }
        Err(e) if e.kind() == std::io::ErrorKind::CrossesDevices => {
            let partial = partial_path(to);
            remove_all(&partial)?;
            copy_all(from, &partial)?;
            std::fs::rename(&partial, to).map_err(|e| Error::io("renaming", &partial, e))?;
            remove_all(from)
        }
        Err(e) => Err(Error::io("moving", from, e)),
    }
}

/// Where a cross-device copy is assembled before it is renamed to `to`.
pub(super) fn partial_path(to: &Path) -> std::path::PathBuf {
    let mut name = to.file_name().map(|n| n.to_os_string()).unwrap_or_default();
    name.push(".llf-partial");
    to.with_file_name(name)
}

/// Removes a file, symlink or directory tree; a missing path is fine.
pub(super) fn remove_all(path: &Path) -> Result<()> {
    let result = match std::fs::symlink_metadata(path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => Err(e),
        Ok(m) if m.is_dir() => std::fs::remove_dir_all(path),
        Ok(_) => std::fs::remove_file(path),
    };
    result.map_err(|e| Error::io("removing", path, e))
}

fn copy_all(from: &Path, to: &Path) -> Result<()> {
    let meta = std::fs::symlink_metadata(from).map_err(|e| Error::io("reading", from, e))?;
    if meta.is_dir() {
        std::fs::create_dir_all(to).map_err(|e| Error::io("creating", to, e))?;
        for entry in std::fs::read_dir(from).map_err(|e| Error::io("listing", from, e))? {
            let entry = entry.map_err(|e| Error::io("listing", from, e))?;
            copy_all(&entry.path(), &to.join(entry.file_name()))?;
        }
        std::fs::set_permissions(to, meta.permissions()).map_err(|e| Error::io("copying", to, e))
    } else if meta.file_type().is_symlink() {
        let target = std::fs::read_link(from).map_err(|e| Error::io("reading link", from, e))?;
        symlink(&target, to).map_err(|e| Error::io("creating link", to, e))
    } else {
        std::fs::copy(from, to).map_err(|e| Error::io("copying", from, e))?;
        let f = std::fs::File::open(to).map_err(|e| Error::io("opening", to, e))?;
        f.sync_all().map_err(|e| Error::io("syncing", to, e))
    }
}

#[cfg(unix)]
fn symlink(target: &Path, link: &Path) -> std::io::Result<()> {
    std::os::unix::fs::symlink(target, link)
}

#[cfg(not(unix))]
fn symlink(target: &Path, link: &Path) -> std::io::Result<()> {
    std::fs::copy(target, link).map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copy_all_copies_trees_and_links() {
        let dir = tempfile::tempdir().unwrap();
        let src = dir.path().join("src");
        std::fs::create_dir_all(src.join("nested")).unwrap();
        std::fs::write(src.join("nested/a.txt"), "a").unwrap();
        #[cfg(unix)]
        std::os::unix::fs::symlink("nested/a.txt", src.join("link")).unwrap();
        let dst = dir.path().join("dst");
        copy_all(&src, &dst).unwrap();
        assert_eq!(
            std::fs::read_to_string(dst.join("nested/a.txt")).unwrap(),
            "a"
        );
        #[cfg(unix)]
        assert_eq!(
            std::fs::read_link(dst.join("link")).unwrap(),
            Path::new("nested/a.txt")
        );
    }
}
