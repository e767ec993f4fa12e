//! `cohort debug`: is the project valid, which profile and target are used,
//! and can the target be reached? Secrets are never printed.

use cohort::engine::Engine;
use cohort::engine::bigquery::connect::Credentials;
use cohort::engine::local::LocalEngine;
use cohort::error::{Diagnostic, Error, Result};
use cohort::profile::{self, BigQueryTarget, ProfileOptions, TargetKind};

use super::EXIT_OK;
use super::args::GlobalArgs;
use super::output::Printer;
use super::setup::Session;

pub async fn run(global: &GlobalArgs, printer: &Printer) -> Result<u8> {
    let session = Session::open(global)?;
    let project = &session.project;
    let out = |label: &str, value: String| printer.data(&format!("{label:<14} {value}"));
    out("cohort", env!("CARGO_PKG_VERSION").to_string());
    out(
        "project",
        format!("{} ({})", project.name(), project.root.display()),
    );
    out("nodes", {
        let segments = project
            .models
            .values()
            .filter(|m| matches!(m.body, cohort::project::ModelBody::Segment(_)))
            .count();
        format!(
            "{} models, {segments} segments, {} source tables",
            project.models.len() - segments,
            project.sources.len()
        )
    });
    out("as_of", project.as_of.to_string());
    let profiles = profile::find_profiles_file(
        &project.root,
        &ProfileOptions {
            profiles_dir: global.profiles_dir.clone(),
            target: global.target.clone(),
        },
    );
    out(
        "profiles.yml",
        profiles
            .map(|p| p.display().to_string())
            .unwrap_or_else(|| "none (the default `local` target is used)".into()),
    );
    out(
        "target",
        format!("{} ({})", session.target.name, session.target.type_name()),
    );
    match &session.target.kind {
        TargetKind::Local(local) => {
            out(
                "storage",
                project.root.join(&local.path).display().to_string(),
            );
            out("dataset", local.dataset.clone());
        }
        TargetKind::BigQuery(bq) => {
            out("gcp project", bq.project.clone());
            out("dataset", bq.dataset.clone());
            out(
                "location",
                bq.location
                    .clone()
                    .unwrap_or_else(|| "(BigQuery's default)".into()),
            );
            out("method", bq.method.clone());
            if let Some(url) = &bq.api_base_url {
                out("api_base_url", url.clone());
            }
            let credentials = Credentials::of(bq, &session.target.name)?;
            out("credentials", credentials.describe());
            return check_bigquery(&session, bq, printer).await;
        }
    }
    let mut problems = Vec::new();
    for source in session.compiled.sources.values() {
        if let Some(path) = &source.local_path
            && !path.exists()
        {
            problems.push(format!(
                "source {}.{}: {} does not exist",
                source.table.source,
                source.table.name,
                path.display()
            ));
        }
    }
    let settings = session.local_settings()?;
    std::fs::create_dir_all(&settings.root).map_err(|e| Error::io("create", &settings.root, e))?;
    let engine = LocalEngine::open(&settings, &session.compiled).await?;
    let check = engine.query("select 1 as ok", None).await;
    out(
        "connection",
        if check.is_ok() {
            "ok (DataFusion)".into()
        } else {
            "FAILED".into()
        },
    );
    if let Err(e) = check {
        problems.push(format!("the local engine cannot run a query: {e}"));
    }
    if problems.is_empty() {
        printer.data("All checks passed.");
        Ok(EXIT_OK)
    } else {
        Err(Error::config(
            Diagnostic::new(format!("{} problem(s):\n  - {}", problems.len(), problems.join("\n  - ")))
                .help("fix the paths above (e.g. --vars '{data_dir: /path}'), or generate data with `cohort sample-data --out DIR`"),
        ))
    }
}

/// Can the credentials run a job and read the target's dataset? Says
/// exactly what is missing.
async fn check_bigquery(session: &Session, bq: &BigQueryTarget, printer: &Printer) -> Result<u8> {
    let out = |label: &str, value: String| printer.data(&format!("{label:<14} {value}"));
    let engine = session.bigquery(false).await?;
    match engine.query("select 1 as ok", Some(1)).await {
        Ok(_) => out("connection", "ok (a query job ran)".into()),
        Err(e) => {
            out("connection", "FAILED".into());
            return Err(Error::config(
                Diagnostic::new(format!(
                    "target `{}`: cannot run a query job in project `{}`: {}",
                    session.target.name,
                    bq.project,
                    e.diagnostic().map(|d| d.message.clone()).unwrap_or_default()
                ))
                .help("check the credentials, and that they have roles/bigquery.jobUser on the project"),
            ));
        }
    }
    if engine.dataset_exists(&bq.dataset).await? {
        out(
            "dataset access",
            format!("ok ({}.{} is readable)", bq.project, bq.dataset),
        );
    } else {
        out(
            "dataset access",
            format!(
                "{}.{} does not exist yet; `cohort build` creates it{}",
                bq.project,
                bq.dataset,
                bq.location
                    .as_deref()
                    .map(|l| format!(" in {l}"))
                    .unwrap_or_default()
            ),
        );
    }
    printer.data("All checks passed.");
    Ok(EXIT_OK)
}
