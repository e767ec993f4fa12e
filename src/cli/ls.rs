//! `cohort ls`: the project's nodes, honouring selection.

use cohort::error::Result;
use serde_json::json;

use super::EXIT_OK;
use super::args::{GlobalArgs, ListOutput, SelectArgs};
use super::output::Printer;
use super::setup::Session;

pub fn run(
    global: &GlobalArgs,
    select: &SelectArgs,
    output: ListOutput,
    printer: &Printer,
) -> Result<u8> {
    let session = Session::open(global)?;
    let selected = session.select(select)?;
    let mut text = String::new();
    for name in &selected {
        let Some(node) = session.compiled.nodes.get(name) else {
            continue;
        };
        match output {
            ListOutput::Json => {
                let line = json!({
                    "unique_id": node.unique_id,
                    "name": node.name,
                    "resource_type": node.resource_type(),
                    "materialized": node.materialization.as_str(),
                    "relation": node.relation.to_string(),
                    "path": node.path,
                    "tags": node.config.tags,
                    "depends_on": node.depends_on,
                });
                text.push_str(&format!("{line}\n"));
            }
            ListOutput::Text => {
                text.push_str(&format!(
                    "{:<28} {:<5} {:<36} {}\n",
                    node.name,
                    node.materialization.as_str(),
                    node.relation.to_string(),
                    node.path.display()
                ));
            }
        }
    }
    if !text.is_empty() {
        printer.data(&text);
    }
    Ok(EXIT_OK)
}
