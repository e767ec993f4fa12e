//! Static checks of a segment against its upstream model's columns, as the
//! engine planned them: every column a rule, attribute or the entity key
//! names exists, and every value fits its column's type. Errors point at the
//! rule in the segment file and suggest close column names.

use crate::error::{Diagnostic, Error, Location, Result, suggestion};
use crate::project::segment::{
    Comparison, Literal, LiteralValue, Name, Op, Rule, Segment, SqlRule, Window,
};

/// A column's type, as far as segment rules care.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ColumnType {
    Int64,
    Float64,
    Numeric,
    Bool,
    String,
    Date,
    Datetime,
    Timestamp,
    /// Anything else (bytes, arrays, structs, ...), by its name.
    Other(std::string::String),
}

impl ColumnType {
    /// The BigQuery name, for messages.
    pub fn name(&self) -> &str {
        match self {
            ColumnType::Int64 => "INT64",
            ColumnType::Float64 => "FLOAT64",
            ColumnType::Numeric => "NUMERIC",
            ColumnType::Bool => "BOOL",
            ColumnType::String => "STRING",
            ColumnType::Date => "DATE",
            ColumnType::Datetime => "DATETIME",
            ColumnType::Timestamp => "TIMESTAMP",
            ColumnType::Other(name) => name,
        }
    }

    fn is_number(&self) -> bool {
        matches!(
            self,
            ColumnType::Int64 | ColumnType::Float64 | ColumnType::Numeric
        )
    }

    fn is_time(&self) -> bool {
        matches!(
            self,
            ColumnType::Date | ColumnType::Datetime | ColumnType::Timestamp
        )
    }
}

/// The upstream model's columns: name and type, in order.
pub type Columns = [(String, ColumnType)];

/// Check `segment`'s entity key, attributes and rules against `columns`.
pub fn check(segment: &Segment, columns: &Columns) -> Result<()> {
    let checker = Checker { segment, columns };
    checker.column(&segment.entity_key, "entity_key")?;
    for attribute in &segment.attributes {
        checker.column(attribute, "attribute")?;
    }
    checker.rule(&segment.rule)
}

/// The `sql:` rules of a segment, for the engine to plan one by one.
pub fn sql_rules(rule: &Rule) -> Vec<&SqlRule> {
    match rule {
        Rule::All(rules) | Rule::Any(rules) => rules.iter().flat_map(sql_rules).collect(),
        Rule::Not(inner) => sql_rules(inner),
        Rule::Sql(sql) => vec![sql],
        Rule::Compare(_) | Rule::Window(_) => Vec::new(),
    }
}

/// A `sql:` rule that does not plan against the upstream model.
pub fn sql_rule_error(
    segment: &Segment,
    rule: &SqlRule,
    message: &str,
    columns: &Columns,
) -> Error {
    let unknown = unknown_field(message);
    let problem = match &unknown {
        Some(name) => format!("`{name}` is not a column of {}", segment.from),
        // DataFusion's messages can list every column on further lines.
        None => message.lines().next().unwrap_or(message).to_string(),
    };
    let help = match &unknown {
        Some(name) => suggestion(name, columns.iter().map(|(n, _)| n.as_str()), "column"),
        None => "the expression is planned against the columns of the `from` model".into(),
    };
    Error::config(
        Diagnostic::new(format!(
            "segment `{}`: `sql:` rule `{}`: {problem}",
            segment.name, rule.text
        ))
        .at(rule.at.clone())
        .help(help),
    )
}

/// A `sql:` rule whose value is not a boolean.
pub fn sql_rule_type_error(segment: &Segment, rule: &SqlRule, found: &str) -> Error {
    Error::config(
        Diagnostic::new(format!(
            "segment `{}`: `sql:` rule `{}` is of type {found}, not BOOL",
            segment.name, rule.text
        ))
        .at(rule.at.clone())
        .help("a rule is a condition, e.g. sql: \"sessions_30d < sessions_prev_30d\""),
    )
}

/// DataFusion says "No field named foo. Valid fields are ..." (names may be qualified or quoted).
fn unknown_field(message: &str) -> Option<String> {
    let rest = message.split("No field named ").nth(1)?;
    let raw: String = rest
        .chars()
        .take_while(|c| !c.is_whitespace() && *c != ',')
        .collect();
    let raw = raw.trim_end_matches('.');
    let name = raw.rsplit('.').next().unwrap_or(raw);
    let name = name.trim_matches(['"', '`', '\'']);
    (!name.is_empty()).then(|| name.to_string())
}

struct Checker<'a> {
    segment: &'a Segment,
    columns: &'a Columns,
}

impl Checker<'_> {
    fn error(&self, message: String, at: &Location, help: String) -> Error {
        Error::config(
            Diagnostic::new(format!("segment `{}`: {message}", self.segment.name))
                .at(at.clone())
                .help(help),
        )
    }

    /// The type of a column that must exist (BigQuery names are case-insensitive).
    fn column(&self, name: &Name, role: &str) -> Result<&ColumnType> {
        self.columns
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(&name.name))
            .map(|(_, t)| t)
            .ok_or_else(|| {
                self.error(
                    format!(
                        "{role} `{}` is not a column of {}",
                        name.name, self.segment.from
                    ),
                    &name.at,
                    suggestion(
                        &name.name,
                        self.columns.iter().map(|(n, _)| n.as_str()),
                        "column",
                    ),
                )
            })
    }

    fn rule(&self, rule: &Rule) -> Result<()> {
        match rule {
            Rule::All(rules) | Rule::Any(rules) => rules.iter().try_for_each(|r| self.rule(r)),
            Rule::Not(inner) => self.rule(inner),
            Rule::Compare(c) => self.comparison(c),
            Rule::Window(w) => self.window(w),
            // Planned by the engine (see `sql_rules`).
            Rule::Sql(_) => Ok(()),
        }
    }

    fn comparison(&self, c: &Comparison) -> Result<()> {
        let ty = self.column(&c.column, "column")?;
        if matches!(c.op, Op::IsNull | Op::NotNull) {
            return Ok(());
        }
        if c.op.is_text() && *ty != ColumnType::String {
            return Err(self.error(
                format!(
                    "`{}` needs a STRING column, but `{}` is {}",
                    c.op.name(),
                    c.column.name,
                    ty.name()
                ),
                &c.at,
                "contains and starts_with test text; for other types use eq, in or a {sql: ...} rule".into(),
            ));
        }
        for literal in c.operand.literals() {
            self.fits(c, ty, literal)?;
        }
        Ok(())
    }

    fn fits(&self, c: &Comparison, ty: &ColumnType, literal: &Literal) -> Result<()> {
        let ok = match (&literal.value, ty) {
            (LiteralValue::Int(_) | LiteralValue::Float(_), t) => t.is_number(),
            (LiteralValue::Bool(_), t) => *t == ColumnType::Bool,
            (LiteralValue::String(_), ColumnType::String) => true,
            (LiteralValue::String(s), ColumnType::Date) => parse_date(s).is_some(),
            (LiteralValue::String(s), ColumnType::Datetime | ColumnType::Timestamp) => {
                parse_date(s).is_some() || parse_timestamp(s)
            }
            (LiteralValue::String(_), _) => false,
        };
        if ok {
            return Ok(());
        }
        let (message, help) = match (&literal.value, ty) {
            (LiteralValue::String(s), t) if t.is_time() => (
                format!("`{s}` is not a {} for column `{}`", t.name(), c.column.name),
                "write dates as 2026-11-23 and timestamps as \"2026-11-23 08:00:00\"".to_string(),
            ),
            (value, t) => (
                format!(
                    "value {value} is {} but column `{}` is {}",
                    value.type_name(),
                    c.column.name,
                    t.name()
                ),
                value_help(t),
            ),
        };
        Err(self.error(message, &literal.at, help))
    }

    fn window(&self, w: &Window) -> Result<()> {
        let ty = self.column(&w.column, "column")?;
        if ty.is_time() {
            return Ok(());
        }
        Err(self.error(
            format!(
                "`{}` needs a DATE, DATETIME or TIMESTAMP column, but `{}` is {}",
                w.kind.key(),
                w.column.name,
                ty.name()
            ),
            &w.at,
            match self
                .columns
                .iter()
                .find(|(_, t)| t.is_time())
                .map(|(n, _)| n.as_str())
            {
                Some(example) => format!("e.g. {{column: {example}, {}: 30 days}}", w.kind.key()),
                None => "the `from` model has no date or timestamp column".into(),
            },
        ))
    }
}

fn value_help(ty: &ColumnType) -> String {
    match ty {
        t if t.is_number() => "compare a number column with a number, e.g. value: 2".into(),
        ColumnType::String => "quote the value, e.g. value: \"2\"".into(),
        ColumnType::Bool => "compare a BOOL column with true or false".into(),
        t => format!(
            "values of type {} cannot be compared in a rule; use a {{sql: ...}} rule",
            t.name()
        ),
    }
}

fn parse_date(s: &str) -> Option<chrono::NaiveDate> {
    chrono::NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d").ok()
}

fn parse_timestamp(s: &str) -> bool {
    let s = s.trim();
    chrono::DateTime::parse_from_rfc3339(s).is_ok()
        || [
            "%Y-%m-%d %H:%M:%S",
            "%Y-%m-%dT%H:%M:%S",
            "%Y-%m-%d %H:%M:%S%.f",
            "%Y-%m-%dT%H:%M:%S%.f",
        ]
        .iter()
        .any(|f| chrono::NaiveDateTime::parse_from_str(s, f).is_ok())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::project::segment::{Segment, SegmentFile};
    use std::path::Path;

    fn segment(rules: &str, attributes: &str) -> Segment {
        let yaml = format!(
            "segments:\n  - name: s\n    from: ref('f')\n    entity_key: customer_id\n    attributes: {attributes}\n    rules:\n      all:\n{rules}"
        );
        let file: SegmentFile =
            crate::project::yaml::parse(Path::new("segments/s.yml"), &yaml).unwrap();
        Segment::from_def(
            file.segments.into_iter().next().unwrap(),
            Path::new("segments/s.yml"),
        )
        .unwrap()
    }

    fn columns() -> Vec<(String, ColumnType)> {
        [
            ("customer_id", ColumnType::Int64),
            ("email", ColumnType::String),
            ("orders_total", ColumnType::Int64),
            ("revenue_total", ColumnType::Float64),
            ("last_order_date", ColumnType::Date),
            ("last_order_at", ColumnType::Timestamp),
            ("consent", ColumnType::Bool),
        ]
        .into_iter()
        .map(|(n, t)| (n.to_string(), t))
        .collect()
    }

    fn diag(rule: &str) -> Diagnostic {
        let seg = segment(&format!("        - {rule}\n"), "[email]");
        check(&seg, &columns())
            .expect_err(rule)
            .diagnostic()
            .unwrap()
            .clone()
    }

    #[test]
    fn well_typed_rules_pass() {
        let rules = [
            "{column: orders_total, op: gt, value: 2}",
            "{column: revenue_total, op: between, value: [10, 99.5]}",
            "{column: email, op: contains, value: \"@\"}",
            "{column: last_order_date, op: gte, value: 2026-01-01}",
            "{column: last_order_at, op: lt, value: \"2026-01-01 10:00:00\"}",
            "{column: last_order_at, within_last: 30 days}",
            "{column: last_order_date, older_than: 2 months}",
            "{column: consent, op: eq, value: true}",
            "{column: Orders_Total, op: in, value: [1, 2]}",
            "{column: email, op: not_null}",
        ]
        .map(|r| format!("        - {r}\n"))
        .concat();
        check(&segment(&rules, "[email, revenue_total]"), &columns()).unwrap();
    }

    #[test]
    fn unknown_columns_suggest() {
        let d = diag("{column: order_total, op: gt, value: 2}");
        assert!(
            d.message
                .contains("column `order_total` is not a column of ref('f')"),
            "{d}"
        );
        assert_eq!(d.help.as_deref(), Some("did you mean `orders_total`?"));
        assert_eq!(
            d.location.as_ref().map(|l| (l.line, l.column)),
            Some((8, 20))
        );

        let seg = segment("        - {column: email, op: is_null}\n", "[emial]");
        let d = check(&seg, &columns()).unwrap_err();
        assert!(d.to_string().contains("attribute `emial`"), "{d}");
        assert!(d.to_string().contains("did you mean `email`?"), "{d}");
    }

    #[test]
    fn values_must_fit_the_column() {
        for (rule, expected) in [
            (
                "{column: orders_total, op: gt, value: \"two\"}",
                "value \"two\" is STRING but column `orders_total` is INT64",
            ),
            (
                "{column: email, op: eq, value: 3}",
                "value 3 is INT64 but column `email` is STRING",
            ),
            (
                "{column: consent, op: eq, value: 1}",
                "is INT64 but column `consent` is BOOL",
            ),
            (
                "{column: orders_total, op: in, value: [1, \"x\"]}",
                "STRING but column `orders_total`",
            ),
            (
                "{column: last_order_date, op: gt, value: yesterday}",
                "`yesterday` is not a DATE",
            ),
            (
                "{column: orders_total, op: contains, value: \"1\"}",
                "needs a STRING column",
            ),
            (
                "{column: email, within_last: 30 days}",
                "needs a DATE, DATETIME or TIMESTAMP column",
            ),
            (
                "{column: orders_total, older_than: 3 days}",
                "but `orders_total` is INT64",
            ),
        ] {
            let d = diag(rule);
            assert!(d.message.contains(expected), "{rule}: {d}");
            assert_eq!(d.location.as_ref().map(|l| l.line), Some(8), "{rule}");
        }
    }

    #[test]
    fn finds_sql_rules_and_unknown_fields() {
        let seg = segment(
            "        - any:\n            - {sql: \"a < b\"}\n            - not: {sql: \"c\"}\n",
            "[]",
        );
        let texts: Vec<&str> = sql_rules(&seg.rule)
            .iter()
            .map(|r| r.text.as_str())
            .collect();
        assert_eq!(texts, ["a < b", "c"]);
        assert_eq!(
            unknown_field("Schema error: No field named sesions_30d. Valid fields are a, b."),
            Some("sesions_30d".into())
        );
        assert_eq!(
            unknown_field("No field named t.\"x\". Valid fields"),
            Some("x".into())
        );
        let rule = sql_rules(&seg.rule)[0];
        let err = sql_rule_error(&seg, rule, "No field named emial.", &columns());
        assert!(err.to_string().contains("did you mean `email`?"), "{err}");
    }
}
