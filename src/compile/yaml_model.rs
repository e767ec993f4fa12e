//! YAML-declared models → one readable BigQuery SELECT (still holding
//! `{{ ref() }}` / `{{ source() }}` calls, rendered by Jinja afterwards).
//!
//! Shape: filters and dedupe run on the `from` relation first (a `source`
//! CTE), then joins, columns and grouping in the final SELECT.

use std::fmt::Write;

use crate::error::{Diagnostic, Error, Result};
use crate::project::{ColumnDef, Model, YamlModel};

/// A `from:` / `to:` reference, parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FromRef {
    Ref(String),
    Source(String, String),
}

impl FromRef {
    /// The Jinja call that renders the relation.
    pub fn jinja(&self) -> String {
        match self {
            FromRef::Ref(name) => format!("{{{{ ref('{name}') }}}}"),
            FromRef::Source(source, table) => format!("{{{{ source('{source}', '{table}') }}}}"),
        }
    }
}

/// Parse `ref('x')` or `source('a', 'b')`.
pub fn parse_from(text: &str) -> Option<FromRef> {
    let text = text.trim();
    let text = text
        .strip_prefix("{{")
        .and_then(|t| t.strip_suffix("}}"))
        .map(str::trim)
        .unwrap_or(text);
    let (func, rest) = text.split_once('(')?;
    let args = rest.strip_suffix(')')?;
    let args: Vec<String> = args
        .split(',')
        .map(|a| a.trim().trim_matches(['\'', '"']).to_string())
        .collect();
    let valid =
        |s: &String| !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if !args.iter().all(valid) {
        return None;
    }
    match (func.trim(), args.as_slice()) {
        ("ref", [name]) => Some(FromRef::Ref(name.clone())),
        ("source", [source, table]) => Some(FromRef::Source(source.clone(), table.clone())),
        _ => None,
    }
}

/// The error for a `from:`/`to:` value that is neither form.
pub fn bad_from(text: &str, model: &Model, at: crate::error::Location) -> Error {
    Error::config(
        Diagnostic::new(format!(
            "model `{}`: `{text}` is not a relation reference",
            model.name
        ))
        .at(at)
        .help("write ref('model_name') or source('source_name', 'table_name')"),
    )
}

/// The SQL template for a YAML model.
pub fn render_sql(model: &Model, spec: &YamlModel) -> Result<String> {
    let from =
        parse_from(&spec.from).ok_or_else(|| bad_from(&spec.from, model, spec.from_at.clone()))?;
    let mut sql = String::new();
    let alias = spec.from_alias.as_deref();
    let from_clause = if let Some(dedupe) = &spec.dedupe {
        // Filter, then keep the first row per key, in a CTE named after the alias (or `source`).
        let cte = alias.unwrap_or("source");
        let _ = writeln!(sql, "with {cte} as (");
        let _ = writeln!(sql, "    select *");
        let _ = writeln!(sql, "    from {}", from.jinja());
        write_where(&mut sql, spec, "    ", true);
        let _ = writeln!(
            sql,
            "    qualify row_number() over (partition by {} order by {}) = 1",
            dedupe.by.join(", "),
            dedupe.order_by
        );
        let _ = writeln!(sql, ")");
        cte.to_string()
    } else {
        match alias {
            Some(a) => format!("{} as {a}", from.jinja()),
            None => from.jinja(),
        }
    };

    let _ = writeln!(sql, "select");
    if model.columns.is_empty() {
        let _ = writeln!(sql, "    *");
    } else {
        let count = model.columns.len();
        for (i, column) in model.columns.iter().enumerate() {
            let comma = if i + 1 < count { "," } else { "" };
            let _ = writeln!(sql, "    {}{comma}", select_item(column));
        }
    }
    let _ = writeln!(sql, "from {from_clause}");
    for (join, at) in &spec.joins {
        let to = parse_from(&join.to.value)
            .ok_or_else(|| bad_from(&join.to.value, model, at.clone()))?;
        let condition = match (&join.on, join.using.is_empty()) {
            (Some(on), true) => format!("on {on}"),
            (None, false) => format!("using ({})", join.using.join(", ")),
            _ => {
                return Err(Error::config(
                    Diagnostic::new(format!(
                        "model `{}`: join to `{}` needs exactly one of `on:` or `using:`",
                        model.name, join.to.value
                    ))
                    .at(at.clone())
                    .help("e.g. on: \"s.customer_id = c.customer_id\" or using: [customer_id]"),
                ));
            }
        };
        let _ = writeln!(
            sql,
            "{} {} as {} {condition}",
            join.join.sql(),
            to.jinja(),
            join.alias
        );
    }
    if spec.dedupe.is_none() {
        write_where(&mut sql, spec, "", false);
    }
    if !spec.group_by.is_empty() {
        let _ = writeln!(sql, "group by {}", spec.group_by.join(", "));
    }
    if let Some(having) = &spec.having {
        let _ = writeln!(sql, "having {having}");
    }
    Ok(sql)
}

fn select_item(column: &ColumnDef) -> String {
    let expr = column.expr.as_deref().unwrap_or(&column.name).trim();
    match &column.data_type {
        Some(ty) => format!("cast({expr} as {ty}) as {}", column.name),
        None if expr == column.name => column.name.clone(),
        None => format!("{expr} as {}", column.name),
    }
}

/// `where a and b`; with `always`, writes `where true` when there is no filter
/// (BigQuery requires a WHERE, GROUP BY or HAVING next to QUALIFY). The
/// `incremental_where:` filter is added inside `{% if is_incremental() %}`,
/// so a full build renders exactly the other filters.
fn write_where(sql: &mut String, spec: &YamlModel, indent: &str, always: bool) {
    let filters = &spec.filters;
    let incremental = spec.incremental_filter.as_deref().map(str::trim);
    let clause = match filters.as_slice() {
        [] if always => Some("true".to_string()),
        [] => None,
        [one] => Some(one.clone()),
        many => Some(
            many.iter()
                .map(|f| format!("({f})"))
                .collect::<Vec<_>>()
                .join(&format!("\n{indent}  and ")),
        ),
    };
    match (clause, incremental) {
        (Some(clause), None) => {
            let _ = writeln!(sql, "{indent}where {clause}");
        }
        (None, None) => {}
        (Some(clause), Some(inc)) => {
            let _ = writeln!(
                sql,
                "{indent}where {clause}{{% if is_incremental() %}}\n{indent}  and ({inc}){{% endif %}}"
            );
        }
        (None, Some(inc)) => {
            let _ = write!(
                sql,
                "{{% if is_incremental() %}}{indent}where {inc}\n{{% endif %}}"
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_relation_references() {
        assert_eq!(
            parse_from("ref('customers')"),
            Some(FromRef::Ref("customers".into()))
        );
        assert_eq!(
            parse_from("source(\"raw\", 'raw_sessions')"),
            Some(FromRef::Source("raw".into(), "raw_sessions".into()))
        );
        assert_eq!(parse_from("{{ ref('x') }}"), Some(FromRef::Ref("x".into())));
        assert_eq!(parse_from("ref(x; drop table)"), None);
        assert_eq!(parse_from("customers"), None);
    }

    fn spec(filters: &[&str], incremental: Option<&str>) -> YamlModel {
        YamlModel {
            from: "ref('x')".into(),
            from_at: crate::error::Location::file_start("m.yml"),
            from_alias: None,
            joins: Vec::new(),
            filters: filters.iter().map(|f| f.to_string()).collect(),
            incremental_filter: incremental.map(str::to_string),
            dedupe: None,
            group_by: Vec::new(),
            having: None,
        }
    }

    #[test]
    fn incremental_where_is_added_only_on_incremental_runs() {
        let mut sql = String::new();
        write_where(&mut sql, &spec(&["a > 1"], Some("d >= x")), "", false);
        assert_eq!(
            sql,
            "where a > 1{% if is_incremental() %}\n  and (d >= x){% endif %}\n"
        );
        let mut sql = String::new();
        write_where(&mut sql, &spec(&[], Some("d >= x")), "", false);
        assert_eq!(sql, "{% if is_incremental() %}where d >= x\n{% endif %}");
        let mut sql = String::new();
        write_where(&mut sql, &spec(&[], Some("d >= x")), "    ", true);
        assert_eq!(
            sql,
            "    where true{% if is_incremental() %}\n      and (d >= x){% endif %}\n"
        );
        let mut sql = String::new();
        write_where(&mut sql, &spec(&["a", "b"], None), "", false);
        assert_eq!(sql, "where (a)\n  and (b)\n");
    }
}
