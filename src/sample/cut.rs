//! The raw tables as they stood at an earlier moment: for each table, the
//! rows that had arrived (by its arrival column: `updated_at`, `started_at`,
//! `touched_at`) before midnight UTC of a day. Building "yesterday" from the
//! cut and refreshing "today" on top of it is how a daily pipeline sees its
//! sources grow; the daily benchmark and the incremental tests do exactly
//! that. Files are written like [`super::generate`]'s: under temporary names,
//! renamed into place once all four are complete.

use std::fs::File;
use std::path::Path;

use chrono::NaiveDate;
use datafusion::arrow::array::{Array, BooleanArray, TimestampMicrosecondArray};
use datafusion::arrow::compute::filter_record_batch;
use datafusion::parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

use super::schema::{CONTRACT, Table};
use super::writer::{FinishedFile, ParquetFile};
use super::{SampleSummary, publish};
use crate::{Diagnostic, Error};

/// Copy the four raw tables of `from` into `out`, keeping the rows that
/// arrived before `day` (00:00 UTC).
pub fn arrived_before(from: &Path, out: &Path, day: NaiveDate) -> Result<SampleSummary, Error> {
    let cutoff = day
        .and_hms_opt(0, 0, 0)
        .map(|t| t.and_utc().timestamp_micros())
        .ok_or_else(|| Error::config(Diagnostic::new(format!("{day} has no midnight"))))?;
    std::fs::create_dir_all(out).map_err(|e| Error::io("create the output directory", out, e))?;
    let finished = CONTRACT
        .iter()
        .map(|table| cut_table(from, out, table, cutoff))
        .collect::<Result<Vec<_>, _>>()?;
    publish(finished)
}

fn cut_table(
    from: &Path,
    out: &Path,
    table: &Table,
    cutoff: i64,
) -> Result<(FinishedFile, u64), Error> {
    let path = from.join(format!("{}.parquet", table.name));
    let unreadable = |e: &dyn std::fmt::Display| {
        Error::execution(Diagnostic::new(format!(
            "cannot read {}: {e}",
            path.display()
        )))
    };
    let file = File::open(&path).map_err(|e| Error::io("open", &path, e))?;
    let reader = ParquetRecordBatchReaderBuilder::try_new(file)
        .and_then(|b| b.build())
        .map_err(|e| unreadable(&e))?;
    let mut writer = ParquetFile::create(out, table)?;
    let mut rows = 0;
    for batch in reader {
        let batch = batch.map_err(|e| unreadable(&e))?;
        let arrived = batch
            .column_by_name(table.arrival)
            .and_then(|c| c.as_any().downcast_ref::<TimestampMicrosecondArray>())
            .ok_or_else(|| unreadable(&format!("no TIMESTAMP column `{}`", table.arrival)))?;
        let keep: BooleanArray = arrived.iter().map(|t| t.map(|t| t < cutoff)).collect();
        let kept = filter_record_batch(&batch, &keep).map_err(|e| unreadable(&e))?;
        rows += kept.num_rows() as u64;
        writer.write(&kept)?;
    }
    Ok((writer.finish()?, rows))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sample::{SampleOptions, generate};

    fn count(path: &Path, table: &Table, before: Option<i64>) -> u64 {
        let file = File::open(path.join(format!("{}.parquet", table.name))).unwrap();
        let reader = ParquetRecordBatchReaderBuilder::try_new(file)
            .unwrap()
            .build()
            .unwrap();
        let mut n = 0;
        for batch in reader {
            let batch = batch.unwrap();
            let ts = batch
                .column_by_name(table.arrival)
                .unwrap()
                .as_any()
                .downcast_ref::<TimestampMicrosecondArray>()
                .unwrap();
            n += (0..ts.len())
                .filter(|&i| before.is_none_or(|b| ts.is_valid(i) && ts.value(i) < b))
                .count() as u64;
        }
        n
    }

    #[test]
    fn keeps_exactly_the_rows_that_arrived_before_midnight() {
        let dir = tempfile::tempdir().unwrap();
        let day = NaiveDate::from_ymd_opt(2026, 11, 23).unwrap();
        let (full, cut) = (dir.path().join("full"), dir.path().join("cut"));
        generate(&SampleOptions {
            customers: 300,
            seed: 7,
            as_of: day,
            out: full.clone(),
        })
        .unwrap();
        let summary = arrived_before(&full, &cut, day).unwrap();
        let midnight = day
            .and_hms_opt(0, 0, 0)
            .unwrap()
            .and_utc()
            .timestamp_micros();
        for (table, (name, rows)) in CONTRACT.iter().zip(&summary.tables) {
            assert_eq!(name, table.name);
            let expected = count(&full, table, Some(midnight));
            assert_eq!(*rows, expected, "{name}");
            assert_eq!(count(&cut, table, None), expected, "{name}");
            // The last day has rows in every table, so the cut is smaller.
            assert!(expected < count(&full, table, None), "{name}");
        }
    }
}
