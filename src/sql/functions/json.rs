//! BigQuery JSON functions on JSON text (STRING): JSON_VALUE /
//! JSON_EXTRACT_SCALAR (a scalar as STRING, NULL for objects, arrays and
//! JSON null) and JSON_QUERY / JSON_EXTRACT (the JSON text of any value).
//! Paths: `$`, `.name`, `."quoted name"`, `['name']`, `[index]`.
//! TO_JSON_STRING of a STRUCT gives a JSON object with every field (NULLs
//! written as `null`); of a scalar, its JSON value.

use std::sync::Arc;

use datafusion::arrow::array::{ArrayRef, StringArray};
use datafusion::arrow::datatypes::DataType;
use datafusion::common::Result;
use datafusion::logical_expr::ScalarUDF;
use serde_json::Value;

use super::common::{BqFunction, check_arity, exec_error, ret_string, str_at};

/// All UDFs of this module.
pub fn udfs() -> Vec<ScalarUDF> {
    vec![
        BqFunction::udf("bq_json_value", ret_string, coerce_json, invoke_json_value),
        BqFunction::udf("bq_json_query", ret_string, coerce_json, invoke_json_query),
        BqFunction::udf(
            "bq_to_json_string",
            ret_string,
            coerce_to_json,
            invoke_to_json_string,
        ),
    ]
}

fn coerce_json(types: &[DataType]) -> Result<Vec<DataType>> {
    check_arity("JSON_VALUE", types, 1, 2)?;
    Ok(vec![DataType::Utf8; types.len()])
}

fn coerce_to_json(types: &[DataType]) -> Result<Vec<DataType>> {
    check_arity("TO_JSON_STRING", types, 1, 1)?;
    Ok(types.to_vec())
}

/// Each row of the argument as JSON text.
fn invoke_to_json_string(args: &[ArrayRef], _: &DataType) -> Result<ArrayRef> {
    use datafusion::arrow::array::{Array, RecordBatch, StructArray};
    use datafusion::arrow::datatypes::{Field, Schema};
    use datafusion::arrow::json::WriterBuilder;
    use datafusion::arrow::json::writer::LineDelimited;
    let value = &args[0];
    let (batch, wrapped) = match value.as_any().downcast_ref::<StructArray>() {
        Some(s) => (RecordBatch::from(s.clone()), false),
        None => {
            let schema = Schema::new(vec![Field::new("v", value.data_type().clone(), true)]);
            let batch = RecordBatch::try_new(Arc::new(schema), vec![value.clone()])?;
            (batch, true)
        }
    };
    let mut buffer = Vec::new();
    {
        let mut writer = WriterBuilder::new()
            .with_explicit_nulls(true)
            .build::<_, LineDelimited>(&mut buffer);
        writer.write(&batch)?;
        writer.finish()?;
    }
    let text = String::from_utf8(buffer).map_err(|e| exec_error(e.to_string()))?;
    let rows: Vec<Option<String>> = text
        .lines()
        .enumerate()
        .map(|(i, line)| {
            if value.is_null(i) {
                return Some("null".to_string());
            }
            if !wrapped {
                return Some(line.to_string());
            }
            let parsed: Value = serde_json::from_str(line).ok()?;
            parsed.get("v").map(|v| v.to_string())
        })
        .collect();
    Ok(Arc::new(StringArray::from(rows)))
}

/// One step of a JSON path.
#[derive(Debug, Clone, PartialEq)]
enum Step {
    Key(String),
    Index(usize),
}

/// Parses a JSONPath of BigQuery's subset.
fn parse_path(path: &str) -> Option<Vec<Step>> {
    let rest = path.trim().strip_prefix('$')?;
    let chars: Vec<char> = rest.chars().collect();
    let mut steps = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        match chars[i] {
            '.' => {
                i += 1;
                if chars.get(i) == Some(&'"') {
                    let end = chars[i + 1..].iter().position(|c| *c == '"')? + i + 1;
                    steps.push(Step::Key(chars[i + 1..end].iter().collect()));
                    i = end + 1;
                } else {
                    let start = i;
                    while i < chars.len() && chars[i] != '.' && chars[i] != '[' {
                        i += 1;
                    }
                    if i == start {
                        return None;
                    }
                    steps.push(Step::Key(chars[start..i].iter().collect()));
                }
            }
            '[' => {
                let end = chars[i..].iter().position(|c| *c == ']')? + i;
                let inner: String = chars[i + 1..end].iter().collect();
                let inner = inner.trim();
                if let Some(quoted) = inner
                    .strip_prefix('\'')
                    .and_then(|s| s.strip_suffix('\''))
                    .or_else(|| inner.strip_prefix('"').and_then(|s| s.strip_suffix('"')))
                {
                    steps.push(Step::Key(quoted.to_string()));
                } else {
                    steps.push(Step::Index(inner.parse().ok()?));
                }
                i = end + 1;
            }
            _ => return None,
        }
    }
    Some(steps)
}

fn select<'a>(value: &'a Value, steps: &[Step]) -> Option<&'a Value> {
    steps.iter().try_fold(value, |v, step| match step {
        Step::Key(k) => v.as_object()?.get(k),
        Step::Index(n) => v.as_array()?.get(*n),
    })
}

fn extract(args: &[ArrayRef], render: fn(&Value) -> Option<String>) -> Result<ArrayRef> {
    let n = args.iter().map(|a| a.len()).max().unwrap_or(0);
    let mut out: Vec<Option<String>> = Vec::with_capacity(n);
    for i in 0..n {
        let Some(text) = str_at(&args[0], i) else {
            out.push(None);
            continue;
        };
        let path = match args.get(1) {
            Some(p) => match str_at(p, i) {
                Some(p) => p,
                None => {
                    out.push(None);
                    continue;
                }
            },
            None => "$",
        };
        let steps =
            parse_path(path).ok_or_else(|| exec_error(format!("Invalid JSONPath: {path}")))?;
        // BigQuery returns NULL for JSON text it cannot parse.
        let parsed: Option<Value> = serde_json::from_str(text).ok();
        out.push(
            parsed
                .as_ref()
                .and_then(|v| select(v, &steps))
                .and_then(render),
        );
    }
    Ok(Arc::new(StringArray::from(out)))
}

fn scalar_text(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Null | Value::Array(_) | Value::Object(_) => None,
    }
}

fn json_text(value: &Value) -> Option<String> {
    serde_json::to_string(value).ok()
}

fn invoke_json_value(args: &[ArrayRef], _: &DataType) -> Result<ArrayRef> {
    extract(args, scalar_text)
}

fn invoke_json_query(args: &[ArrayRef], _: &DataType) -> Result<ArrayRef> {
    extract(args, json_text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_paths() {
        assert_eq!(parse_path("$"), Some(vec![]));
        assert_eq!(
            parse_path("$.a['b c'][2].\"d.e\""),
            Some(vec![
                Step::Key("a".into()),
                Step::Key("b c".into()),
                Step::Index(2),
                Step::Key("d.e".into())
            ])
        );
        assert_eq!(parse_path("a.b"), None);
    }
}
