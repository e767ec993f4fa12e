//! Comparing an incremental batch's columns with the existing table's, and
//! lining the batch up with the table (`on_schema_change`).

use std::sync::Arc;

use datafusion::arrow::array::{ArrayRef, RecordBatch, new_null_array};
use datafusion::arrow::datatypes::{Field, Schema, SchemaRef};

use crate::compile::incremental::OnSchemaChange;
use crate::error::{Diagnostic, Error, Result};

/// How the batch's columns differ from the table's.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SchemaDiff {
    /// Columns of the batch the table does not have.
    pub added: Vec<String>,
    /// Columns of the table the batch does not have.
    pub missing: Vec<String>,
    /// Columns whose type changed: (name, table type, batch type).
    pub retyped: Vec<(String, String, String)>,
}

impl SchemaDiff {
    pub fn between(table: &Schema, batch: &Schema) -> SchemaDiff {
        let find = |schema: &Schema, name: &str| {
            schema
                .fields()
                .iter()
                .find(|f| f.name().eq_ignore_ascii_case(name))
                .cloned()
        };
        let mut diff = SchemaDiff::default();
        for field in batch.fields() {
            match find(table, field.name()) {
                None => diff.added.push(field.name().clone()),
                Some(old) if old.data_type() != field.data_type() => diff.retyped.push((
                    field.name().clone(),
                    old.data_type().to_string(),
                    field.data_type().to_string(),
                )),
                Some(_) => {}
            }
        }
        for field in table.fields() {
            if find(batch, field.name()).is_none() {
                diff.missing.push(field.name().clone());
            }
        }
        diff
    }

    pub fn is_empty(&self) -> bool {
        self.added.is_empty() && self.missing.is_empty() && self.retyped.is_empty()
    }
}

/// The schema the new version has, or why the batch does not fit the table.
///
/// A changed type always fails (the rows already stored cannot change type).
/// Otherwise `fail` stops on any difference; `append_new_columns` adds the
/// batch's new columns at the end and fills columns the batch lacks with NULL.
pub fn resolve(
    model: &str,
    table: &SchemaRef,
    batch: &SchemaRef,
    mode: OnSchemaChange,
) -> Result<(SchemaRef, SchemaDiff)> {
    let diff = SchemaDiff::between(table, batch);
    let list = |names: &[String]| {
        names
            .iter()
            .map(|n| format!("`{n}`"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    if !diff.retyped.is_empty() {
        let changes: Vec<String> = diff
            .retyped
            .iter()
            .map(|(n, old, new)| format!("`{n}` from {old} to {new}"))
            .collect();
        return Err(Error::execution(
            Diagnostic::new(format!(
                "model `{model}`: the new rows change the type of column {}",
                changes.join(", ")
            ))
            .help("rebuild the table with --full-refresh, or cast the column back to its type"),
        ));
    }
    if diff.is_empty() {
        return Ok((table.clone(), diff));
    }
    if mode == OnSchemaChange::Fail {
        let mut parts = Vec::new();
        if !diff.added.is_empty() {
            parts.push(format!("new columns {}", list(&diff.added)));
        }
        if !diff.missing.is_empty() {
            parts.push(format!(
                "columns no longer selected {}",
                list(&diff.missing)
            ));
        }
        return Err(Error::execution(
            Diagnostic::new(format!(
                "model `{model}`: the columns changed ({}) and on_schema_change is `fail`",
                parts.join("; ")
            ))
            .help("rebuild the table with --full-refresh, or set on_schema_change: append_new_columns"),
        ));
    }
    let mut fields: Vec<Arc<Field>> = table.fields().iter().cloned().collect();
    for name in &diff.added {
        if let Ok(field) = batch.field_with_name(name) {
            fields.push(Arc::new(field.clone().with_nullable(true)));
        }
    }
    let schema = Schema::new(fields).with_metadata(table.metadata().clone());
    Ok((Arc::new(schema), diff))
}

/// `schema` with every column nullable: the schema incremental tables are written with.
pub fn nullable(schema: &Schema) -> SchemaRef {
    let fields: Vec<Arc<Field>> = schema
        .fields()
        .iter()
        .map(|f| Arc::new(f.as_ref().clone().with_nullable(true)))
        .collect();
    Arc::new(Schema::new(fields))
}

/// `batch` with the columns of `schema` (whose fields are nullable), in its
/// order (matched by name, ignoring case), NULL where `batch` has no such column.
pub fn align(batch: &RecordBatch, schema: &SchemaRef) -> Result<RecordBatch> {
    let columns: Vec<ArrayRef> = schema
        .fields()
        .iter()
        .map(|field| {
            batch
                .schema()
                .fields()
                .iter()
                .position(|f| f.name().eq_ignore_ascii_case(field.name()))
                .map(|i| batch.column(i).clone())
                .unwrap_or_else(|| new_null_array(field.data_type(), batch.num_rows()))
        })
        .collect();
    RecordBatch::try_new(schema.clone(), columns).map_err(|e| {
        Error::execution(Diagnostic::new(format!(
            "cannot line up the new rows with the table: {e}"
        )))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::arrow::array::Int64Array;
    use datafusion::arrow::datatypes::DataType;

    fn schema(fields: &[(&str, DataType)]) -> SchemaRef {
        Arc::new(Schema::new(
            fields
                .iter()
                .map(|(n, t)| Field::new(*n, t.clone(), true))
                .collect::<Vec<_>>(),
        ))
    }

    #[test]
    fn fail_names_the_changed_columns() {
        let table = schema(&[("id", DataType::Int64), ("old", DataType::Utf8)]);
        let batch = schema(&[("id", DataType::Int64), ("new", DataType::Utf8)]);
        let err = resolve("m", &table, &batch, OnSchemaChange::Fail).unwrap_err();
        let text = err.to_string();
        assert!(text.contains("new columns `new`"), "{text}");
        assert!(text.contains("columns no longer selected `old`"), "{text}");

        let (merged, diff) =
            resolve("m", &table, &batch, OnSchemaChange::AppendNewColumns).unwrap();
        assert_eq!(diff.added, vec!["new"]);
        let names: Vec<&String> = merged.fields().iter().map(|f| f.name()).collect();
        assert_eq!(names, vec!["id", "old", "new"]);
    }

    #[test]
    fn a_changed_type_always_fails() {
        let table = schema(&[("id", DataType::Int64)]);
        let batch = schema(&[("id", DataType::Utf8)]);
        let err = resolve("m", &table, &batch, OnSchemaChange::AppendNewColumns).unwrap_err();
        assert!(err.to_string().contains("`id` from Int64 to Utf8"), "{err}");
    }

    #[test]
    fn align_reorders_and_fills_nulls() {
        let target = schema(&[("b", DataType::Int64), ("a", DataType::Int64)]);
        let batch = RecordBatch::try_new(
            schema(&[("A", DataType::Int64)]),
            vec![Arc::new(Int64Array::from(vec![1, 2]))],
        )
        .unwrap();
        let aligned = align(&batch, &target).unwrap();
        assert_eq!(aligned.schema().field(0).name(), "b");
        assert_eq!(aligned.column(0).null_count(), 2);
        assert_eq!(aligned.column(1).null_count(), 0);
    }
}
