//! The Arrow schemas of the four raw tables, exactly as the data contract
//! lists them (column order included): INT64 -> Int64, STRING -> Utf8,
//! BOOL -> Boolean, FLOAT64 -> Float64, TIMESTAMP -> Timestamp(µs, "UTC").
//! Every column is nullable, as in a BigQuery table loaded from raw files.

use std::sync::Arc;

use datafusion::arrow::array::TimestampMicrosecondBuilder;
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};

/// The time zone of every timestamp column.
pub const TIME_ZONE: &str = "UTC";

/// A column type of the contract.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Column {
    Int64,
    String,
    Bool,
    Float64,
    Timestamp,
}

impl Column {
    /// The Arrow type this contract type is stored as.
    pub fn data_type(self) -> DataType {
        match self {
            Column::Int64 => DataType::Int64,
            Column::String => DataType::Utf8,
            Column::Bool => DataType::Boolean,
            Column::Float64 => DataType::Float64,
            Column::Timestamp => DataType::Timestamp(TimeUnit::Microsecond, Some(TIME_ZONE.into())),
        }
    }
}

/// A table of the contract: its name, its columns in order, and the columns
/// with few distinct values (dictionary-encoded in Parquet; the others are
/// not, which keeps writing fast).
#[derive(Debug, Clone, Copy)]
pub struct Table {
    pub name: &'static str,
    pub columns: &'static [(&'static str, Column)],
    pub dictionary: &'static [&'static str],
    /// The TIMESTAMP column that says when a row arrived in the source.
    pub arrival: &'static str,
}

impl Table {
    /// The Arrow schema of the table.
    pub fn arrow_schema(&self) -> SchemaRef {
        let fields: Vec<Field> = self
            .columns
            .iter()
            .map(|&(name, column)| Field::new(name, column.data_type(), true))
            .collect();
        Arc::new(Schema::new(fields))
    }
}

/// raw_customers: one row per CRM record.
pub const CUSTOMERS: Table = Table {
    name: "raw_customers",
    columns: &[
        ("customer_id", Column::Int64),
        ("email", Column::String),
        ("phone", Column::String),
        ("first_name", Column::String),
        ("last_name", Column::String),
        ("country", Column::String),
        ("zip", Column::String),
        ("created_at", Column::Timestamp),
        ("updated_at", Column::Timestamp),
        ("consent_ad_user_data", Column::Bool),
        ("consent_ad_personalization", Column::Bool),
        ("crm_source", Column::String),
    ],
    dictionary: &["first_name", "last_name", "country", "crm_source"],
    arrival: "updated_at",
};

/// raw_sessions: GA4-style sessions.
pub const SESSIONS: Table = Table {
    name: "raw_sessions",
    columns: &[
        ("session_id", Column::Int64),
        ("customer_id", Column::Int64),
        ("user_pseudo_id", Column::String),
        ("started_at", Column::Timestamp),
        ("page_views", Column::Int64),
        ("pricing_page_views", Column::Int64),
        ("device", Column::String),
        ("channel", Column::String),
        ("duration_s", Column::Int64),
    ],
    dictionary: &["page_views", "pricing_page_views", "device", "channel"],
    arrival: "started_at",
};

/// raw_transactions: orders, re-sent when their status changes.
pub const TRANSACTIONS: Table = Table {
    name: "raw_transactions",
    columns: &[
        ("transaction_id", Column::Int64),
        ("customer_id", Column::Int64),
        ("ordered_at", Column::Timestamp),
        ("updated_at", Column::Timestamp),
        ("revenue", Column::Float64),
        ("currency", Column::String),
        ("status", Column::String),
    ],
    dictionary: &["currency", "status"],
    arrival: "updated_at",
};

/// raw_campaign_touches: impressions, clicks and email opens.
pub const CAMPAIGN_TOUCHES: Table = Table {
    name: "raw_campaign_touches",
    columns: &[
        ("touch_id", Column::Int64),
        ("customer_id", Column::Int64),
        ("campaign_id", Column::String),
        ("channel", Column::String),
        ("touched_at", Column::Timestamp),
        ("event", Column::String),
    ],
    dictionary: &["campaign_id", "channel", "event"],
    arrival: "touched_at",
};

/// Every table, in file order.
pub const CONTRACT: [Table; 4] = [CUSTOMERS, SESSIONS, TRANSACTIONS, CAMPAIGN_TOUCHES];

/// The builder of a contract TIMESTAMP column.
pub type TimestampBuilder = TimestampMicrosecondBuilder;

/// A builder for a contract TIMESTAMP column.
pub fn timestamp_builder(capacity: usize) -> TimestampBuilder {
    TimestampMicrosecondBuilder::with_capacity(capacity).with_timezone(TIME_ZONE)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_are_utc_microseconds() {
        let schema = SESSIONS.arrow_schema();
        let started = schema.field_with_name("started_at").unwrap();
        assert_eq!(
            started.data_type(),
            &DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()))
        );
        assert_eq!(schema.fields().len(), 9);
    }

    #[test]
    fn dictionary_columns_exist() {
        for table in CONTRACT {
            for name in table.dictionary {
                assert!(
                    table.columns.iter().any(|(c, _)| c == name),
                    "{}.{name}",
                    table.name
                );
            }
        }
    }
}
