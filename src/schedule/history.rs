//! `target/run_history/`: one JSON file per day a schedule ran, holding the
//! results of every build in it (each attempt's build and segments
//! refresh, in the shape of `run_results.json`). `run_results.json` itself
//! keeps meaning "the last command's results"; the history is what a
//! schedule's runs leave behind. Files are named by finish time, so name
//! order is time order; each is written atomically and only the newest
//! [`HISTORY_FILES`] are kept.

use std::path::{Path, PathBuf};

use chrono::{DateTime, NaiveDate, SecondsFormat, Utc};
use serde_json::{Value, json};

use super::state::RunStatus;
use crate::artifacts::write_json;
use crate::error::{Error, Result};
use crate::run::RunSummary;

/// The history folder's name, under the project's target folder.
pub const HISTORY_DIR: &str = "run_history";

/// Day-run files kept; older ones are removed.
pub const HISTORY_FILES: usize = 200;

/// One build inside a day-run.
#[derive(Debug, Clone)]
pub struct StepRun {
    /// 1-based attempt of the day.
    pub attempt: u32,
    /// `build` (the schedule's selection) or `segments_refresh`.
    pub step: &'static str,
    pub summary: RunSummary,
}

/// A schedule's run of one day.
#[derive(Debug, Clone)]
pub struct DayRecord<'a> {
    pub schedule: &'a str,
    pub day: NaiveDate,
    pub status: RunStatus,
    pub attempts: u32,
    pub started_at: DateTime<Utc>,
    pub finished_at: DateTime<Utc>,
    pub steps: &'a [StepRun],
}

impl DayRecord<'_> {
    /// The history file's JSON.
    pub fn to_json(&self) -> Value {
        let stamp = |t: &DateTime<Utc>| t.to_rfc3339_opts(SecondsFormat::Secs, true);
        let steps: Vec<Value> = self
            .steps
            .iter()
            .map(|s| {
                json!({
                    "attempt": s.attempt,
                    "step": s.step,
                    "elapsed_time": (s.summary.elapsed.as_secs_f64() * 1000.0).round() / 1000.0,
                    "interrupted": s.summary.interrupted,
                    "results": s.summary.results,
                    "tests": s.summary.tests,
                })
            })
            .collect();
        json!({
            "metadata": {
                "cohort_version": env!("CARGO_PKG_VERSION"),
                "generated_at": stamp(&self.finished_at),
                "command": "schedule run-due",
            },
            "schedule": self.schedule,
            "date": self.day.to_string(),
            "status": self.status,
            "attempts": self.attempts,
            "started_at": stamp(&self.started_at),
            "finished_at": stamp(&self.finished_at),
            "steps": steps,
        })
    }
}

/// The history folder of a project whose target folder is `target_dir`.
pub fn dir(target_dir: &Path) -> PathBuf {
    target_dir.join(HISTORY_DIR)
}

/// The history files, oldest first.
pub fn files(target_dir: &Path) -> Result<Vec<PathBuf>> {
    let dir = dir(target_dir);
    let entries = match std::fs::read_dir(&dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(Error::io("read", &dir, e)),
    };
    let mut files: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| !n.starts_with('.') && n.ends_with(".json"))
        })
        .collect();
    files.sort();
    Ok(files)
}

/// Append `record` to the history and drop the oldest files beyond
/// [`HISTORY_FILES`]; the new file's path.
pub fn append(target_dir: &Path, record: &DayRecord<'_>) -> Result<PathBuf> {
    let folder = dir(target_dir);
    let safe: String = record
        .schedule
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let base = format!(
        "{}-{safe}-{}",
        record.finished_at.format("%Y%m%dT%H%M%S%.3fZ"),
        record.day
    );
    let mut path = folder.join(format!("{base}.json"));
    let mut n = 1;
    while path.exists() {
        n += 1;
        path = folder.join(format!("{base}-{n}.json"));
    }
    write_json(&path, &record.to_json())?;
    let all = files(target_dir)?;
    let excess = all.len().saturating_sub(HISTORY_FILES);
    for old in &all[..excess] {
        std::fs::remove_file(old).map_err(|e| Error::io("remove", old, e))?;
    }
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn summary() -> RunSummary {
        RunSummary {
            results: Vec::new(),
            elapsed: std::time::Duration::from_millis(1500),
            interrupted: false,
            tests: Vec::new(),
        }
    }

    #[test]
    fn appends_in_time_order_and_keeps_the_newest() {
        let dir = tempfile::tempdir().expect("temp dir");
        let t0 = DateTime::parse_from_rfc3339("2026-11-23T05:00:00Z")
            .expect("time")
            .with_timezone(&Utc);
        let steps = vec![StepRun {
            attempt: 1,
            step: "build",
            summary: summary(),
        }];
        let mut written = Vec::new();
        for i in 0..(HISTORY_FILES + 3) {
            let at = t0 + chrono::Duration::seconds(i as i64);
            let record = DayRecord {
                schedule: "daily",
                day: "2026-11-23".parse().expect("day"),
                status: RunStatus::Success,
                attempts: 1,
                started_at: at,
                finished_at: at,
                steps: &steps,
            };
            written.push(append(dir.path(), &record).expect("append"));
        }
        let kept = files(dir.path()).expect("files");
        assert_eq!(kept.len(), HISTORY_FILES);
        assert_eq!(kept.first(), written.get(3));
        assert_eq!(kept.last(), written.last());
        let last: Value =
            serde_json::from_str(&std::fs::read_to_string(&kept[HISTORY_FILES - 1]).expect("read"))
                .expect("json");
        assert_eq!(last["schedule"], json!("daily"));
        assert_eq!(last["status"], json!("success"));
        assert_eq!(last["steps"][0]["step"], json!("build"));
        assert_eq!(last["steps"][0]["elapsed_time"], json!(1.5));
    }
}
