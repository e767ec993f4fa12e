//! Reading `segments:` YAML into typed [`Segment`]s. The YAML shape is
//! checked here: keys (unknown ones get a suggestion), rule kinds, operators,
//! the shape and type of values, time windows and output column names.

use std::path::Path;

use serde::Deserialize;
use serde_saphyr::Spanned;

use super::{
    Comparison, Literal, LiteralValue, Name, Op, Operand, Rule, SEGMENT_COLUMN, Segment, SqlRule,
    TimeUnit, Window, WindowKind,
};
use crate::error::{Diagnostic, Error, Location, Result, closest};
use crate::project::schema_file::ModelConfig;
use crate::project::yaml::location_of;

/// A `segments/*.yml` file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SegmentFile {
    #[serde(default)]
    pub version: Option<u32>,
    #[serde(default)]
    pub segments: Vec<Spanned<SegmentDef>>,
    /// Unit tests of segments (given customers, expect members).
    #[serde(default)]
    pub unit_tests: Vec<Spanned<crate::testing::unit::UnitTestDef>>,
    /// Exports of these segments (the same entries as in `exports/*.yml`).
    #[serde(default)]
    pub exports: Vec<Spanned<crate::project::export::ExportDef>>,
}

/// One entry under `segments:`, as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SegmentDef {
    pub name: String,
    #[serde(default)]
    pub description: Option<String>,
    /// `ref('model')`: one row per entity.
    pub from: Spanned<String>,
    pub entity_key: Spanned<String>,
    pub rules: Spanned<RuleDef>,
    /// Columns of `from` carried into the membership rows.
    #[serde(default)]
    pub attributes: Vec<Spanned<String>>,
    #[serde(default)]
    pub tags: Vec<String>,
    /// Drift guard: the largest day-over-day size change, `25%` or `0.25`.
    #[serde(default)]
    pub max_daily_change: Option<Spanned<serde_json::Value>>,
    #[serde(default)]
    pub config: Option<ModelConfig>,
    /// Generic tests of the membership table (`unique: {column: customer_id}`, `row_count`, ...).
    #[serde(default, alias = "data_tests")]
    pub tests: Vec<Spanned<serde_json::Value>>,
}

/// One rule, as written: a group (`all`, `any`, `not`), a column test or `sql:`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleDef {
    #[serde(default)]
    pub all: Option<Vec<Spanned<RuleDef>>>,
    #[serde(default)]
    pub any: Option<Vec<Spanned<RuleDef>>>,
    #[serde(default)]
    pub not: Option<Box<Spanned<RuleDef>>>,
    #[serde(default)]
    pub column: Option<Spanned<String>>,
    #[serde(default)]
    pub op: Option<Spanned<String>>,
    #[serde(default)]
    pub value: Option<Spanned<serde_json::Value>>,
    #[serde(default)]
    pub within_last: Option<Spanned<String>>,
    #[serde(default)]
    pub older_than: Option<Spanned<String>>,
    #[serde(default)]
    pub sql: Option<Spanned<String>>,
}

impl Segment {
    /// Validate a parsed definition from `file`.
    pub fn from_def(def: Spanned<SegmentDef>, file: &Path) -> Result<Segment> {
        let defined_at = location_of(file, &def);
        let def = def.value;
        crate::project::validate_identifier(&def.name, "segment name", defined_at.clone())?;
        let ctx = Ctx {
            file,
            segment: &def.name,
        };
        let entity_key = ctx.name(&def.entity_key, "entity_key")?;
        let mut attributes = Vec::new();
        for attribute in &def.attributes {
            let name = ctx.name(attribute, "attribute")?;
            let taken = std::iter::once(&entity_key)
                .chain(attributes.iter())
                .any(|n: &Name| n.name.eq_ignore_ascii_case(&name.name));
            if taken || name.name.eq_ignore_ascii_case(SEGMENT_COLUMN) {
                return Err(ctx.error(
                    format!("attribute `{}` is listed twice (or is the entity_key, or `{SEGMENT_COLUMN}`)", name.name),
                    name.at,
                    "membership rows hold the entity_key, each attribute once, and the `segment` column",
                ));
            }
            attributes.push(name);
        }
        if entity_key.name.eq_ignore_ascii_case(SEGMENT_COLUMN) {
            return Err(ctx.error(
                format!("entity_key cannot be `{SEGMENT_COLUMN}`: membership rows use that column for the segment's name"),
                entity_key.at,
                "rename the column in the upstream model",
            ));
        }
        let max_daily_change = match &def.max_daily_change {
            None => None,
            Some(value) => Some(parse_change(&value.value).ok_or_else(|| {
                ctx.error(
                    format!("max_daily_change `{}` is not a percentage", value.value),
                    location_of(file, value),
                    "write a share of the previous size, e.g. max_daily_change: 25% (or 0.25)",
                )
            })?),
        };
        let rule = ctx.rule(def.rules)?;
        Ok(Segment {
            max_daily_change,
            name: def.name,
            description: def.description,
            from_at: location_of(file, &def.from),
            from: def.from.value,
            entity_key,
            attributes,
            rule,
            defined_at,
        })
    }
}

/// `25%` → 0.25; a number is a fraction (`0.25`). Negative values are refused.
fn parse_change(value: &serde_json::Value) -> Option<f64> {
    let fraction = match value {
        serde_json::Value::Number(n) => n.as_f64()?,
        serde_json::Value::String(s) => {
            s.trim().strip_suffix('%')?.trim().parse::<f64>().ok()? / 100.0
        }
        _ => return None,
    };
    (fraction.is_finite() && fraction >= 0.0).then_some(fraction)
}

/// Validation context: the file and the segment, for messages.
struct Ctx<'a> {
    file: &'a Path,
    segment: &'a str,
}

const RULE_SHAPES: &str = "a rule is one of {all: [...]}, {any: [...]}, {not: {...}}, {column: c, op: gt, value: 2}, {column: c, within_last: 30 days}, {column: c, older_than: 90 days} or {sql: \"...\"}";

impl Ctx<'_> {
    fn error(&self, message: impl AsRef<str>, at: Location, help: impl Into<String>) -> Error {
        Error::config(
            Diagnostic::new(format!("segment `{}`: {}", self.segment, message.as_ref()))
                .at(at)
                .help(help),
        )
    }

    fn at<T>(&self, spanned: &Spanned<T>) -> Location {
        location_of(self.file, spanned)
    }

    fn name(&self, spanned: &Spanned<String>, what: &str) -> Result<Name> {
        let at = self.at(spanned);
        let name = spanned.value.trim();
        let valid = !name.is_empty()
            && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
            && !name.starts_with(|c: char| c.is_ascii_digit());
        if !valid {
            return Err(self.error(
                format!("{what} `{name}` is not a column name"),
                at,
                "column names are letters, digits and `_` (for expressions, use a {sql: \"...\"} rule)",
            ));
        }
        Ok(Name {
            name: name.to_string(),
            at,
        })
    }

    fn rule(&self, def: Spanned<RuleDef>) -> Result<Rule> {
        let at = self.at(&def);
        let d = def.value;
        let groups = [d.all.is_some(), d.any.is_some(), d.not.is_some()];
        let shapes = groups.iter().filter(|g| **g).count()
            + usize::from(d.column.is_some())
            + usize::from(d.sql.is_some());
        if shapes != 1 {
            let message = if shapes == 0 {
                "empty rule".to_string()
            } else {
                "a rule mixes several kinds (group, column test, sql)".to_string()
            };
            return Err(self.error(message, at, RULE_SHAPES));
        }
        let group = match (d.all, d.any) {
            (Some(rules), _) => Some((true, rules)),
            (None, Some(rules)) => Some((false, rules)),
            (None, None) => None,
        };
        if let Some((is_all, rules)) = group {
            if rules.is_empty() {
                return Err(self.error(
                    format!("`{}:` holds no rules", if is_all { "all" } else { "any" }),
                    at,
                    "list at least one rule",
                ));
            }
            let rules = rules
                .into_iter()
                .map(|r| self.rule(r))
                .collect::<Result<Vec<_>>>()?;
            return Ok(if is_all {
                Rule::All(rules)
            } else {
                Rule::Any(rules)
            });
        }
        if let Some(inner) = d.not {
            return Ok(Rule::Not(Box::new(self.rule(*inner)?)));
        }
        if let Some(sql) = d.sql {
            if d.op.is_some()
                || d.value.is_some()
                || d.within_last.is_some()
                || d.older_than.is_some()
            {
                return Err(self.error(
                    "a `sql:` rule takes no other keys",
                    at,
                    "write the whole condition in `sql:`",
                ));
            }
            if sql.value.trim().is_empty() {
                return Err(self.error(
                    "`sql:` is empty",
                    self.at(&sql),
                    "write one BigQuery boolean expression",
                ));
            }
            return Ok(Rule::Sql(SqlRule {
                text: sql.value.trim().to_string(),
                at: self.at(&sql),
            }));
        }
        let Some(column) = d.column else {
            return Err(self.error("empty rule", at, RULE_SHAPES));
        };
        let column = self.name(&column, "column")?;
        match (d.op, d.within_last, d.older_than) {
            (Some(op), None, None) => self.comparison(column, op, d.value, at),
            (None, Some(window), None) if d.value.is_none() => {
                self.window(column, WindowKind::WithinLast, &window, at)
            }
            (None, None, Some(window)) if d.value.is_none() => {
                self.window(column, WindowKind::OlderThan, &window, at)
            }
            (None, None, None) => Err(self.error(
                format!("rule on `{}` has no `op:`", column.name),
                at,
                "add op: eq|ne|gt|gte|lt|lte|between|in|not_in|is_null|not_null|contains|starts_with, or within_last:/older_than:",
            )),
            _ => Err(self.error(
                format!(
                    "rule on `{}` has more than one test (op, within_last, older_than)",
                    column.name
                ),
                at,
                "write one test per rule and combine rules with all:/any:",
            )),
        }
    }

    fn comparison(
        &self,
        column: Name,
        op: Spanned<String>,
        value: Option<Spanned<serde_json::Value>>,
        at: Location,
    ) -> Result<Rule> {
        let op_at = self.at(&op);
        let op_name = op.value.trim().to_ascii_lowercase();
        let Some(op) = Op::ALL
            .iter()
            .find(|(n, _)| *n == op_name)
            .map(|(_, op)| *op)
        else {
            let names = Op::ALL.iter().map(|(n, _)| *n);
            let help = match closest(&op_name, names.clone()) {
                Some(best) => format!("did you mean `{best}`?"),
                None => format!("operators: {}", names.collect::<Vec<_>>().join(", ")),
            };
            return Err(self.error(format!("unknown operator `{}`", op.value), op_at, help));
        };
        let operand = match (op, value) {
            (Op::IsNull | Op::NotNull, None) => Operand::None,
            (Op::IsNull | Op::NotNull, Some(v)) => {
                return Err(self.error(
                    format!("`{}` takes no value", op.name()),
                    self.at(&v),
                    "remove `value:`",
                ));
            }
            (_, None) => {
                return Err(self.error(
                    format!("`{}` on `{}` needs a `value:`", op.name(), column.name),
                    at,
                    format!("{}; to test for NULL use op: is_null", value_help(op)),
                ));
            }
            (_, Some(v)) => self.operand(op, v)?,
        };
        Ok(Rule::Compare(Comparison {
            column,
            op,
            operand,
            at,
        }))
    }

    fn operand(&self, op: Op, value: Spanned<serde_json::Value>) -> Result<Operand> {
        let at = self.at(&value);
        let shape_error = |what: &str| {
            self.error(
                format!("`{}` needs {what}", op.name()),
                at.clone(),
                value_help(op),
            )
        };
        match (op, value.value) {
            (Op::Between, serde_json::Value::Array(items)) => match items.as_slice() {
                [low, high] => Ok(Operand::Range(
                    self.literal(low, &at)?,
                    self.literal(high, &at)?,
                )),
                _ => Err(shape_error("a list of two values")),
            },
            (Op::Between, _) => Err(shape_error("a list of two values")),
            (Op::In | Op::NotIn, serde_json::Value::Array(items)) => {
                if items.is_empty() {
                    return Err(shape_error("a non-empty list"));
                }
                let literals = items
                    .iter()
                    .map(|v| self.literal(v, &at))
                    .collect::<Result<Vec<_>>>()?;
                Ok(Operand::List(literals))
            }
            (Op::In | Op::NotIn, _) => Err(shape_error("a list of values")),
            (_, serde_json::Value::Array(_)) => Err(shape_error("a single value")),
            (_, v) => {
                let literal = self.literal(&v, &at)?;
                if op.is_text() && !matches!(literal.value, LiteralValue::String(_)) {
                    return Err(shape_error("a string value"));
                }
                Ok(Operand::One(literal))
            }
        }
    }

    fn literal(&self, value: &serde_json::Value, at: &Location) -> Result<Literal> {
        let value = match value {
            serde_json::Value::Bool(b) => LiteralValue::Bool(*b),
            serde_json::Value::Number(n) => match (n.as_i64(), n.as_f64()) {
                (Some(i), _) => LiteralValue::Int(i),
                (None, Some(f)) if n.is_f64() && f.is_finite() => LiteralValue::Float(f),
                _ => {
                    return Err(self.error(
                        format!("number `{n}` is out of range"),
                        at.clone(),
                        "INT64 values lie between -9223372036854775808 and 9223372036854775807",
                    ));
                }
            },
            serde_json::Value::String(s) => {
                if let Some(c) = s
                    .chars()
                    .find(|c| c.is_control() && !matches!(*c, '\n' | '\r' | '\t'))
                {
                    return Err(self.error(
                        format!(
                            "string value holds a control character (U+{:04X})",
                            c as u32
                        ),
                        at.clone(),
                        "remove the control character",
                    ));
                }
                LiteralValue::String(s.clone())
            }
            serde_json::Value::Null => {
                return Err(self.error(
                    "value is null",
                    at.clone(),
                    "to test for NULL use op: is_null (or not_null)",
                ));
            }
            serde_json::Value::Array(_) | serde_json::Value::Object(_) => {
                return Err(self.error(
                    "values are numbers, strings, booleans or dates",
                    at.clone(),
                    "lists are only for between, in and not_in",
                ));
            }
        };
        Ok(Literal {
            value,
            at: at.clone(),
        })
    }

    fn window(
        &self,
        column: Name,
        kind: WindowKind,
        text: &Spanned<String>,
        at: Location,
    ) -> Result<Rule> {
        let Some((amount, unit)) = parse_window(&text.value) else {
            return Err(self.error(
                format!("`{}: {}` is not a time window", kind.key(), text.value),
                self.at(text),
                format!(
                    "write e.g. `{}: 30 days` (units: days, weeks, months, years)",
                    kind.key()
                ),
            ));
        };
        Ok(Rule::Window(Window {
            column,
            kind,
            amount,
            unit,
            at,
        }))
    }
}

fn value_help(op: Op) -> String {
    match op {
        Op::Between => "e.g. {column: days_since_last_order, op: between, value: [60, 90]}".into(),
        Op::In | Op::NotIn => format!(
            "e.g. {{column: country, op: {}, value: [DE, FR]}}",
            op.name()
        ),
        Op::Contains | Op::StartsWith => format!(
            "e.g. {{column: email, op: {}, value: \"@example.com\"}}",
            op.name()
        ),
        _ => format!("e.g. {{column: orders_total, op: {}, value: 2}}", op.name()),
    }
}

/// `30 days`, `1 week`, `6 months`, `2 years` (also `30d`).
pub fn parse_window(text: &str) -> Option<(u32, TimeUnit)> {
    let text = text.trim().to_ascii_lowercase();
    let split = text.find(|c: char| !c.is_ascii_digit())?;
    let (number, unit) = text.split_at(split);
    let amount: u32 = number.parse().ok()?;
    let unit = match unit.trim() {
        "d" | "day" | "days" => TimeUnit::Day,
        "w" | "week" | "weeks" => TimeUnit::Week,
        "month" | "months" => TimeUnit::Month,
        "y" | "year" | "years" => TimeUnit::Year,
        _ => return None,
    };
    (amount > 0 && amount <= 100_000).then_some((amount, unit))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(yaml: &str) -> Result<Segment> {
        let file: SegmentFile = crate::project::yaml::parse(Path::new("segments/s.yml"), yaml)?;
        let def = file.segments.into_iter().next().expect("one segment");
        Segment::from_def(def, Path::new("segments/s.yml"))
    }

    fn diag(yaml: &str) -> Diagnostic {
        let err = load(yaml).expect_err("must fail");
        assert!(err.is_config());
        err.diagnostic().expect("diagnostic").clone()
    }

    const HEAD: &str = "segments:\n  - name: s\n    from: ref('f')\n    entity_key: id\n";

    #[test]
    fn reads_nested_rules_with_locations() {
        let yaml = format!(
            "{HEAD}    attributes: [email]\n    rules:\n      all:\n        - {{column: n, op: gt, value: 2}}\n        - any:\n            - {{column: c, op: in, value: [DE, FR]}}\n            - not: {{column: e, op: is_null}}\n        - {{column: t, within_last: 30 days}}\n        - {{sql: \"a < b\"}}\n"
        );
        let seg = load(&yaml).unwrap();
        assert_eq!(seg.entity_key.name, "id");
        assert_eq!(seg.attributes[0].name, "email");
        let Rule::All(rules) = &seg.rule else {
            panic!("{:?}", seg.rule)
        };
        assert_eq!(rules.len(), 4);
        let Rule::Compare(c) = &rules[0] else {
            panic!()
        };
        assert_eq!(c.op, Op::Gt);
        assert_eq!(c.column.at.line, 8);
        assert!(matches!(
            c.operand,
            Operand::One(Literal {
                value: LiteralValue::Int(2),
                ..
            })
        ));
        let Rule::Any(any) = &rules[1] else { panic!() };
        assert!(matches!(&any[1], Rule::Not(_)));
        let Rule::Window(w) = &rules[2] else { panic!() };
        assert_eq!(
            (w.kind, w.amount, w.unit),
            (WindowKind::WithinLast, 30, TimeUnit::Day)
        );
        let Rule::Sql(s) = &rules[3] else { panic!() };
        assert_eq!(s.text, "a < b");
    }

    #[test]
    fn unknown_operator_suggests_and_points_at_it() {
        let d = diag(&format!(
            "{HEAD}    rules:\n      all:\n        - {{column: n, op: gte_, value: 2}}\n"
        ));
        assert!(d.message.contains("unknown operator `gte_`"), "{d}");
        assert_eq!(d.help.as_deref(), Some("did you mean `gte`?"));
        let at = d.location.clone().unwrap();
        assert_eq!((at.line, at.column), (7, 27), "{d}");
    }

    #[test]
    fn unknown_rule_key_suggests() {
        let d = diag(&format!(
            "{HEAD}    rules:\n      all:\n        - {{colum: n, op: gt, value: 2}}\n"
        ));
        assert!(d.message.contains("unknown field `colum`"), "{d}");
        assert_eq!(d.help.as_deref(), Some("did you mean `column`?"));
        assert_eq!(d.location.as_ref().unwrap().line, 7);
    }

    #[test]
    fn value_shapes_are_checked() {
        for (rule, expected) in [
            ("{column: n, op: between, value: 3}", "a list of two values"),
            (
                "{column: n, op: between, value: [1, 2, 3]}",
                "a list of two values",
            ),
            ("{column: n, op: in, value: []}", "a non-empty list"),
            ("{column: n, op: gt}", "needs a `value:`"),
            ("{column: n, op: is_null, value: 1}", "takes no value"),
            ("{column: n, op: contains, value: 1}", "a string value"),
            ("{column: n, op: eq, value: null}", "needs a `value:`"),
            ("{column: n, op: in, value: [1, null]}", "value is null"),
            ("{column: n, op: eq, value: [1]}", "a single value"),
            ("{column: n, within_last: soon}", "is not a time window"),
            (
                "{column: n, within_last: 3 fortnights}",
                "is not a time window",
            ),
            (
                "{column: n, op: eq, value: 1, within_last: 3 days}",
                "more than one test",
            ),
            ("{column: n}", "has no `op:`"),
            (
                "{column: \"n; drop\", op: eq, value: 1}",
                "is not a column name",
            ),
            ("{sql: \"a\", column: b}", "mixes several kinds"),
            ("{sql: \"a\", op: eq}", "takes no other keys"),
            ("{}", "empty rule"),
            ("{all: []}", "holds no rules"),
            (
                "{column: n, op: eq, value: \"a\\x01\"}",
                "control character",
            ),
        ] {
            let d = diag(&format!("{HEAD}    rules:\n      all:\n        - {rule}\n"));
            assert!(d.message.contains(expected), "{rule}: {d}");
            assert_eq!(d.location.as_ref().unwrap().line, 7, "{rule}: {d}");
        }
    }

    #[test]
    fn output_columns_are_unique() {
        let d = diag(&format!(
            "{HEAD}    attributes: [email, ID]\n    rules: {{column: n, op: is_null}}\n"
        ));
        assert!(d.message.contains("listed twice"), "{d}");
        assert_eq!(d.location.as_ref().unwrap().line, 5);
    }

    #[test]
    fn windows_parse() {
        assert_eq!(parse_window("30 days"), Some((30, TimeUnit::Day)));
        assert_eq!(parse_window("1 week"), Some((1, TimeUnit::Week)));
        assert_eq!(parse_window("6 Months"), Some((6, TimeUnit::Month)));
        assert_eq!(parse_window("2y"), Some((2, TimeUnit::Year)));
        assert_eq!(parse_window("0 days"), None);
        assert_eq!(parse_window("-3 days"), None);
        assert_eq!(parse_window("days"), None);
    }

    #[test]
    fn max_daily_change_is_a_percentage_or_a_fraction() {
        use serde_json::json;
        assert_eq!(parse_change(&json!("25%")), Some(0.25));
        assert_eq!(parse_change(&json!(" 10 % ")), Some(0.1));
        assert_eq!(parse_change(&json!(0.5)), Some(0.5));
        assert_eq!(parse_change(&json!("25")), None);
        assert_eq!(parse_change(&json!("-5%")), None);
        assert_eq!(parse_change(&json!(true)), None);
    }
}
