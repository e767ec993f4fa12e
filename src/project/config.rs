//! `cohort.yml`: the project file (name, vars, paths, model defaults).

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

/// The contents of `cohort.yml`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProjectFile {
    /// The project's name (letters, digits, `_`).
    pub name: String,
    /// The profile in `profiles.yml` to use; defaults to the project name.
    #[serde(default)]
    pub profile: Option<String>,
    /// Folders holding models (`*.yml`, `*.sql`) and segments, relative to the project.
    #[serde(default = "default_model_paths")]
    pub model_paths: Vec<PathBuf>,
    /// Folders holding segment definitions (`*.yml`); YAML files under the
    /// model paths may declare `segments:` too.
    #[serde(default = "default_segment_paths")]
    pub segment_paths: Vec<PathBuf>,
    /// Folders holding export definitions (`*.yml`); segment files may declare `exports:` too.
    #[serde(default = "default_export_paths")]
    pub export_paths: Vec<PathBuf>,
    /// Folders holding Jinja macros (`*.sql`).
    #[serde(default = "default_macro_paths")]
    pub macro_paths: Vec<PathBuf>,
    /// Where compiled SQL, artifacts and local tables go.
    #[serde(default = "default_target_path")]
    pub target_path: PathBuf,
    /// Project variables, available as `var('name')`; `as_of` defaults to today.
    #[serde(default)]
    pub vars: BTreeMap<String, serde_json::Value>,
    /// Defaults for every model.
    #[serde(default)]
    pub models: ModelDefaults,
    /// Demo data: generated into `dir` when the sources' `data_dir` is that folder and it is empty.
    #[serde(default)]
    pub sample_data: Option<SampleDataConfig>,
}

/// Model defaults from `cohort.yml`.
#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ModelDefaults {
    #[serde(default)]
    pub materialized: Option<String>,
    #[serde(default)]
    pub schema: Option<String>,
    #[serde(default)]
    pub tags: Vec<String>,
}

/// `sample_data:` in `cohort.yml`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SampleDataConfig {
    pub dir: PathBuf,
    #[serde(default = "default_sample_customers")]
    pub customers: u64,
    #[serde(default = "default_sample_seed")]
    pub seed: u64,
}

fn default_model_paths() -> Vec<PathBuf> {
    vec![PathBuf::from("models")]
}

fn default_segment_paths() -> Vec<PathBuf> {
    vec![PathBuf::from("segments")]
}

fn default_export_paths() -> Vec<PathBuf> {
    vec![PathBuf::from("exports")]
}

fn default_macro_paths() -> Vec<PathBuf> {
    vec![PathBuf::from("macros")]
}

fn default_target_path() -> PathBuf {
    PathBuf::from("target")
}

fn default_sample_customers() -> u64 {
    5_000
}

fn default_sample_seed() -> u64 {
    42
}
