//! The run lock (`target/schedule.lock`): a file created exclusively, holding
//! the owner's pid, host and start time, removed when the run ends. A lock
//! whose process is gone (checked on the same host only), or older than
//! [`STALE_AFTER_HOURS`], is *stale*: it is reported with how to remove it,
//! never broken silently, because the run that left it may have left work
//! half done. The same owner record and checks serve the Cloud Storage lock
//! ([`super::store`]).

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
    /// The owner's host name: its pid means nothing on another host.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
}

impl LockOwner {
    /// This process, starting at `now`.
    pub fn this_process(now: DateTime<Utc>) -> LockOwner {
        LockOwner {
            pid: std::process::id(),
            started_at: now.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            host: this_host(),
        }
    }

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
    ///
    /// The owner record is written to a private file first and hard-linked
    /// to `path`, which fails if `path` exists: the lock appears with its
    /// content, so a racing run never reads a lock file still empty. Where
    /// hard links are not supported, the file is created exclusively and
    /// then written.
    pub fn acquire(path: &Path, now: DateTime<Utc>) -> Result<Lock> {
        let parent = match path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p,
            _ => Path::new("."),
        };
        std::fs::create_dir_all(parent).map_err(|e| Error::io("create", parent, e))?;
        let text = serde_json::to_string(&LockOwner::this_process(now)).unwrap_or_default();
        let held = || held_error(&path.display().to_string(), read_owner(path), now);
        let private = parent.join(format!(".{LOCK_FILE}.{}", std::process::id()));
        let written = std::fs::File::create(&private).and_then(|mut file| {
            file.write_all(text.as_bytes())?;
            file.sync_all()
        });
        let linked = written.and_then(|()| std::fs::hard_link(&private, path));
        let _ = std::fs::remove_file(&private);
        match linked {
            Ok(()) => {
                crate::artifacts::sync_dir(parent)?;
                return Ok(Lock {
                    path: path.to_path_buf(),
                });
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => return Err(held()),
            Err(_) => {}
        }
        match std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(path)
        {
            Ok(mut file) => {
                let lock = Lock {
                    path: path.to_path_buf(),
                };
                file.write_all(text.as_bytes())
                    .and_then(|()| file.sync_all())
                    .map_err(|e| Error::io("write", path, e))?;
                Ok(lock)
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Err(held()),
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
    let same_host = owner.host.is_none() || owner.host == this_host();
    if same_host && !process_is_alive(owner.pid) {
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

/// The error for a lock at `path` (a file or a `gs://` address) held by `owner`.
pub fn held_error(path: &str, owner: Option<LockOwner>, now: DateTime<Utc>) -> Error {
    let remove = format!(
        "make sure no `cohort schedule` is running for this project, check the last run with `cohort schedule list`, then remove {path}"
    );
    let Some(owner) = owner else {
        return Error::execution(
            Diagnostic::new(format!(
                "the schedule lock {path} exists but cannot be read"
            ))
            .help(remove),
        );
    };
    let since = &owner.started_at;
    match stale_reason(&owner, now) {
        Some(reason) => Error::execution(
            Diagnostic::new(format!(
                "stale schedule lock {path} (pid {}{}, since {since}): {reason}; the run that held it may have stopped halfway",
                owner.pid,
                on_host(&owner)
            ))
            .help(remove),
        ),
        None => Error::execution(
            Diagnostic::new(format!(
                "another schedule run holds the lock {path} (pid {}{}, since {since}); nothing was run",
                owner.pid,
                on_host(&owner)
            ))
            .help("runs never overlap; the next call runs what is still due"),
        ),
    }
}

fn on_host(owner: &LockOwner) -> String {
    match &owner.host {
        Some(host) if owner.host != this_host() => format!(" on host {host}"),
        _ => String::new(),
    }
}

/// This machine's host name, when it can be read.
pub fn this_host() -> Option<String> {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
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
            host: None,
        };
        assert!(stale_reason(&owner, now()).is_some_and(|r| r.contains("no longer running")));
        let alive = LockOwner {
            pid: std::process::id(),
            started_at: now().to_rfc3339(),
            host: this_host(),
        };
        // A dead pid on another host says nothing: only the age counts there.
        let elsewhere = LockOwner {
            host: Some("another-host.invalid".into()),
            ..owner.clone()
        };
        assert_eq!(stale_reason(&elsewhere, now() + Duration::hours(1)), None);
        assert!(stale_reason(&elsewhere, now() + Duration::hours(7)).is_some());
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
