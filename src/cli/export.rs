//! `cohort export [NAME...] [--date D] [--dry-run]`: for each export, the
//! segment snapshot of day D (default: its latest refreshed day), refused
//! when never refreshed or drift-blocked, normalized and hashed into CSV
//! parts plus `_manifest.json` at its destination. Prints counts only,
//! never identifier values.

use cohort::compile::segment::daily::DailyTables;
use cohort::engine::local::LocalEngine;
use cohort::error::{Diagnostic, Error, Result, suggestion};
use cohort::export::gcs::GcsSettings;
use cohort::export::run::{self as export_run, Prepared};
use cohort::export::source::ExportSource;
use cohort::export::{Destination, Tally, sql};
use cohort::profile::TargetKind;
use cohort::project::Export;
use serde_json::{Value, json};

use super::args::{ExportArgs, GlobalArgs, ListOutput};
use super::output::{Printer, stdout_line, thousands};
use super::setup::Session;
use super::{EXIT_FAILED, EXIT_OK};

/// How to declare an export, for a project without one.
const DECLARE_HELP: &str = "declare one in exports/*.yml:\n    exports:\n      - name: gads_vip\n        type: customer_match\n        segment: vip\n        identifiers: {email: email}\n        consent: {require: [consent_ad_user_data, consent_ad_personalization]}\n        destination: gs://my-bucket/customer_match/";

pub async fn run(global: &GlobalArgs, args: &ExportArgs, printer: &Printer) -> Result<u8> {
    // With `--output json` stdout holds the one JSON document only.
    let quiet;
    let printer = if args.output == ListOutput::Json {
        quiet = Printer::new(&GlobalArgs {
            quiet: true,
            ..global.clone()
        });
        &quiet
    } else {
        printer
    };
    let session = Session::open(global)?;
    let exports = selected(&session, &args.names)?;
    // Configuration first: nothing is read or written while one export is wrong.
    for export in &exports {
        export.consent_columns()?;
    }
    let tables = DailyTables::new(
        session.target.project().map(str::to_string),
        session.target.dataset(),
    );
    let sources = exports
        .iter()
        .map(|e| ExportSource::resolve(&session.project, &session.compiled, e, tables.clone()))
        .collect::<Result<Vec<_>>>()?;
    for export in &exports {
        if !export.hash {
            printer.warn(&format!(
                "export `{}` writes plain-text identifiers (hash: false): Customer Match accepts SHA-256 hashes; keep these files private",
                export.name
            ));
        }
    }
    if let TargetKind::BigQuery(_) = &session.target.kind {
        return bigquery_statements(&session, &sources, args);
    }
    let settings = session.local_settings()?;
    let gcs = gcs_settings(&session.target.kind);
    let engine = LocalEngine::open(&settings, &session.compiled).await?;
    let mut failed = 0;
    let mut report = Vec::new();
    for source in &sources {
        match export_one(&session, source, args, &engine, &gcs, printer).await {
            Ok(value) => report.push(value),
            Err(e) if e.is_config() => return Err(e),
            Err(e) => {
                failed += 1;
                printer.error(&e);
                printer.event(json!({"event": "export_failed", "export": source.export.name}));
                report.push(json!({"export": source.export.name, "status": "failed",
                    "error": e.diagnostic().map(|d| d.message.clone())}));
            }
        }
    }
    if args.output == ListOutput::Json {
        stdout_line(&json!({"dry_run": args.dry_run, "exports": report}).to_string());
    }
    Ok(if failed > 0 { EXIT_FAILED } else { EXIT_OK })
}

/// The named exports (all when none is named), in name order.
fn selected<'a>(session: &'a Session, names: &[String]) -> Result<Vec<&'a Export>> {
    let all = &session.project.exports;
    if all.is_empty() {
        return Err(Error::config(
            Diagnostic::new("the project declares no export").help(DECLARE_HELP),
        ));
    }
    if names.is_empty() {
        return Ok(all.values().collect());
    }
    names
        .iter()
        .map(|name| {
            all.get(name).ok_or_else(|| {
                Error::config(
                    Diagnostic::new(format!("no export is named `{name}`")).help(suggestion(
                        name,
                        all.keys().map(String::as_str),
                        "export",
                    )),
                )
            })
        })
        .collect()
}

/// Cloud Storage access from the target, with `STORAGE_EMULATOR_HOST` on top.
pub(super) fn gcs_settings(target: &TargetKind) -> GcsSettings {
    let mut settings = match target {
        TargetKind::Local(local) => local
            .storage
            .as_ref()
            .map(|s| GcsSettings {
                endpoint: s.endpoint.clone(),
                anonymous: s.anonymous,
                keyfile: s.keyfile.clone(),
                keyfile_json: s.keyfile_json.clone(),
            })
            .unwrap_or_default(),
        // Exports of BigQuery targets run as EXPORT DATA, with BigQuery's credentials.
        TargetKind::BigQuery(_) => GcsSettings::default(),
    };
    if let Some(host) = std::env::var("STORAGE_EMULATOR_HOST")
        .ok()
        .filter(|h| !h.trim().is_empty())
    {
        let host = host.trim();
        settings.endpoint = Some(if host.contains("://") {
            host.to_string()
        } else {
            format!("http://{host}")
        });
        settings.anonymous = true;
    }
    settings
}

async fn export_one(
    session: &Session,
    source: &ExportSource,
    args: &ExportArgs,
    engine: &LocalEngine,
    gcs: &GcsSettings,
    printer: &Printer,
) -> Result<Value> {
    let export = &source.export;
    let day = source.snapshot_day(engine, args.date).await?;
    let prepared = export_run::prepare(engine, source, day, &session.project.root).await?;
    if !args.dry_run {
        write_bigquery_sql(session, source, &prepared)?;
    }
    let objects: Vec<String> = prepared
        .parts
        .iter()
        .map(|p| p.name.clone())
        .chain(std::iter::once(cohort::export::MANIFEST.to_string()))
        .collect();
    let addresses: Vec<String> = objects.iter().map(|o| prepared.folder.address(o)).collect();
    print_counts(printer, export, &prepared, args.dry_run);
    let mut removed = Vec::new();
    if args.dry_run {
        for address in &addresses {
            printer.info(&format!("  would write {address}"));
        }
    } else {
        let sink = export_run::sink_for(&prepared.folder, gcs).await?;
        let published = export_run::write(&prepared, sink.as_ref()).await?;
        for address in &addresses {
            printer.info(&format!("  wrote {address}"));
        }
        for name in &published.removed {
            printer.info(&format!(
                "  removed stale {}",
                prepared.folder.address(name)
            ));
        }
        removed = published.removed;
    }
    let value = json!({
        "export": export.name,
        "segment": export.segment.name,
        "snapshot_date": day.to_string(),
        "mode": export.mode.name(),
        "hashed": export.hash,
        "status": if args.dry_run { "dry_run" } else { "written" },
        "folder": prepared.folder.to_string(),
        "objects": addresses,
        "removed": removed,
        "lists": prepared.manifest.lists,
        "totals": prepared.manifest.totals,
    });
    let mut event = value.clone();
    event["event"] = json!(if args.dry_run {
        "export_planned"
    } else {
        "export_written"
    });
    printer.event(event);
    Ok(value)
}

fn tally_line(tally: &Tally) -> String {
    let rejects = if tally.rejects.is_empty() {
        "none".to_string()
    } else {
        tally
            .rejects
            .iter()
            .map(|(reason, n)| format!("{reason} {}", thousands(*n)))
            .collect::<Vec<_>>()
            .join(", ")
    };
    format!(
        "{} rows, {} written, {} without consent; rejects: {rejects}",
        thousands(tally.rows),
        thousands(tally.written),
        thousands(tally.consent_excluded)
    )
}

fn print_counts(printer: &Printer, export: &Export, prepared: &Prepared, dry_run: bool) {
    printer.info(&format!(
        "{}export {} ({} of segment {} on {}) -> {}",
        if dry_run { "[dry run] " } else { "" },
        export.name,
        export.mode.name(),
        export.segment.name,
        prepared.day,
        prepared.folder
    ));
    for (list, tally) in &prepared.manifest.lists {
        printer.info(&format!("  {list}: {}", tally_line(tally)));
    }
}

/// On a BigQuery target the rows stay in BigQuery: write each export's
/// `EXPORT DATA` statements (day `--date`, else `as_of`) and say so; running
/// them from cohort comes with the BigQuery engine.
fn bigquery_statements(
    session: &Session,
    sources: &[ExportSource],
    args: &ExportArgs,
) -> Result<u8> {
    let day = args.date.unwrap_or(session.project.as_of);
    let dir = session.target_dir().join("run").join("exports");
    let mut written = Vec::new();
    for source in sources {
        let destination = Destination::parse(&source.export.destination, &session.project.root)
            .map_err(|m| {
                Error::config(Diagnostic::new(m).at(source.export.destination_at.clone()))
            })?;
        let folder = destination.folder(&source.export.name, &day.to_string());
        if !matches!(folder, Destination::Gcs { .. }) {
            return Err(Error::config(
                Diagnostic::new(format!(
                    "export `{}`: a BigQuery target exports with EXPORT DATA, which writes to Cloud Storage only",
                    source.export.name
                ))
                .at(source.export.destination_at.clone())
                .help("use a gs://bucket/prefix/ destination, or export from a local target"),
            ));
        }
        let sql = sql::export_statements(source, day, &folder)?;
        std::fs::create_dir_all(&dir).map_err(|e| Error::io("create", &dir, e))?;
        let path = dir.join(format!("{}.sql", source.export.name));
        std::fs::write(&path, sql).map_err(|e| Error::io("write", &path, e))?;
        written.push(path.display().to_string());
    }
    Err(Error::config(
        Diagnostic::new(format!(
            "target `{}` is a BigQuery target: its exports run as EXPORT DATA statements in BigQuery, which this version does not submit",
            session.target.name
        ))
        .help(format!(
            "the statements for {day} are in {}; run them with `bq query`, or export from a local target",
            written.join(", ")
        )),
    ))
}

/// For gs:// destinations, the BigQuery `EXPORT DATA` statement(s) of the
/// same export: `target/run/exports/<name>.sql` (what a BigQuery target runs).
fn write_bigquery_sql(session: &Session, source: &ExportSource, prepared: &Prepared) -> Result<()> {
    let Destination::Gcs { .. } = &prepared.folder else {
        return Ok(());
    };
    let Ok(statements) = sql::export_statements(source, prepared.day, &prepared.folder) else {
        return Ok(());
    };
    let dir = session.target_dir().join("run").join("exports");
    std::fs::create_dir_all(&dir).map_err(|e| Error::io("create", &dir, e))?;
    let path = dir.join(format!("{}.sql", source.export.name));
    std::fs::write(&path, statements).map_err(|e| Error::io("write", &path, e))
}
