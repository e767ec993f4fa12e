//! Target types: the local engine and BigQuery, with secrets that never print.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::error::{Diagnostic, Error, Location, Result};

/// A resolved target.
#[derive(Debug, Clone)]
pub struct Target {
    pub name: String,
    pub kind: TargetKind,
}

/// The engine a target runs on.
#[derive(Debug, Clone)]
pub enum TargetKind {
    Local(LocalTarget),
    BigQuery(Box<BigQueryTarget>),
}

impl Target {
    /// The target used when there is no profile: `local`, with defaults.
    pub fn default_local() -> Target {
        Target {
            name: "local".into(),
            kind: TargetKind::Local(LocalTarget::default()),
        }
    }

    /// The base dataset models are built into.
    pub fn dataset(&self) -> &str {
        match &self.kind {
            TargetKind::Local(l) => &l.dataset,
            TargetKind::BigQuery(b) => &b.dataset,
        }
    }

    /// The GCP project, for BigQuery targets.
    pub fn project(&self) -> Option<&str> {
        match &self.kind {
            TargetKind::Local(_) => None,
            TargetKind::BigQuery(b) => Some(&b.project),
        }
    }

    /// `local` or `bigquery`.
    pub fn type_name(&self) -> &'static str {
        match &self.kind {
            TargetKind::Local(_) => "local",
            TargetKind::BigQuery(_) => "bigquery",
        }
    }

    /// `schedule_state:` of the target, a `gs://` address checked when the profile is read.
    pub fn schedule_state(&self) -> Option<&str> {
        match &self.kind {
            TargetKind::Local(l) => l.schedule_state.as_deref(),
            TargetKind::BigQuery(b) => b.schedule_state.as_deref(),
        }
    }

    /// Default concurrency from the profile.
    pub fn threads(&self) -> Option<usize> {
        match &self.kind {
            TargetKind::Local(l) => l.threads,
            TargetKind::BigQuery(b) => b.threads,
        }
    }
}

/// The embedded engine: Apache DataFusion, tables as Parquet under `path`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LocalTarget {
    /// Where tables are stored, relative to the project (default `target/local`).
    #[serde(default = "default_local_path")]
    pub path: PathBuf,
    /// The base dataset (default `analytics`).
    #[serde(default = "default_dataset", alias = "schema")]
    pub dataset: String,
    #[serde(default)]
    pub threads: Option<usize>,
    /// DataFusion memory pool, e.g. `4GB` (default 1GB); beyond it sorts,
    /// aggregates and joins spill to disk.
    #[serde(default)]
    pub memory_limit: Option<String>,
    /// Cloud Storage for exports and a `gs://` schedule state (endpoint, credentials).
    #[serde(default)]
    pub storage: Option<super::StorageProfile>,
    /// Where `cohort schedule` keeps its state and lock: `gs://bucket/prefix/`
    /// (default: the project's target folder).
    #[serde(default)]
    pub schedule_state: Option<String>,
}

impl Default for LocalTarget {
    fn default() -> Self {
        LocalTarget {
            path: default_local_path(),
            dataset: default_dataset(),
            threads: None,
            memory_limit: None,
            storage: None,
            schedule_state: None,
        }
    }
}

fn default_local_path() -> PathBuf {
    PathBuf::from("target/local")
}

fn default_dataset() -> String {
    "analytics".into()
}

/// A BigQuery project and dataset.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BigQueryTarget {
    pub project: String,
    #[serde(alias = "schema")]
    pub dataset: String,
    #[serde(default)]
    pub location: Option<String>,
    /// `service-account`, `service-account-json`, `oauth`, or `none` (an emulator at `api_base_url`).
    #[serde(default = "default_method")]
    pub method: String,
    #[serde(default)]
    pub keyfile: Option<PathBuf>,
    /// The service-account key itself (use `{{ env_var('...') }}`).
    #[serde(default)]
    pub keyfile_json: Option<Secret>,
    #[serde(default)]
    pub impersonate_service_account: Option<String>,
    /// `interactive` (default) or `batch`.
    #[serde(default)]
    pub priority: Option<String>,
    #[serde(default)]
    pub maximum_bytes_billed: Option<u64>,
    /// Seconds before a job is cancelled.
    #[serde(default)]
    pub job_timeout: Option<u64>,
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    /// Override of the REST endpoint (emulators).
    #[serde(default)]
    pub api_base_url: Option<String>,
    #[serde(default)]
    pub threads: Option<usize>,
    /// Where `cohort schedule` keeps its state and lock: `gs://bucket/prefix/`
    /// (default: the project's target folder).
    #[serde(default)]
    pub schedule_state: Option<String>,
}

fn default_method() -> String {
    "oauth".into()
}

/// A secret string: deserialized normally, never shown by Debug or Display.
#[derive(Clone, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

/// Parse one output of a profile.
pub(super) fn parse(name: &str, value: &serde_json::Value, file: &Path) -> Result<Target> {
    let kind = value.get("type").and_then(|t| t.as_str()).unwrap_or("");
    let mut body = value.clone();
    if let Some(map) = body.as_object_mut() {
        map.remove("type");
    }
    let at = Location::file_start(file);
    let kind = match kind {
        "local" | "datafusion" => TargetKind::Local(from_value(body, name, file)?),
        "bigquery" => TargetKind::BigQuery(Box::new(from_value(body, name, file)?)),
        other => {
            return Err(Error::config(
                Diagnostic::new(format!(
                    "target `{name}` has type `{other}`; expected `local` or `bigquery`"
                ))
                .at(at)
                .help("set `type: local` (DataFusion, no account needed) or `type: bigquery`"),
            ));
        }
    };
    let target = Target {
        name: name.to_string(),
        kind,
    };
    if let Some(state) = target.schedule_state()
        && let Err(problem) = crate::schedule::store::StateLocation::parse_gcs(state)
    {
        return Err(Error::config(
            Diagnostic::new(format!("target `{name}`: schedule_state: {problem}"))
                .at(at)
                .help("write `schedule_state: gs://BUCKET/PREFIX/`, or remove it to keep the state in the target folder"),
        ));
    }
    Ok(target)
}

fn from_value<T: serde::de::DeserializeOwned>(
    value: serde_json::Value,
    name: &str,
    file: &Path,
) -> Result<T> {
    serde_json::from_value(value).map_err(|err| {
        // serde_json messages never contain the values themselves, only keys and types.
        let message = err.to_string();
        let mut d =
            Diagnostic::new(format!("target `{name}`: {message}")).at(Location::file_start(file));
        if let Some(help) = crate::project::yaml::unknown_field_help(&message) {
            d = d.help(help);
        }
        Error::config(d)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_never_print() {
        let value = serde_json::json!({
            "type": "bigquery", "project": "p", "dataset": "d",
            "method": "service-account-json", "keyfile_json": "TOP-SECRET-KEY"
        });
        let target = parse("prod", &value, Path::new("profiles.yml")).unwrap();
        assert!(!format!("{target:?}").contains("TOP-SECRET-KEY"));
        match target.kind {
            TargetKind::BigQuery(b) => {
                assert_eq!(
                    b.keyfile_json.map(|s| s.expose().to_string()).as_deref(),
                    Some("TOP-SECRET-KEY")
                )
            }
            TargetKind::Local(_) => panic!("expected bigquery"),
        }
    }

    #[test]
    fn unknown_keys_are_suggested() {
        let value = serde_json::json!({"type": "local", "datset": "x"});
        let err = parse("dev", &value, Path::new("profiles.yml")).unwrap_err();
        let d = err.diagnostic().unwrap();
        assert_eq!(d.help.as_deref(), Some("did you mean `dataset`?"), "{d}");
    }

    #[test]
    fn schedule_state_must_be_a_gs_address() {
        let value =
            serde_json::json!({"type": "local", "schedule_state": "gs://state-bucket/shop/"});
        let target = parse("dev", &value, Path::new("profiles.yml")).unwrap();
        assert_eq!(target.schedule_state(), Some("gs://state-bucket/shop/"));
        let value = serde_json::json!({"type": "bigquery", "project": "p", "dataset": "d",
            "schedule_state": "/var/lib/cohort"});
        let err = parse("prod", &value, Path::new("profiles.yml")).unwrap_err();
        assert!(err.is_config(), "{err}");
        assert!(
            err.to_string().contains(
                "target `prod`: schedule_state: `/var/lib/cohort` is not a gs:// address"
            ),
            "{err}"
        );
    }
}
