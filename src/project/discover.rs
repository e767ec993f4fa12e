//! Finding project files: every file with a given extension under a set of
//! folders, in a stable (sorted) order, skipping hidden entries.

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// All files under `root/<dir>` for each of `dirs` whose extension is one of `extensions`, sorted.
/// Missing folders are skipped (a new project may have no macros).
pub fn files(root: &Path, dirs: &[PathBuf], extensions: &[&str]) -> Result<Vec<PathBuf>> {
    let mut found = Vec::new();
    for dir in dirs {
        let start = root.join(dir);
        if start.is_dir() {
            walk(&start, extensions, &mut found)?;
        }
    }
    found.sort();
    found.dedup();
    Ok(found)
}

fn walk(dir: &Path, extensions: &[&str], found: &mut Vec<PathBuf>) -> Result<()> {
    let entries = std::fs::read_dir(dir).map_err(|e| Error::io("read folder", dir, e))?;
    for entry in entries {
        let entry = entry.map_err(|e| Error::io("read folder", dir, e))?;
        let path = entry.path();
        let hidden = entry.file_name().to_string_lossy().starts_with('.');
        if hidden {
            continue;
        }
        let file_type = entry
            .file_type()
            .map_err(|e| Error::io("inspect", &path, e))?;
        if file_type.is_dir() {
            walk(&path, extensions, found)?;
        } else if path
            .extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| extensions.contains(&e))
        {
            found.push(path);
        }
    }
    Ok(())
}
