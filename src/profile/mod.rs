//! `profiles.yml`: where models are built. A profile has named targets; a
//! target is the embedded local engine (DataFusion + Parquet) or BigQuery.
//! With no profiles file at all, the target is `local` with its defaults.
//!
//! The file is looked up in `--profiles-dir`, else the project folder, else
//! `~/.cohort/`. Values may use `{{ env_var('NAME') }}` (or
//! `env_var('NAME', 'default')`) so secrets stay out of files.

pub mod storage;
mod target;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

pub use storage::StorageProfile;
pub use target::{BigQueryTarget, LocalTarget, Secret, Target, TargetKind};

use crate::error::{Diagnostic, Error, Location, Result};

/// The profiles file's name.
pub const PROFILES_FILE: &str = "profiles.yml";

/// One profile: its default target and the targets by name.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ProfileDef {
    #[serde(default)]
    target: Option<String>,
    outputs: BTreeMap<String, serde_json::Value>,
}

/// Where to look for the profile and which target to pick.
#[derive(Debug, Clone, Default)]
pub struct ProfileOptions {
    pub profiles_dir: Option<PathBuf>,
    pub target: Option<String>,
}

/// Find `profiles.yml` for a project in `project_root`.
pub fn find_profiles_file(project_root: &Path, options: &ProfileOptions) -> Option<PathBuf> {
    let candidates = options
        .profiles_dir
        .iter()
        .cloned()
        .chain([project_root.to_path_buf()])
        .chain(home_dir().map(|h| h.join(".cohort")));
    candidates
        .map(|dir| dir.join(PROFILES_FILE))
        .find(|path| path.is_file())
}

fn home_dir() -> Option<PathBuf> {
    std::env::var_os("HOME").map(PathBuf::from)
}

/// Resolve the target for `profile_name` in the project at `project_root`.
pub fn resolve_target(
    project_root: &Path,
    profile_name: &str,
    options: &ProfileOptions,
) -> Result<Target> {
    let Some(path) = find_profiles_file(project_root, options) else {
        return match options.target.as_deref() {
            None | Some("local") => Ok(Target::default_local()),
            Some(other) => Err(Error::config(
                Diagnostic::new(format!(
                    "target `{other}` requested but no {PROFILES_FILE} was found"
                ))
                .help(format!(
                    "create {PROFILES_FILE} in the project (see profiles.example.yml) or in ~/.cohort/, or pass --profiles-dir"
                )),
            )),
        };
    };
    let shown = display_path(project_root, &path);
    let text = std::fs::read_to_string(&path).map_err(|e| Error::io("read", &path, e))?;
    let rendered = render_env_vars(&text, &shown)?;
    let profiles: BTreeMap<String, ProfileDef> = crate::project::yaml::parse(&shown, &rendered)?;
    let Some(profile) = profiles.get(profile_name) else {
        return Err(Error::config(
            Diagnostic::new(format!(
                "profile `{profile_name}` is not in {}",
                shown.display()
            ))
            .at(Location::file_start(&shown))
            .help(crate::error::suggestion(
                profile_name,
                profiles.keys().map(String::as_str),
                "profile",
            )),
        ));
    };
    let target_name = options
        .target
        .clone()
        .or_else(|| profile.target.clone())
        .unwrap_or_else(|| "local".into());
    match profile.outputs.get(&target_name) {
        Some(value) => target::parse(&target_name, value, &shown),
        None if target_name == "local" && options.target.is_none() => Ok(Target::default_local()),
        None => Err(Error::config(
            Diagnostic::new(format!(
                "target `{target_name}` is not an output of profile `{profile_name}`"
            ))
            .at(Location::file_start(&shown))
            .help(crate::error::suggestion(
                &target_name,
                profile.outputs.keys().map(String::as_str),
                "target",
            )),
        )),
    }
}

fn display_path(root: &Path, path: &Path) -> PathBuf {
    path.strip_prefix(root).unwrap_or(path).to_path_buf()
}

/// Render `{{ env_var('X') }}` in a profiles file.
fn render_env_vars(text: &str, file: &Path) -> Result<String> {
    let mut env = minijinja::Environment::new();
    env.set_undefined_behavior(minijinja::UndefinedBehavior::Strict);
    env.add_function("env_var", env_var);
    env.render_str(text, minijinja::context! {}).map_err(|err| {
        let line = err.line().unwrap_or(1);
        let detail = err.detail().map(str::to_string).unwrap_or_else(|| err.kind().to_string());
        Error::config(
            Diagnostic::new(format!("in {}: {detail}", file.display()))
                .at(Location::new(file, line, 1))
                .help("set the environment variable, or give env_var() a default: env_var('NAME', 'default')"),
        )
    })
}

/// `env_var('NAME')` / `env_var('NAME', 'default')`.
pub fn env_var(name: String, default: Option<String>) -> Result<String, minijinja::Error> {
    match std::env::var(&name) {
        Ok(value) => Ok(value),
        Err(_) => default.ok_or_else(|| {
            minijinja::Error::new(
                minijinja::ErrorKind::InvalidOperation,
                format!("environment variable `{name}` is not set"),
            )
        }),
    }
}
