//! Loading rows into a BigQuery table: the table is (re)created with the
//! rows' columns and BigQuery types, then filled with streaming inserts
//! (`tabledata.insertAll`) in chunks. Used to put a project's source files
//! (such as the generated sample data) on a BigQuery target.

use datafusion::arrow::record_batch::RecordBatch;
use gcp_bigquery_client::model::table_data_insert_all_request::TableDataInsertAllRequest;
use serde_json::{Map, Value};

use super::BigQueryEngine;
use crate::compile::Relation;
use crate::engine::QueryResult;
use crate::engine::values;
use crate::error::{Diagnostic, Error, Result};

/// Rows per insertAll request (BigQuery recommends at most 500).
const CHUNK_ROWS: usize = 500;

impl BigQueryEngine {
    /// Replace `relation` with the rows of `data`; returns the rows loaded.
    pub async fn load(&self, relation: &Relation, data: &QueryResult) -> Result<u64> {
        self.ensure_dataset(relation).await?;
        let columns: Vec<String> = data
            .schema
            .fields()
            .iter()
            .map(|f| format!("`{}` {}", f.name(), values::bigquery_type(f.data_type())))
            .collect();
        let project = relation
            .project
            .clone()
            .unwrap_or_else(|| self.project().to_string());
        let qualified = Relation {
            project: Some(project.clone()),
            ..relation.clone()
        };
        let ddl = format!(
            "create or replace table {} ({})",
            qualified.quoted(),
            columns.join(", ")
        );
        let fail = |what: String| {
            Error::execution(Diagnostic::new(format!("cannot load {relation}: {what}")))
        };
        self.jobs
            .run(&ddl, None)
            .await
            .map_err(|f| fail(f.to_string()))?;
        let rows: Vec<Value> = data.batches.iter().flat_map(json_rows).collect();
        for chunk in rows.chunks(CHUNK_ROWS) {
            let mut request = TableDataInsertAllRequest::new();
            for row in chunk {
                request
                    .add_row(None, row)
                    .map_err(|e| fail(self.clean(&e)))?;
            }
            let response = self
                .jobs
                .client()
                .tabledata()
                .insert_all(&project, &relation.dataset, &relation.name, request)
                .await
                .map_err(|e| fail(self.clean(&e)))?;
            if let Some(first) = response
                .insert_errors
                .as_ref()
                .and_then(|errors| errors.first())
            {
                let message = first
                    .errors
                    .as_ref()
                    .and_then(|e| e.first())
                    .and_then(|e| e.message.clone())
                    .unwrap_or_default();
                return Err(fail(format!(
                    "row {} was rejected: {message}",
                    first.index.unwrap_or_default()
                )));
            }
        }
        Ok(rows.len() as u64)
    }
}

/// The rows of `batch` as JSON objects by column name.
fn json_rows(batch: &RecordBatch) -> Vec<Value> {
    let schema = batch.schema();
    (0..batch.num_rows())
        .map(|row| {
            let map: Map<String, Value> = schema
                .fields()
                .iter()
                .zip(batch.columns())
                .map(|(field, column)| (field.name().clone(), values::cell(column, row)))
                .collect();
            Value::Object(map)
        })
        .collect()
}
