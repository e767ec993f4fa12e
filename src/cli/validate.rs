//! `cohort compile --dry-run` and `cohort validate`: every selected model's
//! SELECT is dry-run on the BigQuery target, which checks it (names, types,
//! permissions) and prices it without running anything. One line per
//! model: valid with the bytes it would process, or BigQuery's error.

use cohort::error::{Diagnostic, Error, Result};
use serde_json::json;

use super::output::{Printer, thousands};
use super::setup::Session;
use super::{EXIT_FAILED, EXIT_OK};

pub async fn run(session: &Session, selected: &[String], printer: &Printer) -> Result<u8> {
    if !session.on_warehouse() {
        return Err(Error::config(
            Diagnostic::new(format!(
                "target `{}` is local: a dry run needs a BigQuery target",
                session.target.name
            ))
            .help("pass --target <a bigquery target of profiles.yml>, or use `cohort compile --check` to plan locally"),
        ));
    }
    let engine = session.bigquery(false).await?;
    let budget = engine.byte_budget();
    let mut invalid = 0;
    let mut total_bytes = 0u64;
    for name in selected {
        let Some(node) = session.compiled.nodes.get(name) else {
            continue;
        };
        match engine.dry_run_node(node).await {
            Ok(dry) => {
                total_bytes += dry.bytes;
                let budget = node.config.maximum_bytes_billed.or(budget);
                let over = budget.is_some_and(|b| dry.bytes > b);
                if over {
                    invalid += 1;
                }
                printer.info(&format!(
                    "{} {:<28} {:>16} bytes{}",
                    if over { "over " } else { "valid" },
                    node.name,
                    thousands(dry.bytes),
                    if over {
                        format!(
                            " (over maximum_bytes_billed {})",
                            thousands(budget.unwrap_or(0))
                        )
                    } else {
                        String::new()
                    }
                ));
                printer.event(json!({
                    "event": "dry_run", "node": node.unique_id, "valid": !over,
                    "bytes_processed": dry.bytes, "over_budget": over,
                }));
            }
            Err(error) => {
                invalid += 1;
                printer.info(&format!("error {:<28}", node.name));
                printer.error(&error);
                printer.event(json!({
                    "event": "dry_run", "node": node.unique_id, "valid": false,
                    "error": error.to_string(),
                }));
            }
        }
    }
    printer.info(&format!(
        "Dry run on target `{}`: {} valid, {invalid} with errors; {} bytes would be processed",
        session.target.name,
        selected.len() - invalid,
        thousands(total_bytes)
    ));
    Ok(if invalid > 0 { EXIT_FAILED } else { EXIT_OK })
}
