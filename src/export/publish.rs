//! Writing one export's day folder so that `_manifest.json` present means
//! complete: the old manifest is removed first, then every part is written
//! under its deterministic name (replacing a previous run's), parts of a
//! previous run that this one does not have are removed, and the manifest
//! is written last. An export interrupted anywhere leaves no manifest; the
//! next run rewrites the folder and completes it.

use std::collections::BTreeSet;

use super::manifest::MANIFEST;
use super::parts::Part;
use super::sink::Sink;
use crate::error::Result;

/// What publishing did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Published {
    /// Parts written.
    pub written: Vec<String>,
    /// Stale parts of an earlier run removed.
    pub removed: Vec<String>,
}

/// Write `parts` then `manifest` to `sink`, removing stale parts.
pub async fn publish(sink: &dyn Sink, parts: &[Part], manifest: Vec<u8>) -> Result<Published> {
    sink.delete(MANIFEST).await?;
    let mut published = Published::default();
    for part in parts {
        sink.put(&part.name, part.bytes.clone()).await?;
        published.written.push(part.name.clone());
    }
    let keep: BTreeSet<&str> = parts.iter().map(|p| p.name.as_str()).collect();
    for name in sink.list().await? {
        if is_part_name(&name) && !keep.contains(name.as_str()) {
            sink.delete(&name).await?;
            published.removed.push(name);
        }
    }
    sink.put(MANIFEST, manifest).await?;
    Ok(published)
}

/// A part file name this module writes (`part-00000.csv`, `entered-part-…`, `left-part-…`).
pub fn is_part_name(name: &str) -> bool {
    let stem = name
        .strip_prefix("entered-")
        .or_else(|| name.strip_prefix("left-"))
        .unwrap_or(name);
    stem.strip_prefix("part-")
        .and_then(|rest| rest.strip_suffix(".csv"))
        .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::export::parts::PartWriter;
    use crate::export::sink::FileSink;

    fn parts(lines: usize, max: u64) -> Vec<Part> {
        let mut w = PartWriter::new("members", "Email\n".into(), max);
        for i in 0..lines {
            w.buffer().push_str(&format!("{i}\n"));
            w.line_added();
        }
        w.finish()
    }

    #[tokio::test]
    async fn reruns_replace_and_remove_stale_parts_and_the_manifest_comes_last() {
        let tmp = tempfile::tempdir().unwrap();
        let sink = FileSink::new(tmp.path().join("x/2026-11-23"));
        publish(&sink, &parts(5, 2), b"{}".to_vec()).await.unwrap();
        assert_eq!(
            sink.list().await.unwrap(),
            [
                "_manifest.json",
                "part-00000.csv",
                "part-00001.csv",
                "part-00002.csv"
            ]
        );
        std::fs::write(sink.address("notes.txt"), "mine").unwrap();
        let second = publish(&sink, &parts(3, 2), b"{}".to_vec()).await.unwrap();
        assert_eq!(second.removed, ["part-00002.csv"]);
        assert_eq!(
            sink.list().await.unwrap(),
            [
                "_manifest.json",
                "notes.txt",
                "part-00000.csv",
                "part-00001.csv"
            ]
        );
        assert!(is_part_name("left-part-00012.csv") && !is_part_name("part-.csv"));
    }
}
