//! Segments → BigQuery SQL: one SELECT over the `from` model returning the
//! entity key, the attributes and the segment's name for every row where the
//! rules hold. Segment SQL is generated directly (no Jinja), so nothing in a
//! segment file is ever evaluated as a template.
//!
//! - [`rules`]: the rule tree → a boolean expression, with typed, escaped literals.
//! - [`expr`]: the `sql:` escape hatch must be exactly one expression.
//! - [`check`]: columns and value types against the upstream model's planned schema.
//! - [`daily`]: the daily segment tables (membership, changes, stats) for one day.

pub mod check;
pub mod daily;
pub mod expr;
pub mod rules;

use std::fmt::Write;

use chrono::NaiveDate;

use super::yaml_model::{FromRef, parse_from};
use crate::error::{Diagnostic, Error, Result, suggestion};
use crate::project::segment::SEGMENT_COLUMN;
use crate::project::{Project, Segment};

/// The model (or source table) a segment reads, checked to exist.
pub fn resolve_from(project: &Project, segment: &Segment) -> Result<FromRef> {
    let error = |message: String, help: String| {
        Error::config(
            Diagnostic::new(format!("segment `{}`: {message}", segment.name))
                .at(segment.from_at.clone())
                .help(help),
        )
    };
    match parse_from(&segment.from) {
        Some(FromRef::Ref(name)) if name == segment.node_name() => Err(error(
            format!("`from: {}` names the segment itself", segment.from),
            "a segment reads the model holding one row per entity, e.g. ref('customer_features')"
                .into(),
        )),
        Some(FromRef::Ref(name)) => match project.models.get(&name) {
            Some(_) => Ok(FromRef::Ref(name)),
            None => Err(error(
                format!("unknown ref `{name}`: no model has that name"),
                suggestion(&name, project.models.keys().map(String::as_str), "model"),
            )),
        },
        Some(FromRef::Source(source, table)) => {
            if project
                .sources
                .contains_key(&(source.clone(), table.clone()))
            {
                Ok(FromRef::Source(source, table))
            } else {
                let known: Vec<String> = project
                    .sources
                    .keys()
                    .map(|(s, t)| format!("{s}.{t}"))
                    .collect();
                Err(error(
                    format!("unknown source `{source}.{table}`"),
                    suggestion(
                        &format!("{source}.{table}"),
                        known.iter().map(String::as_str),
                        "source",
                    ),
                ))
            }
        }
        None => Err(error(
            format!("`{}` is not a relation reference", segment.from),
            "write from: ref('model_name')".into(),
        )),
    }
}

/// The segment's SELECT; `from_relation` is the quoted relation of its `from`.
pub fn select_sql(segment: &Segment, from_relation: &str, as_of: NaiveDate) -> Result<String> {
    let key = rules::identifier(&segment.entity_key.name);
    let mut conditions = vec![format!("{key} is not null")];
    conditions.extend(rules::conjuncts(&segment.rule, as_of, &segment.name)?);
    let mut sql = String::new();
    let _ = writeln!(
        sql,
        "-- Segment `{}` as of {as_of}: the rows where its rules hold.",
        segment.name
    );
    let _ = writeln!(sql, "select");
    let _ = writeln!(sql, "    {key},");
    for attribute in &segment.attributes {
        let _ = writeln!(sql, "    {},", rules::identifier(&attribute.name));
    }
    let _ = writeln!(
        sql,
        "    {} as {SEGMENT_COLUMN}",
        rules::string_literal(&segment.name)
    );
    let _ = writeln!(sql, "from {from_relation}");
    let _ = writeln!(sql, "where {}", conditions.join("\n    and "));
    Ok(sql)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::project::segment::SegmentFile;
    use std::path::Path;

    #[test]
    fn select_has_key_attributes_and_name() {
        let yaml = "segments:\n  - name: high_value_churn_risk\n    from: ref('customer_features')\n    entity_key: customer_id\n    attributes: [email, revenue_total]\n    rules:\n      all:\n        - {column: orders_total, op: gt, value: 2}\n        - {column: days_since_last_order, op: between, value: [60, 90]}\n        - {sql: \"sessions_30d < sessions_prev_30d\"}\n";
        let file: SegmentFile =
            crate::project::yaml::parse(Path::new("segments/s.yml"), yaml).unwrap();
        let seg = Segment::from_def(
            file.segments.into_iter().next().unwrap(),
            Path::new("segments/s.yml"),
        )
        .unwrap();
        let sql = select_sql(
            &seg,
            "`analytics.customer_features`",
            NaiveDate::from_ymd_opt(2026, 11, 23).unwrap(),
        )
        .unwrap();
        assert_eq!(
            sql,
            "-- Segment `high_value_churn_risk` as of 2026-11-23: the rows where its rules hold.\n\
             select\n    customer_id,\n    email,\n    revenue_total,\n    'high_value_churn_risk' as segment\n\
             from `analytics.customer_features`\n\
             where customer_id is not null\n    and orders_total > 2\n    and days_since_last_order between 60 and 90\n    and (sessions_30d < sessions_prev_30d)\n"
        );
        assert_eq!(crate::sql::parse::parse_bigquery(&sql).unwrap().len(), 1);
    }
}
