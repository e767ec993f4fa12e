//! Making a folder hold exactly a given set of files while touching only
//! what changed: a file whose bytes are already there is left alone, a new
//! or changed one is written atomically ([`super::write_atomic`]), and files
//! the set no longer has are removed (with the folders they leave empty).
//!
//! Compiling a large project writes thousands of small files, and creating a
//! file (a new inode) costs far more than reading one back on some file
//! systems: recompiling an unchanged project now creates none.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// What [`sync`] did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Synced {
    /// Files written (new or changed).
    pub written: usize,
    /// Files already holding the wanted bytes.
    pub unchanged: usize,
    /// Files removed (no longer in the set).
    pub removed: usize,
}

/// Make `folder` hold exactly `files` (paths relative to it, with their bytes).
pub fn sync(folder: &Path, files: &BTreeMap<PathBuf, &[u8]>) -> Result<Synced> {
    let mut existing = BTreeMap::new();
    let mut dirs = Vec::new();
    if folder.is_dir() {
        list(folder, Path::new(""), &mut existing, &mut dirs)?;
    }
    let mut synced = Synced::default();
    let mut created_dirs: BTreeSet<PathBuf> = BTreeSet::new();
    for (relative, bytes) in files {
        let path = folder.join(relative);
        let same = existing.remove(relative).is_some_and(|len: u64| {
            len == bytes.len() as u64 && fs::read(&path).is_ok_and(|old| old == *bytes)
        });
        if same {
            synced.unchanged += 1;
            continue;
        }
        if let Some(parent) = path.parent()
            && !created_dirs.contains(parent)
        {
            fs::create_dir_all(parent).map_err(|e| Error::io("create", parent, e))?;
            created_dirs.insert(parent.to_path_buf());
        }
        super::write_atomic(&path, bytes)?;
        synced.written += 1;
    }
    for relative in existing.keys() {
        let path = folder.join(relative);
        fs::remove_file(&path).map_err(|e| Error::io("remove", &path, e))?;
        synced.removed += 1;
    }
    if synced.removed > 0 {
        // Deepest first; a folder still holding files stays.
        for dir in dirs.iter().rev() {
            let _ = fs::remove_dir(folder.join(dir));
        }
    }
    Ok(synced)
}

/// Every file under `folder/relative` with its length, and every folder (parents first).
fn list(
    folder: &Path,
    relative: &Path,
    files: &mut BTreeMap<PathBuf, u64>,
    dirs: &mut Vec<PathBuf>,
) -> Result<()> {
    let dir = folder.join(relative);
    let entries = fs::read_dir(&dir).map_err(|e| Error::io("read folder", &dir, e))?;
    for entry in entries {
        let entry = entry.map_err(|e| Error::io("read folder", &dir, e))?;
        let path = relative.join(entry.file_name());
        let metadata = entry
            .metadata()
            .map_err(|e| Error::io("inspect", &entry.path(), e))?;
        if metadata.is_dir() {
            dirs.push(path.clone());
            list(folder, &path, files, dirs)?;
        } else {
            files.insert(path, metadata.len());
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wanted<'a>(entries: &[(&str, &'a str)]) -> BTreeMap<PathBuf, &'a [u8]> {
        entries
            .iter()
            .map(|(p, text)| (PathBuf::from(p), text.as_bytes()))
            .collect()
    }

    fn tree(folder: &Path) -> BTreeMap<String, String> {
        let mut files = BTreeMap::new();
        let mut dirs = Vec::new();
        let mut lengths = BTreeMap::new();
        list(folder, Path::new(""), &mut lengths, &mut dirs).unwrap();
        for path in lengths.keys() {
            files.insert(
                path.to_string_lossy().replace('\\', "/"),
                fs::read_to_string(folder.join(path)).unwrap(),
            );
        }
        files
    }

    #[test]
    fn writes_only_what_changed_and_removes_the_rest() {
        let dir = tempfile::tempdir().unwrap();
        let folder = dir.path().join("compiled");
        let first = wanted(&[
            ("a/x.sql", "select 1"),
            ("a/y.sql", "select 2"),
            ("b/z.sql", "z"),
        ]);
        assert_eq!(
            sync(&folder, &first).unwrap(),
            Synced {
                written: 3,
                unchanged: 0,
                removed: 0
            }
        );
        let identity = |path: &str| {
            let metadata = fs::metadata(folder.join(path)).unwrap();
            #[cfg(unix)]
            return std::os::unix::fs::MetadataExt::ino(&metadata);
            #[cfg(not(unix))]
            return metadata.modified().unwrap();
        };
        // An atomic write renames a new file into place: a new inode.
        let x_before = identity("a/x.sql");

        // Same length, other bytes: rewritten; a file gone from the set: removed with its folder.
        let second = wanted(&[("a/x.sql", "select 1"), ("a/y.sql", "select 3")]);
        fs::write(folder.join("a/stray.tmp"), "left over").unwrap();
        assert_eq!(
            sync(&folder, &second).unwrap(),
            Synced {
                written: 1,
                unchanged: 1,
                removed: 2
            }
        );
        assert_eq!(
            tree(&folder),
            BTreeMap::from([
                ("a/x.sql".to_string(), "select 1".to_string()),
                ("a/y.sql".to_string(), "select 3".to_string()),
            ])
        );
        assert!(!folder.join("b").exists(), "an emptied folder is removed");
        assert_eq!(
            identity("a/x.sql"),
            x_before,
            "an unchanged file is not rewritten"
        );
    }

    #[test]
    fn an_empty_set_empties_the_folder() {
        let dir = tempfile::tempdir().unwrap();
        let folder = dir.path().join("run");
        sync(&folder, &wanted(&[("m/a.sql", "a")])).unwrap();
        let synced = sync(&folder, &BTreeMap::new()).unwrap();
        assert_eq!(synced.removed, 1);
        assert!(tree(&folder).is_empty());
    }
}
