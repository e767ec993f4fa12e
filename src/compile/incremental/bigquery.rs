//! The BigQuery script that applies one incremental batch to an existing
//! table (the first build and `--full-refresh` use the normal
//! `CREATE OR REPLACE TABLE`, see [`crate::compile::materialize`]).
//!
//! The batch (the model's SELECT rendered with `is_incremental()` true) is
//! computed once into a temp table. For a partitioned table, the partitions
//! present in the batch are collected into a `DECLARE`d array, and every
//! statement that touches the destination restricts it with
//! `<partition expression> IN UNNEST(cohort_partitions)`: a constant list,
//! which BigQuery uses to prune the destination to those partitions instead
//! of scanning the whole table (dbt's `merge` on BigQuery scans it all unless
//! `incremental_predicates` are written by hand).
//!
//! - `merge`: in one transaction, a `MERGE ... WHEN MATCHED THEN DELETE`
//!   removes the destination rows whose key is in the batch (inside the
//!   batch's partitions), then `INSERT` adds the batch. It needs no column
//!   list, so it works for any SELECT and behaves exactly like
//!   update-or-insert by key.
//! - `insert_overwrite`: one `MERGE ... ON FALSE` that deletes every
//!   destination row of the batch's partitions (`WHEN NOT MATCHED BY SOURCE
//!   AND <partition> IN UNNEST(...)`) and inserts the batch: a single atomic
//!   DML statement, partitions not in the batch are never read or written.
//! - `append`: `INSERT INTO ... SELECT`.

use std::fmt::Write;

use super::{Incremental, Strategy};
use crate::compile::relation::Relation;
use crate::project::PartitionBy;

/// The temp table holding the batch.
pub const BATCH_TABLE: &str = "cohort_batch";
/// The script variable holding the batch's partitions.
pub const PARTITIONS_VAR: &str = "cohort_partitions";

/// The script applying the batch `select_sql` to `relation`.
pub fn statement(relation: &Relation, incremental: &Incremental, select_sql: &str) -> String {
    let target = relation.quoted();
    let select_sql = select_sql.trim_end().trim_end_matches(';');
    let mut sql = String::new();
    if incremental.strategy == Strategy::Append {
        let _ = writeln!(sql, "insert into {target}");
        let _ = writeln!(sql, "select * from (");
        let _ = writeln!(sql, "{select_sql}");
        let _ = writeln!(sql, ");");
        return sql;
    }
    let partition = incremental.partition_by.as_ref().map(PartitionExpr::new);
    if let Some(p) = &partition {
        let _ = writeln!(sql, "declare {PARTITIONS_VAR} array<{}>;", p.element_type);
    }
    // `or replace`: a temp table lives for the script on BigQuery; the
    // emulator keeps it after the script, and a second run must not fail.
    let _ = writeln!(sql, "create or replace temp table {BATCH_TABLE} as");
    let _ = writeln!(sql, "{select_sql};");
    if let Some(p) = &partition {
        let _ = writeln!(
            sql,
            "set {PARTITIONS_VAR} = (\n    select array_agg(distinct {partition}) from {BATCH_TABLE}\n    where {partition} is not null\n);",
            partition = p.on(None)
        );
    }
    let pruned = partition
        .as_ref()
        .map(|p| format!("{} in unnest({PARTITIONS_VAR})", p.on(Some("dest"))));
    match incremental.strategy {
        Strategy::Merge => {
            let on: Vec<String> = incremental
                .unique_key
                .iter()
                .map(|c| format!("dest.{c} = src.{c}"))
                .chain(pruned)
                .collect();
            let _ = writeln!(sql, "begin transaction;");
            let _ = writeln!(sql, "merge into {target} as dest");
            let _ = writeln!(sql, "using {BATCH_TABLE} as src");
            let _ = writeln!(sql, "on {}", on.join("\n    and "));
            let _ = writeln!(sql, "when matched then delete;");
            let _ = writeln!(sql, "insert into {target}");
            let _ = writeln!(sql, "select * from {BATCH_TABLE};");
            let _ = writeln!(sql, "commit transaction;");
        }
        Strategy::InsertOverwrite => {
            // Validated: insert_overwrite always has a partition.
            let condition = pruned.unwrap_or_else(|| "false".to_string());
            let _ = writeln!(sql, "merge into {target} as dest");
            let _ = writeln!(sql, "using {BATCH_TABLE} as src");
            let _ = writeln!(sql, "on false");
            let _ = writeln!(
                sql,
                "when not matched by source and {condition} then delete"
            );
            let _ = writeln!(sql, "when not matched then insert row;");
        }
        Strategy::Append => {}
    }
    sql
}

/// How a partition is named in SQL: the expression over the partition column and its type.
struct PartitionExpr<'a> {
    partition: &'a PartitionBy,
    element_type: &'static str,
}

impl<'a> PartitionExpr<'a> {
    fn new(partition: &'a PartitionBy) -> Self {
        let element_type = match partition.data_type.to_ascii_lowercase().as_str() {
            "timestamp" => "timestamp",
            "datetime" => "datetime",
            _ => "date",
        };
        PartitionExpr {
            partition,
            element_type,
        }
    }

    /// The partition a row falls in (`started_at`'s day, ...), qualified by `alias`.
    fn on(&self, alias: Option<&str>) -> String {
        let column = match alias {
            Some(a) => format!("{a}.{}", self.partition.field),
            None => self.partition.field.clone(),
        };
        let unit = self.partition.granularity.to_ascii_uppercase();
        match (self.element_type, unit.as_str()) {
            ("date", "DAY") => column,
            ("date", _) => format!("date_trunc({column}, {unit})"),
            ("timestamp", _) => format!("timestamp_trunc({column}, {unit})"),
            (_, _) => format!("datetime_trunc({column}, {unit})"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compile::incremental::OnSchemaChange;
    use datafusion::sql::sqlparser::ast::Statement;

    fn relation() -> Relation {
        Relation {
            project: None,
            dataset: "analytics".into(),
            name: "events".into(),
        }
    }

    fn incremental(strategy: Strategy, partition: Option<(&str, &str)>) -> Incremental {
        Incremental {
            strategy,
            unique_key: if strategy == Strategy::Merge {
                vec!["event_id".into(), "source".into()]
            } else {
                Vec::new()
            },
            partition_by: partition.map(|(field, data_type)| PartitionBy {
                field: field.into(),
                data_type: data_type.into(),
                granularity: "day".into(),
            }),
            on_schema_change: OnSchemaChange::Fail,
            lookback: 0,
        }
    }

    const SELECT: &str =
        "with e as (select * from `raw.events`)\nselect event_id, source, event_date from e\n";

    fn parse(sql: &str) -> Vec<Statement> {
        crate::sql::parse::parse_bigquery(sql)
            .unwrap_or_else(|e| panic!("does not parse as BigQuery: {e}\n{sql}"))
    }

    #[test]
    fn merge_on_a_partitioned_table_prunes_the_destination() {
        let sql = statement(
            &relation(),
            &incremental(Strategy::Merge, Some(("event_date", "date"))),
            SELECT,
        );
        assert_eq!(
            sql,
            "declare cohort_partitions array<date>;
create or replace temp table cohort_batch as
with e as (select * from `raw.events`)
select event_id, source, event_date from e;
set cohort_partitions = (
    select array_agg(distinct event_date) from cohort_batch
    where event_date is not null
);
begin transaction;
merge into `analytics.events` as dest
using cohort_batch as src
on dest.event_id = src.event_id
    and dest.source = src.source
    and dest.event_date in unnest(cohort_partitions)
when matched then delete;
insert into `analytics.events`
select * from cohort_batch;
commit transaction;
"
        );
        let statements = parse(&sql);
        assert_eq!(statements.len(), 7, "{statements:#?}");
        assert!(
            statements
                .iter()
                .any(|s| matches!(s, Statement::Merge { .. }))
        );
    }

    #[test]
    fn merge_without_partitions_matches_on_the_key_only() {
        let sql = statement(&relation(), &incremental(Strategy::Merge, None), SELECT);
        assert!(!sql.contains("cohort_partitions"), "{sql}");
        assert!(
            sql.contains("on dest.event_id = src.event_id\n    and dest.source = src.source\nwhen matched then delete;"),
            "{sql}"
        );
        assert_eq!(parse(&sql).len(), 5);
    }

    #[test]
    fn insert_overwrite_replaces_only_the_batch_partitions() {
        let sql = statement(
            &relation(),
            &incremental(Strategy::InsertOverwrite, Some(("event_date", "date"))),
            SELECT,
        );
        assert!(sql.starts_with("declare cohort_partitions array<date>;\n"));
        assert!(
            sql.ends_with(
                "merge into `analytics.events` as dest
using cohort_batch as src
on false
when not matched by source and dest.event_date in unnest(cohort_partitions) then delete
when not matched then insert row;
"
            ),
            "{sql}"
        );
        assert_eq!(parse(&sql).len(), 4);
    }

    #[test]
    fn timestamp_partitions_are_named_by_their_truncation() {
        let sql = statement(
            &relation(),
            &incremental(Strategy::Merge, Some(("started_at", "timestamp"))),
            SELECT,
        );
        assert!(sql.contains("declare cohort_partitions array<timestamp>;"));
        assert!(sql.contains(
            "array_agg(distinct timestamp_trunc(started_at, DAY)) from cohort_batch\n    where timestamp_trunc(started_at, DAY) is not null"
        ));
        assert!(
            sql.contains("and timestamp_trunc(dest.started_at, DAY) in unnest(cohort_partitions)")
        );
        parse(&sql);
    }

    #[test]
    fn append_inserts_the_select() {
        let sql = statement(&relation(), &incremental(Strategy::Append, None), SELECT);
        assert_eq!(
            sql,
            "insert into `analytics.events`\nselect * from (\nwith e as (select * from `raw.events`)\nselect event_id, source, event_date from e\n);\n"
        );
        let statements = parse(&sql);
        assert!(matches!(statements.as_slice(), [Statement::Insert(_)]));
    }
}
