//! YAML test entries → typed [`TestDef`]s. An entry is a test name
//! (`- unique`) or a map with one name and its arguments
//! (`- accepted_values: {values: [a, b], severity: warn}`). Unknown tests,
//! unknown or missing arguments and wrong value types are configuration
//! errors pointing at the entry, with a suggestion.

use std::path::Path;

use serde_json::{Map, Value};
use serde_saphyr::Spanned;

use super::{Severity, Subject, TableRef, TestDef, TestKind};
use crate::compile::segment::rules::string_literal;
use crate::compile::yaml_model::{FromRef, parse_from};
use crate::error::{Diagnostic, Error, Location, Result, suggestion};
use crate::project::yaml::location_of;

/// Every generic test, by its YAML name.
pub const GENERIC_TESTS: [&str; 7] = [
    "not_null",
    "unique",
    "accepted_values",
    "relationships",
    "expression_is_true",
    "accepted_range",
    "row_count",
];

/// Arguments every test takes.
const COMMON_ARGS: [&str; 4] = ["where", "severity", "name", "column"];

/// Where a list of test entries was written: the file, the tested table and column.
pub struct Context<'a> {
    pub file: &'a Path,
    pub subject: Subject,
    /// How the subject appears in generated names (`customers`, `raw_raw_customers`).
    pub subject_label: String,
    /// Set for tests listed under a column.
    pub column: Option<&'a str>,
}

/// Parse the entries of one `tests:` list.
pub fn parse_tests(entries: &[Spanned<Value>], ctx: &Context<'_>) -> Result<Vec<TestDef>> {
    entries
        .iter()
        .map(|entry| parse_entry(entry, ctx))
        .collect()
}

fn parse_entry(entry: &Spanned<Value>, ctx: &Context<'_>) -> Result<TestDef> {
    let at = location_of(ctx.file, entry);
    let (name, args) = match &entry.value {
        Value::String(name) => (name.trim().to_string(), Map::new()),
        Value::Object(map) if map.len() == 1 => {
            let (name, args) = map
                .iter()
                .next()
                .map(|(k, v)| (k.clone(), v.clone()))
                .unwrap_or_default();
            let args = match args {
                Value::Object(args) => args,
                Value::Null => Map::new(),
                other => {
                    return Err(error(
                        format!("test `{name}`: arguments must be a map, not `{other}`"),
                        at,
                        format!("write `- {name}: {{...}}` with named arguments"),
                    ));
                }
            };
            (name, args)
        }
        _ => {
            return Err(error(
                "a test is a name or a map with one test name",
                at,
                "write `- unique` or `- accepted_values: {values: [a, b]}`",
            ));
        }
    };
    if !GENERIC_TESTS.contains(&name.as_str()) {
        return Err(error(
            format!("unknown test `{name}`"),
            at,
            suggestion(&name, GENERIC_TESTS, "test"),
        ));
    }
    let args = Args {
        test: &name,
        map: args,
        at: at.clone(),
    };
    args.check_known()?;
    let column = match args.string("column")? {
        Some(c) if ctx.column.is_some() => {
            return Err(args.error(
                format!("`column: {c}` is set on a test already listed under a column"),
                "remove `column:`; tests under `columns:` test that column",
            ));
        }
        Some(c) => Some(c),
        None => ctx.column.map(str::to_string),
    };
    let kind = args.kind()?;
    let needs_column = !matches!(
        kind,
        TestKind::ExpressionIsTrue { .. } | TestKind::RowCount { .. }
    );
    if needs_column && column.is_none() {
        return Err(args.error(
            format!("test `{name}` needs a column"),
            "list it under the column's `tests:`, or add `column: <name>`",
        ));
    }
    let severity = match args.string("severity")?.as_deref() {
        None => Severity::Error,
        Some(s) if s.eq_ignore_ascii_case("error") => Severity::Error,
        Some(s) if s.eq_ignore_ascii_case("warn") => Severity::Warn,
        Some(s) => {
            return Err(args.error(
                format!("severity `{s}` is not `warn` or `error`"),
                "write `severity: warn` or `severity: error`",
            ));
        }
    };
    let test_name = match args.string("name")? {
        Some(n) => {
            crate::project::validate_identifier(&n, "test name", at.clone())?;
            n
        }
        None => generated_name(&name, &ctx.subject_label, column.as_deref()),
    };
    Ok(TestDef {
        name: test_name,
        kind,
        subject: ctx.subject.clone(),
        column,
        filter: args.string("where")?,
        severity,
        path: ctx.file.to_path_buf(),
        defined_at: at,
    })
}

/// `not_null_customers_customer_id`: letters, digits and `_` only.
fn generated_name(test: &str, subject: &str, column: Option<&str>) -> String {
    let raw = match column {
        Some(c) => format!("{test}_{subject}_{c}"),
        None => format!("{test}_{subject}"),
    };
    raw.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

fn error(message: impl Into<String>, at: Location, help: impl Into<String>) -> Error {
    Error::config(Diagnostic::new(message).at(at).help(help))
}

/// The arguments of one test entry.
struct Args<'a> {
    test: &'a str,
    map: Map<String, Value>,
    at: Location,
}

impl Args<'_> {
    fn error(&self, message: impl Into<String>, help: impl Into<String>) -> Error {
        error(
            format!("test `{}`: {}", self.test, message.into()),
            self.at.clone(),
            help,
        )
    }

    fn allowed(&self) -> Vec<&'static str> {
        let specific: &[&str] = match self.test {
            "accepted_values" => &["values"],
            "relationships" => &["to", "field"],
            "expression_is_true" => &["expression"],
            "accepted_range" => &["min", "max", "inclusive"],
            "row_count" => &["min", "max"],
            _ => &[],
        };
        COMMON_ARGS.iter().chain(specific).copied().collect()
    }

    fn check_known(&self) -> Result<()> {
        let allowed = self.allowed();
        for key in self.map.keys() {
            if !allowed.contains(&key.as_str()) {
                return Err(self.error(
                    format!("unknown argument `{key}`"),
                    suggestion(key, allowed.iter().copied(), "argument"),
                ));
            }
        }
        Ok(())
    }

    fn string(&self, key: &str) -> Result<Option<String>> {
        match self.map.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) if !s.trim().is_empty() => Ok(Some(s.trim().to_string())),
            Some(Value::Number(n)) => Ok(Some(n.to_string())),
            Some(Value::Bool(b)) => Ok(Some(b.to_string())),
            Some(other) => Err(self.error(
                format!("`{key}` must be a text, not `{other}`"),
                format!("write `{key}: ...` with one value"),
            )),
        }
    }

    fn required(&self, key: &str, example: &str) -> Result<String> {
        self.string(key)?.ok_or_else(|| {
            self.error(
                format!("missing argument `{key}`"),
                format!("write `- {}: {example}`", self.test),
            )
        })
    }

    /// A bound: a number, or a text (a date, for example) as a string literal.
    fn literal(&self, key: &str) -> Result<Option<String>> {
        match self.map.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Number(n)) => Ok(Some(n.to_string())),
            Some(Value::String(s)) => Ok(Some(string_literal(s))),
            Some(other) => Err(self.error(
                format!("`{key}` must be a number or a text, not `{other}`"),
                format!("write `{key}: 0`"),
            )),
        }
    }

    fn count(&self, key: &str) -> Result<Option<u64>> {
        match self.map.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Number(n)) if n.as_u64().is_some() => Ok(n.as_u64()),
            Some(other) => Err(self.error(
                format!("`{key}` must be a whole number of rows, not `{other}`"),
                format!("write `{key}: 1`"),
            )),
        }
    }

    fn kind(&self) -> Result<TestKind> {
        Ok(match self.test {
            "not_null" => TestKind::NotNull,
            "unique" => TestKind::Unique,
            "accepted_values" => {
                let Some(Value::Array(values)) = self.map.get("values") else {
                    return Err(self.error(
                        "`values` must be a list",
                        "write `- accepted_values: {values: [a, b]}`",
                    ));
                };
                if values.is_empty() {
                    return Err(self.error("`values` is empty", "list the accepted values"));
                }
                let values = values
                    .iter()
                    .map(|v| match v {
                        Value::String(s) => Ok(string_literal(s)),
                        Value::Number(n) => Ok(n.to_string()),
                        Value::Bool(b) => Ok(b.to_string()),
                        other => Err(self.error(
                            format!("value `{other}` is not a text, number or boolean"),
                            "list plain values",
                        )),
                    })
                    .collect::<Result<Vec<_>>>()?;
                TestKind::AcceptedValues { values }
            }
            "relationships" => {
                let to = self.required("to", "{to: ref('customers'), field: customer_id}")?;
                let to = match parse_from(&to) {
                    Some(FromRef::Ref(name)) => TableRef::Model(name),
                    Some(FromRef::Source(s, t)) => TableRef::Source(s, t),
                    None => {
                        return Err(self.error(
                            format!("`to: {to}` is not a relation reference"),
                            "write ref('model_name') or source('source_name', 'table_name')",
                        ));
                    }
                };
                let field = self.required("field", "{to: ref('customers'), field: customer_id}")?;
                TestKind::Relationships { to, field }
            }
            "expression_is_true" => TestKind::ExpressionIsTrue {
                expression: self.required("expression", "{expression: \"revenue >= 0\"}")?,
            },
            "accepted_range" => {
                let (min, max) = (self.literal("min")?, self.literal("max")?);
                if min.is_none() && max.is_none() {
                    return Err(self.error(
                        "needs `min`, `max` or both",
                        "write `- accepted_range: {min: 0, max: 100}`",
                    ));
                }
                let inclusive = match self.map.get("inclusive") {
                    None | Some(Value::Null) => true,
                    Some(Value::Bool(b)) => *b,
                    Some(other) => {
                        return Err(self.error(
                            format!("`inclusive` must be true or false, not `{other}`"),
                            "write `inclusive: false` to exclude the bounds",
                        ));
                    }
                };
                TestKind::AcceptedRange {
                    min,
                    max,
                    inclusive,
                }
            }
            "row_count" => {
                let (min, max) = (self.count("min")?, self.count("max")?);
                if min.is_none() && max.is_none() {
                    return Err(self.error(
                        "needs `min`, `max` or both",
                        "write `- row_count: {min: 1}`",
                    ));
                }
                TestKind::RowCount { min, max }
            }
            other => {
                return Err(self.error(
                    format!("unknown test `{other}`"),
                    suggestion(other, GENERIC_TESTS, "test"),
                ));
            }
        })
    }
}

/// A source table's `freshness:` (`warn_after` and/or `error_after`, each
/// `{count: N, period: minute|hour|day}`, and an optional `filter:`) → one
/// test per threshold, named `freshness_<source>_<table>_warn|error`.
pub fn parse_freshness(
    value: &Spanned<Value>,
    loaded_at_field: Option<&str>,
    ctx: &Context<'_>,
) -> Result<Vec<TestDef>> {
    let at = location_of(ctx.file, value);
    let map = match &value.value {
        Value::Null => return Ok(Vec::new()),
        Value::Object(map) => map,
        other => {
            return Err(error(
                format!("freshness must be a map, not `{other}`"),
                at,
                "write `freshness: {warn_after: {count: 1, period: day}}`",
            ));
        }
    };
    let known = ["warn_after", "error_after", "filter"];
    for key in map.keys() {
        if !known.contains(&key.as_str()) {
            return Err(error(
                format!("freshness: unknown key `{key}`"),
                at,
                suggestion(key, known, "key"),
            ));
        }
    }
    let Some(field) = loaded_at_field else {
        return Err(error(
            "freshness needs `loaded_at_field`",
            at,
            "add `loaded_at_field: <TIMESTAMP column>` to the table (or its source)",
        ));
    };
    let filter = match map.get("filter") {
        None | Some(Value::Null) => None,
        Some(Value::String(f)) => Some(f.clone()),
        Some(other) => {
            return Err(error(
                format!("freshness: `filter` must be a text, not `{other}`"),
                at,
                "write `filter: \"...\"` with a BigQuery condition",
            ));
        }
    };
    let mut tests = Vec::new();
    for (key, severity) in [
        ("warn_after", Severity::Warn),
        ("error_after", Severity::Error),
    ] {
        let Some(after) = map.get(key).filter(|v| !v.is_null()) else {
            continue;
        };
        let minutes = age_minutes(after).ok_or_else(|| {
            error(
                format!("freshness: `{key}` must be {{count: N, period: minute|hour|day}}, not `{after}`"),
                at.clone(),
                format!("write `{key}: {{count: 1, period: day}}`"),
            )
        })?;
        tests.push(TestDef {
            name: format!(
                "freshness_{}_{}",
                ctx.subject_label,
                if severity == Severity::Warn {
                    "warn"
                } else {
                    "error"
                }
            ),
            kind: TestKind::Freshness {
                field: field.to_string(),
                minutes,
            },
            subject: ctx.subject.clone(),
            column: None,
            filter: filter.clone(),
            severity,
            path: ctx.file.to_path_buf(),
            defined_at: at.clone(),
        });
    }
    if tests.is_empty() {
        return Err(error(
            "freshness sets neither `warn_after` nor `error_after`",
            at,
            "write `freshness: {warn_after: {count: 1, period: day}}`",
        ));
    }
    Ok(tests)
}

/// `{count: 2, period: day}` in minutes.
fn age_minutes(value: &Value) -> Option<u64> {
    let map = value.as_object()?;
    if map.keys().any(|k| k != "count" && k != "period") {
        return None;
    }
    let count = map.get("count")?.as_u64().filter(|c| *c > 0)?;
    let unit = match map
        .get("period")?
        .as_str()?
        .trim()
        .to_ascii_lowercase()
        .trim_end_matches('s')
    {
        "minute" => 1,
        "hour" => 60,
        "day" => 24 * 60,
        _ => return None,
    };
    count.checked_mul(unit)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(yaml: &str, column: Option<&str>) -> Result<Vec<TestDef>> {
        let entries: Vec<Spanned<Value>> = serde_saphyr::from_str(yaml).expect("yaml");
        parse_tests(
            &entries,
            &Context {
                file: Path::new("models/schema.yml"),
                subject: Subject::Model("customers".into()),
                subject_label: "customers".into(),
                column,
            },
        )
    }

    #[test]
    fn names_and_arguments() {
        let tests = parse(
            "- unique\n- accepted_values: {values: [a, \"it's\"], severity: warn, where: \"x > 1\"}\n",
            Some("tier"),
        )
        .expect("valid");
        assert_eq!(tests[0].name, "unique_customers_tier");
        assert_eq!(tests[1].severity, Severity::Warn);
        assert_eq!(tests[1].filter.as_deref(), Some("x > 1"));
        assert_eq!(
            tests[1].kind,
            TestKind::AcceptedValues {
                values: vec!["'a'".into(), "'it\\'s'".into()]
            }
        );
    }

    #[test]
    fn unknown_test_suggests_and_points_at_the_entry() {
        let err = parse("- unique\n- not_nul\n", Some("id")).expect_err("unknown test");
        let d = err.diagnostic().expect("diagnostic");
        assert!(d.message.contains("unknown test `not_nul`"), "{d}");
        assert_eq!(d.location.as_ref().map(|l| l.line), Some(2), "{d}");
        assert_eq!(d.help.as_deref(), Some("did you mean `not_null`?"));
    }

    #[test]
    fn bad_arguments_are_config_errors() {
        for (yaml, needle) in [
            (
                "- accepted_values: {valuez: [a]}",
                "unknown argument `valuez`",
            ),
            ("- accepted_range: {inclusive: false}", "needs `min`"),
            ("- row_count: {min: -1}", "whole number"),
            (
                "- relationships: {to: customers, field: id}",
                "not a relation",
            ),
            ("- unique: {severity: fatal}", "severity `fatal`"),
        ] {
            let err = parse(yaml, Some("id")).expect_err(yaml);
            assert!(err.is_config());
            assert!(err.to_string().contains(needle), "{yaml}: {err}");
        }
        assert_eq!(
            age_minutes(&serde_json::json!({"count": 2, "period": "hours"})),
            Some(120)
        );
        assert_eq!(
            age_minutes(&serde_json::json!({"count": 0, "period": "day"})),
            None
        );
        assert_eq!(
            age_minutes(&serde_json::json!({"count": 1, "period": "week"})),
            None
        );
        let err = parse("- unique", None).expect_err("model-level unique needs a column");
        assert!(err.to_string().contains("needs a column"), "{err}");
    }
}
