//! What most commands do first: load the project, resolve the target,
//! compile, and select nodes.

use std::path::PathBuf;

use cohort::artifacts;
use cohort::compile::{self, CompiledProject};
use cohort::error::{Diagnostic, Error, Result};
use cohort::graph::parse_selectors;
use cohort::profile::{self, ProfileOptions, Target, TargetKind};
use cohort::project::{LoadOptions, Project};
use cohort::testing;

use super::args::{GlobalArgs, SelectArgs};

/// A loaded and compiled project with its target.
pub struct Session {
    pub project: Project,
    pub target: Target,
    pub compiled: CompiledProject,
}

/// The project at `--project-dir`, with `--vars` applied.
pub fn load_project(global: &GlobalArgs) -> Result<Project> {
    Project::load(
        &global.project_dir,
        &LoadOptions {
            vars_override: global.vars.clone(),
            today: None,
        },
    )
}

impl Session {
    pub fn open(global: &GlobalArgs) -> Result<Session> {
        let project = load_project(global)?;
        let target = resolve_target(&project, global)?;
        let compiled = compile::compile(&project, &target)?;
        Ok(Session {
            project,
            target,
            compiled,
        })
    }

    /// The selected node names, in dependency order.
    pub fn select(&self, select: &SelectArgs) -> Result<Vec<String>> {
        let include = parse_selectors(&select.select)?;
        let exclude = parse_selectors(&select.exclude)?;
        self.compiled.graph.select(&include, &exclude)
    }

    pub fn target_dir(&self) -> PathBuf {
        self.project.target_dir()
    }

    /// Write the compiled nodes and tests to the target folder and return
    /// the tests `selected` runs (`mode` says which tables a test needs
    /// selected), each keeping its failing rows when `store_failures`.
    pub fn write_and_select_tests(
        &self,
        selected: &[String],
        select: &SelectArgs,
        mode: testing::TestSelection,
        store_failures: bool,
    ) -> Result<Vec<testing::CompiledTest>> {
        let target_dir = self.target_dir();
        let tests = testing::compile_tests(&self.project, &self.compiled)?;
        artifacts::write_compiled(&target_dir, &self.project, &self.compiled, &tests)?;
        let mut tests = testing::select_tests(&tests, selected, select.is_everything(), mode);
        if store_failures {
            testing::store_failures(&mut tests, &self.target);
        }
        Ok(tests)
    }

    /// Settings of a scratch local engine for unit tests on any target: its
    /// store is a folder in the system's temp dir that nothing is written
    /// to or created in (unit tests run on fixtures, and spill, if ever, to
    /// DataFusion's self-removing temporary files), never the target's own folder.
    pub fn unit_test_settings(&self) -> cohort::engine::local::LocalSettings {
        cohort::engine::local::LocalSettings {
            root: std::env::temp_dir().join(format!("cohort-unit-tests-{}", std::process::id())),
            memory_limit: None,
            spill_dir: None,
            as_of: Some(self.project.as_of),
            full_refresh: false,
        }
    }

    /// The local engine's settings; a configuration error for other targets.
    pub fn local_settings(&self) -> Result<cohort::engine::local::LocalSettings> {
        match &self.target.kind {
            TargetKind::Local(local) => {
                let root = self.project.root.join(&local.path);
                Ok(cohort::engine::local::LocalSettings {
                    spill_dir: Some(root.join(".spill")),
                    root,
                    memory_limit: local.memory_limit.as_deref().map(parse_bytes).transpose()?,
                    as_of: Some(self.project.as_of),
                    full_refresh: false,
                })
            }
            TargetKind::BigQuery(_) => Err(Error::config(
                Diagnostic::new(format!(
                    "target `{}` is a BigQuery target; this command runs on the local engine only",
                    self.target.name
                ))
                .help("run it with --target local"),
            )),
        }
    }

    /// Whether the target is a warehouse (BigQuery) rather than the local engine.
    pub fn on_warehouse(&self) -> bool {
        matches!(self.target.kind, TargetKind::BigQuery(_))
    }

    /// Connect to the BigQuery target (a configuration error for a local one).
    pub async fn bigquery(
        &self,
        full_refresh: bool,
    ) -> Result<cohort::engine::bigquery::BigQueryEngine> {
        cohort::engine::bigquery::BigQueryEngine::open(
            &self.target,
            &cohort::engine::bigquery::BigQuerySettings {
                full_refresh,
                ..Default::default()
            },
        )
        .await
    }
}

pub fn resolve_target(project: &Project, global: &GlobalArgs) -> Result<Target> {
    let profile_name = project
        .file
        .profile
        .clone()
        .unwrap_or_else(|| project.name().to_string());
    profile::resolve_target(
        &project.root,
        &profile_name,
        &ProfileOptions {
            profiles_dir: global.profiles_dir.clone(),
            target: global.target.clone(),
        },
    )
}

/// `4GB`, `512MB`, `1024` (bytes).
pub fn parse_bytes(text: &str) -> Result<usize> {
    let t = text.trim().to_ascii_uppercase();
    let (number, unit) = t
        .find(|c: char| !c.is_ascii_digit() && c != '.')
        .map(|i| t.split_at(i))
        .unwrap_or((&t, ""));
    let factor: f64 = match unit.trim() {
        "" | "B" => 1.0,
        "KB" | "K" => 1024.0,
        "MB" | "M" => 1024.0 * 1024.0,
        "GB" | "G" => 1024.0 * 1024.0 * 1024.0,
        _ => 0.0,
    };
    match number.parse::<f64>() {
        Ok(n) if factor > 0.0 && n > 0.0 => Ok((n * factor) as usize),
        _ => Err(Error::config(
            Diagnostic::new(format!("memory_limit `{text}` is not a size"))
                .help("write a size like 4GB or 512MB"),
        )),
    }
}
