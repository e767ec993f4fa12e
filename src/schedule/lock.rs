//! The run lock (`target/schedule.lock`): a file created exclusively, holding
//! the owner's pid and start time, removed when the run ends. A lock whose
//! process is gone, or older than [`STALE_AFTER_HOURS`], is *stale*: it is
//! reported with how to remove it, never broken silently, because the run
//! that left it may have left work half done.

use std::io::Write;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use crate::error::{Diagnostic, Error, Result};

/// The lock file's name, under the project's target folder.
pub const LOCK_FILE: &str = "schedule.lock";

/// A lock older than this is stale even if its process still runs.
pub const STALE_AFTER_HOURS: i64 = 6;

/// What the lock file says about its owner.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LockOwner {
    pub pid: u32,
    /// RFC 3339.
    pub started_at: String,
}

impl LockOwner {
    fn started(&self) -> Option<DateTime<Utc>> {
        DateTime::parse_from_rfc3339(&self.started_at)
            .ok()
            .map(|t| t.with_timezone(&Utc))
    }
}

/// A held lock; dropping it removes the file.
#[derive(Debug)]
pub struct Lock {
    path: PathBuf,
}

impl Lock {
    /// The lock file of a project whose target folder is `target_dir`.
    pub fn path(target_dir: &Path) -> PathBuf {
        target_dir.join(LOCK_FILE)
    }

    /// Take the lock at `path` for this process, or explain who holds it.
    pub fn acquire(path: &Path, now: DateTime<Utc>) -> Result<Lock> {
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(|e| Error::io("create", parent, e))?;
        }
        let owner = LockOwner {
            pid: std::process::id(),
            started_at: now.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        };
        match std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(path)
        {
            Ok(mut file) => {
                let lock = Lock {
                    path: path.to_path_buf(),
                };
                let text = serde_json::to_string(&owner).unwrap_or_default();
                file.write_all(text.as_bytes())
                    .and_then(|()| file.sync_all())
                    .map_err(|e| Error::io("write", path, e))?;
                Ok(lock)
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                Err(held_error(path, read_owner(path), now))
            }
            Err(e) => Err(Error::io("create", path, e)),
        }
    }
}

impl Drop for Lock {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

fn read_owner(path: &Path) -> Option<LockOwner> {
    let text = std::fs::read_to_string(path).ok()?;
    serde_json::from_str(&text).ok()
}

/// Why a lock is stale, if it is.
pub fn stale_reason(owner: &LockOwner, now: DateTime<Utc>) -> Option<String> {
    if !process_is_alive(owner.pid) {
        return Some(format!("its process {} is no longer running", owner.pid));
    }
    let Some(started) = owner.started() else {
        return Some(format!(
            "its start time `{}` cannot be read",
            owner.started_at
        ));
    };
    let age = now - started;
    (age > Duration::hours(STALE_AFTER_HOURS)).then(|| {
        format!(
            "it was taken {} hour(s) ago, more than the {STALE_AFTER_HOURS} hours a run may take",
            age.num_hours()
        )
    })
}

fn held_error(path: &Path, owner: Option<LockOwner>, now: DateTime<Utc>) -> Error {
    let remove = format!(
        "make sure no `cohort schedule` is running for this project, check the last run with `cohort schedule list`, then remove {}",
        path.display()
    );
    let Some(owner) = owner else {
        return Error::execution(
            Diagnostic::new(format!(
                "the schedule lock {} exists but cannot be read",
                path.display()
            ))
            .help(remove),
        );
    };
    let since = &owner.started_at;
    match stale_reason(&owner, now) {
        Some(reason) => Error::execution(
            Diagnostic::new(format!(
                "stale schedule lock {} (pid {}, since {since}): {reason}; the run that held it may have stopped halfway",
                path.display(),
                owner.pid
            ))
            .help(remove),
        ),
        None => Error::execution(
            Diagnostic::new(format!(
                "another schedule run holds the lock {} (pid {}, since {since}); nothing was run",
                path.display(),
                owner.pid
            ))
            .help("runs never overlap; the next call runs what is still due"),
        ),
    }
}

#[cfg(target_os = "linux")]
fn process_is_alive(pid: u32) -> bool {
    Path::new("/proc").join(pid.to_string()).exists()
}

/// Without /proc, only the lock's age tells that it is stale.
#[cfg(not(target_os = "linux"))]
fn process_is_alive(_pid: u32) -> bool {
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-11-23T05:00:00Z")
            .expect("time")
            .with_timezone(&Utc)
    }

    #[test]
    fn a_second_acquire_fails_until_the_first_is_dropped() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = Lock::path(&dir.path().join("target"));
        let lock = Lock::acquire(&path, now()).expect("first");
        let err = Lock::acquire(&path, now()).expect_err("held");
        assert!(
            err.to_string()
                .contains("another schedule run holds the lock"),
            "{err}"
        );
        assert!(
            err.to_string()
                .contains(&format!("pid {}", std::process::id())),
            "{err}"
        );
        drop(lock);
        assert!(!path.exists());
        Lock::acquire(&path, now()).expect("free again");
    }

    #[test]
    fn a_dead_or_old_owner_makes_the_lock_stale_and_it_stays() {
        let mut child = std::process::Command::new("true").spawn().expect("spawn");
        let dead_pid = child.id();
        child.wait().expect("wait");
        let owner = LockOwner {
            pid: dead_pid,
            started_at: now().to_rfc3339(),
        };
        assert!(stale_reason(&owner, now()).is_some_and(|r| r.contains("no longer running")));
        let alive = LockOwner {
            pid: std::process::id(),
            started_at: now().to_rfc3339(),
        };
        assert_eq!(stale_reason(&alive, now() + Duration::hours(1)), None);
        assert!(
            stale_reason(&alive, now() + Duration::hours(7))
                .is_some_and(|r| r.contains("7 hour(s) ago"))
        );

        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join(LOCK_FILE);
        std::fs::write(&path, serde_json::to_string(&owner).expect("json")).expect("write");
        let err = Lock::acquire(&path, now()).expect_err("stale");
        assert!(err.to_string().contains("stale schedule lock"), "{err}");
        assert!(err.to_string().contains("then remove"), "{err}");
        assert!(path.exists(), "a stale lock is not removed");
    }
}
