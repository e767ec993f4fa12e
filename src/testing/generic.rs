//! A generic test → one BigQuery query returning the failing rows. The
//! tested rows (after the test's `where:`) are a CTE, `tested_rows`; rows
//! whose column is NULL pass every column test except `not_null`.

use std::fmt::Write;

use super::TestKind;

/// The failing-rows query of a generic test on `relation` (quoted);
/// `to_relation` is the quoted relation of a `relationships` test's `to:`.
pub fn sql(
    kind: &TestKind,
    relation: &str,
    column: Option<&str>,
    filter: Option<&str>,
    to_relation: Option<&str>,
) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "with tested_rows as (");
    let _ = writeln!(out, "    select *");
    let _ = writeln!(out, "    from {relation}");
    if let Some(filter) = filter {
        let _ = writeln!(out, "    where ({filter})");
    }
    let _ = writeln!(out, ")");
    let col = column.unwrap_or("");
    match kind {
        TestKind::NotNull => {
            let _ = write!(out, "select *\nfrom tested_rows\nwhere {col} is null");
        }
        TestKind::Unique => {
            let _ = write!(
                out,
                "select {col} as unique_field, count(*) as n_records\nfrom tested_rows\nwhere {col} is not null\ngroup by {col}\nhaving count(*) > 1"
            );
        }
        TestKind::AcceptedValues { values } => {
            let _ = write!(
                out,
                "select *\nfrom tested_rows\nwhere {col} is not null\n    and {col} not in ({})",
                values.join(", ")
            );
        }
        TestKind::Relationships { field, .. } => {
            let to = to_relation.unwrap_or("");
            let _ = write!(
                out,
                "select *\nfrom tested_rows\nwhere {col} is not null\n    and {col} not in (\n        select {field}\n        from {to}\n        where {field} is not null\n    )"
            );
        }
        TestKind::ExpressionIsTrue { expression } => {
            let _ = write!(out, "select *\nfrom tested_rows\nwhere not ({expression})");
        }
        TestKind::AcceptedRange {
            min,
            max,
            inclusive,
        } => {
            let (ge, le) = if *inclusive { (">=", "<=") } else { (">", "<") };
            let bounds: Vec<String> = [
                min.as_ref().map(|m| format!("{col} {ge} {m}")),
                max.as_ref().map(|m| format!("{col} {le} {m}")),
            ]
            .into_iter()
            .flatten()
            .collect();
            let _ = write!(
                out,
                "select *\nfrom tested_rows\nwhere {col} is not null\n    and not ({})",
                bounds.join(" and ")
            );
        }
        TestKind::RowCount { min, max } => {
            let bounds: Vec<String> = [
                min.map(|m| format!("row_count >= {m}")),
                max.map(|m| format!("row_count <= {m}")),
            ]
            .into_iter()
            .flatten()
            .collect();
            let _ = write!(
                out,
                "select row_count\nfrom (select count(*) as row_count from tested_rows) as counted\nwhere not ({})",
                bounds.join(" and ")
            );
        }
        TestKind::Singular { raw } => {
            // Singular tests are rendered by Jinja instead (see `compile`).
            out = raw.clone();
        }
        TestKind::Freshness { .. } => {
            // Needs the project's `as_of`: see [`freshness_sql`].
        }
    }
    out.push('\n');
    out
}

/// The failing-rows query of a freshness test: one row (the newest load
/// time and its age in minutes) when the newest `field` is older than
/// `minutes`, or when the table is empty. Ages are measured at the end of
/// `as_of`, or now when that is earlier, so past `as_of`s give stable results.
pub fn freshness_sql(
    relation: &str,
    field: &str,
    minutes: u64,
    filter: Option<&str>,
    as_of: chrono::NaiveDate,
) -> String {
    let end_of_day = as_of.succ_opt().unwrap_or(as_of).format("%Y-%m-%d");
    let mut out = String::new();
    let _ = writeln!(out, "with newest as (");
    let _ = writeln!(out, "    select");
    let _ = writeln!(out, "        max({field}) as max_loaded_at,");
    let _ = writeln!(
        out,
        "        least(current_timestamp(), timestamp '{end_of_day} 00:00:00+00') as checked_at"
    );
    let _ = writeln!(out, "    from {relation}");
    if let Some(filter) = filter {
        let _ = writeln!(out, "    where ({filter})");
    }
    let _ = writeln!(out, ")");
    let _ = write!(
        out,
        "select max_loaded_at, checked_at, timestamp_diff(checked_at, max_loaded_at, minute) as age_minutes\nfrom newest\nwhere max_loaded_at is null\n    or max_loaded_at < timestamp_sub(checked_at, interval {minutes} minute)\n"
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queries_parse_as_bigquery() {
        let kinds = [
            TestKind::NotNull,
            TestKind::Unique,
            TestKind::AcceptedValues {
                values: vec!["'a'".into(), "2".into()],
            },
            TestKind::Relationships {
                to: super::super::TableRef::Model("c".into()),
                field: "id".into(),
            },
            TestKind::ExpressionIsTrue {
                expression: "a >= 0".into(),
            },
            TestKind::AcceptedRange {
                min: Some("0".into()),
                max: None,
                inclusive: false,
            },
            TestKind::RowCount {
                min: Some(1),
                max: Some(10),
            },
        ];
        for kind in &kinds {
            let sql = sql(kind, "`a.t`", Some("id"), Some("x = 1"), Some("`a.c`"));
            crate::sql::parse::parse_bigquery(&sql)
                .unwrap_or_else(|e| panic!("{}: {sql}\n{}", kind.name(), e.message));
        }
        let fresh = freshness_sql(
            "`raw.s`",
            "loaded_at",
            90,
            None,
            chrono::NaiveDate::from_ymd_opt(2026, 11, 23).unwrap(),
        );
        assert!(
            fresh.contains("timestamp '2026-11-24 00:00:00+00'"),
            "{fresh}"
        );
        crate::sql::parse::parse_bigquery(&fresh).unwrap();
        let range = sql(&kinds[5], "`a.t`", Some("id"), None, None);
        assert!(range.contains("not (id > 0)"), "{range}");
    }
}
