//! BigQuery's REST rows (`{"f": [{"v": ...}]}` with a schema) as Arrow
//! record batches, so `show`, data tests and comparisons read warehouse
//! results exactly like local ones. Scalars get their Arrow type (INT64 →
//! Int64, DATE → Date32, TIMESTAMP → microseconds in UTC, ...); arrays and
//! structs are kept as their JSON text.

use std::sync::Arc;

use chrono::{NaiveDate, NaiveDateTime};
use datafusion::arrow::array::{
    ArrayRef, BooleanBuilder, Date32Builder, Float64Builder, Int64Builder, StringBuilder,
    TimestampMicrosecondBuilder,
};
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};
use datafusion::arrow::record_batch::RecordBatch;
use gcp_bigquery_client::model::field_type::FieldType;
use gcp_bigquery_client::model::table_field_schema::TableFieldSchema;
use gcp_bigquery_client::model::table_row::TableRow;
use serde_json::Value;

/// The Arrow schema of a BigQuery result.
pub fn schema(fields: &[TableFieldSchema]) -> SchemaRef {
    Arc::new(Schema::new(
        fields
            .iter()
            .map(|f| Field::new(f.name.clone(), arrow_type(f), true))
            .collect::<Vec<_>>(),
    ))
}

fn repeated(field: &TableFieldSchema) -> bool {
    field
        .mode
        .as_deref()
        .is_some_and(|m| m.eq_ignore_ascii_case("repeated"))
}

fn arrow_type(field: &TableFieldSchema) -> DataType {
    if repeated(field) {
        return DataType::Utf8;
    }
    match field.r#type {
        FieldType::Integer | FieldType::Int64 => DataType::Int64,
        FieldType::Float | FieldType::Float64 | FieldType::Numeric | FieldType::Bignumeric => {
            DataType::Float64
        }
        FieldType::Boolean | FieldType::Bool => DataType::Boolean,
        FieldType::Date => DataType::Date32,
        FieldType::Timestamp => DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
        FieldType::Datetime => DataType::Timestamp(TimeUnit::Microsecond, None),
        _ => DataType::Utf8,
    }
}

/// One record batch of `rows` in `schema`.
pub fn batch(
    schema: &SchemaRef,
    fields: &[TableFieldSchema],
    rows: &[TableRow],
) -> Result<RecordBatch, String> {
    let mut columns: Vec<ArrayRef> = Vec::with_capacity(fields.len());
    for (index, _) in fields.iter().enumerate() {
        let values = rows.iter().map(|row| {
            row.columns
                .as_ref()
                .and_then(|cells| cells.get(index))
                .and_then(|cell| cell.value.as_ref())
                .filter(|v| !v.is_null())
        });
        let column: ArrayRef = match schema.field(index).data_type() {
            DataType::Int64 => {
                let mut b = Int64Builder::new();
                for v in values {
                    b.append_option(v.and_then(|v| text(v).parse().ok()));
                }
                Arc::new(b.finish())
            }
            DataType::Float64 => {
                let mut b = Float64Builder::new();
                for v in values {
                    b.append_option(v.and_then(|v| float(&text(v))));
                }
                Arc::new(b.finish())
            }
            DataType::Boolean => {
                let mut b = BooleanBuilder::new();
                for v in values {
                    b.append_option(v.map(|v| text(v).eq_ignore_ascii_case("true")));
                }
                Arc::new(b.finish())
            }
            DataType::Date32 => {
                let mut b = Date32Builder::new();
                for v in values {
                    b.append_option(v.and_then(|v| days(&text(v))));
                }
                Arc::new(b.finish())
            }
            DataType::Timestamp(_, Some(_)) => {
                let mut b = TimestampMicrosecondBuilder::new().with_timezone("UTC");
                for v in values {
                    b.append_option(v.and_then(|v| timestamp_micros(&text(v))));
                }
                Arc::new(b.finish())
            }
            DataType::Timestamp(_, None) => {
                let mut b = TimestampMicrosecondBuilder::new();
                for v in values {
                    b.append_option(v.and_then(|v| datetime_micros(&text(v))));
                }
                Arc::new(b.finish())
            }
            _ => {
                let mut b = StringBuilder::new();
                for v in values {
                    b.append_option(v.map(|v| match v {
                        Value::String(s) => s.clone(),
                        other => plain_json(other).to_string(),
                    }));
                }
                Arc::new(b.finish())
            }
        };
        columns.push(column);
    }
    RecordBatch::try_new(schema.clone(), columns).map_err(|e| e.to_string())
}

fn text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn float(text: &str) -> Option<f64> {
    match text {
        "Infinity" => Some(f64::INFINITY),
        "-Infinity" => Some(f64::NEG_INFINITY),
        "NaN" => Some(f64::NAN),
        t => t.parse().ok(),
    }
}

fn days(text: &str) -> Option<i32> {
    let date = NaiveDate::parse_from_str(text, "%Y-%m-%d").ok()?;
    let epoch = NaiveDate::from_ymd_opt(1970, 1, 1)?;
    i32::try_from((date - epoch).num_days()).ok()
}

/// BigQuery sends TIMESTAMP as seconds in floating point (`1.7E9`) or, with
/// int64 timestamps, as microseconds.
fn timestamp_micros(text: &str) -> Option<i64> {
    if text.contains(['.', 'e', 'E']) {
        let seconds: f64 = text.parse().ok()?;
        return Some((seconds * 1_000_000.0).round() as i64);
    }
    let n: i64 = text.parse().ok()?;
    // Seconds since 1970 stay below 10^11 until the year 5138.
    Some(if n.abs() < 100_000_000_000 {
        n * 1_000_000
    } else {
        n
    })
}

fn datetime_micros(text: &str) -> Option<i64> {
    let parsed = NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%.f")
        .or_else(|_| NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S%.f"))
        .ok()?;
    Some(parsed.and_utc().timestamp_micros())
}

/// `{"v": ...}` / `{"f": [...]}` wrappers removed from arrays and structs.
fn plain_json(value: &Value) -> Value {
    match value {
        Value::Array(items) => Value::Array(items.iter().map(plain_json).collect()),
        Value::Object(map) => {
            if let Some(v) = map.get("v") {
                plain_json(v)
            } else if let Some(Value::Array(fields)) = map.get("f") {
                Value::Array(fields.iter().map(plain_json).collect())
            } else {
                value.clone()
            }
        }
        other => other.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::arrow::array::{Array, AsArray};
    use datafusion::arrow::datatypes::{Date32Type, Int64Type, TimestampMicrosecondType};

    fn fields() -> Vec<TableFieldSchema> {
        serde_json::from_value(serde_json::json!([
            {"name": "i", "type": "INTEGER", "mode": "NULLABLE"},
            {"name": "d", "type": "DATE"},
            {"name": "ts", "type": "TIMESTAMP"},
            {"name": "arr", "type": "INTEGER", "mode": "REPEATED"}
        ]))
        .unwrap()
    }

    #[test]
    fn rest_rows_become_typed_arrow_columns() {
        let fields = fields();
        let rows: Vec<TableRow> = serde_json::from_value(serde_json::json!([
            {"f": [{"v": "7"}, {"v": "2024-01-02"}, {"v": "1.7041646451234E9"}, {"v": [{"v": "1"}, {"v": "2"}]}]},
            {"f": [{"v": null}, {"v": null}, {"v": "1704164645123456"}, {"v": []}]}
        ]))
        .unwrap();
        let schema = schema(&fields);
        let batch = batch(&schema, &fields, &rows).unwrap();
        let ints = batch.column(0).as_primitive::<Int64Type>();
        assert_eq!(ints.value(0), 7);
        assert!(ints.is_null(1));
        assert_eq!(batch.column(1).as_primitive::<Date32Type>().value(0), 19724);
        let ts = batch.column(2).as_primitive::<TimestampMicrosecondType>();
        assert_eq!(ts.value(0), 1_704_164_645_123_400);
        assert_eq!(ts.value(1), 1_704_164_645_123_456);
        assert_eq!(batch.column(3).as_string::<i32>().value(0), "[\"1\",\"2\"]");
    }
}
