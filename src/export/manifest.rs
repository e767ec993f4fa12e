//! `_manifest.json`: written after every part of an export for one day, and
//! the signal that the day's files are complete. It holds the counts (rows,
//! consent exclusions, rejects by reason: never values), the columns, and
//! each part's name, row count, size and SHA-256. It carries no timestamp,
//! so the same snapshot exported twice gives the same manifest.

use std::collections::BTreeMap;

use serde::Serialize;

use super::parts::Part;
use super::report::Tally;

/// The manifest's object name inside the day's folder.
pub const MANIFEST: &str = "_manifest.json";

/// One part file as listed in the manifest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FileEntry {
    pub name: String,
    pub kind: &'static str,
    pub rows: u64,
    pub bytes: u64,
    pub sha256: String,
}

impl From<&Part> for FileEntry {
    fn from(part: &Part) -> Self {
        FileEntry {
            name: part.name.clone(),
            kind: part.kind,
            rows: part.rows,
            bytes: part.bytes.len() as u64,
            sha256: part.sha256.clone(),
        }
    }
}

/// The contents of `_manifest.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Manifest {
    pub export: String,
    pub segment: String,
    pub snapshot_date: String,
    /// `full` or `delta`.
    pub mode: &'static str,
    /// False only for an explicit `hash: false` export.
    pub hashed: bool,
    pub columns: Vec<&'static str>,
    /// Counts per list: `members` (full), or `entered` and `left` (delta).
    pub lists: BTreeMap<&'static str, Tally>,
    /// The lists' counts added up.
    pub totals: Tally,
    pub files: Vec<FileEntry>,
    pub cohort_version: &'static str,
}

impl Manifest {
    /// The manifest as pretty JSON with a final newline.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut text = serde_json::to_string_pretty(self).unwrap_or_default();
        text.push('\n');
        text.into_bytes()
    }
}
