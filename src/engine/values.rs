//! Query results as plain values: Arrow cells to JSON (numbers, strings,
//! booleans, arrays, objects) and to text, with BigQuery's type names and
//! BigQuery's canonical formats for dates and timestamps.

use datafusion::arrow::array::{Array, ArrayRef, AsArray};
use datafusion::arrow::datatypes::{
    DataType, Date32Type, Float32Type, Float64Type, Int8Type, Int16Type, Int32Type, Int64Type,
    TimeUnit, TimestampMicrosecondType, TimestampMillisecondType, TimestampNanosecondType,
    TimestampSecondType, UInt8Type, UInt16Type, UInt32Type, UInt64Type,
};
use datafusion::arrow::util::display::{ArrayFormatter, FormatOptions};
use serde_json::{Number, Value};

use super::QueryResult;

/// Column names, BigQuery type names and rows of a result.
#[derive(Debug, Clone, PartialEq)]
pub struct Table {
    pub columns: Vec<String>,
    pub types: Vec<String>,
    pub rows: Vec<Vec<Value>>,
}

/// Convert a query result into plain values.
pub fn table(result: &QueryResult) -> Table {
    let columns = result
        .schema
        .fields()
        .iter()
        .map(|f| f.name().clone())
        .collect();
    let types = result
        .schema
        .fields()
        .iter()
        .map(|f| bigquery_type(f.data_type()))
        .collect();
    let mut rows = Vec::with_capacity(result.row_count());
    for batch in &result.batches {
        for row in 0..batch.num_rows() {
            rows.push(batch.columns().iter().map(|c| cell(c, row)).collect());
        }
    }
    Table {
        columns,
        types,
        rows,
    }
}

/// BigQuery's name for a local Arrow type.
pub fn bigquery_type(data_type: &DataType) -> String {
    match data_type {
        DataType::Int8 | DataType::Int16 | DataType::Int32 | DataType::Int64 => "INT64".into(),
        DataType::UInt8 | DataType::UInt16 | DataType::UInt32 | DataType::UInt64 => "INT64".into(),
        DataType::Float16 | DataType::Float32 | DataType::Float64 => "FLOAT64".into(),
        DataType::Boolean => "BOOL".into(),
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => "STRING".into(),
        DataType::Binary
        | DataType::LargeBinary
        | DataType::BinaryView
        | DataType::FixedSizeBinary(_) => "BYTES".into(),
        DataType::Date32 | DataType::Date64 => "DATE".into(),
        DataType::Timestamp(_, Some(_)) => "TIMESTAMP".into(),
        DataType::Timestamp(_, None) => "DATETIME".into(),
        DataType::Time32(_) | DataType::Time64(_) => "TIME".into(),
        DataType::Decimal128(_, _) => "NUMERIC".into(),
        DataType::Decimal256(_, _) => "BIGNUMERIC".into(),
        DataType::Interval(_) => "INTERVAL".into(),
        DataType::List(f) | DataType::LargeList(f) | DataType::FixedSizeList(f, _) => {
            format!("ARRAY<{}>", bigquery_type(f.data_type()))
        }
        DataType::Struct(fields) => format!(
            "STRUCT<{}>",
            fields
                .iter()
                .map(|f| format!("{} {}", f.name(), bigquery_type(f.data_type())))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        DataType::Null => "NULL".into(),
        other => other.to_string(),
    }
}

/// One cell as a JSON value.
pub fn cell(array: &ArrayRef, row: usize) -> Value {
    if array.is_null(row) {
        return Value::Null;
    }
    match array.data_type() {
        DataType::Boolean => Value::Bool(array.as_boolean().value(row)),
        DataType::Int8 => int(array.as_primitive::<Int8Type>().value(row)),
        DataType::Int16 => int(array.as_primitive::<Int16Type>().value(row)),
        DataType::Int32 => int(array.as_primitive::<Int32Type>().value(row)),
        DataType::Int64 => int(array.as_primitive::<Int64Type>().value(row)),
        DataType::UInt8 => int(array.as_primitive::<UInt8Type>().value(row)),
        DataType::UInt16 => int(array.as_primitive::<UInt16Type>().value(row)),
        DataType::UInt32 => int(array.as_primitive::<UInt32Type>().value(row)),
        DataType::UInt64 => Value::Number(array.as_primitive::<UInt64Type>().value(row).into()),
        DataType::Float32 => float(f64::from(array.as_primitive::<Float32Type>().value(row))),
        DataType::Float64 => float(array.as_primitive::<Float64Type>().value(row)),
        DataType::Utf8 => Value::String(array.as_string::<i32>().value(row).to_string()),
        DataType::LargeUtf8 => Value::String(array.as_string::<i64>().value(row).to_string()),
        DataType::Utf8View => Value::String(array.as_string_view().value(row).to_string()),
        DataType::Date32 => date(array.as_primitive::<Date32Type>().value(row)),
        DataType::Timestamp(unit, tz) => timestamp(array, row, *unit, tz.is_some()),
        DataType::List(_) => list(array.as_list::<i32>().value(row)),
        DataType::LargeList(_) => list(array.as_list::<i64>().value(row)),
        DataType::Struct(fields) => {
            let s = array.as_struct();
            let map = fields
                .iter()
                .zip(s.columns())
                .map(|(f, c)| (f.name().clone(), cell(c, row)))
                .collect();
            Value::Object(map)
        }
        _ => Value::String(text(array, row)),
    }
}

/// One cell as display text (NULL for nulls).
pub fn cell_text(array: &ArrayRef, row: usize) -> String {
    match cell(array, row) {
        Value::Null => "NULL".into(),
        Value::String(s) => s,
        other => other.to_string(),
    }
}

fn int(v: impl Into<i64>) -> Value {
    Value::Number(v.into().into())
}

fn float(v: f64) -> Value {
    match Number::from_f64(v) {
        Some(n) => Value::Number(n),
        // JSON has no NaN/Infinity: BigQuery's REST API also writes these as strings.
        None if v.is_nan() => Value::String("NaN".into()),
        None if v > 0.0 => Value::String("Infinity".into()),
        None => Value::String("-Infinity".into()),
    }
}

fn date(days: i32) -> Value {
    let epoch = chrono::NaiveDate::from_ymd_opt(1970, 1, 1).unwrap_or_default();
    match epoch.checked_add_signed(chrono::Duration::days(i64::from(days))) {
        Some(d) => Value::String(d.format("%Y-%m-%d").to_string()),
        None => Value::Null,
    }
}

fn timestamp(array: &ArrayRef, row: usize, unit: TimeUnit, utc: bool) -> Value {
    let micros = match unit {
        TimeUnit::Second => array
            .as_primitive::<TimestampSecondType>()
            .value(row)
            .saturating_mul(1_000_000),
        TimeUnit::Millisecond => array
            .as_primitive::<TimestampMillisecondType>()
            .value(row)
            .saturating_mul(1_000),
        TimeUnit::Microsecond => array.as_primitive::<TimestampMicrosecondType>().value(row),
        TimeUnit::Nanosecond => array.as_primitive::<TimestampNanosecondType>().value(row) / 1_000,
    };
    let Some(dt) = chrono::DateTime::from_timestamp_micros(micros) else {
        return Value::Null;
    };
    let naive = dt.naive_utc();
    let base = if naive.and_utc().timestamp_subsec_micros() == 0 {
        naive.format("%Y-%m-%d %H:%M:%S").to_string()
    } else {
        naive.format("%Y-%m-%d %H:%M:%S%.6f").to_string()
    };
    Value::String(if utc {
        format!("{base} UTC")
    } else {
        base.replacen(' ', "T", 1)
    })
}

fn list(values: ArrayRef) -> Value {
    Value::Array((0..values.len()).map(|i| cell(&values, i)).collect())
}

fn text(array: &ArrayRef, row: usize) -> String {
    let options = FormatOptions::default().with_null("NULL");
    match ArrayFormatter::try_new(array.as_ref(), &options) {
        Ok(formatter) => formatter.value(row).to_string(),
        Err(_) => String::from("?"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::arrow::array::{
        Date32Array, Int64Array, StringArray, TimestampMicrosecondArray,
    };
    use std::sync::Arc;

    #[test]
    fn cells_use_bigquery_formats() {
        let ints: ArrayRef = Arc::new(Int64Array::from(vec![Some(7), None]));
        assert_eq!(cell(&ints, 0), Value::from(7));
        assert_eq!(cell(&ints, 1), Value::Null);
        let dates: ArrayRef = Arc::new(Date32Array::from(vec![20_415]));
        assert_eq!(cell(&dates, 0), Value::from("2025-11-23"));
        let ts: ArrayRef = Arc::new(
            TimestampMicrosecondArray::from(vec![1_700_000_000_000_000]).with_timezone("UTC"),
        );
        assert_eq!(cell(&ts, 0), Value::from("2023-11-14 22:13:20 UTC"));
        let s: ArrayRef = Arc::new(StringArray::from(vec!["a"]));
        assert_eq!(cell_text(&s, 0), "a");
    }

    #[test]
    fn type_names() {
        assert_eq!(bigquery_type(&DataType::Int64), "INT64");
        assert_eq!(
            bigquery_type(&DataType::Timestamp(
                TimeUnit::Microsecond,
                Some("UTC".into())
            )),
            "TIMESTAMP"
        );
    }
}
