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
use std::io::Read;
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

/// Make `folder` hold exactly `files` (paths relative to it, with their
/// bytes). Files are compared and written on every core.
pub fn sync(folder: &Path, files: &BTreeMap<PathBuf, &[u8]>) -> Result<Synced> {
    let mut existing = BTreeSet::new();
    let mut dirs = Vec::new();
    if folder.is_dir() {
        list(folder, Path::new(""), &mut existing, &mut dirs)?;
    }
    // The folders new files need, each created once before the writes.
    let new_parents: BTreeSet<PathBuf> = files
        .keys()
        .filter(|relative| !existing.contains(*relative))
        .filter_map(|relative| folder.join(relative).parent().map(Path::to_path_buf))
        .collect();
    for parent in &new_parents {
        fs::create_dir_all(parent).map_err(|e| Error::io("create", parent, e))?;
    }
    let wanted: Vec<(&PathBuf, &[u8])> = files.iter().map(|(p, b)| (p, *b)).collect();
    let written = crate::parallel::map(&wanted, |(relative, bytes)| {
        let path = folder.join(relative);
        if existing.contains(*relative) && holds(&path, bytes) {
            return Ok(false);
        }
        super::write_atomic(&path, bytes).map(|()| true)
    });
    let mut synced = Synced::default();
    for outcome in written {
        if outcome? {
            synced.written += 1;
        } else {
            synced.unchanged += 1;
        }
    }
    for relative in existing.iter().filter(|r| !files.contains_key(*r)) {
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

/// Whether the file at `path` holds exactly `bytes` (an unreadable file does not).
fn holds(path: &Path, bytes: &[u8]) -> bool {
    let Ok(mut file) = fs::File::open(path) else {
        return false;
    };
    // One byte more than wanted: a longer file fills it.
    let mut buffer = vec![0; bytes.len() + 1];
    let mut filled = 0;
    while filled < buffer.len() {
        match file.read(&mut buffer[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(_) => return false,
        }
    }
    buffer[..filled] == *bytes
}

/// Every file under `folder/relative`, and every folder (parents first).
fn list(
    folder: &Path,
    relative: &Path,
    files: &mut BTreeSet<PathBuf>,
    dirs: &mut Vec<PathBuf>,
) -> Result<()> {
    let dir = folder.join(relative);
    let entries = fs::read_dir(&dir).map_err(|e| Error::io("read folder", &dir, e))?;
    for entry in entries {
        let entry = entry.map_err(|e| Error::io("read folder", &dir, e))?;
        let path = relative.join(entry.file_name());
        let kind = entry
            .file_type()
            .map_err(|e| Error::io("inspect", &entry.path(), e))?;
        if kind.is_dir() {
            dirs.push(path.clone());
            list(folder, &path, files, dirs)?;
        } else {
            files.insert(path);
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
        let mut paths = BTreeSet::new();
        list(folder, Path::new(""), &mut paths, &mut dirs).unwrap();
        for path in &paths {
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
    fn a_file_holds_only_its_exact_bytes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.sql");
        fs::write(&path, "select 1").unwrap();
        assert!(holds(&path, b"select 1"));
        assert!(!holds(&path, b"select 2"), "same length, other bytes");
        assert!(!holds(&path, b"select"), "the file is longer");
        assert!(!holds(&path, b"select 10"), "the file is shorter");
        assert!(!holds(&dir.path().join("missing.sql"), b""));
        fs::write(&path, "").unwrap();
        assert!(holds(&path, b""));
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
