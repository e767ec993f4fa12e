//! Where the schedule state and the run lock live: by default the project's
//! target folder (`target/schedule_state.json`, `target/schedule.lock`), or
//! a Cloud Storage folder (`schedule_state: gs://bucket/prefix/` in the
//! profile target) for stateless containers.
//!
//! In Cloud Storage the state object is read with its generation and
//! written with `ifGenerationMatch` set to it, so two runs can never
//! overwrite each other's state silently: the second write fails with a
//! conflict error. The lock is an object created with `ifGenerationMatch=0`
//! (only if it does not exist), holding the same owner record as the lock
//! file, and deleted (at its generation) when the run ends; a stale lock is
//! reported like a stale lock file, never broken.

use std::path::PathBuf;

use chrono::{DateTime, Utc};

use super::lock::{self, LOCK_FILE, Lock, LockOwner};
use super::state::{STATE_FILE, State};
use crate::error::{Diagnostic, Error, Result};
use crate::export::gcs::{GcsObjects, GcsSettings};

/// Where a project keeps its schedule state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StateLocation {
    /// The project's target folder.
    Target(PathBuf),
    /// A folder (`prefix`, possibly empty) of a Cloud Storage bucket.
    Gcs { bucket: String, prefix: String },
}

impl StateLocation {
    /// `gs://bucket/` or `gs://bucket/some/prefix/`; the error says what is wrong.
    pub fn parse_gcs(text: &str) -> std::result::Result<StateLocation, String> {
        let Some(rest) = text.trim().strip_prefix("gs://") else {
            return Err(format!("`{text}` is not a gs:// address"));
        };
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        let valid_bucket = !bucket.is_empty()
            && bucket
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "-_.".contains(c));
        if !valid_bucket {
            return Err(format!(
                "`{text}` does not name a bucket (gs://BUCKET/PREFIX/)"
            ));
        }
        Ok(StateLocation::Gcs {
            bucket: bucket.to_string(),
            prefix: prefix.trim_matches('/').to_string(),
        })
    }
}

/// The state and the lock at one location; remembers the state's Cloud
/// Storage generation from [`StateStore::load`] to [`StateStore::save`].
#[derive(Debug)]
pub struct StateStore {
    backend: Backend,
}

#[derive(Debug)]
enum Backend {
    File {
        state: PathBuf,
        lock: PathBuf,
    },
    Gcs {
        objects: Box<GcsObjects>,
        state: String,
        lock: String,
        /// The generation read by `load` (0: the object did not exist).
        generation: i64,
    },
}

/// A held run lock; give it back with [`StateStore::unlock`] (a lock file
/// is also removed when dropped).
#[derive(Debug)]
pub enum StoreLock {
    File(Lock),
    Gcs { generation: i64 },
}

fn object_name(prefix: &str, name: &str) -> String {
    if prefix.is_empty() {
        name.to_string()
    } else {
        format!("{prefix}/{name}")
    }
}

impl StateStore {
    /// The store at `location` (connecting to Cloud Storage with `gcs`).
    pub async fn open(location: &StateLocation, gcs: &GcsSettings) -> Result<StateStore> {
        let backend = match location {
            StateLocation::Target(dir) => Backend::File {
                state: State::path(dir),
                lock: Lock::path(dir),
            },
            StateLocation::Gcs { bucket, prefix } => Backend::Gcs {
                objects: Box::new(GcsObjects::connect(bucket, gcs).await?),
                state: object_name(prefix, STATE_FILE),
                lock: object_name(prefix, LOCK_FILE),
                generation: 0,
            },
        };
        Ok(StateStore { backend })
    }

    /// The state's path or `gs://` address.
    pub fn address(&self) -> String {
        match &self.backend {
            Backend::File { state, .. } => state.display().to_string(),
            Backend::Gcs { objects, state, .. } => objects.address(state),
        }
    }

    /// Take the run lock, or explain who holds it (stale or not).
    pub async fn lock(&self, now: DateTime<Utc>) -> Result<StoreLock> {
        match &self.backend {
            Backend::File { lock, .. } => Lock::acquire(lock, now).map(StoreLock::File),
            Backend::Gcs { objects, lock, .. } => {
                let owner = LockOwner::this_process(now);
                let bytes = serde_json::to_vec(&owner).unwrap_or_default();
                // Twice: the holder may release between our create and our read.
                for _ in 0..2 {
                    if let Some(generation) = objects.write_if(lock, bytes.clone(), 0).await? {
                        return Ok(StoreLock::Gcs { generation });
                    }
                    if let Some((held, _)) = objects.read(lock).await? {
                        let owner = serde_json::from_slice::<LockOwner>(&held).ok();
                        return Err(lock::held_error(&objects.address(lock), owner, now));
                    }
                }
                Err(lock::held_error(&objects.address(lock), None, now))
            }
        }
    }

    /// Give the lock back (the lock object is deleted only at the
    /// generation this run created).
    pub async fn unlock(&self, held: StoreLock) -> Result<()> {
        match (&self.backend, held) {
            (Backend::Gcs { objects, lock, .. }, StoreLock::Gcs { generation }) => {
                objects.delete_if(lock, generation).await
            }
            (_, held) => {
                drop(held);
                Ok(())
            }
        }
    }

    /// Read the state; a missing file or object is an empty state.
    pub async fn load(&mut self) -> Result<State> {
        match &mut self.backend {
            Backend::File { state, .. } => State::load(state),
            Backend::Gcs {
                objects,
                state,
                generation,
                ..
            } => match objects.read(state).await? {
                None => {
                    *generation = 0;
                    Ok(State::default())
                }
                Some((bytes, read)) => {
                    *generation = read;
                    State::from_bytes(&bytes, &objects.address(state))
                }
            },
        }
    }

    /// Write the state atomically: a file through a temporary file and a
    /// rename; an object only if nobody wrote it since it was loaded.
    pub async fn save(&mut self, value: &State) -> Result<()> {
        match &mut self.backend {
            Backend::File { state, .. } => value.save(state),
            Backend::Gcs {
                objects,
                state,
                generation,
                ..
            } => match objects.write_if(state, value.to_bytes()?, *generation).await? {
                Some(written) => {
                    *generation = written;
                    Ok(())
                }
                None => Err(Error::execution(
                    Diagnostic::new(format!(
                        "the schedule state {} changed since this run read it (generation {generation}); this run's result was not saved over it",
                        objects.address(state)
                    ))
                    .help("another `cohort schedule` process wrote it: let one scheduler use this state location at a time; check `cohort schedule list`, then the next run-due runs what is still due"),
                )),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gs_addresses_parse_into_bucket_and_prefix() {
        assert_eq!(
            StateLocation::parse_gcs("gs://my-bucket/cohort/state/"),
            Ok(StateLocation::Gcs {
                bucket: "my-bucket".into(),
                prefix: "cohort/state".into()
            })
        );
        assert_eq!(
            StateLocation::parse_gcs("gs://my-bucket"),
            Ok(StateLocation::Gcs {
                bucket: "my-bucket".into(),
                prefix: String::new()
            })
        );
        assert!(StateLocation::parse_gcs("s3://b/").is_err());
        assert!(StateLocation::parse_gcs("gs:///x").is_err());
        assert!(StateLocation::parse_gcs("gs://Bad Bucket/").is_err());
    }

    #[tokio::test]
    async fn a_file_store_locks_loads_and_saves() {
        let dir = tempfile::tempdir().expect("temp dir");
        let target = dir.path().join("target");
        let location = StateLocation::Target(target.clone());
        let mut store = StateStore::open(&location, &GcsSettings::default())
            .await
            .expect("open");
        let now = Utc::now();
        let held = store.lock(now).await.expect("lock");
        assert!(store.lock(now).await.is_err());
        let mut state = store.load().await.expect("load");
        state.schedules.entry("daily".into()).or_default();
        store.save(&state).await.expect("save");
        store.unlock(held).await.expect("unlock");
        assert!(!target.join(LOCK_FILE).exists());
        assert_eq!(store.load().await.expect("reload"), state);
    }
}
