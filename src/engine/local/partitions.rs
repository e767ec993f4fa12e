//! The file layout of a local incremental table: one folder (a version, see
//! [`super::storage`]) of Parquet files read back as one table. A
//! partitioned table keeps each partition in its own files,
//! `partition-<key>-<n>.parquet` (`partition-2026-11-23-00000.parquet`), so
//! replacing a day rewrites that day's file only; an unpartitioned table is
//! `part-<n>.parquet`. Appends add a file with the next `<n>`.
//!
//! Files stay directly in the version folder (no hive-style sub-folders), so
//! DataFusion lists them as one table without partition columns.

use std::collections::BTreeMap;
use std::path::Path;

use chrono::{DateTime, Datelike, Timelike};
use datafusion::arrow::array::{Array, Int64Array, RecordBatch, UInt32Array};
use datafusion::arrow::compute::{cast, take_record_batch};
use datafusion::arrow::datatypes::{DataType, TimeUnit};

use crate::error::{Diagnostic, Error, Result};
use crate::project::PartitionBy;

/// A partition's name: its day (`2026-11-23`), month or year start, or hour
/// (`2026-11-23T05`); `None` for rows whose partition column is NULL.
pub type PartitionKey = Option<String>;

/// One Parquet file of a table version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableFile {
    pub name: String,
    /// `Some(key)` for a partition's file; `None` for an unpartitioned file.
    pub partition: Option<PartitionKey>,
    pub seq: u32,
}

const NULL_KEY: &str = "null";

impl TableFile {
    /// The name of file `seq` of `partition` (`None`: unpartitioned).
    pub fn name_for(partition: Option<&PartitionKey>, seq: u32) -> String {
        match partition {
            None => format!("part-{seq:05}.parquet"),
            Some(key) => format!(
                "partition-{}-{seq:05}.parquet",
                key.as_deref().unwrap_or(NULL_KEY)
            ),
        }
    }

    fn parse(name: &str) -> Option<TableFile> {
        let stem = name.strip_suffix(".parquet")?;
        let (head, seq) = stem.rsplit_once('-')?;
        let seq: u32 = seq.parse().ok()?;
        let partition = if head == "part" {
            None
        } else {
            let key = head.strip_prefix("partition-")?;
            Some((key != NULL_KEY).then(|| key.to_string()))
        };
        Some(TableFile {
            name: name.to_string(),
            partition,
            seq,
        })
    }
}

/// The data files of a version folder, sorted by name.
pub fn list(dir: &Path) -> Result<Vec<TableFile>> {
    let entries = std::fs::read_dir(dir).map_err(|e| Error::io("read", dir, e))?;
    let mut files = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| Error::io("read", dir, e))?;
        if let Some(file) = TableFile::parse(&entry.file_name().to_string_lossy()) {
            files.push(file);
        }
    }
    files.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(files)
}

/// The next free file number of `partition` among `files`.
pub fn next_seq(files: &[TableFile], partition: Option<&PartitionKey>) -> u32 {
    files
        .iter()
        .filter(|f| f.partition.as_ref() == partition)
        .map(|f| f.seq + 1)
        .max()
        .unwrap_or(0)
}

/// The partition of every row of `batch`, as a number ([`Bucket`]); `None`
/// for rows whose partition column is NULL.
fn buckets(batch: &RecordBatch, partition: &PartitionBy) -> Result<(Vec<Option<i64>>, Bucket)> {
    let index = batch
        .schema()
        .fields()
        .iter()
        .position(|f| f.name().eq_ignore_ascii_case(&partition.field))
        .ok_or_else(|| {
            Error::config(Diagnostic::new(format!(
                "partition_by field `{}` is not a column of the model",
                partition.field
            )))
        })?;
    let column = batch.column(index);
    let fail = |e: &dyn std::fmt::Display| {
        Error::execution(Diagnostic::new(format!(
            "cannot partition by `{}` ({}): {e}",
            partition.field,
            column.data_type()
        )))
    };
    if !matches!(
        column.data_type(),
        DataType::Date32 | DataType::Date64 | DataType::Timestamp(..)
    ) {
        return Err(fail(&"a DATE, TIMESTAMP or DATETIME column is needed"));
    }
    let micros = cast(column, &DataType::Timestamp(TimeUnit::Microsecond, None))
        .and_then(|a| cast(&a, &DataType::Int64))
        .map_err(|e| fail(&e))?;
    let micros = micros
        .as_any()
        .downcast_ref::<Int64Array>()
        .ok_or_else(|| fail(&"not an integer array"))?;
    let bucket = Bucket::of(&partition.granularity);
    let numbers = micros
        .iter()
        .map(|value| value.map(|us| bucket.number(us)).transpose())
        .collect::<std::result::Result<_, _>>()
        .map_err(|us: i64| fail(&format!("{us} is out of range")))?;
    Ok((numbers, bucket))
}

/// A partition granularity, numbering instants by their partition: hours
/// and days since the epoch, months and years since year 0.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Bucket {
    Hour,
    Day,
    Month,
    Year,
}

const MICROS_PER_HOUR: i64 = 3_600_000_000;
const MICROS_PER_DAY: i64 = 24 * MICROS_PER_HOUR;

impl Bucket {
    fn of(granularity: &str) -> Bucket {
        match granularity.to_ascii_lowercase().as_str() {
            "hour" => Bucket::Hour,
            "month" => Bucket::Month,
            "year" => Bucket::Year,
            _ => Bucket::Day,
        }
    }

    /// The partition number of the instant `us` (microseconds since the
    /// epoch); `Err(us)` when it is out of the calendar's range.
    fn number(self, us: i64) -> std::result::Result<i64, i64> {
        match self {
            Bucket::Hour => Ok(us.div_euclid(MICROS_PER_HOUR)),
            Bucket::Day => Ok(us.div_euclid(MICROS_PER_DAY)),
            Bucket::Month | Bucket::Year => {
                let at = DateTime::from_timestamp_micros(us).ok_or(us)?;
                let year = i64::from(at.year());
                Ok(if self == Bucket::Year {
                    year
                } else {
                    year * 12 + i64::from(at.month0())
                })
            }
        }
    }

    /// The partition's name: `2026-11-23`, `2026-11-23T05`, `2026-11-01`, `2026-01-01`.
    fn name(self, number: i64) -> Option<String> {
        Some(match self {
            Bucket::Hour => {
                let at = DateTime::from_timestamp(number.checked_mul(3600)?, 0)?;
                format!("{}T{:02}", at.date_naive(), at.hour())
            }
            Bucket::Day => DateTime::from_timestamp(number.checked_mul(86_400)?, 0)?
                .date_naive()
                .to_string(),
            Bucket::Month => format!(
                "{:04}-{:02}-01",
                number.div_euclid(12),
                number.rem_euclid(12) + 1
            ),
            Bucket::Year => format!("{number:04}-01-01"),
        })
    }
}

/// Split `batch` by partition, in key order: one `take` puts the rows in
/// partition order, and each partition is a zero-copy slice of it.
pub fn split(
    batch: &RecordBatch,
    partition: &PartitionBy,
) -> Result<BTreeMap<PartitionKey, RecordBatch>> {
    let (numbers, bucket) = buckets(batch, partition)?;
    let (order, groups) = group_rows(&numbers).ok_or_else(|| {
        Error::execution(Diagnostic::new("an incremental batch has too many rows"))
    })?;
    let sorted = take_record_batch(batch, &UInt32Array::from(order))
        .map_err(|e| Error::execution(Diagnostic::new(e.to_string())))?;
    let mut parts = BTreeMap::new();
    let mut start = 0;
    for (number, len) in groups {
        let key = match number {
            None => None,
            Some(n) => Some(bucket.name(n).ok_or_else(|| {
                Error::execution(Diagnostic::new(format!(
                    "partition {n} of `{}` is out of range",
                    partition.field
                )))
            })?),
        };
        parts.insert(key, sorted.slice(start, len));
        start += len;
    }
    Ok(parts)
}

/// Partition numbers (`None`: NULL) and how many rows each has, in order.
type Groups = Vec<(Option<i64>, usize)>;

/// The row positions of `numbers` grouped by number (NULL first, then
/// ascending; rows keep their order within a group), and each group's number
/// and length. `None` when the positions do not fit in `u32`.
///
/// Partition numbers of one batch usually span a few hundred days, so this
/// is a counting sort (two passes, no comparisons); numbers spread far wider
/// than the rows fall back to a stable comparison sort.
fn group_rows(numbers: &[Option<i64>]) -> Option<(Vec<u32>, Groups)> {
    let rows = u32::try_from(numbers.len()).ok()?;
    let (min, max) = numbers
        .iter()
        .flatten()
        .fold((i64::MAX, i64::MIN), |(lo, hi), &n| (lo.min(n), hi.max(n)));
    let span = if min > max {
        Some(0)
    } else {
        max.checked_sub(min)
            .and_then(|d| usize::try_from(d).ok())
            .and_then(|d| d.checked_add(1))
    };
    let counting_limit = numbers.len().max(1024).saturating_mul(4);
    match span {
        Some(span) if span <= counting_limit => Some(counting_sort(numbers, min, span)),
        _ => {
            let mut order: Vec<u32> = (0..rows).collect();
            order.sort_by_key(|&i| numbers[i as usize]);
            let mut groups = Groups::new();
            for &i in &order {
                let number = numbers[i as usize];
                match groups.last_mut() {
                    Some((last, len)) if *last == number => *len += 1,
                    _ => groups.push((number, 1)),
                }
            }
            Some((order, groups))
        }
    }
}

/// [`group_rows`] for numbers within `min..min + span`: slot 0 holds NULL,
/// slot `n - min + 1` the number `n`.
fn counting_sort(
    numbers: &[Option<i64>],
    min: i64,
    span: usize,
) -> (Vec<u32>, Vec<(Option<i64>, usize)>) {
    let slot = |n: &Option<i64>| n.map_or(0, |n| (n - min) as usize + 1);
    let mut counts = vec![0usize; span + 1];
    for n in numbers {
        counts[slot(n)] += 1;
    }
    let mut next = Vec::with_capacity(counts.len());
    let mut groups = Vec::new();
    let mut start = 0;
    for (s, &count) in counts.iter().enumerate() {
        next.push(start);
        start += count;
        if count > 0 {
            let number = (s > 0).then(|| min + (s as i64 - 1));
            groups.push((number, count));
        }
    }
    let mut order = vec![0u32; numbers.len()];
    for (i, n) in numbers.iter().enumerate() {
        let s = slot(n);
        order[next[s]] = i as u32;
        next[s] += 1;
    }
    (order, groups)
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::arrow::array::{Date32Array, TimestampMicrosecondArray};
    use datafusion::arrow::datatypes::{Field, Schema};
    use std::sync::Arc;

    /// The partition name of every row.
    fn keys(batch: &RecordBatch, partition: &PartitionBy) -> Result<Vec<PartitionKey>> {
        let (numbers, bucket) = buckets(batch, partition)?;
        Ok(numbers
            .into_iter()
            .map(|n| n.map(|n| bucket.name(n).unwrap()))
            .collect())
    }

    #[test]
    fn negative_and_far_instants_name_their_partitions() {
        for (us, granularity, name) in [
            (-1, "day", "1969-12-31"),
            (-1, "hour", "1969-12-31T23"),
            (-1, "month", "1969-12-01"),
            (-1, "year", "1969-01-01"),
            (253_402_300_799_000_000, "day", "9999-12-31"),
            (253_402_300_799_000_000, "month", "9999-12-01"),
        ] {
            let bucket = Bucket::of(granularity);
            let number = bucket.number(us).unwrap();
            assert_eq!(
                bucket.name(number).as_deref(),
                Some(name),
                "{us} {granularity}"
            );
        }
    }

    fn partition(field: &str, granularity: &str) -> PartitionBy {
        PartitionBy {
            field: field.into(),
            data_type: "date".into(),
            granularity: granularity.into(),
        }
    }

    #[test]
    fn file_names_round_trip() {
        for (partition, seq) in [
            (None, 0),
            (Some(Some("2026-11-23".to_string())), 3),
            (Some(None), 12),
        ] {
            let name = TableFile::name_for(partition.as_ref(), seq);
            let parsed = TableFile::parse(&name).unwrap();
            assert_eq!((parsed.partition, parsed.seq), (partition, seq), "{name}");
        }
        assert_eq!(
            TableFile::name_for(Some(&Some("2026-11-23".into())), 0),
            "partition-2026-11-23-00000.parquet"
        );
        assert_eq!(TableFile::parse("data.parquet"), None);
        assert_eq!(TableFile::parse("partition-x-1.csv"), None);
    }

    #[test]
    fn rows_are_keyed_by_day_month_or_hour() {
        let schema = Arc::new(Schema::new(vec![
            Field::new("d", DataType::Date32, true),
            Field::new(
                "ts",
                DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
                true,
            ),
        ]));
        // 2026-11-23 is day 20780 since 1970-01-01.
        let batch = RecordBatch::try_new(
            schema,
            vec![
                Arc::new(Date32Array::from(vec![Some(20780), None, Some(20781)])),
                Arc::new(
                    TimestampMicrosecondArray::from(vec![
                        Some(1_795_399_200_000_000),
                        Some(0),
                        None,
                    ])
                    .with_timezone("UTC"),
                ),
            ],
        )
        .unwrap();
        assert_eq!(
            keys(&batch, &partition("d", "day")).unwrap(),
            vec![Some("2026-11-23".into()), None, Some("2026-11-24".into())]
        );
        assert_eq!(
            keys(&batch, &partition("D", "month")).unwrap()[0],
            Some("2026-11-01".into())
        );
        let hours = keys(&batch, &partition("ts", "hour")).unwrap();
        assert_eq!(hours[1], Some("1970-01-01T00".into()));
        assert_eq!(hours[2], None);
        let split = split(&batch, &partition("d", "day")).unwrap();
        assert_eq!(split.len(), 3);
        assert_eq!(split[&Some("2026-11-24".into())].num_rows(), 1);
        assert!(keys(&batch, &partition("nope", "day")).is_err());
    }

    /// Both ways of grouping give a stable grouping: NULL first, numbers
    /// ascending, rows in their order within a group.
    #[test]
    fn rows_group_by_number_stably_whether_counted_or_sorted() {
        let stable = |numbers: &[Option<i64>]| {
            let mut order: Vec<u32> = (0..numbers.len() as u32).collect();
            order.sort_by_key(|&i| numbers[i as usize]);
            order
        };
        let mut seed = 7u64;
        let mut next = move || {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (seed >> 33) as i64
        };
        let narrow: Vec<Option<i64>> = (0..5000)
            .map(|_| (next() % 10 != 0).then(|| 20_000 + next() % 400))
            .collect();
        let wide: Vec<Option<i64>> = (0..50)
            .map(|_| (next() % 7 != 0).then(|| (next() - (1 << 30)) * 1_000_000))
            .collect();
        for numbers in [
            narrow,
            wide,
            vec![None, None],
            vec![Some(i64::MAX), Some(i64::MIN)],
            vec![],
        ] {
            let (order, groups) = group_rows(&numbers).unwrap();
            assert_eq!(order, stable(&numbers), "{numbers:?}");
            let mut expected: Vec<(Option<i64>, usize)> = Vec::new();
            for &i in &order {
                match expected.last_mut() {
                    Some((n, len)) if *n == numbers[i as usize] => *len += 1,
                    _ => expected.push((numbers[i as usize], 1)),
                }
            }
            assert_eq!(groups, expected);
        }
    }
}
