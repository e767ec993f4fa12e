//! BigQuery AST → DataFusion AST. One pass of sqlparser's [`VisitorMut`]
//! rewrites what DataFusion would read differently:
//!
//! - names: `` `project.dataset.table` `` → `dataset.table`, identifiers
//!   lowercased and unquoted (BigQuery resolves them case-insensitively);
//! - literals: raw, triple-quoted and byte strings, escapes (`\u2168`,
//!   `\x41`) resolved with BigQuery's rules; `TIMESTAMP '...'` as UTC;
//! - functions: each BigQuery function is either DataFusion's own (same
//!   semantics), rewritten to DataFusion's (IFNULL → coalesce, COUNTIF → ...),
//!   routed to a `bq_*` UDF from [`super::functions`], or rejected as
//!   [`SqlErrorKind::Unsupported`](super::SqlErrorKind) — never guessed;
//! - operators and syntax: `/`, `||`, `+ INTERVAL`, CAST/SAFE_CAST, EXTRACT,
//!   `[OFFSET(i)]`, `IN UNNEST(...)`, `GROUP BY ALL`, `UNNEST(...) AS x`,
//!   NULL ordering (first in ascending order), anonymous columns `f0_`.
//!
//! Date parts (`DAY`, `WEEK(MONDAY)`) become string literals in a pre-visit,
//! before the children are visited; everything else is rewritten bottom-up.
//! FROM/SELECT clauses live in `relations`, function calls in `functions`,
//! literals in `literals` and `array_literals`, subquery predicates in a
//! SELECT list in `subqueries`, and subqueries over the current row's array
//! (the GA4 `event_params` idiom) in `array_subqueries`.

use std::ops::ControlFlow;

use datafusion::sql::sqlparser::ast::{
    AccessExpr, Array, BinaryOperator, CastKind, DataType, DateTimeField, Expr, Function,
    FunctionArg, FunctionArgExpr, FunctionArgumentClause, FunctionArgumentList, FunctionArguments,
    GroupByExpr, Ident, NullTreatment, ObjectName, ObjectNamePart, OrderByExpr, OrderByKind, Query,
    Select, SelectItem, SelectItemQualifiedWildcardKind, SetExpr, Spanned, Statement, Subscript,
    TableAlias, TableAliasColumnDef, TableFactor, TypedString, UnaryOperator, Value,
    ValueTableMode, ValueWithSpan, VisitMut, VisitorMut, WildcardAdditionalOptions, WindowType,
    visit_expressions,
};

use datafusion::sql::sqlparser::ast::helpers::attached_token::AttachedToken;
use datafusion::sql::sqlparser::tokenizer::Span;

use super::functions::{SAFE_NATIVE, safe_name};
use super::{SqlError, TranslateOptions};

mod array_literals;
mod array_subqueries;
mod functions;
mod literals;
mod relations;
mod subqueries;

use array_literals::{
    name_struct_elements, struct_field_names, type_null_bytes_elements, typed_array_element,
    typed_array_literal,
};
use array_subqueries::{is_array_scan, is_element_lambda, rewrite_array_subquery};
use functions::{as_int64, interval_parts, rewrite_function};
use literals::normalize_value;
use relations::{rewrite_select, rewrite_table_factor, rewrite_table_name};
use subqueries::rewrite_projection_subqueries;

/// Rewrites one BigQuery statement into one DataFusion plans with BigQuery's semantics.
pub fn to_datafusion(stmt: Statement, opts: &TranslateOptions) -> Result<Statement, SqlError> {
    let mut stmt = stmt;
    if !matches!(stmt, Statement::Query(_)) {
        let kind = stmt.to_string();
        let head: String = kind
            .split_whitespace()
            .take(3)
            .collect::<Vec<_>>()
            .join(" ");
        return Err(SqlError::unsupported(format!(
            "statement {head} (only queries run locally)"
        )));
    }
    if let Statement::Query(query) = &mut stmt {
        name_anonymous_columns(query);
    }
    let mut rewriter = Rewriter { opts };
    match stmt.visit(&mut rewriter) {
        ControlFlow::Break(err) => Err(err),
        ControlFlow::Continue(()) => Ok(stmt),
    }
}

/// Names the result's unnamed expression columns `f0_`, `f1_`, ... as BigQuery does.
fn name_anonymous_columns(query: &mut Query) {
    let Some(select) = leftmost_select(&mut query.body) else {
        return;
    };
    let mut next = 0;
    for item in &mut select.projection {
        if let SelectItem::UnnamedExpr(expr) = item
            && let Some(alias) = path_name(expr)
        {
            // `t.customer.address.country` is named `country`, as in BigQuery.
            *item = SelectItem::ExprWithAlias {
                expr: expr.clone(),
                alias,
            };
            continue;
        }
        if let SelectItem::UnnamedExpr(expr) = item
            && !has_implicit_name(expr)
        {
            let alias = Ident::new(format!("f{next}_"));
            *item = SelectItem::ExprWithAlias {
                expr: expr.clone(),
                alias,
            };
            next += 1;
        }
    }
}

fn leftmost_select(body: &mut SetExpr) -> Option<&mut Select> {
    match body {
        SetExpr::Select(select) => Some(select),
        SetExpr::SetOperation { left, .. } => leftmost_select(left),
        SetExpr::Query(query) => leftmost_select(&mut query.body),
        _ => None,
    }
}

/// The last name of a dotted path (`t.col`, `s.field.sub`), which BigQuery
/// uses as the column name; DataFusion would name a struct field access
/// `s[field][sub]`.
fn path_name(expr: &Expr) -> Option<Ident> {
    match expr {
        Expr::CompoundIdentifier(idents) if idents.len() > 1 => idents.last().cloned(),
        Expr::CompoundFieldAccess { access_chain, .. } => match access_chain.last() {
            Some(AccessExpr::Dot(Expr::Identifier(ident))) => Some(ident.clone()),
            _ => None,
        },
        _ => None,
    }
}

/// Whether BigQuery names a SELECT item without an alias: a column or field path.
fn has_implicit_name(expr: &Expr) -> bool {
    match expr {
        Expr::Identifier(_) | Expr::CompoundIdentifier(_) => true,
        Expr::CompoundFieldAccess { access_chain, .. } => {
            matches!(access_chain.last(), Some(AccessExpr::Dot(_)))
        }
        _ => false,
    }
}

struct Rewriter<'a> {
    opts: &'a TranslateOptions,
}

type Flow = ControlFlow<SqlError>;

fn flow(result: Result<(), SqlError>) -> Flow {
    match result {
        Ok(()) => ControlFlow::Continue(()),
        Err(e) => ControlFlow::Break(e),
    }
}

impl VisitorMut for Rewriter<'_> {
    type Break = SqlError;

    fn pre_visit_query(&mut self, query: &mut Query) -> Flow {
        if let Some(with) = &mut query.with {
            if with.recursive {
                return ControlFlow::Break(SqlError::unsupported("WITH RECURSIVE"));
            }
            for cte in &mut with.cte_tables {
                normalize_alias(&mut cte.alias);
            }
        }
        if let Some(order_by) = &mut query.order_by
            && let OrderByKind::Expressions(items) = &mut order_by.kind
        {
            bigquery_null_order(items);
        }
        if !query.pipe_operators.is_empty() {
            return ControlFlow::Break(SqlError::unsupported("pipe syntax (|>)"));
        }
        ControlFlow::Continue(())
    }

    fn pre_visit_select(&mut self, select: &mut Select) -> Flow {
        flow(rewrite_select(select))
    }

    fn pre_visit_relation(&mut self, relation: &mut ObjectName) -> Flow {
        flow(rewrite_table_name(relation))
    }

    fn pre_visit_table_factor(&mut self, factor: &mut TableFactor) -> Flow {
        flow(rewrite_table_factor(factor))
    }

    fn pre_visit_expr(&mut self, expr: &mut Expr) -> Flow {
        rewrite_array_subquery(expr);
        prepare_expr(expr);
        ControlFlow::Continue(())
    }

    fn post_visit_expr(&mut self, expr: &mut Expr) -> Flow {
        match rewrite_expr(expr, self.opts) {
            Ok(Some(new)) => {
                *expr = new;
                ControlFlow::Continue(())
            }
            Ok(None) => ControlFlow::Continue(()),
            Err(e) => ControlFlow::Break(e),
        }
    }

    fn pre_visit_value(&mut self, value: &mut ValueWithSpan) -> Flow {
        let span = value.span;
        flow(normalize_value(&mut value.value).map_err(|e| e.at_span(span)))
    }
}

// ------------------------------------------------------------------ names

/// BigQuery sorts NULLs first in ascending and last in descending order;
/// DataFusion's default differs, so every ORDER BY item says it explicitly.
fn bigquery_null_order(items: &mut [OrderByExpr]) {
    for item in items {
        if item.options.nulls_first.is_none() {
            item.options.nulls_first = Some(item.options.asc != Some(false));
        }
    }
}

/// Lowercases an identifier and drops its quotes, so DataFusion resolves it
/// the way BigQuery does (case-insensitively).
fn normalize_ident(ident: &mut Ident) {
    ident.value = ident.value.to_lowercase();
    ident.quote_style = None;
}

fn normalize_alias(alias: &mut TableAlias) {
    normalize_ident(&mut alias.name);
    for column in &mut alias.columns {
        normalize_ident(&mut column.name);
    }
}

/// Splits quoted dotted parts (`` `a.b.c` ``) into separate identifiers.
fn split_dotted(idents: Vec<Ident>) -> Vec<Ident> {
    let mut out = Vec::with_capacity(idents.len());
    for ident in idents {
        if ident.quote_style.is_some() && ident.value.contains('.') {
            for part in ident.value.split('.') {
                out.push(Ident::with_span(ident.span, part));
            }
        } else {
            out.push(ident);
        }
    }
    out
}

fn string(s: impl Into<String>) -> Expr {
    Expr::value(Value::SingleQuotedString(s.into()))
}

fn number(n: usize) -> Expr {
    Expr::value(Value::Number(n.to_string(), false))
}

fn boolean(b: bool) -> Expr {
    Expr::value(Value::Boolean(b))
}

// ------------------------------------------------------------------ expression helpers

/// A call of `name` (a DataFusion or `bq_*` function) with plain arguments.
fn call(name: &str, args: Vec<Expr>) -> Expr {
    Expr::Function(Function {
        name: ObjectName::from(vec![Ident::new(name)]),
        uses_odbc_syntax: false,
        parameters: FunctionArguments::None,
        args: FunctionArguments::List(FunctionArgumentList {
            duplicate_treatment: None,
            args: args
                .into_iter()
                .map(|e| FunctionArg::Unnamed(FunctionArgExpr::Expr(e)))
                .collect(),
            clauses: vec![],
        }),
        filter: None,
        null_treatment: None,
        over: None,
        within_group: vec![],
    })
}

fn set_name(f: &mut Function, name: &str) {
    f.name = ObjectName::from(vec![Ident::new(name)]);
}

fn negate(e: Expr) -> Expr {
    Expr::UnaryOp {
        op: UnaryOperator::Minus,
        expr: Box::new(Expr::Nested(Box::new(e))),
    }
}

fn case_when(condition: Expr, then: Expr, otherwise: Option<Expr>) -> Expr {
    Expr::Case {
        case_token: AttachedToken::empty(),
        end_token: AttachedToken::empty(),
        operand: None,
        conditions: vec![datafusion::sql::sqlparser::ast::CaseWhen {
            condition,
            result: then,
        }],
        else_result: otherwise.map(Box::new),
    }
}

/// The positional arguments of a call without clauses (ORDER BY, LIMIT, ...).
fn plain_args(f: &mut Function, name: &str) -> Result<Vec<Expr>, SqlError> {
    let span = f.name.span();
    let list = match &mut f.args {
        FunctionArguments::None => return Ok(vec![]),
        FunctionArguments::Subquery(_) => {
            return Err(
                SqlError::unsupported(format!("{name} with a subquery argument")).at_span(span),
            );
        }
        FunctionArguments::List(list) => list,
    };
    if list.duplicate_treatment.is_some() || !list.clauses.is_empty() {
        return Err(
            SqlError::unsupported(format!("{name} with DISTINCT, ORDER BY or LIMIT")).at_span(span),
        );
    }
    let plain = |arg: &FunctionArg| matches!(arg, FunctionArg::Unnamed(FunctionArgExpr::Expr(_)));
    if !list.args.iter().all(plain) {
        return Err(
            SqlError::unsupported(format!("{name} with named or * arguments")).at_span(span),
        );
    }
    // Moved, not cloned: the call is replaced by its rewrite, and cloning
    // every level of a nested expression would cost its size times its depth.
    Ok(list
        .args
        .drain(..)
        .filter_map(|arg| match arg {
            FunctionArg::Unnamed(FunctionArgExpr::Expr(e)) => Some(e),
            _ => None,
        })
        .collect())
}

fn arity(f: &Function, name: &str, args: &[Expr], min: usize, max: usize) -> Result<(), SqlError> {
    if args.len() < min || args.len() > max {
        let expected = if min == max {
            min.to_string()
        } else {
            format!("{min} to {max}")
        };
        return Err(SqlError::plan(format!(
            "{name} expects {expected} arguments, got {}",
            args.len()
        ))
        .at_span(f.name.span()));
    }
    Ok(())
}

/// The text of a date part argument: `DAY`, `WEEK(MONDAY)`, or a literal.
fn date_part_text(e: &Expr) -> Option<String> {
    match e {
        Expr::Identifier(id) => Some(id.value.to_ascii_uppercase()),
        Expr::Function(f) => {
            let name = f.name.to_string().to_ascii_uppercase();
            let FunctionArguments::List(list) = &f.args else {
                return Some(name);
            };
            let inner: Vec<String> = list
                .args
                .iter()
                .map(|a| a.to_string().to_ascii_uppercase())
                .collect();
            Some(format!("{name}({})", inner.join(", ")))
        }
        Expr::Value(v) => match &v.value {
            Value::SingleQuotedString(s) => Some(s.to_ascii_uppercase()),
            _ => None,
        },
        _ => None,
    }
}

/// Where a date part sits in the arguments of the functions that take one.
fn date_part_position(name: &str) -> Option<usize> {
    match name {
        "DATE_DIFF" | "DATETIME_DIFF" | "TIMESTAMP_DIFF" | "TIME_DIFF" => Some(2),
        "DATE_TRUNC" | "DATETIME_TRUNC" | "TIMESTAMP_TRUNC" | "TIME_TRUNC" | "LAST_DAY" => Some(1),
        _ => None,
    }
}

/// The upper-case BigQuery name of a call, and whether it has the `SAFE.` prefix.
fn function_name(f: &Function) -> Result<(String, bool), SqlError> {
    let parts: Vec<String> = f
        .name
        .0
        .iter()
        .map(|p| match p {
            ObjectNamePart::Identifier(i) => i.value.to_ascii_uppercase(),
            ObjectNamePart::Function(pf) => pf.name.value.to_ascii_uppercase(),
        })
        .collect();
    match parts.as_slice() {
        [name] => Ok((name.clone(), false)),
        [prefix, name] if prefix == "SAFE" => Ok((name.clone(), true)),
        _ => Err(
            SqlError::unsupported(format!("user-defined function {}", f.name))
                .at_span(f.name.span()),
        ),
    }
}

/// Internal names marking `OFFSET(i)` & co. inside a subscript, between the
/// pre-visit that sees the subscript and the post-visit that rewrites it.
const SUBSCRIPT_MARKERS: &[(&str, &str, &str)] = &[
    ("OFFSET", "__bq_offset", "bq_array_offset"),
    ("SAFE_OFFSET", "__bq_safe_offset", "bq_array_safe_offset"),
    ("ORDINAL", "__bq_ordinal", "bq_array_ordinal"),
    ("SAFE_ORDINAL", "__bq_safe_ordinal", "bq_array_safe_ordinal"),
];

// ------------------------------------------------------------------ pre-visit

/// Prepares a node before its children are visited: date parts become string
/// literals and subscript functions become markers.
fn prepare_expr(expr: &mut Expr) {
    match expr {
        Expr::Function(f) => {
            let Ok((name, _)) = function_name(f) else {
                return;
            };
            let Some(pos) = date_part_position(&name) else {
                return;
            };
            if let FunctionArguments::List(list) = &mut f.args
                && let Some(FunctionArg::Unnamed(FunctionArgExpr::Expr(arg))) =
                    list.args.get_mut(pos)
                && let Some(text) = date_part_text(arg)
            {
                *arg = string(text);
            }
        }
        Expr::CompoundFieldAccess { access_chain, .. } => {
            for access in access_chain {
                if let AccessExpr::Subscript(Subscript::Index {
                    index: Expr::Function(f),
                }) = access
                    && let Ok((name, false)) = function_name(f)
                    && let Some((_, marker, _)) =
                        SUBSCRIPT_MARKERS.iter().find(|(n, _, _)| *n == name)
                {
                    set_name(f, marker);
                }
            }
        }
        _ => {}
    }
}

// ------------------------------------------------------------------ post-visit

/// Rewrites one node whose children are already rewritten; `None` keeps it.
fn rewrite_expr(expr: &mut Expr, opts: &TranslateOptions) -> Result<Option<Expr>, SqlError> {
    match expr {
        Expr::Identifier(ident) => {
            normalize_ident(ident);
            Ok(None)
        }
        Expr::CompoundIdentifier(idents) => Ok(Some(compound_identifier(std::mem::take(idents)))),
        Expr::Named { name, .. } => {
            // A STRUCT field name.
            normalize_ident(name);
            Ok(None)
        }
        Expr::Function(f) => rewrite_function(f, opts),
        Expr::Cast {
            kind,
            expr: inner,
            data_type,
            format,
            ..
        } => {
            if format.is_some() {
                return Err(SqlError::unsupported("CAST ... FORMAT").at_span(inner.span()));
            }
            let safe = matches!(kind, CastKind::SafeCast | CastKind::TryCast);
            let type_name = bigquery_type_name(data_type).map_err(|e| e.at_span(inner.span()))?;
            Ok(Some(call(
                "bq_cast",
                vec![(**inner).clone(), string(type_name), boolean(safe)],
            )))
        }
        Expr::TypedString(typed) => rewrite_typed_string(typed),
        Expr::BinaryOp { left, op, right } => Ok(match op {
            BinaryOperator::Plus | BinaryOperator::Minus
                if matches!(**right, Expr::Interval(_))
                    || (matches!(op, BinaryOperator::Plus)
                        && matches!(**left, Expr::Interval(_))) =>
            {
                let (value, interval) = if matches!(**right, Expr::Interval(_)) {
                    (left, right)
                } else {
                    (right, left)
                };
                let (n, part) = interval_parts(interval, "INTERVAL arithmetic")?;
                let n = if matches!(op, BinaryOperator::Minus) {
                    negate(n)
                } else {
                    n
                };
                Some(call("bq_interval_add", vec![(**value).clone(), n, part]))
            }
            BinaryOperator::Gt if typed_array_element(left).is_some() => {
                return typed_array_literal(left, right);
            }
            BinaryOperator::Divide => {
                Some(call("bq_divide", vec![(**left).clone(), (**right).clone()]))
            }
            BinaryOperator::StringConcat => {
                Some(call("bq_concat", vec![(**left).clone(), (**right).clone()]))
            }
            _ => None,
        }),
        Expr::Extract {
            field, expr: inner, ..
        } => rewrite_extract(field, inner),
        Expr::Trim {
            expr: inner,
            trim_where,
            trim_what,
            trim_characters,
        } => {
            let name = match trim_where {
                None | Some(datafusion::sql::sqlparser::ast::TrimWhereField::Both) => "bq_trim",
                Some(datafusion::sql::sqlparser::ast::TrimWhereField::Leading) => "bq_ltrim",
                Some(datafusion::sql::sqlparser::ast::TrimWhereField::Trailing) => "bq_rtrim",
            };
            let mut args = vec![(**inner).clone()];
            if let Some(what) = trim_what {
                args.push((**what).clone());
            }
            if let Some(chars) = trim_characters {
                args.extend(chars.iter().cloned());
            }
            Ok(Some(call(name, args)))
        }
        Expr::Substring {
            expr: inner,
            substring_from,
            substring_for,
            ..
        } => {
            let mut args = vec![(**inner).clone()];
            args.push(
                substring_from
                    .as_deref()
                    .cloned()
                    .unwrap_or_else(|| number(1)),
            );
            if let Some(count) = substring_for {
                args.push((**count).clone());
            }
            Ok(Some(call("bq_substr", args)))
        }
        Expr::Position { expr: needle, r#in } => Ok(Some(as_int64(call(
            "strpos",
            vec![(**r#in).clone(), (**needle).clone()],
        )))),
        Expr::InUnnest {
            expr: needle,
            array_expr,
            negated,
        } => Ok(Some(in_unnest(
            (**needle).clone(),
            (**array_expr).clone(),
            *negated,
        ))),
        Expr::CompoundFieldAccess { root, access_chain } => {
            field_access((**root).clone(), std::mem::take(access_chain)).map(Some)
        }
        Expr::AtTimeZone { timestamp, .. } => {
            Err(SqlError::unsupported("AT TIME ZONE").at_span(timestamp.span()))
        }
        Expr::Array(array) => {
            name_struct_elements(&mut array.elem);
            type_null_bytes_elements(&mut array.elem);
            Ok(None)
        }
        Expr::Lambda(lambda) if is_element_lambda(lambda) => Ok(None),
        Expr::Lambda(_)
        | Expr::JsonAccess { .. }
        | Expr::Map(_)
        | Expr::Dictionary(_)
        | Expr::Collate { .. }
        | Expr::Overlay { .. } => {
            let text = expr.to_string();
            let head: String = text.chars().take(40).collect();
            Err(SqlError::unsupported(head).at_span(expr.span()))
        }
        _ => Ok(None),
    }
}

/// `a.b.c` with quoted dotted parts split; a leading `project.dataset.table`
/// loses its project.
fn compound_identifier(idents: Vec<Ident>) -> Expr {
    let first_had_three = idents
        .first()
        .is_some_and(|i| i.quote_style.is_some() && i.value.matches('.').count() == 2);
    let mut parts = split_dotted(idents);
    if first_had_three && parts.len() > 3 {
        parts.remove(0);
    }
    parts.iter_mut().for_each(normalize_ident);
    Expr::CompoundIdentifier(parts)
}

/// The BigQuery type name `bq_cast` takes for a sqlparser type.
fn bigquery_type_name(data_type: &DataType) -> Result<&'static str, SqlError> {
    use datafusion::sql::sqlparser::ast::ExactNumberInfo;
    Ok(match data_type {
        DataType::Int64 | DataType::BigInt(_) | DataType::Int(_) | DataType::Integer(_) => "INT64",
        DataType::Float64 | DataType::Double(_) | DataType::DoublePrecision => "FLOAT64",
        DataType::String(_) | DataType::Varchar(_) | DataType::Text => "STRING",
        DataType::Bool | DataType::Boolean => "BOOL",
        DataType::Date => "DATE",
        DataType::Datetime(_) => "DATETIME",
        DataType::Timestamp(_, _) => "TIMESTAMP",
        DataType::Time(_, _) => "TIME",
        DataType::Bytes(_) | DataType::Bytea => "BYTES",
        DataType::Numeric(ExactNumberInfo::None) | DataType::Decimal(ExactNumberInfo::None) => {
            "NUMERIC"
        }
        DataType::BigNumeric(ExactNumberInfo::None)
        | DataType::BigDecimal(ExactNumberInfo::None) => "BIGNUMERIC",
        other => return Err(SqlError::unsupported(format!("CAST to {other}"))),
    })
}

fn rewrite_typed_string(typed: &TypedString) -> Result<Option<Expr>, SqlError> {
    let type_name = match &typed.data_type {
        DataType::Date => return Ok(None),
        DataType::JSON => {
            return Err(SqlError::unsupported("JSON literals").at_span(typed.value.span));
        }
        other => bigquery_type_name(other).map_err(|e| e.at_span(typed.value.span))?,
    };
    let text = typed.value.value.clone().into_string().unwrap_or_default();
    Ok(Some(call(
        "bq_cast",
        vec![string(text), string(type_name), boolean(false)],
    )))
}

fn rewrite_extract(field: &DateTimeField, inner: &Expr) -> Result<Option<Expr>, SqlError> {
    let part = field.to_string().to_ascii_uppercase();
    let value = inner.clone();
    Ok(Some(match part.as_str() {
        "DATE" => call("bq_date", vec![value]),
        "DATETIME" => call("bq_datetime", vec![value]),
        "TIME" => return Err(SqlError::unsupported("EXTRACT(TIME ...)").at_span(inner.span())),
        _ => call("bq_extract", vec![string(part), value]),
    }))
}

/// `x IN UNNEST(array)`: a literal array becomes an IN list; otherwise
/// `array_has`, NULL when `x` is NULL.
fn in_unnest(needle: Expr, array: Expr, negated: bool) -> Expr {
    if let Expr::Array(Array { elem, .. }) = array {
        return Expr::InList {
            expr: Box::new(needle),
            list: elem,
            negated,
        };
    }
    let test = call("array_has", vec![array, needle.clone()]);
    let test = if negated {
        Expr::UnaryOp {
            op: UnaryOperator::Not,
            expr: Box::new(test),
        }
    } else {
        test
    };
    case_when(
        Expr::IsNull(Box::new(needle)),
        Expr::value(Value::Null),
        Some(test),
    )
}

/// `root[OFFSET(i)].field...`: BigQuery's array subscripts and field access.
fn field_access(root: Expr, chain: Vec<AccessExpr>) -> Result<Expr, SqlError> {
    let mut chain = chain.into_iter().peekable();
    // Leading `.name` parts belong to the column path.
    let mut current = root;
    if let Expr::Identifier(_) | Expr::CompoundIdentifier(_) = current {
        let mut idents = match current {
            Expr::Identifier(i) => vec![i],
            Expr::CompoundIdentifier(is) => is,
            _ => vec![],
        };
        while let Some(AccessExpr::Dot(Expr::Identifier(_))) = chain.peek() {
            if let Some(AccessExpr::Dot(Expr::Identifier(mut i))) = chain.next() {
                normalize_ident(&mut i);
                idents.push(i);
            }
        }
        current = if idents.len() == 1 {
            Expr::Identifier(idents.remove(0))
        } else {
            Expr::CompoundIdentifier(idents)
        };
    }
    for access in chain {
        current = match access {
            AccessExpr::Subscript(Subscript::Index { index }) => subscript(current, index)?,
            AccessExpr::Subscript(Subscript::Slice { .. }) => {
                return Err(SqlError::unsupported("array slices").at_span(current.span()));
            }
            AccessExpr::Dot(Expr::Identifier(field)) => call(
                "get_field",
                vec![current, string(field.value.to_lowercase())],
            ),
            AccessExpr::Dot(other) => {
                return Err(
                    SqlError::unsupported(format!("field access .{other}")).at_span(other.span())
                );
            }
        };
    }
    Ok(current)
}

fn subscript(array: Expr, index: Expr) -> Result<Expr, SqlError> {
    let mut index = index;
    if let Expr::Function(f) = &mut index {
        let marker = f.name.to_string();
        if let Some((_, _, udf)) = SUBSCRIPT_MARKERS.iter().find(|(_, m, _)| *m == marker) {
            let args = plain_args(f, "OFFSET")?;
            arity(f, "OFFSET", &args, 1, 1)?;
            if let Some(first) = functions::first_of_array_agg(&array, udf, &args[0]) {
                return Ok(first);
            }
            return Ok(call(udf, vec![array, args[0].clone()]));
        }
    }
    if let Expr::Value(v) = &index
        && matches!(v.value, Value::SingleQuotedString(_))
    {
        return Err(SqlError::unsupported("JSON subscripts").at_span(index.span()));
    }
    // A bare index is an OFFSET.
    Ok(call("bq_array_offset", vec![array, index]))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sql::parse::parse_single;

    fn translate(sql: &str) -> String {
        let stmt = parse_single(sql).unwrap();
        to_datafusion(stmt, &TranslateOptions::default())
            .unwrap()
            .to_string()
    }

    #[test]
    fn rewrites_table_names() {
        let out = translate("SELECT A FROM `My-Proj.Sales.Orders` AS O");
        assert_eq!(out, "SELECT a FROM sales.orders AS o");
        let out = translate("SELECT a FROM `sales.orders`");
        assert_eq!(out, "SELECT a FROM sales.orders");
    }

    #[test]
    fn first_element_of_a_limited_array_agg_is_an_ordered_first_value() {
        let out = translate(
            "SELECT ARRAY_AGG(c ORDER BY t, id LIMIT 1)[OFFSET(0)] AS a, \
             ARRAY_AGG(c ORDER BY t DESC LIMIT 1)[SAFE_ORDINAL(1)] AS b, \
             ARRAY_AGG(c IGNORE NULLS ORDER BY t LIMIT 1)[SAFE_OFFSET(0)] AS d FROM x GROUP BY k",
        );
        assert_eq!(out.matches("first_value(").count(), 3, "{out}");
        assert!(!out.contains("array_agg"), "{out}");
        // Kept as arrays: another element, no LIMIT 1, DISTINCT, and IGNORE
        // NULLS with a plain OFFSET (an all-NULL group is an error there).
        for sql in [
            "SELECT ARRAY_AGG(c ORDER BY t LIMIT 2)[OFFSET(1)] FROM x",
            "SELECT ARRAY_AGG(c ORDER BY t LIMIT 2)[OFFSET(0)] FROM x",
            "SELECT ARRAY_AGG(c ORDER BY t)[OFFSET(0)] FROM x",
            "SELECT ARRAY_AGG(DISTINCT c LIMIT 1)[OFFSET(0)] FROM x",
            "SELECT ARRAY_AGG(c IGNORE NULLS ORDER BY t LIMIT 1)[OFFSET(0)] FROM x",
        ] {
            let out = translate(sql);
            assert!(!out.contains("first_value"), "{sql} -> {out}");
        }
    }

    #[test]
    fn date_parts_become_literals() {
        let out = translate("SELECT DATE_DIFF(a, b, WEEK(MONDAY)) FROM t");
        assert_eq!(
            out,
            "SELECT bq_date_diff(a, b, 'WEEK(MONDAY)') AS f0_ FROM t"
        );
    }

    #[test]
    fn rejects_unknown_functions_with_position() {
        let stmt = parse_single("SELECT\n  NET.HOST(x) FROM t").unwrap();
        let err = to_datafusion(stmt, &TranslateOptions::default()).unwrap_err();
        assert_eq!(err.kind, crate::sql::SqlErrorKind::Unsupported);
        assert_eq!(err.line, Some(2));
        let stmt = parse_single("SELECT FOO_BAR(x) FROM t").unwrap();
        let err = to_datafusion(stmt, &TranslateOptions::default()).unwrap_err();
        assert_eq!(
            err.to_string(),
            "BigQuery feature not supported locally yet: FOO_BAR"
        );
        assert_eq!((err.line, err.column), (Some(1), Some(8)));
    }
}
