//! `cohort upload-sources`: put the sources' local files (Parquet or CSV,
//! as declared by their `location:`; the example project's sample data is
//! generated first when missing) into their tables on the BigQuery target,
//! so a project can be built there from the same data as locally.

use cohort::compile::Relation;
use cohort::engine::Engine;
use cohort::engine::local::LocalEngine;
use cohort::error::{Diagnostic, Error, Result};
use serde_json::json;

use super::EXIT_OK;
use super::args::GlobalArgs;
use super::output::{Printer, thousands};
use super::setup::Session;

pub async fn run(global: &GlobalArgs, printer: &Printer) -> Result<u8> {
    let session = Session::open(global)?;
    if !session.on_warehouse() {
        return Err(Error::config(
            Diagnostic::new(format!(
                "target `{}` is local: it reads the source files directly",
                session.target.name
            ))
            .help("pass --target <a bigquery target of profiles.yml>"),
        ));
    }
    super::build::generate_missing_sample_data(&session, printer)?;
    let warehouse = session.bigquery(false).await?;
    let files = LocalEngine::open(&session.unit_test_settings(), &session.compiled).await?;
    let mut loaded = 0;
    for source in session.compiled.sources.values() {
        let Some(path) = &source.local_path else {
            continue;
        };
        if !path.exists() {
            return Err(Error::config(
                Diagnostic::new(format!(
                    "source `{}.{}`: {} does not exist",
                    source.table.source,
                    source.table.name,
                    path.display()
                ))
                .at(source.table.defined_at.clone())
                .help("point the source's location at its files, e.g. --vars '{data_dir: /path}'"),
            ));
        }
        let local = Relation {
            project: None,
            ..source.relation.clone()
        };
        let data = files
            .query(&format!("select * from {}", local.quoted()), None)
            .await?;
        let rows = warehouse.load(&source.relation, &data).await?;
        printer.info(&format!(
            "loaded {:<40} {:>12} rows",
            source.relation.to_string(),
            thousands(rows)
        ));
        printer.event(json!({"event": "source_loaded", "relation": source.relation.to_string(), "rows": rows}));
        loaded += 1;
    }
    printer.info(&format!(
        "Loaded {loaded} source table{} into target `{}`",
        if loaded == 1 { "" } else { "s" },
        session.target.name
    ));
    Ok(EXIT_OK)
}
