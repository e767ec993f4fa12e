//! The daily segment tables on BigQuery: one job runs the compiled refresh
//! script for a day (tables created when missing, the day replaced in all
//! three in one transaction), then the day's stats are read back.

use chrono::NaiveDate;

use super::BigQueryEngine;
use crate::compile::segment::daily::{self, DailySegment, DailyTables};
use crate::engine::local::DayStats;
use crate::engine::values;
use crate::error::{Diagnostic, Error, Result};

impl BigQueryEngine {
    /// Replace day `day` of `segments` in the daily tables; returns the day's stats.
    pub async fn refresh_daily(
        &self,
        segments: &[DailySegment],
        tables: &DailyTables,
        day: NaiveDate,
        accept_drift: bool,
    ) -> Result<Vec<DayStats>> {
        self.ensure_dataset(&tables.stats).await?;
        let script = daily::bigquery_refresh(segments, tables, day, accept_drift);
        self.jobs.run(&script, Some("segments_refresh")).await.map_err(|f| {
            Error::execution(
                Diagnostic::new(format!(
                    "segments refresh {day} failed on BigQuery ({}): {}",
                    f.reason, f.message
                ))
                .help("the daily segment tables are unchanged (the script runs in one transaction)"),
            )
        })?;
        let names: Vec<String> = segments
            .iter()
            .map(|s| crate::compile::materialize::string_literal(&s.name))
            .collect();
        let sql = format!(
            "select segment, size, entered, exited, previous_size, status from {} where snapshot_date = date '{day}' and segment in ({}) order by segment",
            tables.stats.quoted(),
            names.join(", ")
        );
        let result = self.run_query(&sql, None).await?;
        let table = values::table(&result);
        let null = serde_json::Value::Null;
        Ok(table
            .rows
            .iter()
            .map(|row| {
                let cell = |i: usize| row.get(i).unwrap_or(&null);
                DayStats {
                    segment: cell(0).as_str().unwrap_or_default().to_string(),
                    size: cell(1).as_i64().unwrap_or(0),
                    entered: cell(2).as_i64().unwrap_or(0),
                    exited: cell(3).as_i64().unwrap_or(0),
                    previous_size: cell(4).as_i64(),
                    status: cell(5).as_str().unwrap_or_default().to_string(),
                }
            })
            .collect())
    }
}
