//! On-disk layout of local tables, with atomic replacement.
//!
//! A relation `dataset.name` lives in `<root>/<dataset>/<name>/`. Each build
//! writes a new version folder (`v<time>-<pid>/`) and, once it is complete
//! and synced, points the `CURRENT` file at it with an atomic rename. A
//! killed build therefore leaves the previous version current; leftover
//! version folders are removed by the next successful build of that relation.

use std::fs;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use crate::artifacts::{sync_dir, write_durably};
use crate::compile::Relation;
use crate::error::{Error, Result};

const CURRENT: &str = "CURRENT";
/// The file holding a view's SQL inside a version folder.
pub const VIEW_FILE: &str = "view.sql";
/// The data file inside a table version folder.
pub const DATA_FILE: &str = "data.parquet";

/// The local table store.
#[derive(Debug, Clone)]
pub struct Storage {
    root: PathBuf,
}

/// What a relation's current version holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Stored {
    Table(PathBuf),
    View(String),
}

impl Storage {
    pub fn new(root: PathBuf) -> Self {
        Storage { root }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    fn relation_dir(&self, relation: &Relation) -> PathBuf {
        self.root.join(&relation.dataset).join(&relation.name)
    }

    /// A fresh, empty version folder for `relation`.
    pub fn new_version(&self, relation: &Relation) -> Result<PathBuf> {
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default();
        let dir = self
            .relation_dir(relation)
            .join(format!("v{nanos:024}-{}", std::process::id()));
        fs::create_dir_all(&dir).map_err(|e| Error::io("create", &dir, e))?;
        Ok(dir)
    }

    /// The current version of `relation`, if it was ever built.
    pub fn current(&self, relation: &Relation) -> Result<Option<Stored>> {
        let dir = self.relation_dir(relation);
        let pointer = dir.join(CURRENT);
        let version = match fs::read_to_string(&pointer) {
            Ok(v) => v.trim().to_string(),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(Error::io("read", &pointer, e)),
        };
        let version_dir = dir.join(&version);
        let view = version_dir.join(VIEW_FILE);
        if view.is_file() {
            let sql = fs::read_to_string(&view).map_err(|e| Error::io("read", &view, e))?;
            return Ok(Some(Stored::View(sql)));
        }
        let data = version_dir.join(DATA_FILE);
        if data.is_file() {
            return Ok(Some(Stored::Table(data)));
        }
        // An incremental table: a folder of Parquet files (see `partitions`).
        Ok(version_dir.is_dir().then_some(Stored::Table(version_dir)))
    }

    /// Make `version_dir` the current version of `relation`, then drop older versions.
    pub fn publish(&self, relation: &Relation, version_dir: &Path) -> Result<()> {
        sync_dir(version_dir)?;
        let dir = self.relation_dir(relation);
        let version = version_dir
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default()
            .to_string();
        write_durably(&dir.join(CURRENT), version.as_bytes())?;
        self.remove_stale_versions(&dir, &version);
        Ok(())
    }

    /// Remove an unpublished version (after a failed build).
    pub fn discard(&self, version_dir: &Path) {
        let _ = fs::remove_dir_all(version_dir);
    }

    /// Best effort: old versions are only disk space, never correctness.
    fn remove_stale_versions(&self, dir: &Path, keep: &str) {
        let Ok(entries) = fs::read_dir(dir) else {
            return;
        };
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().to_string();
            if name != keep && name.starts_with('v') && entry.path().is_dir() {
                let _ = fs::remove_dir_all(entry.path());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn relation() -> Relation {
        Relation {
            project: None,
            dataset: "analytics".into(),
            name: "customers".into(),
        }
    }

    #[test]
    fn publish_swaps_and_cleans_and_unpublished_versions_are_invisible() {
        let tmp = tempfile::tempdir().unwrap();
        let storage = Storage::new(tmp.path().to_path_buf());
        let r = relation();
        assert_eq!(storage.current(&r).unwrap(), None);

        let v1 = storage.new_version(&r).unwrap();
        fs::write(v1.join(DATA_FILE), b"one").unwrap();
        storage.publish(&r, &v1).unwrap();
        assert_eq!(
            storage.current(&r).unwrap(),
            Some(Stored::Table(v1.join(DATA_FILE)))
        );

        // A second version that is never published (a killed build) changes nothing.
        let v2 = storage.new_version(&r).unwrap();
        fs::write(v2.join(DATA_FILE), b"half").unwrap();
        assert_eq!(
            storage.current(&r).unwrap(),
            Some(Stored::Table(v1.join(DATA_FILE)))
        );

        let v3 = storage.new_version(&r).unwrap();
        fs::write(v3.join(VIEW_FILE), "select 1").unwrap();
        storage.publish(&r, &v3).unwrap();
        assert_eq!(
            storage.current(&r).unwrap(),
            Some(Stored::View("select 1".into()))
        );
        assert!(!v1.exists() && !v2.exists(), "stale versions are removed");
    }
}
