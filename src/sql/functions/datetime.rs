//! BigQuery date and time functions: DATE/DATETIME/TIMESTAMP constructors,
//! `_DIFF`, `_ADD` (and `_SUB`, negated by the translator), `_TRUNC`,
//! EXTRACT, LAST_DAY, FORMAT_/PARSE_ with BigQuery format elements,
//! GENERATE_DATE_ARRAY and the UNIX conversions.
//!
//! Values are handled as UTC wall clock [`NaiveDateTime`]s: DATE is Date32,
//! DATETIME is Timestamp(µs, None), TIMESTAMP is Timestamp(µs, "UTC").
//! Date parts arrive as string literals (`'DAY'`, `'WEEK(MONDAY)'`). Time
//! zone arguments are UTC, fixed offsets or IANA names (arrow's `Tz`); a
//! wall-clock time a zone skips or repeats is refused rather than guessed.

use std::fmt::Write as _;
use std::sync::Arc;

use chrono::{
    Datelike, Months, NaiveDate, NaiveDateTime, Offset, TimeDelta, TimeZone, Timelike, Weekday,
};
use datafusion::arrow::array::timezone::Tz;
use datafusion::arrow::array::{
    Array, ArrayRef, AsArray, Date32Array, Int64Array, ListArray, StringArray,
    TimestampMicrosecondArray,
};
use datafusion::arrow::buffer::OffsetBuffer;
use datafusion::arrow::datatypes::TimestampMicrosecondType;
use datafusion::arrow::datatypes::{DataType, Field};
use datafusion::common::{Result, ScalarValue};
use datafusion::logical_expr::ScalarUDF;

use super::cast::{parse_date, parse_offset, parse_timestamp};
use super::common::{
    BqFunction, check_arity, const_str, date_to_days, datetime_type, exec_error, i64_at, is_string,
    plan_error, ret_date, ret_datetime, ret_int64, ret_string, ret_timestamp, str_at, temporal,
    temporal_array, temporal_at, timestamp_type,
};

/// A date or time part of BigQuery's date functions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Part {
    Microsecond,
    Millisecond,
    Second,
    Minute,
    Hour,
    Day,
    DayOfWeek,
    DayOfYear,
    Week(Weekday),
    IsoWeek,
    Month,
    Quarter,
    Year,
    IsoYear,
}

impl Part {
    /// Parses `DAY`, `WEEK(MONDAY)`, ... (case-insensitive).
    pub fn parse(text: &str) -> Option<Part> {
        let t = text.trim().to_ascii_uppercase();
        if let Some(inner) = t.strip_prefix("WEEK(").and_then(|r| r.strip_suffix(')')) {
            return weekday(inner.trim()).map(Part::Week);
        }
        Some(match t.as_str() {
            "MICROSECOND" => Part::Microsecond,
            "MILLISECOND" => Part::Millisecond,
            "SECOND" => Part::Second,
            "MINUTE" => Part::Minute,
            "HOUR" => Part::Hour,
            "DAY" => Part::Day,
            "DAYOFWEEK" => Part::DayOfWeek,
            "DAYOFYEAR" => Part::DayOfYear,
            "WEEK" => Part::Week(Weekday::Sun),
            "ISOWEEK" => Part::IsoWeek,
            "MONTH" => Part::Month,
            "QUARTER" => Part::Quarter,
            "YEAR" => Part::Year,
            "ISOYEAR" => Part::IsoYear,
            _ => return None,
        })
    }

    /// Length in microseconds of a fixed-length part.
    fn micros(self) -> Option<i64> {
        Some(match self {
            Part::Microsecond => 1,
            Part::Millisecond => 1_000,
            Part::Second => 1_000_000,
            Part::Minute => 60_000_000,
            Part::Hour => 3_600_000_000,
            Part::Day => 86_400_000_000,
            _ => return None,
        })
    }
}

fn weekday(name: &str) -> Option<Weekday> {
    Some(match name {
        "SUNDAY" => Weekday::Sun,
        "MONDAY" => Weekday::Mon,
        "TUESDAY" => Weekday::Tue,
        "WEDNESDAY" => Weekday::Wed,
        "THURSDAY" => Weekday::Thu,
        "FRIDAY" => Weekday::Fri,
        "SATURDAY" => Weekday::Sat,
        _ => return None,
    })
}

fn part_arg(array: &ArrayRef, function: &str) -> Result<Part> {
    let text = const_str(array, "date part")?;
    Part::parse(&text).ok_or_else(|| exec_error(format!("{function}: invalid date part {text}")))
}

/// The kind of temporal value a function works on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Date,
    Datetime,
    Timestamp,
}

impl Kind {
    fn of(t: &DataType) -> Kind {
        match t {
            DataType::Date32 => Kind::Date,
            DataType::Timestamp(_, Some(_)) => Kind::Timestamp,
            _ => Kind::Datetime,
        }
    }

    fn default_type(self) -> DataType {
        match self {
            Kind::Date => DataType::Date32,
            Kind::Datetime => datetime_type(),
            Kind::Timestamp => timestamp_type(),
        }
    }

    fn allows(self, part: Part) -> bool {
        match self {
            Kind::Date => !matches!(
                part,
                Part::Microsecond | Part::Millisecond | Part::Second | Part::Minute | Part::Hour
            ),
            Kind::Datetime => true,
            Kind::Timestamp => true,
        }
    }
}

// ---------------------------------------------------------------- registry

/// All UDFs of this module.
pub fn udfs() -> Vec<ScalarUDF> {
    vec![
        BqFunction::udf(
            "bq_date_diff",
            ret_int64,
            coerce_diff_date,
            invoke_diff_boundaries,
        ),
        BqFunction::udf(
            "bq_datetime_diff",
            ret_int64,
            coerce_diff_datetime,
            invoke_diff_boundaries,
        ),
        BqFunction::udf(
            "bq_timestamp_diff",
            ret_int64,
            coerce_diff_timestamp,
            invoke_diff_duration,
        ),
        BqFunction::udf("bq_date_add", ret_first, coerce_add_date, invoke_add),
        BqFunction::udf(
            "bq_datetime_add",
            ret_first,
            coerce_add_datetime,
            invoke_add,
        ),
        BqFunction::udf(
            "bq_timestamp_add",
            ret_first,
            coerce_add_timestamp,
            invoke_add,
        ),
        BqFunction::udf(
            "bq_interval_add",
            ret_interval_add,
            coerce_interval_add,
            invoke_add,
        ),
        BqFunction::udf("bq_date_trunc", ret_first, coerce_trunc_date, invoke_trunc),
        BqFunction::udf(
            "bq_datetime_trunc",
            ret_first,
            coerce_trunc_datetime,
            invoke_trunc,
        ),
        BqFunction::udf(
            "bq_timestamp_trunc",
            ret_first,
            coerce_trunc_timestamp,
            invoke_trunc,
        ),
        BqFunction::udf("bq_extract", ret_int64, coerce_extract, invoke_extract),
        BqFunction::udf("bq_date", ret_date, coerce_date, invoke_date),
        BqFunction::udf(
            "bq_datetime",
            ret_datetime,
            coerce_datetime,
            invoke_datetime,
        ),
        BqFunction::udf(
            "bq_timestamp",
            ret_timestamp,
            coerce_timestamp,
            invoke_timestamp,
        ),
        BqFunction::udf("bq_last_day", ret_date, coerce_last_day, invoke_last_day),
        BqFunction::udf("bq_format_date", ret_string, coerce_format, invoke_format),
        BqFunction::udf(
            "bq_format_datetime",
            ret_string,
            coerce_format_datetime,
            invoke_format,
        ),
        BqFunction::udf(
            "bq_format_timestamp",
            ret_string,
            coerce_format_timestamp,
            invoke_format,
        ),
        BqFunction::udf("bq_parse_date", ret_date, coerce_parse, invoke_parse),
        BqFunction::udf(
            "bq_parse_datetime",
            ret_datetime,
            coerce_parse,
            invoke_parse,
        ),
        BqFunction::udf(
            "bq_parse_timestamp",
            ret_timestamp,
            coerce_parse,
            invoke_parse,
        ),
        BqFunction::udf(
            "bq_generate_date_array",
            ret_date_list,
            coerce_generate,
            invoke_generate,
        ),
        BqFunction::udf(
            "bq_timestamp_from_unix",
            ret_timestamp,
            coerce_from_unix,
            invoke_from_unix,
        ),
        BqFunction::udf(
            "bq_unix_from_timestamp",
            ret_int64,
            coerce_to_unix,
            invoke_to_unix,
        ),
    ]
}

fn ret_date_list(_: &[DataType], _: &[Option<&ScalarValue>]) -> Result<DataType> {
    Ok(DataType::List(Arc::new(Field::new_list_field(
        DataType::Date32,
        true,
    ))))
}

fn ret_first(types: &[DataType], _: &[Option<&ScalarValue>]) -> Result<DataType> {
    types
        .first()
        .map(|t| temporal(t, &DataType::Date32))
        .ok_or_else(|| plan_error("missing argument"))
}

// ---------------------------------------------------------------- coercion

fn coerce_diff(types: &[DataType], kind: Kind, name: &str) -> Result<Vec<DataType>> {
    check_arity(name, types, 3, 3)?;
    let t = kind.default_type();
    Ok(vec![t.clone(), t, DataType::Utf8])
}

fn coerce_diff_date(types: &[DataType]) -> Result<Vec<DataType>> {
    coerce_diff(types, Kind::Date, "DATE_DIFF")
}

fn coerce_diff_datetime(types: &[DataType]) -> Result<Vec<DataType>> {
    coerce_diff(types, Kind::Datetime, "DATETIME_DIFF")
}

fn coerce_diff_timestamp(types: &[DataType]) -> Result<Vec<DataType>> {
    coerce_diff(types, Kind::Timestamp, "TIMESTAMP_DIFF")
}

fn coerce_add(types: &[DataType], kind: Kind, name: &str) -> Result<Vec<DataType>> {
    check_arity(name, types, 3, 3)?;
    Ok(vec![kind.default_type(), DataType::Int64, DataType::Utf8])
}

fn coerce_add_date(types: &[DataType]) -> Result<Vec<DataType>> {
    check_arity("DATE_ADD", types, 3, 3)?;
    // DATE_ADD also takes DATETIME and TIMESTAMP values and keeps their type.
    Ok(vec![
        temporal(&types[0], &DataType::Date32),
        DataType::Int64,
        DataType::Utf8,
    ])
}

/// `x + INTERVAL n PART`: DATE and DATETIME give DATETIME, TIMESTAMP stays.
fn coerce_interval_add(types: &[DataType]) -> Result<Vec<DataType>> {
    check_arity("+", types, 3, 3)?;
    let first = match &types[0] {
        DataType::Timestamp(_, Some(_)) => timestamp_type(),
        _ => datetime_type(),
    };
    Ok(vec![first, DataType::Int64, DataType::Utf8])
}

fn ret_interval_add(types: &[DataType], _: &[Option<&ScalarValue>]) -> Result<DataType> {
    Ok(match types.first() {
        Some(DataType::Timestamp(_, Some(_))) => timestamp_type(),
        _ => datetime_type(),
    })
}

fn coerce_add_datetime(types: &[DataType]) -> Result<Vec<DataType>> {
    coerce_add(types, Kind::Datetime, "DATETIME_ADD")
}

fn coerce_add_timestamp(types: &[DataType]) -> Result<Vec<DataType>> {
    coerce_add(types, Kind::Timestamp, "TIMESTAMP_ADD")
}

fn coerce_trunc(types: &[DataType], kind: Kind, name: &str) -> Result<Vec<DataType>> {
    check_arity(name, types, 2, 3)?;
    let first = temporal(&types[0], &kind.default_type());
    if types.len() == 3 {
        // The time zone argument only applies to TIMESTAMP values.
        if !matches!(first, DataType::Timestamp(_, Some(_))) {
            return Err(plan_error(format!(
                "{name} takes a time zone only for a TIMESTAMP value"
            )));
        }
        return Ok(vec![first, DataType::Utf8, DataType::Utf8]);
    }
    Ok(vec![first, DataType::Utf8])
}

fn coerce_trunc_date(types: &[DataType]) -> Result<Vec<DataType>> {
    coerce_trunc(types, Kind::Date, "DATE_TRUNC")
}

fn coerce_trunc_datetime(types: &[DataType]) -> Result<Vec<DataType>> {
    coerce_trunc(types, Kind::Datetime, "DATETIME_TRUNC")
}

fn coerce_trunc_timestamp(types: &[DataType]) -> Result<Vec<DataType>> {
    coerce_trunc(types, Kind::Timestamp, "TIMESTAMP_TRUNC")
}

fn coerce_extract(types: &[DataType]) -> Result<Vec<DataType>> {
    check_arity("EXTRACT", types, 2, 2)?;
    Ok(vec![DataType::Utf8, temporal(&types[1], &timestamp_type())])
}

fn coerce_date(types: &[DataType]) -> Result<Vec<DataType>> {
    check_arity("DATE", types, 1, 3)?;
    match types.len() {
        3 => Ok(vec![DataType::Int64; 3]),
        2 => Ok(vec![timestamp_type(), DataType::Utf8]),
        _ if is_string(&types[0]) || types[0] == DataType::Null => Ok(vec![DataType::Utf8]),
        _ => Ok(vec![temporal(&types[0], &timestamp_type())]),
    }
}

fn coerce_datetime(types: &[DataType]) -> Result<Vec<DataType>> {
    check_arity("DATETIME", types, 1, 6)?;
    match types.len() {
        6 => Ok(vec![DataType::Int64; 6]),
        2 => Ok(vec![timestamp_type(), DataType::Utf8]),
        1 if is_string(&types[0]) || types[0] == DataType::Null => Ok(vec![DataType::Utf8]),
        1 => Ok(vec![temporal(&types[0], &timestamp_type())]),
        n => Err(plan_error(format!("DATETIME does not take {n} arguments"))),
    }
}

fn coerce_timestamp(types: &[DataType]) -> Result<Vec<DataType>> {
    check_arity("TIMESTAMP", types, 1, 2)?;
    let first = if is_string(&types[0]) || types[0] == DataType::Null {
        DataType::Utf8
    } else {
        temporal(&types[0], &timestamp_type())
    };
    let mut out = vec![first];
    if types.len() == 2 {
        out.push(DataType::Utf8);
    }
    Ok(out)
}

fn coerce_last_day(types: &[DataType]) -> Result<Vec<DataType>> {
    check_arity("LAST_DAY", types, 1, 2)?;
    let mut out = vec![temporal(&types[0], &DataType::Date32)];
    if types.len() == 2 {
        out.push(DataType::Utf8);
    }
    Ok(out)
}

fn coerce_format(types: &[DataType]) -> Result<Vec<DataType>> {
    check_arity("FORMAT_DATE", types, 2, 2)?;
    Ok(vec![DataType::Utf8, temporal(&types[1], &DataType::Date32)])
}

fn coerce_format_datetime(types: &[DataType]) -> Result<Vec<DataType>> {
    check_arity("FORMAT_DATETIME", types, 2, 2)?;
    Ok(vec![DataType::Utf8, temporal(&types[1], &datetime_type())])
}

fn coerce_format_timestamp(types: &[DataType]) -> Result<Vec<DataType>> {
    check_arity("FORMAT_TIMESTAMP", types, 2, 3)?;
    let mut out = vec![DataType::Utf8, temporal(&types[1], &timestamp_type())];
    if types.len() == 3 {
        out.push(DataType::Utf8);
    }
    Ok(out)
}

fn coerce_parse(types: &[DataType]) -> Result<Vec<DataType>> {
    check_arity("PARSE_DATE", types, 2, 3)?;
    Ok(vec![DataType::Utf8; types.len()])
}

fn coerce_generate(types: &[DataType]) -> Result<Vec<DataType>> {
    check_arity("GENERATE_DATE_ARRAY", types, 4, 4)?;
    Ok(vec![
        DataType::Date32,
        DataType::Date32,
        DataType::Int64,
        DataType::Utf8,
    ])
}

fn coerce_from_unix(types: &[DataType]) -> Result<Vec<DataType>> {
    check_arity("TIMESTAMP_SECONDS", types, 2, 2)?;
    Ok(vec![DataType::Int64, DataType::Utf8])
}

fn coerce_to_unix(types: &[DataType]) -> Result<Vec<DataType>> {
    check_arity("UNIX_SECONDS", types, 2, 2)?;
    Ok(vec![temporal(&types[0], &timestamp_type()), DataType::Utf8])
}

// ---------------------------------------------------------------- calendar helpers

/// The start of the week holding `d`, for weeks starting on `start`.
fn week_start(d: NaiveDate, start: Weekday) -> NaiveDate {
    let back = (7 + d.weekday().num_days_from_sunday() - start.num_days_from_sunday()) % 7;
    d - TimeDelta::days(i64::from(back))
}

/// The first day (Monday) of an ISO year.
fn iso_year_start(iso_year: i32) -> Option<NaiveDate> {
    NaiveDate::from_isoywd_opt(iso_year, 1, Weekday::Mon)
}

/// Truncates a wall clock value to `part`.
fn truncate(dt: NaiveDateTime, part: Part) -> Option<NaiveDateTime> {
    let d = dt.date();
    let midnight = |d: NaiveDate| d.and_hms_opt(0, 0, 0);
    match part {
        Part::Microsecond => Some(dt),
        Part::Millisecond | Part::Second | Part::Minute | Part::Hour => {
            let unit = part.micros()?;
            let micros = dt.and_utc().timestamp_micros();
            super::common::micros_to_datetime(micros - micros.rem_euclid(unit))
        }
        Part::Day => midnight(d),
        Part::Week(start) => midnight(week_start(d, start)),
        Part::IsoWeek => midnight(week_start(d, Weekday::Mon)),
        Part::Month => midnight(d.with_day(1)?),
        Part::Quarter => midnight(NaiveDate::from_ymd_opt(
            d.year(),
            (d.month0() / 3) * 3 + 1,
            1,
        )?),
        Part::Year => midnight(NaiveDate::from_ymd_opt(d.year(), 1, 1)?),
        Part::IsoYear => midnight(iso_year_start(d.iso_week().year())?),
        Part::DayOfWeek | Part::DayOfYear => None,
    }
}

/// Number of `part` boundaries between `b` and `a` (BigQuery's DATE_DIFF).
fn diff_boundaries(a: NaiveDateTime, b: NaiveDateTime, part: Part) -> Option<i64> {
    let months = |d: NaiveDate| i64::from(d.year()) * 12 + i64::from(d.month0());
    Some(match part {
        Part::Week(_) | Part::IsoWeek => (truncate(a, part)? - truncate(b, part)?).num_days() / 7,
        Part::Month => months(a.date()) - months(b.date()),
        Part::Quarter => {
            let q = |d: NaiveDate| i64::from(d.year()) * 4 + i64::from(d.month0() / 3);
            q(a.date()) - q(b.date())
        }
        Part::Year => i64::from(a.year()) - i64::from(b.year()),
        Part::IsoYear => i64::from(a.iso_week().year()) - i64::from(b.iso_week().year()),
        Part::Day => (a.date() - b.date()).num_days(),
        Part::Microsecond | Part::Millisecond | Part::Second | Part::Minute | Part::Hour => {
            let unit = part.micros()?;
            let am = a.and_utc().timestamp_micros();
            let bm = b.and_utc().timestamp_micros();
            am.div_euclid(unit) - bm.div_euclid(unit)
        }
        Part::DayOfWeek | Part::DayOfYear => return None,
    })
}

/// Adds `n` parts to a wall clock value.
fn add(dt: NaiveDateTime, n: i64, part: Part) -> Option<NaiveDateTime> {
    let months = |m: i64| -> Option<NaiveDateTime> {
        let count = Months::new(u32::try_from(m.unsigned_abs()).ok()?);
        if m >= 0 {
            dt.checked_add_months(count)
        } else {
            dt.checked_sub_months(count)
        }
    };
    match part {
        Part::Month => months(n),
        Part::Quarter => months(n.checked_mul(3)?),
        Part::Year => months(n.checked_mul(12)?),
        Part::Week(Weekday::Sun) => dt.checked_add_signed(TimeDelta::try_days(n.checked_mul(7)?)?),
        _ => {
            let micros = n.checked_mul(part.micros()?)?;
            dt.checked_add_signed(TimeDelta::microseconds(micros))
        }
    }
}

/// EXTRACT of one part.
fn extract(dt: NaiveDateTime, part: Part) -> Option<i64> {
    let d = dt.date();
    Some(match part {
        Part::Microsecond => i64::from(dt.nanosecond() / 1_000 % 1_000_000),
        Part::Millisecond => i64::from(dt.nanosecond() / 1_000_000 % 1_000),
        Part::Second => i64::from(dt.second()),
        Part::Minute => i64::from(dt.minute()),
        Part::Hour => i64::from(dt.hour()),
        Part::Day => i64::from(d.day()),
        Part::DayOfWeek => i64::from(d.weekday().num_days_from_sunday()) + 1,
        Part::DayOfYear => i64::from(d.ordinal()),
        Part::Week(start) => {
            let since_start = i64::from(
                (7 + d.weekday().num_days_from_sunday() - start.num_days_from_sunday()) % 7,
            );
            (i64::from(d.ordinal0()) - since_start + 7) / 7
        }
        Part::IsoWeek => i64::from(d.iso_week().week()),
        Part::Month => i64::from(d.month()),
        Part::Quarter => i64::from(d.month0() / 3 + 1),
        Part::Year => i64::from(d.year()),
        Part::IsoYear => i64::from(d.iso_week().year()),
    })
}

/// A time zone argument: `UTC`, `Z`, a fixed offset `+HH[:MM]`, or an IANA
/// name such as `America/Los_Angeles`.
enum Zone {
    Fixed(i32),
    Named(Tz),
}

fn zone(zone: &str) -> Result<Zone> {
    let z = zone.trim();
    if z.eq_ignore_ascii_case("UTC") || z.eq_ignore_ascii_case("Etc/UTC") || z == "Z" {
        return Ok(Zone::Fixed(0));
    }
    if let Some(offset) = parse_offset(z.strip_prefix("UTC").unwrap_or(z)) {
        return Ok(Zone::Fixed(offset));
    }
    z.parse::<Tz>()
        .map(Zone::Named)
        .map_err(|_| exec_error(format!("Invalid time zone: {zone}")))
}

impl Zone {
    /// Seconds east of UTC at the UTC instant `utc`.
    fn offset_at_utc(&self, utc: NaiveDateTime) -> i32 {
        match self {
            Zone::Fixed(offset) => *offset,
            Zone::Named(tz) => tz.offset_from_utc_datetime(&utc).fix().local_minus_utc(),
        }
    }

    /// Seconds east of UTC for the wall-clock time `local`; an error when the
    /// zone skips or repeats that time (a daylight saving change).
    fn offset_at_local(&self, local: NaiveDateTime, name: &str) -> Result<i32> {
        match self {
            Zone::Fixed(offset) => Ok(*offset),
            Zone::Named(tz) => match tz.offset_from_local_datetime(&local) {
                chrono::LocalResult::Single(offset) => Ok(offset.fix().local_minus_utc()),
                _ => Err(exec_error(format!(
                    "BigQuery feature not supported locally yet: local time {local} that is skipped or repeated in time zone '{name}'"
                ))),
            },
        }
    }
}

/// The wall-clock time in `zone` of the UTC instant `utc`.
fn to_local(utc: NaiveDateTime, zone_name: &str) -> Result<NaiveDateTime> {
    let offset = zone(zone_name)?.offset_at_utc(utc);
    Ok(utc + TimeDelta::seconds(i64::from(offset)))
}

/// The UTC instant of the wall-clock time `local` in `zone`.
fn to_utc(local: NaiveDateTime, zone_name: &str) -> Result<NaiveDateTime> {
    let offset = zone(zone_name)?.offset_at_local(local, zone_name)?;
    Ok(local - TimeDelta::seconds(i64::from(offset)))
}

// ---------------------------------------------------------------- row-wise bodies

fn rows(args: &[ArrayRef]) -> usize {
    args.iter().map(|a| a.len()).max().unwrap_or(0)
}

fn invoke_diff_boundaries(args: &[ArrayRef], _: &DataType) -> Result<ArrayRef> {
    let part = part_arg(&args[2], "DATE_DIFF")?;
    let kind = Kind::of(args[0].data_type());
    if !kind.allows(part) || matches!(part, Part::DayOfWeek | Part::DayOfYear) {
        return Err(exec_error(format!(
            "DATE_DIFF does not support the {part:?} date part"
        )));
    }
    let out: Vec<Option<i64>> = (0..rows(args))
        .map(|i| {
            let (a, b) = (temporal_at(&args[0], i)?, temporal_at(&args[1], i)?);
            diff_boundaries(a, b, part)
        })
        .collect();
    Ok(Arc::new(Int64Array::from(out)))
}

fn invoke_diff_duration(args: &[ArrayRef], _: &DataType) -> Result<ArrayRef> {
    let part = part_arg(&args[2], "TIMESTAMP_DIFF")?;
    let unit = part.micros().ok_or_else(|| {
        exec_error(format!(
            "TIMESTAMP_DIFF does not support the {part:?} date part"
        ))
    })?;
    let out: Vec<Option<i64>> = (0..rows(args))
        .map(|i| {
            let a = temporal_at(&args[0], i)?.and_utc().timestamp_micros();
            let b = temporal_at(&args[1], i)?.and_utc().timestamp_micros();
            Some((a - b) / unit)
        })
        .collect();
    Ok(Arc::new(Int64Array::from(out)))
}

fn invoke_add(args: &[ArrayRef], ret: &DataType) -> Result<ArrayRef> {
    let part = part_arg(&args[2], "DATE_ADD")?;
    let kind = Kind::of(args[0].data_type());
    let valid = match kind {
        Kind::Date => matches!(
            part,
            Part::Day | Part::Week(Weekday::Sun) | Part::Month | Part::Quarter | Part::Year
        ),
        Kind::Timestamp => part.micros().is_some(),
        Kind::Datetime => {
            part.micros().is_some()
                || matches!(
                    part,
                    Part::Week(Weekday::Sun) | Part::Month | Part::Quarter | Part::Year
                )
        }
    };
    if !valid {
        return Err(exec_error(format!(
            "Unsupported date part {part:?} for {kind:?} arithmetic"
        )));
    }
    let mut out = Vec::with_capacity(rows(args));
    for i in 0..rows(args) {
        let (Some(dt), Some(n)) = (temporal_at(&args[0], i), i64_at(&args[1], i)) else {
            out.push(None);
            continue;
        };
        let added = add(dt, n, part).ok_or_else(|| exec_error("date arithmetic overflow"))?;
        out.push(Some(added));
    }
    temporal_array(out, ret)
}

fn invoke_trunc(args: &[ArrayRef], ret: &DataType) -> Result<ArrayRef> {
    let part = part_arg(&args[1], "DATE_TRUNC")?;
    let kind = Kind::of(args[0].data_type());
    if !kind.allows(part) || matches!(part, Part::DayOfWeek | Part::DayOfYear) {
        return Err(exec_error(format!(
            "{part:?} is not a valid truncation part for {kind:?}"
        )));
    }
    let mut out = Vec::with_capacity(args[0].len());
    for i in 0..args[0].len() {
        let Some(dt) = temporal_at(&args[0], i) else {
            out.push(None);
            continue;
        };
        // With a time zone, truncate the local time and map it back to UTC.
        let truncated = match args.get(2) {
            Some(zones) => match str_at(zones, i) {
                Some(zone) => match truncate(to_local(dt, zone)?, part) {
                    Some(local) => Some(to_utc(local, zone)?),
                    None => None,
                },
                None => None,
            },
            None => truncate(dt, part),
        };
        out.push(truncated);
    }
    temporal_array(out, ret)
}

fn invoke_extract(args: &[ArrayRef], _: &DataType) -> Result<ArrayRef> {
    let part = part_arg(&args[0], "EXTRACT")?;
    if !Kind::of(args[1].data_type()).allows(part) {
        return Err(exec_error(format!(
            "EXTRACT of {part:?} from DATE is not valid"
        )));
    }
    let out: Vec<Option<i64>> = (0..rows(args))
        .map(|i| temporal_at(&args[1], i).and_then(|dt| extract(dt, part)))
        .collect();
    Ok(Arc::new(Int64Array::from(out)))
}

fn invoke_date(args: &[ArrayRef], ret: &DataType) -> Result<ArrayRef> {
    if let ([arg], DataType::Date32) = (args, ret)
        && let Some(micros) = arg.as_primitive_opt::<TimestampMicrosecondType>()
    {
        return Ok(Arc::new(dates_of_timestamps(micros)));
    }
    let n = rows(args);
    let mut out = Vec::with_capacity(n);
    for i in 0..n {
        out.push(date_row(args, i)?);
    }
    temporal_array(out, ret)
}

/// `DATE(timestamp)` of a whole column: the UTC day of each instant, by
/// division; an instant outside the calendar's range is NULL, as in
/// [`date_row`].
fn dates_of_timestamps(micros: &TimestampMicrosecondArray) -> Date32Array {
    const MICROS_PER_DAY: i64 = 86_400_000_000;
    let first = i64::from(date_to_days(NaiveDate::MIN));
    let last = i64::from(date_to_days(NaiveDate::MAX));
    micros.unary_opt(|us| {
        let day = us.div_euclid(MICROS_PER_DAY);
        if (first..=last).contains(&day) {
            i32::try_from(day).ok()
        } else {
            None
        }
    })
}

fn date_row(args: &[ArrayRef], i: usize) -> Result<Option<NaiveDateTime>> {
    let midnight = |d: NaiveDate| d.and_hms_opt(0, 0, 0);
    match args.len() {
        3 => {
            let (Some(y), Some(m), Some(d)) = (
                i64_at(&args[0], i),
                i64_at(&args[1], i),
                i64_at(&args[2], i),
            ) else {
                return Ok(None);
            };
            let date = i32::try_from(y)
                .ok()
                .zip(u32::try_from(m).ok())
                .zip(u32::try_from(d).ok())
                .and_then(|((y, m), d)| NaiveDate::from_ymd_opt(y, m, d))
                .ok_or_else(|| exec_error(format!("Invalid date: {y}-{m}-{d}")))?;
            Ok(midnight(date))
        }
        2 => {
            let (Some(ts), Some(zone)) = (temporal_at(&args[0], i), str_at(&args[1], i)) else {
                return Ok(None);
            };
            Ok(midnight(to_local(ts, zone)?.date()))
        }
        _ if is_string(args[0].data_type()) => match str_at(&args[0], i) {
            None => Ok(None),
            Some(text) => {
                let date = parse_date(text)
                    .ok_or_else(|| exec_error(format!("Invalid date: '{text}'")))?;
                Ok(midnight(date))
            }
        },
        _ => Ok(temporal_at(&args[0], i).and_then(|dt| midnight(dt.date()))),
    }
}

fn invoke_datetime(args: &[ArrayRef], ret: &DataType) -> Result<ArrayRef> {
    let n = rows(args);
    let mut out = Vec::with_capacity(n);
    for i in 0..n {
        out.push(datetime_row(args, i)?);
    }
    temporal_array(out, ret)
}

fn datetime_row(args: &[ArrayRef], i: usize) -> Result<Option<NaiveDateTime>> {
    match args.len() {
        6 => {
            let mut parts = [0_i64; 6];
            for (k, slot) in parts.iter_mut().enumerate() {
                let Some(v) = i64_at(&args[k], i) else {
                    return Ok(None);
                };
                *slot = v;
            }
            let ok = |v: i64| u32::try_from(v).ok();
            let dt = i32::try_from(parts[0])
                .ok()
                .and_then(|y| NaiveDate::from_ymd_opt(y, ok(parts[1])?, ok(parts[2])?))
                .and_then(|d| d.and_hms_opt(ok(parts[3])?, ok(parts[4])?, ok(parts[5])?))
                .ok_or_else(|| exec_error("Invalid DATETIME parts"))?;
            Ok(Some(dt))
        }
        2 => {
            let (Some(ts), Some(zone)) = (temporal_at(&args[0], i), str_at(&args[1], i)) else {
                return Ok(None);
            };
            Ok(Some(to_local(ts, zone)?))
        }
        _ if is_string(args[0].data_type()) => match str_at(&args[0], i) {
            None => Ok(None),
            Some(text) => super::cast::parse_datetime(text)
                .map(Some)
                .ok_or_else(|| exec_error(format!("Invalid datetime string \"{text}\""))),
        },
        _ => Ok(temporal_at(&args[0], i)),
    }
}

fn invoke_timestamp(args: &[ArrayRef], ret: &DataType) -> Result<ArrayRef> {
    let n = rows(args);
    let mut out = Vec::with_capacity(n);
    for i in 0..n {
        let zone = match args.get(1) {
            None => None,
            Some(zones) => match str_at(zones, i) {
                None => {
                    out.push(None);
                    continue;
                }
                Some(zone) => Some(zone),
            },
        };
        let value = if is_string(args[0].data_type()) {
            match str_at(&args[0], i) {
                None => None,
                Some(text) => {
                    let invalid = || exec_error(format!("Invalid timestamp: '{text}'"));
                    let as_utc = parse_timestamp(text, 0).ok_or_else(invalid)?;
                    // A text with its own offset parses the same whatever the
                    // default; otherwise it is a wall-clock time in `zone`.
                    let explicit = parse_timestamp(text, 3600) == Some(as_utc);
                    match zone {
                        Some(zone) if !explicit => Some(to_utc(as_utc, zone)?),
                        _ => Some(as_utc),
                    }
                }
            }
        } else {
            let zoned = matches!(args[0].data_type(), DataType::Timestamp(_, Some(_)));
            match (temporal_at(&args[0], i), zone) {
                (Some(dt), Some(zone)) if !zoned => Some(to_utc(dt, zone)?),
                (dt, _) => dt,
            }
        };
        out.push(value);
    }
    temporal_array(out, ret)
}

fn invoke_last_day(args: &[ArrayRef], ret: &DataType) -> Result<ArrayRef> {
    let part = match args.get(1) {
        Some(p) => part_arg(p, "LAST_DAY")?,
        None => Part::Month,
    };
    let step = match part {
        Part::Month => Part::Month,
        Part::Quarter => Part::Quarter,
        Part::Year => Part::Year,
        Part::IsoYear => Part::IsoYear,
        Part::Week(_) | Part::IsoWeek => part,
        other => return Err(exec_error(format!("LAST_DAY does not support {other:?}"))),
    };
    let out = (0..args[0].len())
        .map(|i| {
            let start = truncate(temporal_at(&args[0], i)?, step)?;
            let next = match step {
                Part::Week(_) | Part::IsoWeek => start + TimeDelta::days(7),
                Part::IsoYear => {
                    iso_year_start(start.date().iso_week().year() + 1)?.and_hms_opt(0, 0, 0)?
                }
                _ => add(start, 1, step)?,
            };
            Some(next - TimeDelta::days(1))
        })
        .collect();
    temporal_array(out, ret)
}

// ---------------------------------------------------------------- FORMAT / PARSE

/// Rewrites BigQuery format elements into chrono's, for value `dt`.
fn chrono_format(format: &str, dt: NaiveDateTime) -> Result<String> {
    let mut out = String::with_capacity(format.len() + 8);
    let mut chars = format.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('Q') => {
                let _ = write!(out, "{}", dt.month0() / 3 + 1);
            }
            Some('E') => out.push_str(&extended_element(&mut chars)?),
            Some('Z') => out.push_str("UTC"),
            Some(
                e @ ('A' | 'a' | 'B' | 'b' | 'C' | 'c' | 'D' | 'd' | 'e' | 'F' | 'G' | 'g' | 'H'
                | 'h' | 'I' | 'j' | 'k' | 'l' | 'M' | 'm' | 'n' | 'P' | 'p' | 'R' | 'S' | 's'
                | 'T' | 't' | 'U' | 'u' | 'V' | 'W' | 'w' | 'X' | 'x' | 'Y' | 'y' | 'z' | '%'),
            ) => {
                out.push('%');
                out.push(e);
            }
            other => {
                return Err(exec_error(format!(
                    "BigQuery feature not supported locally yet: format element %{}",
                    other.map(String::from).unwrap_or_default()
                )));
            }
        }
    }
    Ok(out)
}

/// `%E<n>S`, `%E*S`, `%E4Y`, `%Ez` → chrono.
fn extended_element(chars: &mut std::iter::Peekable<std::str::Chars<'_>>) -> Result<String> {
    let mut spec = String::new();
    while let Some(&c) = chars.peek() {
        chars.next();
        spec.push(c);
        if c.is_ascii_alphabetic() {
            break;
        }
    }
    Ok(match spec.as_str() {
        "*S" => "%S%.6f".to_string(),
        "4Y" => "%Y".to_string(),
        "z" => "%:z".to_string(),
        "0S" => "%S".to_string(),
        "3S" => "%S%.3f".to_string(),
        "6S" => "%S%.6f".to_string(),
        "9S" => "%S%.9f".to_string(),
        other => {
            return Err(exec_error(format!(
                "BigQuery feature not supported locally yet: format element %E{other}"
            )));
        }
    })
}

fn invoke_format(args: &[ArrayRef], _: &DataType) -> Result<ArrayRef> {
    let n = rows(args);
    let zoned = matches!(args[1].data_type(), DataType::Timestamp(_, Some(_)));
    let mut out: Vec<Option<String>> = Vec::with_capacity(n);
    for i in 0..n {
        let (Some(format), Some(dt)) = (str_at(&args[0], i), temporal_at(&args[1], i)) else {
            out.push(None);
            continue;
        };
        let offset = match args.get(2) {
            Some(z) => match str_at(z, i) {
                Some(name) => zone(name)?.offset_at_utc(dt),
                None => {
                    out.push(None);
                    continue;
                }
            },
            None => 0,
        };
        let local = dt + TimeDelta::seconds(i64::from(offset));
        let pattern = chrono_format(format, local)?;
        let mut text = String::new();
        let written = if zoned {
            let fixed =
                chrono::FixedOffset::east_opt(offset).ok_or_else(|| exec_error("bad offset"))?;
            let aware = dt.and_utc().with_timezone(&fixed);
            write!(text, "{}", aware.format(&pattern))
        } else {
            write!(text, "{}", local.format(&pattern))
        };
        written.map_err(|_| exec_error(format!("Invalid format string '{format}'")))?;
        out.push(Some(text));
    }
    Ok(Arc::new(StringArray::from(out)))
}

fn invoke_parse(args: &[ArrayRef], ret: &DataType) -> Result<ArrayRef> {
    let n = rows(args);
    let mut out = Vec::with_capacity(n);
    for i in 0..n {
        let (Some(format), Some(text)) = (str_at(&args[0], i), str_at(&args[1], i)) else {
            out.push(None);
            continue;
        };
        let zone = match args.get(2).map(|z| str_at(z, i)) {
            Some(Some(zone)) => Some(zone),
            Some(None) => {
                out.push(None);
                continue;
            }
            None => None,
        };
        let epoch = NaiveDate::from_ymd_opt(1970, 1, 1)
            .and_then(|d| d.and_hms_opt(0, 0, 0))
            .ok_or_else(|| exec_error("epoch"))?;
        let pattern = chrono_format(format, epoch)?;
        let parsed = parse_with(&pattern, text, ret)
            .ok_or_else(|| exec_error(format!("Failed to parse input string \"{text}\"")))?;
        out.push(Some(match parsed {
            Parsed::Local(local) if matches!(ret, DataType::Timestamp(_, Some(_))) => {
                to_utc(local, zone.unwrap_or("UTC"))?
            }
            Parsed::Local(local) => local,
            Parsed::Utc(utc) => utc,
        }));
    }
    temporal_array(out, ret)
}

/// A parsed PARSE_* input: a UTC instant (the text had an offset) or a
/// wall-clock time.
enum Parsed {
    Utc(NaiveDateTime),
    Local(NaiveDateTime),
}

fn parse_with(pattern: &str, text: &str, ret: &DataType) -> Option<Parsed> {
    let zoned = matches!(ret, DataType::Timestamp(_, Some(_)));
    if zoned && let Ok(aware) = chrono::DateTime::parse_from_str(text, pattern) {
        return Some(Parsed::Utc(aware.naive_utc()));
    }
    NaiveDateTime::parse_from_str(text, pattern)
        .ok()
        .or_else(|| {
            NaiveDate::parse_from_str(text, pattern)
                .ok()?
                .and_hms_opt(0, 0, 0)
        })
        .map(Parsed::Local)
}

// ---------------------------------------------------------------- arrays and UNIX time

fn invoke_generate(args: &[ArrayRef], _: &DataType) -> Result<ArrayRef> {
    let part = part_arg(&args[3], "GENERATE_DATE_ARRAY")?;
    let n = rows(args);
    let mut offsets = vec![0_i32];
    let mut values: Vec<i32> = Vec::new();
    let mut valid = Vec::with_capacity(n);
    for i in 0..n {
        let (Some(start), Some(end), Some(step)) = (
            temporal_at(&args[0], i),
            temporal_at(&args[1], i),
            i64_at(&args[2], i),
        ) else {
            valid.push(false);
            offsets.push(i32::try_from(values.len()).unwrap_or(i32::MAX));
            continue;
        };
        if step == 0 {
            return Err(exec_error("GENERATE_DATE_ARRAY: step cannot be 0"));
        }
        let mut k: i64 = 0;
        while let Some(d) = add(start, step.saturating_mul(k), part) {
            if (step > 0 && d > end) || (step < 0 && d < end) {
                break;
            }
            if values.len() >= 16_000_000 {
                return Err(exec_error("GENERATE_DATE_ARRAY: the array is too large"));
            }
            values.push(super::common::date_to_days(d.date()));
            k += 1;
        }
        valid.push(true);
        offsets.push(i32::try_from(values.len()).unwrap_or(i32::MAX));
    }
    let field = Arc::new(Field::new_list_field(DataType::Date32, true));
    let list = ListArray::try_new(
        field,
        OffsetBuffer::new(offsets.into()),
        Arc::new(Date32Array::from(values)),
        Some(valid.into()),
    )?;
    Ok(Arc::new(list))
}

fn unix_unit(array: &ArrayRef) -> Result<i64> {
    match const_str(array, "unit")?.as_str() {
        "SECONDS" => Ok(1_000_000),
        "MILLIS" => Ok(1_000),
        "MICROS" => Ok(1),
        "DAYS" => Ok(86_400_000_000),
        other => Err(exec_error(format!("unknown UNIX unit {other}"))),
    }
}

fn invoke_from_unix(args: &[ArrayRef], ret: &DataType) -> Result<ArrayRef> {
    let unit = unix_unit(&args[1])?;
    let mut out = Vec::with_capacity(args[0].len());
    for i in 0..args[0].len() {
        out.push(match i64_at(&args[0], i) {
            None => None,
            Some(v) => Some(
                v.checked_mul(unit)
                    .and_then(super::common::micros_to_datetime)
                    .ok_or_else(|| exec_error(format!("TIMESTAMP value {v} is out of range")))?,
            ),
        });
    }
    temporal_array(out, ret)
}

fn invoke_to_unix(args: &[ArrayRef], _: &DataType) -> Result<ArrayRef> {
    let unit = unix_unit(&args[1])?;
    let out: Vec<Option<i64>> = (0..args[0].len())
        .map(|i| {
            let micros = temporal_at(&args[0], i)?.and_utc().timestamp_micros();
            Some(micros.div_euclid(unit))
        })
        .collect();
    Ok(Arc::new(Int64Array::from(out)))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The column-wide `DATE(timestamp)` gives what the row-wise one gives,
    /// before and after the epoch, at day boundaries and out of range.
    #[test]
    fn dates_of_a_timestamp_column_match_the_row_by_row_dates() {
        let day = 86_400_000_000i64;
        let values = vec![
            Some(0),
            Some(-1),
            Some(day - 1),
            Some(day),
            Some(-day),
            Some(-day - 1),
            Some(1_795_399_200_000_000),
            Some(-62_135_596_800_000_000),
            Some(253_402_300_799_999_999),
            Some(i64::MIN),
            Some(i64::MAX),
            None,
        ];
        let column: ArrayRef =
            Arc::new(TimestampMicrosecondArray::from(values).with_timezone("UTC"));
        let fast = invoke_date(std::slice::from_ref(&column), &DataType::Date32).unwrap();
        let rows: Vec<Option<NaiveDateTime>> = (0..column.len())
            .map(|i| date_row(std::slice::from_ref(&column), i).unwrap())
            .collect();
        let slow = temporal_array(rows, &DataType::Date32).unwrap();
        assert_eq!(fast.as_ref(), slow.as_ref());
        assert_eq!(fast.null_count(), 3);
    }

    fn d(y: i32, m: u32, day: u32) -> NaiveDateTime {
        NaiveDate::from_ymd_opt(y, m, day)
            .unwrap()
            .and_hms_opt(0, 0, 0)
            .unwrap()
    }

    #[test]
    fn date_diff_counts_boundaries() {
        // 2026-01-03 is a Saturday, 2026-01-04 a Sunday.
        assert_eq!(
            diff_boundaries(d(2026, 1, 4), d(2026, 1, 3), Part::Week(Weekday::Sun)),
            Some(1)
        );
        assert_eq!(
            diff_boundaries(d(2026, 1, 4), d(2026, 1, 3), Part::IsoWeek),
            Some(0)
        );
        assert_eq!(
            diff_boundaries(d(2026, 2, 1), d(2026, 1, 31), Part::Month),
            Some(1)
        );
        assert_eq!(
            diff_boundaries(d(2026, 1, 1), d(2025, 12, 31), Part::Year),
            Some(1)
        );
        assert_eq!(
            diff_boundaries(d(2026, 4, 1), d(2026, 3, 31), Part::Quarter),
            Some(1)
        );
    }

    #[test]
    fn extracts_parts() {
        // 2026-01-04 is a Sunday.
        assert_eq!(extract(d(2026, 1, 4), Part::DayOfWeek), Some(1));
        assert_eq!(extract(d(2026, 1, 3), Part::DayOfWeek), Some(7));
        assert_eq!(extract(d(2026, 1, 3), Part::Week(Weekday::Sun)), Some(0));
        assert_eq!(extract(d(2026, 1, 4), Part::Week(Weekday::Sun)), Some(1));
        assert_eq!(extract(d(2026, 5, 4), Part::Quarter), Some(2));
    }

    #[test]
    fn adds_months_clamped() {
        assert_eq!(add(d(2026, 1, 31), 1, Part::Month), Some(d(2026, 2, 28)));
        assert_eq!(add(d(2026, 3, 31), -1, Part::Month), Some(d(2026, 2, 28)));
    }

    #[test]
    fn parses_parts() {
        assert_eq!(Part::parse("week(monday)"), Some(Part::Week(Weekday::Mon)));
        assert_eq!(Part::parse("DAY"), Some(Part::Day));
        assert_eq!(Part::parse("FORTNIGHT"), None);
    }
}
