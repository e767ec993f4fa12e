//! Checking a build before anything runs: the selected nodes are planned in
//! dependency order on a scratch copy of the session's catalog, each planned
//! model registered there as a view so the nodes downstream of it plan
//! against its new columns. Segments are checked against the planned schema
//! of their `from` model (columns, value types, `sql:` rules).
//!
//! Only segment problems fail the check (configuration errors, exit code 2,
//! before any table is written); a model that does not plan is left for the
//! build to report, with everything downstream of it skipped.

use std::collections::BTreeSet;
use std::sync::Arc;

use datafusion::arrow::datatypes::DataType;
use datafusion::catalog::view::ViewTable;
use datafusion::catalog::{
    CatalogProvider, CatalogProviderList, MemoryCatalogProvider, MemoryCatalogProviderList,
    MemorySchemaProvider, SchemaProvider,
};
use datafusion::common::DFSchema;
use datafusion::execution::SessionState;
use datafusion::execution::session_state::SessionStateBuilder;
use datafusion::logical_expr::LogicalPlan;

use super::LocalEngine;
use crate::compile::segment::check::{self, ColumnType};
use crate::compile::{CompiledNode, CompiledProject};
use crate::error::{Diagnostic, Error, Result};
use crate::project::Segment;

impl LocalEngine {
    /// Plan `selected` (names in dependency order) without running or writing anything.
    ///
    /// A segment that does not fit its upstream is an `Err` (configuration);
    /// the models that do not plan are returned (as the build would report
    /// them), and nodes downstream of them are left out.
    pub async fn check(
        &self,
        compiled: &CompiledProject,
        selected: &[String],
    ) -> Result<Vec<Error>> {
        let state = self.scratch_state().await?;
        let mut unplanned: BTreeSet<&str> = BTreeSet::new();
        let mut problems = Vec::new();
        for name in selected {
            let Some(node) = compiled.nodes.get(name) else {
                continue;
            };
            if node
                .depends_on
                .iter()
                .any(|d| unplanned.contains(d.as_str()))
            {
                unplanned.insert(name.as_str());
                continue;
            }
            if let Err(e) = self.check_sources(node) {
                problems.push(e);
                unplanned.insert(name.as_str());
                continue;
            }
            if let Some(segment) = &node.segment
                && !self.check_segment(&state, compiled, node, segment).await?
            {
                unplanned.insert(name.as_str());
                continue;
            }
            let planned = crate::sql::plan_query(&state, &node.sql, &self.translate)
                .await
                .and_then(|plan| {
                    // Read downstream case-insensitively, as the built table will be.
                    crate::sql::lowercase_columns(plan).map_err(|e| crate::sql::plan_error(&e))
                });
            match planned {
                Ok(plan) => {
                    let view = ViewTable::new(plan, Some(node.sql.clone()));
                    register(
                        &state,
                        &node.relation.dataset,
                        &node.relation.name,
                        Arc::new(view),
                    )?;
                }
                // The rules were checked one by one; the whole SELECT must plan too.
                Err(e) if node.segment.is_some() => {
                    return Err(Error::config(
                        Diagnostic::new(format!(
                            "segment `{}` does not plan: {}",
                            node.name.trim_start_matches("segment_"),
                            e.message.lines().next().unwrap_or_default()
                        ))
                        .at(node.defined_at.clone())
                        .help("check its `sql:` rules (one row-level condition each, no aggregates); `cohort compile` writes its SQL to target/compiled/"),
                    ));
                }
                Err(e) => {
                    problems.push(super::sql_error(node, &e));
                    unplanned.insert(name.as_str());
                }
            }
        }
        Ok(problems)
    }

    /// A state sharing this session's functions and tables, with a catalog of its own.
    pub(super) async fn scratch_state(&self) -> Result<SessionState> {
        let original = self.ctx.state();
        let list = MemoryCatalogProviderList::new();
        for catalog_name in original.catalog_list().catalog_names() {
            let Some(catalog) = original.catalog_list().catalog(&catalog_name) else {
                continue;
            };
            let copy = MemoryCatalogProvider::new();
            for schema_name in catalog.schema_names() {
                let Some(schema) = catalog.schema(&schema_name) else {
                    continue;
                };
                let schema_copy = MemorySchemaProvider::new();
                for table_name in schema.table_names() {
                    if let Ok(Some(table)) = schema.table(&table_name).await {
                        schema_copy
                            .register_table(table_name, table)
                            .map_err(internal)?;
                    }
                }
                copy.register_schema(&schema_name, Arc::new(schema_copy))
                    .map_err(internal)?;
            }
            list.register_catalog(catalog_name, Arc::new(copy));
        }
        Ok(SessionStateBuilder::new_from_existing(original)
            .with_catalog_list(Arc::new(list))
            .build())
    }

    /// Check a segment against its upstream's planned columns; `false` when
    /// the upstream cannot be planned (the build reports that).
    async fn check_segment(
        &self,
        state: &SessionState,
        compiled: &CompiledProject,
        node: &CompiledNode,
        segment: &Segment,
    ) -> Result<bool> {
        let Some(relation) = upstream_relation(compiled, node) else {
            return Ok(false);
        };
        let Ok(plan) =
            crate::sql::plan_query(state, &format!("select * from {relation}"), &self.translate)
                .await
        else {
            return Ok(false);
        };
        let columns = columns(plan.schema());
        check::check(segment, &columns)?;
        for rule in check::sql_rules(&segment.rule) {
            let sql = format!("select ({}) as rule from {relation}", rule.text);
            match crate::sql::plan_query(state, &sql, &self.translate).await {
                Ok(plan) => {
                    if !per_row(&plan) {
                        return Err(check::sql_rule_error(
                            segment,
                            rule,
                            "aggregate and window functions are not allowed: a rule tests one row",
                            &columns,
                        ));
                    }
                    let ty = plan.schema().field(0).data_type().clone();
                    if !matches!(ty, DataType::Boolean | DataType::Null) {
                        let found = column_type(&ty);
                        return Err(check::sql_rule_type_error(segment, rule, found.name()));
                    }
                }
                Err(e) => {
                    return Err(check::sql_rule_error(segment, rule, &e.message, &columns));
                }
            }
        }
        Ok(true)
    }
}

/// Whether a rule's plan (`select (rule) from upstream`) tests rows one by
/// one: no aggregate or window above the upstream relation.
fn per_row(plan: &LogicalPlan) -> bool {
    match plan {
        LogicalPlan::Aggregate(_) | LogicalPlan::Window(_) => false,
        LogicalPlan::TableScan(_) | LogicalPlan::SubqueryAlias(_) => true,
        other => other.inputs().into_iter().all(per_row),
    }
}

/// The quoted relation a segment reads.
fn upstream_relation(compiled: &CompiledProject, node: &CompiledNode) -> Option<String> {
    if let Some(model) = node.depends_on.first() {
        return compiled.nodes.get(model).map(|n| n.relation.quoted());
    }
    node.sources
        .first()
        .and_then(|key| compiled.sources.get(key))
        .map(|s| s.relation.quoted())
}

fn columns(schema: &DFSchema) -> Vec<(String, ColumnType)> {
    schema
        .fields()
        .iter()
        .map(|f| (f.name().clone(), column_type(f.data_type())))
        .collect()
}

/// The BigQuery type of a local column.
pub fn column_type(ty: &DataType) -> ColumnType {
    match ty {
        DataType::Int8
        | DataType::Int16
        | DataType::Int32
        | DataType::Int64
        | DataType::UInt8
        | DataType::UInt16
        | DataType::UInt32
        | DataType::UInt64 => ColumnType::Int64,
        DataType::Float16 | DataType::Float32 | DataType::Float64 => ColumnType::Float64,
        DataType::Decimal128(..) | DataType::Decimal256(..) => ColumnType::Numeric,
        DataType::Boolean => ColumnType::Bool,
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => ColumnType::String,
        DataType::Date32 | DataType::Date64 => ColumnType::Date,
        DataType::Timestamp(_, None) => ColumnType::Datetime,
        DataType::Timestamp(_, Some(_)) => ColumnType::Timestamp,
        DataType::Binary | DataType::LargeBinary | DataType::BinaryView => {
            ColumnType::Other("BYTES".into())
        }
        DataType::List(_) | DataType::LargeList(_) | DataType::FixedSizeList(..) => {
            ColumnType::Other("ARRAY".into())
        }
        DataType::Struct(_) => ColumnType::Other("STRUCT".into()),
        other => ColumnType::Other(other.to_string()),
    }
}

pub(super) fn register(
    state: &SessionState,
    dataset: &str,
    name: &str,
    table: Arc<dyn datafusion::catalog::TableProvider>,
) -> Result<()> {
    let catalog_name = state.config().options().catalog.default_catalog.clone();
    let catalog = state
        .catalog_list()
        .catalog(&catalog_name)
        .ok_or_else(|| internal("no default catalog"))?;
    let schema = match catalog.schema(dataset) {
        Some(schema) => schema,
        None => {
            let schema: Arc<dyn SchemaProvider> = Arc::new(MemorySchemaProvider::new());
            catalog
                .register_schema(dataset, Arc::clone(&schema))
                .map_err(internal)?;
            schema
        }
    };
    let _ = schema.deregister_table(name);
    schema
        .register_table(name.to_string(), table)
        .map(|_| ())
        .map_err(internal)
}

fn internal(e: impl std::fmt::Display) -> Error {
    Error::execution(Diagnostic::new(format!(
        "cannot prepare the pre-build check: {e}"
    )))
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::arrow::datatypes::TimeUnit;
    use datafusion::prelude::SessionContext;

    #[test]
    fn local_types_map_to_bigquery_types() {
        assert_eq!(column_type(&DataType::Int32), ColumnType::Int64);
        assert_eq!(column_type(&DataType::Utf8View), ColumnType::String);
        assert_eq!(column_type(&DataType::Date32), ColumnType::Date);
        assert_eq!(
            column_type(&DataType::Timestamp(TimeUnit::Microsecond, None)),
            ColumnType::Datetime
        );
        assert_eq!(
            column_type(&DataType::Timestamp(
                TimeUnit::Microsecond,
                Some("UTC".into())
            )),
            ColumnType::Timestamp
        );
        assert_eq!(
            column_type(&DataType::Binary),
            ColumnType::Other("BYTES".into())
        );
    }

    #[tokio::test]
    async fn rules_with_aggregates_or_windows_are_not_per_row() {
        let ctx = SessionContext::new();
        ctx.sql("create view t as select 1 as a, count(*) over () as w")
            .await
            .unwrap();
        let plan = |sql: &str| {
            let ctx = ctx.clone();
            let sql = sql.to_string();
            async move { ctx.state().create_logical_plan(&sql).await.unwrap() }
        };
        // The upstream view has a window of its own; the rule does not.
        assert!(per_row(&plan("select (a > 1) as rule from t").await));
        assert!(per_row(
            &plan("select (a in (select max(a) from t)) as rule from t").await
        ));
        assert!(!per_row(
            &plan("select (count(*) > 1) as rule from t").await
        ));
        assert!(!per_row(
            &plan("select (row_number() over () > 1) as rule from t").await
        ));
    }
}
