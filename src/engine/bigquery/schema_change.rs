//! `on_schema_change` on BigQuery: before an incremental batch is applied,
//! its columns (from a dry run) are compared with the table's, with the
//! same rules and messages as the local engine
//! ([`crate::engine::local::schema_change`]). The compiled script inserts
//! the batch's columns by position, so on BigQuery `append_new_columns`
//! adds the new columns (`ALTER TABLE ... ADD COLUMN`) only when they come
//! after the table's columns in the same order; anything else stops before
//! the table is touched, asking for `--full-refresh`.

use super::{BigQueryEngine, job_error, rows};
use crate::compile::{CompiledNode, IncrementalBuild, Relation};
use crate::engine::local::schema_change;
use crate::error::{Diagnostic, Error, Result};

impl BigQueryEngine {
    /// Check (and with `append_new_columns`, widen) `node`'s table for its batch.
    pub(super) async fn apply_schema_change(
        &self,
        node: &CompiledNode,
        incremental: &IncrementalBuild,
    ) -> Result<()> {
        let dry = self
            .jobs
            .dry_run(&incremental.sql, Some(&node.name))
            .await
            .map_err(|f| job_error(node, &f))?;
        let Some(batch_fields) = dry
            .job
            .statistics
            .as_ref()
            .and_then(|s| s.query.as_ref())
            .and_then(|q| q.schema.as_ref())
            .and_then(|s| s.fields.clone())
        else {
            return Ok(());
        };
        let relation = &node.relation;
        let project = relation.project.as_deref().unwrap_or(self.project());
        let table = self.get_table(relation).await.map_err(|e| {
            Error::execution(Diagnostic::new(format!(
                "cannot read table {relation}: {}",
                self.clean(&e)
            )))
        })?;
        let table_fields = table.schema.fields.clone().unwrap_or_default();
        let (_, diff) = schema_change::resolve(
            &node.name,
            &rows::schema(&table_fields),
            &rows::schema(&batch_fields),
            incremental.settings.on_schema_change,
        )
        .map_err(|e| at_model(e, node))?;
        let table_names: Vec<String> = table_fields.iter().map(|f| f.name.to_lowercase()).collect();
        let batch_names: Vec<String> = batch_fields.iter().map(|f| f.name.to_lowercase()).collect();
        let in_order = batch_names.len() >= table_names.len()
            && batch_names[..table_names.len()] == table_names[..];
        if !diff.missing.is_empty() || !in_order {
            return Err(Error::execution(
                Diagnostic::new(format!(
                    "model `{}`: the new rows' columns ({}) do not line up with the table's ({}); on BigQuery the batch is inserted by position",
                    node.name,
                    batch_names.join(", "),
                    table_names.join(", ")
                ))
                .at(node.defined_at.clone())
                .help("select the table's columns in its order (new ones last), or rebuild it with --full-refresh"),
            ));
        }
        for name in &diff.added {
            let Some(field) = batch_fields
                .iter()
                .find(|f| f.name.eq_ignore_ascii_case(name))
            else {
                continue;
            };
            let column_type = serde_json::to_value(&field.r#type)
                .ok()
                .and_then(|v| v.as_str().map(str::to_string))
                .unwrap_or_else(|| "STRING".into());
            let sql = format!(
                "alter table {} add column if not exists `{}` {}",
                qualified(relation, project).quoted(),
                field.name,
                column_type
            );
            self.jobs
                .run(&sql, Some(&node.name))
                .await
                .map_err(|f| job_error(node, &f))?;
        }
        Ok(())
    }
}

fn qualified(relation: &Relation, project: &str) -> Relation {
    Relation {
        project: Some(project.to_string()),
        ..relation.clone()
    }
}

/// A schema-change error, placed at the model's file.
fn at_model(error: Error, node: &CompiledNode) -> Error {
    match error.diagnostic() {
        Some(d) if d.location.is_none() => {
            let mut d = d.clone();
            d.location = Some(node.defined_at.clone());
            Error::execution(d)
        }
        _ => error,
    }
}
