//! Segment rules → one BigQuery boolean expression. Every value is written
//! as a typed literal (numbers, booleans, escaped strings); column names are
//! validated identifiers; `sql:` rules are checked to be one expression and
//! wrapped in parentheses. Time windows are relative to `as_of`, with the
//! column cast to DATE so DATE, DATETIME and TIMESTAMP columns read alike.

use chrono::NaiveDate;

use super::expr::check_expression;
use crate::error::{Diagnostic, Error, Result};
use crate::project::segment::{
    Comparison, Literal, LiteralValue, Op, Operand, Rule, Window, WindowKind,
};

/// The condition of `rule`, as BigQuery SQL; `segment` names the segment in errors.
pub fn condition(rule: &Rule, as_of: NaiveDate, segment: &str) -> Result<String> {
    render(rule, as_of, segment, false)
}

/// The top-level conditions of `rule` (its `all:` members, or itself), each as SQL.
pub fn conjuncts(rule: &Rule, as_of: NaiveDate, segment: &str) -> Result<Vec<String>> {
    match rule {
        Rule::All(rules) => rules
            .iter()
            .map(|r| render(r, as_of, segment, true))
            .collect(),
        other => Ok(vec![render(other, as_of, segment, true)?]),
    }
}

fn render(rule: &Rule, as_of: NaiveDate, segment: &str, nested: bool) -> Result<String> {
    let group = |rules: &[Rule], joiner: &str| -> Result<String> {
        let parts = rules
            .iter()
            .map(|r| render(r, as_of, segment, true))
            .collect::<Result<Vec<_>>>()?;
        let joined = parts.join(joiner);
        Ok(if nested && parts.len() > 1 {
            format!("({joined})")
        } else {
            joined
        })
    };
    match rule {
        Rule::All(rules) => group(rules, " and "),
        Rule::Any(rules) => group(rules, " or "),
        Rule::Not(inner) => Ok(format!("not ({})", render(inner, as_of, segment, false)?)),
        Rule::Compare(c) => Ok(comparison(c)),
        Rule::Window(w) => Ok(window(w, as_of, nested)),
        Rule::Sql(sql) => {
            check_expression(&sql.text).map_err(|message| {
                Error::config(
                    Diagnostic::new(format!("segment `{segment}`: `sql:` rule: {message}"))
                        .at(sql.at.clone())
                        .help("write one BigQuery boolean expression, e.g. sql: \"sessions_30d < sessions_prev_30d\""),
                )
            })?;
            Ok(format!("({})", sql.text))
        }
    }
}

fn comparison(c: &Comparison) -> String {
    let column = identifier(&c.column.name);
    let binary = |op: &str, l: &Literal| format!("{column} {op} {}", literal(&l.value));
    match (c.op, &c.operand) {
        (Op::IsNull, _) => format!("{column} is null"),
        (Op::NotNull, _) => format!("{column} is not null"),
        (Op::Eq, Operand::One(l)) => binary("=", l),
        (Op::Ne, Operand::One(l)) => binary("!=", l),
        (Op::Gt, Operand::One(l)) => binary(">", l),
        (Op::Gte, Operand::One(l)) => binary(">=", l),
        (Op::Lt, Operand::One(l)) => binary("<", l),
        (Op::Lte, Operand::One(l)) => binary("<=", l),
        (Op::Between, Operand::Range(low, high)) => format!(
            "{column} between {} and {}",
            literal(&low.value),
            literal(&high.value)
        ),
        (Op::In | Op::NotIn, Operand::List(items)) => {
            let list: Vec<String> = items.iter().map(|l| literal(&l.value)).collect();
            let not = if c.op == Op::NotIn { "not " } else { "" };
            format!("{column} {not}in ({})", list.join(", "))
        }
        (Op::Contains, Operand::One(l)) => format!("strpos({column}, {}) > 0", literal(&l.value)),
        (Op::StartsWith, Operand::One(l)) => {
            format!("starts_with({column}, {})", literal(&l.value))
        }
        // Loading guarantees each operator's operand shape; anything else matches nothing.
        _ => "false".to_string(),
    }
}

fn window(w: &Window, as_of: NaiveDate, nested: bool) -> String {
    let column = format!("cast({} as date)", identifier(&w.column.name));
    let day = date_literal(as_of);
    let start = format!("date_sub({day}, interval {} {})", w.amount, w.unit.sql());
    match w.kind {
        WindowKind::WithinLast => {
            let both = format!("{column} > {start} and {column} <= {day}");
            if nested { format!("({both})") } else { both }
        }
        WindowKind::OlderThan => format!("{column} <= {start}"),
    }
}

/// `date '2026-11-23'`.
pub fn date_literal(date: NaiveDate) -> String {
    format!("date '{}'", date.format("%Y-%m-%d"))
}

/// A typed BigQuery literal.
pub fn literal(value: &LiteralValue) -> String {
    match value {
        LiteralValue::Int(i) => i.to_string(),
        // `{:?}` keeps a decimal point or exponent, so the literal stays FLOAT64.
        LiteralValue::Float(f) => format!("{f:?}"),
        LiteralValue::Bool(b) => b.to_string(),
        LiteralValue::String(s) => string_literal(s),
    }
}

/// A single-quoted BigQuery string literal; backslashes, quotes and line
/// breaks are escaped, so the value can never end the literal early.
pub fn string_literal(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 2);
    out.push('\'');
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\'' => out.push_str("\\'"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('\'');
    out
}

/// A column name (already validated: letters, digits, `_`), quoted when it is reserved.
pub fn identifier(name: &str) -> String {
    if RESERVED.contains(&name.to_ascii_uppercase().as_str()) {
        format!("`{name}`")
    } else {
        name.to_string()
    }
}

/// BigQuery's reserved keywords (GoogleSQL lexical structure).
const RESERVED: &[&str] = &[
    "ALL",
    "AND",
    "ANY",
    "ARRAY",
    "AS",
    "ASC",
    "ASSERT_ROWS_MODIFIED",
    "AT",
    "BETWEEN",
    "BY",
    "CASE",
    "CAST",
    "COLLATE",
    "CONTAINS",
    "CREATE",
    "CROSS",
    "CUBE",
    "CURRENT",
    "DEFAULT",
    "DEFINE",
    "DESC",
    "DISTINCT",
    "ELSE",
    "END",
    "ENUM",
    "ESCAPE",
    "EXCEPT",
    "EXCLUDE",
    "EXISTS",
    "EXTRACT",
    "FALSE",
    "FETCH",
    "FOLLOWING",
    "FOR",
    "FROM",
    "FULL",
    "GROUP",
    "GROUPING",
    "GROUPS",
    "HASH",
    "HAVING",
    "IF",
    "IGNORE",
    "IN",
    "INNER",
    "INTERSECT",
    "INTERVAL",
    "INTO",
    "IS",
    "JOIN",
    "LATERAL",
    "LEFT",
    "LIKE",
    "LIMIT",
    "LOOKUP",
    "MERGE",
    "NATURAL",
    "NEW",
    "NO",
    "NOT",
    "NULL",
    "NULLS",
    "OF",
    "ON",
    "OR",
    "ORDER",
    "OUTER",
    "OVER",
    "PARTITION",
    "PRECEDING",
    "PROTO",
    "QUALIFY",
    "RANGE",
    "RECURSIVE",
    "RESPECT",
    "RIGHT",
    "ROLLUP",
    "ROWS",
    "SELECT",
    "SET",
    "SOME",
    "STRUCT",
    "TABLESAMPLE",
    "THEN",
    "TO",
    "TREAT",
    "TRUE",
    "UNBOUNDED",
    "UNION",
    "UNNEST",
    "USING",
    "WHEN",
    "WHERE",
    "WINDOW",
    "WITH",
    "WITHIN",
];

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Location;
    use crate::project::segment::{Name, SqlRule, TimeUnit};

    fn at() -> Location {
        Location::new("segments/s.yml", 3, 5)
    }

    fn name(n: &str) -> Name {
        Name {
            name: n.into(),
            at: at(),
        }
    }

    fn lit(v: LiteralValue) -> Literal {
        Literal { value: v, at: at() }
    }

    fn cmp(column: &str, op: Op, operand: Operand) -> Rule {
        Rule::Compare(Comparison {
            column: name(column),
            op,
            operand,
            at: at(),
        })
    }

    fn one(v: LiteralValue) -> Operand {
        Operand::One(lit(v))
    }

    fn as_of() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, 23).unwrap()
    }

    fn sql(rule: &Rule) -> String {
        condition(rule, as_of(), "s").unwrap()
    }

    #[test]
    fn every_operator() {
        use LiteralValue::*;
        let cases = [
            (cmp("n", Op::Eq, one(Int(2))), "n = 2"),
            (cmp("n", Op::Ne, one(Int(-2))), "n != -2"),
            (cmp("n", Op::Gt, one(Float(2.5))), "n > 2.5"),
            (cmp("n", Op::Gte, one(Float(2.0))), "n >= 2.0"),
            (cmp("n", Op::Lt, one(Int(7))), "n < 7"),
            (
                cmp("d", Op::Lte, one(String("2026-01-01".into()))),
                "d <= '2026-01-01'",
            ),
            (
                cmp("n", Op::Between, Operand::Range(lit(Int(60)), lit(Int(90)))),
                "n between 60 and 90",
            ),
            (
                cmp(
                    "c",
                    Op::In,
                    Operand::List(vec![lit(String("DE".into())), lit(String("FR".into()))]),
                ),
                "c in ('DE', 'FR')",
            ),
            (
                cmp("c", Op::NotIn, Operand::List(vec![lit(Int(1))])),
                "c not in (1)",
            ),
            (cmp("e", Op::IsNull, Operand::None), "e is null"),
            (cmp("e", Op::NotNull, Operand::None), "e is not null"),
            (cmp("b", Op::Eq, one(Bool(true))), "b = true"),
            (
                cmp("e", Op::Contains, one(String("@x.com".into()))),
                "strpos(e, '@x.com') > 0",
            ),
            (
                cmp("e", Op::StartsWith, one(String("vip".into()))),
                "starts_with(e, 'vip')",
            ),
        ];
        for (rule, expected) in cases {
            assert_eq!(sql(&rule), expected);
        }
    }

    #[test]
    fn nesting_parenthesizes_groups() {
        use LiteralValue::*;
        let rule = Rule::All(vec![
            cmp("a", Op::Gt, one(Int(1))),
            Rule::Any(vec![
                cmp("b", Op::Eq, one(Int(2))),
                Rule::Not(Box::new(Rule::All(vec![
                    cmp("c", Op::IsNull, Operand::None),
                    cmp("d", Op::Lt, one(Int(3))),
                ]))),
            ]),
            Rule::Any(vec![cmp("e", Op::Eq, one(Int(4)))]),
        ]);
        assert_eq!(
            sql(&rule),
            "a > 1 and (b = 2 or not (c is null and d < 3)) and e = 4"
        );
        let parts = conjuncts(&rule, as_of(), "s").unwrap();
        assert_eq!(parts[1], "(b = 2 or not (c is null and d < 3))");
    }

    #[test]
    fn hostile_strings_stay_inside_their_literal() {
        let cases = [
            ("it's", r"'it\'s'"),
            (r"back\slash", r"'back\\slash'"),
            (r"\'; drop table x; --", r"'\\\'; drop table x; --'"),
            ("two\nlines", r"'two\nlines'"),
            ("\"double\"", "'\"double\"'"),
            ("{{ ref('x') }}", r"'{{ ref(\'x\') }}'"),
        ];
        for (value, expected) in cases {
            let out = string_literal(value);
            assert_eq!(out, expected);
            // Tokenized as BigQuery, the literal is exactly one token.
            assert_eq!(check_expression(&format!("x = {out}")), Ok(()), "{value}");
        }
        let rule = cmp(
            "name",
            Op::Eq,
            one(LiteralValue::String("x' or 1=1 --".into())),
        );
        assert_eq!(sql(&rule), r"name = 'x\' or 1=1 --'");
    }

    #[test]
    fn reserved_column_names_are_quoted() {
        let rule = cmp("order", Op::IsNull, Operand::None);
        assert_eq!(sql(&rule), "`order` is null");
        assert_eq!(identifier("orders_total"), "orders_total");
    }

    #[test]
    fn time_windows_are_relative_to_as_of() {
        let w = |kind, amount, unit| {
            Rule::Window(Window {
                column: name("last_order_at"),
                kind,
                amount,
                unit,
                at: at(),
            })
        };
        assert_eq!(
            sql(&w(WindowKind::WithinLast, 30, TimeUnit::Day)),
            "cast(last_order_at as date) > date_sub(date '2026-11-23', interval 30 day) and cast(last_order_at as date) <= date '2026-11-23'"
        );
        assert_eq!(
            sql(&w(WindowKind::OlderThan, 3, TimeUnit::Month)),
            "cast(last_order_at as date) <= date_sub(date '2026-11-23', interval 3 month)"
        );
        let nested = Rule::All(vec![
            w(WindowKind::WithinLast, 2, TimeUnit::Week),
            cmp("n", Op::Gt, one(LiteralValue::Int(0))),
        ]);
        assert!(
            sql(&nested).starts_with(
                "(cast(last_order_at as date) > date_sub(date '2026-11-23', interval 2 week) and "
            ),
            "{}",
            sql(&nested)
        );
    }

    #[test]
    fn sql_rules_are_wrapped_and_injection_is_rejected() {
        let rule = |text: &str| {
            Rule::Sql(SqlRule {
                text: text.into(),
                at: at(),
            })
        };
        assert_eq!(sql(&rule("a < b")), "(a < b)");
        for bad in [
            "true) union all select * from t where (true",
            "a < b; delete from t",
            "a < b --",
        ] {
            let err = condition(&rule(bad), as_of(), "s").unwrap_err();
            let d = err.diagnostic().unwrap();
            assert!(err.is_config());
            assert_eq!(d.location, Some(at()));
            assert!(d.message.starts_with("segment `s`: `sql:` rule: "), "{d}");
        }
    }
}
