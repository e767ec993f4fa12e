//! Where export files go: a [`Sink`] is one folder (`<destination>/<export>/<date>/`)
//! on the local file system ([`FileSink`]) or in Cloud Storage
//! ([`super::gcs::GcsSink`]). A sink writes whole objects, lists the folder
//! and deletes; [`super::publish`] builds the export's atomicity on that.

use std::fs;
use std::path::{Path, PathBuf};

use futures::future::BoxFuture;

use crate::error::{Diagnostic, Error, Result};

/// One folder of objects.
pub trait Sink: Send + Sync {
    /// The full address of `name` in this folder (`gs://...` or a path), for messages.
    fn address(&self, name: &str) -> String;
    /// Write `name` whole, replacing any object of that name.
    fn put<'a>(&'a self, name: &'a str, bytes: Vec<u8>) -> BoxFuture<'a, Result<()>>;
    /// The names of the objects directly in the folder (empty when it does not exist).
    fn list(&self) -> BoxFuture<'_, Result<Vec<String>>>;
    /// Remove `name`; removing a missing object is not an error.
    fn delete<'a>(&'a self, name: &'a str) -> BoxFuture<'a, Result<()>>;
}

/// An export destination, as written in the export's `destination:`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Destination {
    /// `gs://bucket/prefix/`.
    Gcs { bucket: String, prefix: String },
    /// `file:///path/`, `file://relative/` or a plain path.
    File(PathBuf),
}

impl Destination {
    /// Parse `text`; relative paths are relative to `base` (the project folder).
    pub fn parse(text: &str, base: &Path) -> std::result::Result<Destination, String> {
        let text = text.trim();
        if let Some(rest) = text.strip_prefix("gs://") {
            let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
            if bucket.is_empty() {
                return Err("`gs://` needs a bucket: gs://my-bucket/customer_match/".into());
            }
            return Ok(Destination::Gcs {
                bucket: bucket.to_string(),
                prefix: prefix.trim_matches('/').to_string(),
            });
        }
        if let Some((scheme, _)) = text.split_once("://")
            && scheme != "file"
        {
            return Err(format!(
                "`{scheme}://` is not a supported destination; use gs://bucket/prefix/, file:///path/ or a path"
            ));
        }
        let path = text.strip_prefix("file://").unwrap_or(text);
        if path.is_empty() {
            return Err("the destination is empty".into());
        }
        Ok(Destination::File(base.join(path)))
    }

    /// The address of object `name` in this folder.
    pub fn address(&self, name: &str) -> String {
        match self {
            Destination::Gcs { .. } => format!("{self}/{name}"),
            Destination::File(path) => path.join(name).display().to_string(),
        }
    }

    /// The folder for `export` on `date`.
    pub fn folder(&self, export: &str, date: &str) -> Destination {
        match self {
            Destination::Gcs { bucket, prefix } => Destination::Gcs {
                bucket: bucket.clone(),
                prefix: [prefix.as_str(), export, date]
                    .iter()
                    .filter(|p| !p.is_empty())
                    .copied()
                    .collect::<Vec<_>>()
                    .join("/"),
            },
            Destination::File(path) => Destination::File(path.join(export).join(date)),
        }
    }
}

impl std::fmt::Display for Destination {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Destination::Gcs { bucket, prefix } => write!(f, "gs://{bucket}/{prefix}"),
            Destination::File(path) => write!(f, "{}", path.display()),
        }
    }
}

/// A folder on the local file system. Each object is written to a hidden
/// temporary file, synced, and renamed over its name: a reader sees the
/// old object or the new one, never half of one.
#[derive(Debug, Clone)]
pub struct FileSink {
    dir: PathBuf,
}

impl FileSink {
    pub fn new(dir: PathBuf) -> Self {
        FileSink { dir }
    }

    fn put_now(&self, name: &str, bytes: &[u8]) -> Result<()> {
        crate::artifacts::write_durably(&self.dir.join(name), bytes)
    }

    fn list_now(&self) -> Result<Vec<String>> {
        let entries = match fs::read_dir(&self.dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(Error::io("list", &self.dir, e)),
        };
        let mut names = Vec::new();
        for entry in entries {
            let entry = entry.map_err(|e| Error::io("list", &self.dir, e))?;
            let name = entry.file_name().to_string_lossy().to_string();
            if !name.starts_with('.') {
                names.push(name);
            }
        }
        names.sort();
        Ok(names)
    }

    fn delete_now(&self, name: &str) -> Result<()> {
        let path = self.dir.join(name);
        match fs::remove_file(&path) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(Error::io("remove", &path, e)),
        }
    }
}

impl Sink for FileSink {
    fn address(&self, name: &str) -> String {
        self.dir.join(name).display().to_string()
    }

    fn put<'a>(&'a self, name: &'a str, bytes: Vec<u8>) -> BoxFuture<'a, Result<()>> {
        Box::pin(async move { self.put_now(name, &bytes) })
    }

    fn list(&self) -> BoxFuture<'_, Result<Vec<String>>> {
        Box::pin(async move { self.list_now() })
    }

    fn delete<'a>(&'a self, name: &'a str) -> BoxFuture<'a, Result<()>> {
        Box::pin(async move { self.delete_now(name) })
    }
}

/// An error writing to `address`.
pub fn write_error(address: &str, message: impl std::fmt::Display) -> Error {
    Error::execution(Diagnostic::new(format!(
        "could not write {address}: {message}"
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn destinations_parse() {
        let base = Path::new("/project");
        assert_eq!(
            Destination::parse("gs://b/customer_match/", base).unwrap(),
            Destination::Gcs {
                bucket: "b".into(),
                prefix: "customer_match".into()
            }
        );
        assert_eq!(
            Destination::parse("file:///data/out", base).unwrap(),
            Destination::File("/data/out".into())
        );
        assert_eq!(
            Destination::parse("target/exports", base).unwrap(),
            Destination::File("/project/target/exports".into())
        );
        assert!(Destination::parse("s3://b/x", base).is_err());
        assert!(Destination::parse("gs:///x", base).is_err());
        let day = Destination::parse("gs://b/cm", base)
            .unwrap()
            .folder("vip", "2026-11-23");
        assert_eq!(day.to_string(), "gs://b/cm/vip/2026-11-23");
    }
}
