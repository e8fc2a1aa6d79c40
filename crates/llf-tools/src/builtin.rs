//! The built-in tools (calculator, datetime, file_access, web_fetch), embedded in the binary so an
//! installed `llf` has them wherever it runs. External tools need a directory to run from, so
//! [`install`] unpacks them once into a directory named after their content.

use std::path::{Path, PathBuf};

use include_dir::{Dir, include_dir};
use sha2::{Digest, Sha256};

use crate::error::{Result, ToolError};

static TOOLS: Dir<'_> = include_dir!("$CARGO_MANIFEST_DIR/builtin-tools");

/// Marks a fully unpacked copy.
const COMPLETE: &str = ".complete";

/// Unpacks the built-in tools under `root` (once per version of their content) and returns the
/// directory that holds one directory per tool, for [`crate::ToolSet::load`].
pub fn install(root: &Path) -> Result<PathBuf> {
    let dir = root.join(content_id());
    if dir.join(COMPLETE).is_file() {
        return Ok(dir);
    }
    let io = |path: &Path, source: std::io::Error| {
        ToolError::io("unpack the built-in tools into", path, source)
    };
    std::fs::create_dir_all(root).map_err(|e| io(root, e))?;
    // Unpack beside the target and rename, so a crash or a concurrent process never sees a
    // half-written copy.
    let tmp = root.join(format!(".unpacking-{}", std::process::id()));
    if tmp.exists() {
        std::fs::remove_dir_all(&tmp).map_err(|e| io(&tmp, e))?;
    }
    for file in files(&TOOLS) {
        let path = tmp.join(file.path());
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(|e| io(parent, e))?;
        }
        std::fs::write(&path, file.contents()).map_err(|e| io(&path, e))?;
        if is_program(file.path()) {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755))
                .map_err(|e| io(&path, e))?;
        }
    }
    std::fs::write(tmp.join(COMPLETE), b"").map_err(|e| io(&tmp, e))?;
    if let Err(e) = std::fs::rename(&tmp, &dir) {
        // Another process unpacked the same content first: use its copy.
        let _ = std::fs::remove_dir_all(&tmp);
        if !dir.join(COMPLETE).is_file() {
            return Err(io(&dir, e));
        }
    }
    Ok(dir)
}

/// The names of the built-in tools.
pub fn names() -> Vec<String> {
    TOOLS
        .dirs()
        .filter_map(|d| d.path().file_name())
        .map(|n| n.to_string_lossy().into_owned())
        .collect()
}

fn files<'a>(dir: &'a Dir<'a>) -> Vec<&'a include_dir::File<'a>> {
    let mut out: Vec<&include_dir::File<'_>> = dir.files().collect();
    for d in dir.dirs() {
        out.extend(files(d));
    }
    out
}

/// Embedded files keep no permissions: a tool's `run` program is made executable.
fn is_program(path: &Path) -> bool {
    path.file_name().is_some_and(|n| n == "run")
}

/// A short hash of every path and content, so a new LLF version unpacks into a new directory.
fn content_id() -> String {
    let mut h = Sha256::new();
    let mut all = files(&TOOLS);
    all.sort_by_key(|f| f.path());
    for f in all {
        h.update(f.path().to_string_lossy().as_bytes());
        h.update([0]);
        h.update(f.contents());
        h.update([0]);
    }
    let digest = h.finalize();
    digest.iter().take(8).map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unpacks_every_tool_once_with_runnable_programs() {
        let root = tempfile::tempdir().unwrap();
        let dir = install(root.path()).unwrap();
        let mut names = names();
        names.sort();
        assert_eq!(
            names,
            ["calculator", "datetime", "file_access", "web_fetch"]
        );
        for n in &names {
            assert!(dir.join(n).join("tool_definition.json").is_file(), "{n}");
        }
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir.join("calculator/run"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o111, 0o111);
        // A second call finds the copy instead of writing another.
        assert_eq!(install(root.path()).unwrap(), dir);
        assert_eq!(std::fs::read_dir(root.path()).unwrap().count(), 1);
    }
}
