//! Function calls: each BigQuery function is DataFusion's own (same
//! semantics), renamed to one, rewritten into an expression, routed to a
//! `bq_*` UDF, or rejected as unsupported.

use super::relations::AGGREGATES;
use super::*;
// ------------------------------------------------------------------ functions

/// BigQuery functions DataFusion has under the same name with the same semantics.
pub(super) const NATIVE: &[&str] = &[
    "ABS",
    "ACOS",
    "ACOSH",
    "ASIN",
    "ASINH",
    "ATAN",
    "ATAN2",
    "ATANH",
    "CBRT",
    "CEIL",
    "COS",
    "COSH",
    "COT",
    "EXP",
    "FLOOR",
    "LN",
    "LOG10",
    "POW",
    "POWER",
    "SIN",
    "SINH",
    "SQRT",
    "TAN",
    "TANH",
    "TRUNC",
    "COALESCE",
    "NULLIF",
    "LOWER",
    "UPPER",
    "STARTS_WITH",
    "ENDS_WITH",
    "LPAD",
    "RPAD",
    "STRPOS",
    "REVERSE",
    "REPEAT",
    "LEFT",
    "RIGHT",
    "ASCII",
    "CHR",
    "SHA256",
    "SHA512",
    "COUNT",
    "SUM",
    "MIN",
    "MAX",
    "AVG",
    "STDDEV",
    "STDDEV_SAMP",
    "STDDEV_POP",
    "VARIANCE",
    "VAR_SAMP",
    "VAR_POP",
    "CORR",
    "COVAR_POP",
    "COVAR_SAMP",
    "BIT_AND",
    "BIT_OR",
    "BIT_XOR",
    "ARRAY_AGG",
    "ROW_NUMBER",
    "RANK",
    "DENSE_RANK",
    "NTILE",
    "LAG",
    "LEAD",
    "FIRST_VALUE",
    "LAST_VALUE",
    "NTH_VALUE",
    "PERCENT_RANK",
    "CUME_DIST",
    "ARRAY_CONCAT",
    "ARRAY_REVERSE",
    "GROUPING",
    "UNNEST",
];

/// Simple renames to DataFusion functions with the same semantics.
pub(super) const RENAMES: &[(&str, &str)] = &[
    ("IFNULL", "coalesce"),
    ("CEILING", "ceil"),
    ("LOGICAL_OR", "bool_or"),
    ("LOGICAL_AND", "bool_and"),
    ("GENERATE_UUID", "uuid"),
    ("RAND", "random"),
    ("BYTE_LENGTH", "octet_length"),
    ("OCTET_LENGTH", "octet_length"),
    ("GENERATE_ARRAY", "generate_series"),
];

/// Calls rewritten to a `bq_*` UDF with the same arguments.
pub(super) const UDF_CALLS: &[(&str, &str)] = &[
    ("CONCAT", "bq_concat"),
    ("ARRAY_TO_STRING", "bq_array_to_string"),
    ("SUBSTR", "bq_substr"),
    ("SUBSTRING", "bq_substr"),
    ("TRIM", "bq_trim"),
    ("LTRIM", "bq_ltrim"),
    ("RTRIM", "bq_rtrim"),
    ("LENGTH", "bq_length"),
    ("CHAR_LENGTH", "bq_length"),
    ("CHARACTER_LENGTH", "bq_length"),
    ("REPLACE", "bq_replace"),
    ("SPLIT", "bq_split"),
    ("INITCAP", "bq_initcap"),
    ("TO_HEX", "bq_to_hex"),
    ("TO_BASE64", "bq_to_base64"),
    ("FORMAT", "bq_format"),
    ("CONTAINS_SUBSTR", "bq_contains_substr"),
    ("FROM_HEX", "bq_from_hex"),
    ("SHA1", "bq_sha1"),
    ("FARM_FINGERPRINT", "bq_farm_fingerprint"),
    ("JSON_VALUE", "bq_json_value"),
    ("JSON_EXTRACT_SCALAR", "bq_json_value"),
    ("JSON_QUERY", "bq_json_query"),
    ("JSON_EXTRACT", "bq_json_query"),
    ("TO_JSON_STRING", "bq_to_json_string"),
    ("SAFE_DIVIDE", "bq_safe_divide"),
    ("IEEE_DIVIDE", "bq_ieee_divide"),
    ("GREATEST", "bq_greatest"),
    ("LEAST", "bq_least"),
    ("DATE", "bq_date"),
    ("DATETIME", "bq_datetime"),
    ("TIMESTAMP", "bq_timestamp"),
    ("DATE_DIFF", "bq_date_diff"),
    ("DATETIME_DIFF", "bq_datetime_diff"),
    ("TIMESTAMP_DIFF", "bq_timestamp_diff"),
    ("DATE_TRUNC", "bq_date_trunc"),
    ("DATETIME_TRUNC", "bq_datetime_trunc"),
    ("TIMESTAMP_TRUNC", "bq_timestamp_trunc"),
    ("LAST_DAY", "bq_last_day"),
    ("FORMAT_DATE", "bq_format_date"),
    ("FORMAT_DATETIME", "bq_format_datetime"),
    ("FORMAT_TIMESTAMP", "bq_format_timestamp"),
    ("PARSE_DATE", "bq_parse_date"),
    ("PARSE_DATETIME", "bq_parse_datetime"),
    ("PARSE_TIMESTAMP", "bq_parse_timestamp"),
    ("ARRAY_LENGTH", "bq_array_length"),
    ("RANGE_BUCKET", "bq_range_bucket"),
];

/// Rewrites a function call; `None` keeps the (possibly renamed) call.
pub(super) fn rewrite_function(
    f: &mut Function,
    opts: &TranslateOptions,
) -> Result<Option<Expr>, SqlError> {
    if let Some(WindowType::NamedWindow(ident)) = &mut f.over {
        normalize_ident(ident);
    }
    if let Some(WindowType::WindowSpec(spec)) = &mut f.over {
        if let Some(ident) = &mut spec.window_name {
            normalize_ident(ident);
        }
        bigquery_null_order(&mut spec.order_by);
    }
    if let FunctionArguments::List(list) = &mut f.args {
        for clause in &mut list.clauses {
            if let FunctionArgumentClause::OrderBy(items) = clause {
                bigquery_null_order(items);
            }
        }
    }
    bigquery_null_order(&mut f.within_group);
    let (name, safe) = function_name(f)?;
    // Markers and calls this translator made (visited again when moved).
    if name.starts_with("__BQ_") || name.starts_with("BQ_") {
        return Ok(None);
    }
    if safe {
        return safe_function(f, &name, opts);
    }
    if NATIVE.contains(&name.as_str()) {
        return native_function(f, &name);
    }
    if let Some((_, target)) = RENAMES.iter().find(|(n, _)| *n == name) {
        set_name(f, target);
        if NARROW_INT_RESULTS.contains(&name.as_str()) {
            return Ok(Some(as_int64(Expr::Function(f.clone()))));
        }
        return Ok(None);
    }
    if let Some((_, udf)) = UDF_CALLS.iter().find(|(n, _)| *n == name) {
        let args = plain_args(f, &name)?;
        return Ok(Some(call(udf, args)));
    }
    special_function(f, &name, opts)
}

/// `SAFE.F(...)`: F's rewrite, calling the SAFE variant of the function it ends in.
pub(super) fn safe_function(
    f: &mut Function,
    name: &str,
    opts: &TranslateOptions,
) -> Result<Option<Expr>, SqlError> {
    let span = f.name.span();
    let unsupported = || SqlError::unsupported(format!("SAFE.{name}")).at_span(span);
    if f.over.is_some() || AGGREGATES.contains(&name) {
        return Err(unsupported());
    }
    set_name(f, name);
    let mut rewritten = match rewrite_function(f, opts)? {
        Some(e) => e,
        None => Expr::Function(f.clone()),
    };
    let Expr::Function(inner) = &mut rewritten else {
        return Err(unsupported());
    };
    let target = inner.name.to_string();
    if !(target.starts_with("bq_") || SAFE_NATIVE.contains(&target.as_str())) || target == "bq_cast"
    {
        return Err(unsupported());
    }
    set_name(inner, &safe_name(&target));
    Ok(Some(rewritten))
}

/// DataFusion's own function; a few need their arguments adjusted.
pub(super) fn native_function(f: &mut Function, name: &str) -> Result<Option<Expr>, SqlError> {
    if name == "ARRAY_AGG" {
        return array_agg(f);
    }
    set_name(f, &name.to_ascii_lowercase());
    if NARROW_INT_RESULTS.contains(&name) {
        return Ok(Some(as_int64(Expr::Function(f.clone()))));
    }
    Ok(None)
}

/// DataFusion functions returning Int32 or UInt64 where BigQuery returns INT64.
pub(super) const NARROW_INT_RESULTS: &[&str] = &[
    "STRPOS",
    "INSTR",
    "ASCII",
    "BYTE_LENGTH",
    "OCTET_LENGTH",
    "ROW_NUMBER",
    "RANK",
    "DENSE_RANK",
    "NTILE",
];

/// `CAST(e AS INT64)` with DataFusion's cast (for lossless widening only).
pub(super) fn as_int64(e: Expr) -> Expr {
    Expr::Cast {
        kind: CastKind::Cast,
        expr: Box::new(e),
        data_type: DataType::BigInt(None),
        array: false,
        format: None,
    }
}

/// Remove the `LIMIT n` clause of an aggregate's arguments and return `n`.
fn take_limit(clauses: &mut Vec<FunctionArgumentClause>) -> Option<Expr> {
    let mut limit = None;
    clauses.retain(|c| match c {
        FunctionArgumentClause::Limit(n) => {
            limit = Some(n.clone());
            false
        }
        _ => true,
    });
    limit
}

/// `ARRAY_AGG(x [IGNORE NULLS] [ORDER BY ...] [LIMIT n])`: LIMIT becomes a slice.
pub(super) fn array_agg(f: &mut Function) -> Result<Option<Expr>, SqlError> {
    set_name(f, "array_agg");
    let FunctionArguments::List(list) = &mut f.args else {
        return Ok(None);
    };
    let limit = take_limit(&mut list.clauses);
    if let Some(bad) = list.clauses.iter().find(|c| {
        !matches!(
            c,
            FunctionArgumentClause::OrderBy(_) | FunctionArgumentClause::IgnoreOrRespectNulls(_)
        )
    }) {
        return Err(SqlError::unsupported(format!("ARRAY_AGG with {bad}")).at_span(f.name.span()));
    }
    let Some(limit) = limit else {
        return Ok(None);
    };
    if f.over.is_some() {
        return Err(
            SqlError::unsupported("ARRAY_AGG with LIMIT as a window function")
                .at_span(f.name.span()),
        );
    }
    Ok(Some(call(
        "array_slice",
        vec![Expr::Function(f.clone()), number(1), limit],
    )))
}

/// `ARRAY_AGG(x [ORDER BY ...] LIMIT 1)[OFFSET(0)]` (or `ORDINAL(1)`, or the
/// `SAFE_` forms) as DataFusion's ordered `first_value(x ORDER BY ...)`: the
/// same value, without building one array per group (the array aggregate keeps
/// every row of a group and sorts it; `first_value` keeps one, so "first touch
/// per customer" over millions of rows is many times faster and smaller).
/// `array` is the translated `array_slice(array_agg(...), 1, 1)`; `udf` and
/// `index` are the subscript's function and argument. `IGNORE NULLS` is only
/// rewritten with a `SAFE_` subscript, where an all-NULL group's empty array
/// and `first_value`'s NULL agree.
pub(super) fn first_of_array_agg(array: &Expr, udf: &str, index: &Expr) -> Option<Expr> {
    let first_index = match udf {
        "bq_array_offset" | "bq_array_safe_offset" => "0",
        "bq_array_ordinal" | "bq_array_safe_ordinal" => "1",
        _ => return None,
    };
    let is_number = |e: &Expr, n: &str| matches!(e, Expr::Value(v) if matches!(&v.value, Value::Number(s, _) if s == n));
    if !is_number(index, first_index) {
        return None;
    }
    let Expr::Function(slice) = array else {
        return None;
    };
    let FunctionArguments::List(slice_args) = &slice.args else {
        return None;
    };
    let [aggregate, start, length] = slice_args.args.as_slice() else {
        return None;
    };
    if slice.name.to_string() != "array_slice"
        || !matches!(start, FunctionArg::Unnamed(FunctionArgExpr::Expr(e)) if is_number(e, "1"))
        || !matches!(length, FunctionArg::Unnamed(FunctionArgExpr::Expr(e)) if is_number(e, "1"))
    {
        return None;
    }
    let FunctionArg::Unnamed(FunctionArgExpr::Expr(Expr::Function(aggregate))) = aggregate else {
        return None;
    };
    let FunctionArguments::List(list) = &aggregate.args else {
        return None;
    };
    let ignores_nulls = list.clauses.iter().any(|c| {
        matches!(
            c,
            FunctionArgumentClause::IgnoreOrRespectNulls(NullTreatment::IgnoreNulls)
        )
    }) || matches!(aggregate.null_treatment, Some(NullTreatment::IgnoreNulls));
    if aggregate.name.to_string() != "array_agg"
        || aggregate.over.is_some()
        || aggregate.filter.is_some()
        || list.duplicate_treatment.is_some()
        || list.args.len() != 1
        || (ignores_nulls && !udf.contains("safe"))
    {
        return None;
    }
    let mut first = aggregate.clone();
    set_name(&mut first, "first_value");
    Some(Expr::Function(first))
}

/// The function's `INTERVAL n PART` argument as (n, 'PART').
pub(super) fn interval_arg(f: &Function, name: &str, e: &Expr) -> Result<(Expr, Expr), SqlError> {
    if !matches!(e, Expr::Interval(_)) {
        return Err(
            SqlError::plan(format!("{name} expects an INTERVAL argument")).at_span(f.name.span()),
        );
    }
    interval_parts(e, name).map_err(|err| err.at_span(f.name.span()))
}

/// `INTERVAL n PART` as (n, 'PART').
pub(super) fn interval_parts(e: &Expr, name: &str) -> Result<(Expr, Expr), SqlError> {
    let Expr::Interval(interval) = e else {
        return Err(SqlError::plan(format!("{name} expects an INTERVAL")).at_span(e.span()));
    };
    if interval.last_field.is_some() {
        return Err(
            SqlError::unsupported(format!("{name} with a range INTERVAL")).at_span(e.span()),
        );
    }
    let Some(field) = &interval.leading_field else {
        return Err(
            SqlError::unsupported(format!("{name} with an INTERVAL without a date part"))
                .at_span(e.span()),
        );
    };
    let value = match interval.value.as_ref() {
        Expr::Value(v) => match &v.value {
            Value::SingleQuotedString(s) => Expr::value(Value::Number(s.trim().to_string(), false)),
            _ => (*interval.value).clone(),
        },
        other => other.clone(),
    };
    Ok((value, string(field.to_string().to_ascii_uppercase())))
}

pub(super) fn special_function(
    f: &mut Function,
    name: &str,
    opts: &TranslateOptions,
) -> Result<Option<Expr>, SqlError> {
    let span = f.name.span();
    match name {
        "IF" => {
            let args = plain_args(f, name)?;
            arity(f, name, &args, 3, 3)?;
            let mut args = args.into_iter();
            let (c, a, b) = (args.next(), args.next(), args.next());
            match (c, a, b) {
                (Some(c), Some(a), Some(b)) => Ok(Some(case_when(c, a, Some(b)))),
                _ => Err(SqlError::plan("IF expects 3 arguments").at_span(span)),
            }
        }
        "COUNTIF" => {
            let args = plain_args(f, name)?;
            arity(f, name, &args, 1, 1)?;
            let condition = case_when(args[0].clone(), number(1), None);
            set_name(f, "count");
            f.args = FunctionArguments::List(FunctionArgumentList {
                duplicate_treatment: None,
                args: vec![FunctionArg::Unnamed(FunctionArgExpr::Expr(condition))],
                clauses: vec![],
            });
            Ok(None)
        }
        "ANY_VALUE" => {
            if let FunctionArguments::List(list) = &f.args
                && !list.clauses.is_empty()
            {
                return Err(SqlError::unsupported("ANY_VALUE with HAVING MIN/MAX").at_span(span));
            }
            set_name(f, "first_value");
            f.null_treatment = Some(NullTreatment::IgnoreNulls);
            Ok(None)
        }
        "APPROX_COUNT_DISTINCT" => {
            // Exact locally: deterministic, and within BigQuery's approximation.
            set_name(f, "count");
            if let FunctionArguments::List(list) = &mut f.args {
                list.duplicate_treatment =
                    Some(datafusion::sql::sqlparser::ast::DuplicateTreatment::Distinct);
            }
            Ok(None)
        }
        "STRING_AGG" => string_agg(f),
        "ROUND" => {
            let mut args = plain_args(f, name)?;
            arity(f, name, &args, 1, 3)?;
            if args.len() == 3 {
                return Err(SqlError::unsupported("ROUND with a rounding mode").at_span(span));
            }
            // ROUND(INT64) is FLOAT64 in BigQuery; DataFusion keeps INT64.
            args[0] = call("bq_int_to_float", vec![args[0].clone()]);
            Ok(Some(call("round", args)))
        }
        "SIGN" => {
            // DataFusion's `signum` returns FLOAT64 for INT64; BigQuery keeps the
            // input type, and SIGN(NaN) is NaN (x * 0 keeps both).
            let args = plain_args(f, name)?;
            arity(f, name, &args, 1, 1)?;
            let x = Expr::Nested(Box::new(args[0].clone()));
            let compare = |op| Expr::BinaryOp {
                left: Box::new(x.clone()),
                op,
                right: Box::new(number(0)),
            };
            let zero = Expr::BinaryOp {
                left: Box::new(x.clone()),
                op: BinaryOperator::Multiply,
                right: Box::new(number(0)),
            };
            let negative = case_when(compare(BinaryOperator::Lt), negate(number(1)), Some(zero));
            Ok(Some(case_when(
                compare(BinaryOperator::Gt),
                number(1),
                Some(negative),
            )))
        }
        "INSTR" => {
            let args = plain_args(f, name)?;
            arity(f, name, &args, 2, 4)?;
            if args.len() > 2 {
                return Ok(Some(call("bq_instr", args)));
            }
            Ok(Some(as_int64(call("instr", args))))
        }
        "DIV" => {
            let args = plain_args(f, name)?;
            arity(f, name, &args, 2, 2)?;
            Ok(Some(call("bq_div", args)))
        }
        "MOD" => {
            let args = plain_args(f, name)?;
            arity(f, name, &args, 2, 2)?;
            Ok(Some(Expr::Nested(Box::new(Expr::BinaryOp {
                left: Box::new(args[0].clone()),
                op: BinaryOperator::Modulo,
                right: Box::new(args[1].clone()),
            }))))
        }
        "LOG" => {
            let args = plain_args(f, name)?;
            arity(f, name, &args, 1, 2)?;
            Ok(Some(match args.as_slice() {
                [x] => call("ln", vec![x.clone()]),
                [x, base] => call("log", vec![base.clone(), x.clone()]),
                _ => return Err(SqlError::plan("LOG expects 1 or 2 arguments").at_span(span)),
            }))
        }
        "MD5" => {
            let args = plain_args(f, name)?;
            arity(f, name, &args, 1, 1)?;
            Ok(Some(call("digest", vec![args[0].clone(), string("md5")])))
        }
        "REGEXP_CONTAINS" => {
            let args = plain_args(f, name)?;
            arity(f, name, &args, 2, 2)?;
            Ok(Some(call("regexp_like", args)))
        }
        "REGEXP_REPLACE" => {
            let mut args = plain_args(f, name)?;
            arity(f, name, &args, 3, 3)?;
            args.push(string("g"));
            Ok(Some(call("regexp_replace", args)))
        }
        "REGEXP_EXTRACT" | "REGEXP_SUBSTR" => {
            let args = plain_args(f, name)?;
            arity(f, name, &args, 2, 2).map_err(|_| {
                SqlError::unsupported(format!("{name} with position or occurrence")).at_span(span)
            })?;
            Ok(Some(call(
                "array_element",
                vec![call("regexp_match", args), number(1)],
            )))
        }
        "DATE_ADD" | "DATE_SUB" | "DATETIME_ADD" | "DATETIME_SUB" | "TIMESTAMP_ADD"
        | "TIMESTAMP_SUB" => {
            let args = plain_args(f, name)?;
            arity(f, name, &args, 2, 2)?;
            let (n, part) = interval_arg(f, name, &args[1])?;
            let n = if name.ends_with("_SUB") { negate(n) } else { n };
            let udf = match name {
                "DATE_ADD" | "DATE_SUB" => "bq_date_add",
                "DATETIME_ADD" | "DATETIME_SUB" => "bq_datetime_add",
                _ => "bq_timestamp_add",
            };
            Ok(Some(call(udf, vec![args[0].clone(), n, part])))
        }
        "GENERATE_DATE_ARRAY" => {
            let args = plain_args(f, name)?;
            arity(f, name, &args, 2, 3)?;
            let (n, part) = match args.get(2) {
                Some(interval) => interval_arg(f, name, interval)?,
                None => (number(1), string("DAY")),
            };
            Ok(Some(call(
                "bq_generate_date_array",
                vec![args[0].clone(), args[1].clone(), n, part],
            )))
        }
        "CURRENT_DATE" => {
            let args = plain_args(f, name)?;
            if !args.is_empty() {
                return Err(SqlError::unsupported("CURRENT_DATE with a time zone").at_span(span));
            }
            Ok(Some(match opts.current_date {
                Some(date) => Expr::TypedString(TypedString {
                    data_type: DataType::Date,
                    value: Value::SingleQuotedString(date.format("%Y-%m-%d").to_string()).into(),
                    uses_odbc_syntax: false,
                }),
                None => call("current_date", vec![]),
            }))
        }
        "CURRENT_TIMESTAMP" | "CURRENT_DATETIME" => {
            let args = plain_args(f, name)?;
            if !args.is_empty() {
                return Err(SqlError::unsupported(format!("{name} with a time zone")).at_span(span));
            }
            let target = if name == "CURRENT_TIMESTAMP" {
                "TIMESTAMP"
            } else {
                "DATETIME"
            };
            Ok(Some(call(
                "bq_cast",
                vec![call("now", vec![]), string(target), boolean(false)],
            )))
        }
        "TIMESTAMP_SECONDS" | "TIMESTAMP_MILLIS" | "TIMESTAMP_MICROS" => {
            let args = plain_args(f, name)?;
            arity(f, name, &args, 1, 1)?;
            let unit = name.trim_start_matches("TIMESTAMP_");
            Ok(Some(call(
                "bq_timestamp_from_unix",
                vec![args[0].clone(), string(unit)],
            )))
        }
        "UNIX_SECONDS" | "UNIX_MILLIS" | "UNIX_MICROS" | "UNIX_DATE" => {
            let args = plain_args(f, name)?;
            arity(f, name, &args, 1, 1)?;
            let unit = match name {
                "UNIX_DATE" => "DAYS",
                other => other.trim_start_matches("UNIX_"),
            };
            Ok(Some(call(
                "bq_unix_from_timestamp",
                vec![args[0].clone(), string(unit)],
            )))
        }
        "DATE_FROM_UNIX_DATE" => {
            let args = plain_args(f, name)?;
            arity(f, name, &args, 1, 1)?;
            let ts = call(
                "bq_timestamp_from_unix",
                vec![args[0].clone(), string("DAYS")],
            );
            Ok(Some(call("bq_date", vec![ts])))
        }
        _ => Err(SqlError::unsupported(name).at_span(span)),
    }
}

/// `STRING_AGG(x [, sep] [ORDER BY ...])`; the separator defaults to ",".
pub(super) fn string_agg(f: &mut Function) -> Result<Option<Expr>, SqlError> {
    set_name(f, "string_agg");
    let span = f.name.span();
    let FunctionArguments::List(list) = &mut f.args else {
        return Err(SqlError::plan("STRING_AGG expects arguments").at_span(span));
    };
    let limit = take_limit(&mut list.clauses);
    if let Some(bad) = list
        .clauses
        .iter()
        .find(|c| !matches!(c, FunctionArgumentClause::OrderBy(_)))
    {
        return Err(SqlError::unsupported(format!("STRING_AGG with {bad}")).at_span(span));
    }
    if list.args.len() == 1 {
        list.args
            .push(FunctionArg::Unnamed(FunctionArgExpr::Expr(string(","))));
    }
    let Some(limit) = limit else {
        return Ok(None);
    };
    if f.over.is_some() {
        return Err(
            SqlError::unsupported("STRING_AGG with LIMIT as a window function").at_span(span),
        );
    }
    // STRING_AGG(x, d [ORDER BY ...] LIMIT n): the first n non-NULL values,
    // joined; NULL when there are none (as without LIMIT).
    let FunctionArguments::List(list) = &f.args else {
        return Err(SqlError::plan("STRING_AGG expects arguments").at_span(span));
    };
    let delimiter = match list.args.as_slice() {
        [_, FunctionArg::Unnamed(FunctionArgExpr::Expr(delimiter))] => delimiter.clone(),
        _ => return Err(SqlError::plan("STRING_AGG expects 1 or 2 arguments").at_span(span)),
    };
    let mut agg = f.clone();
    set_name(&mut agg, "array_agg");
    if let FunctionArguments::List(list) = &mut agg.args {
        list.args.truncate(1);
        list.clauses
            .push(FunctionArgumentClause::IgnoreOrRespectNulls(
                NullTreatment::IgnoreNulls,
            ));
    }
    let mut count = f.clone();
    set_name(&mut count, "count");
    if let FunctionArguments::List(list) = &mut count.args {
        list.args.truncate(1);
        list.clauses.clear();
    }
    let joined = call(
        "bq_array_to_string",
        vec![
            call("array_slice", vec![Expr::Function(agg), number(1), limit]),
            delimiter,
        ],
    );
    let none = Expr::BinaryOp {
        left: Box::new(Expr::Function(count)),
        op: BinaryOperator::Eq,
        right: Box::new(number(0)),
    };
    Ok(Some(case_when(
        none,
        Expr::value(Value::Null),
        Some(joined),
    )))
}
