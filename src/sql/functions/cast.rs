//! `CAST` / `SAFE_CAST` with BigQuery's rules (`bq_cast(x, 'TYPE', safe)`),
//! and the BigQuery text form of values, shared by CONCAT and CAST AS STRING.
//!
//! Differences from arrow's cast handled here: FLOAT64/NUMERIC → INT64
//! rounds half away from zero; values → STRING use BigQuery's formats
//! (`1.0` → `1`, TIMESTAMP → `2026-01-02 03:04:05+00`); STRING → BOOL
//! takes only `true`/`false`; STRING → TIMESTAMP reads BigQuery's canonical
//! format with an optional UTC offset; target types are BigQuery's.

use std::sync::Arc;

use chrono::{NaiveDate, NaiveDateTime, NaiveTime};
use datafusion::arrow::array::{
    Array, ArrayRef, AsArray, BooleanArray, Int64Array, StringArray, TimestampMicrosecondArray,
};
use datafusion::arrow::compute::{CastOptions, cast_with_options};
use datafusion::arrow::datatypes::{DataType, Decimal128Type, Float64Type, TimeUnit};
use datafusion::arrow::util::display::{ArrayFormatter, FormatOptions};
use datafusion::common::{Result, ScalarValue};
use datafusion::logical_expr::ScalarUDF;

use super::common::{
    BqFunction, check_arity, datetime_to_micros, datetime_type, exec_error, is_decimal, is_float,
    is_string, literal_str, micros_to_datetime, plan_error, str_at, timestamp_type,
};

/// `bq_cast(x, 'TYPE', safe)`.
pub fn bq_cast() -> ScalarUDF {
    BqFunction::udf("bq_cast", cast_return, cast_coerce, cast_invoke)
}

/// The arrow type of a BigQuery type name.
pub fn bigquery_type(name: &str) -> Option<DataType> {
    Some(match name {
        "INT64" => DataType::Int64,
        "FLOAT64" => DataType::Float64,
        "NUMERIC" => DataType::Decimal128(38, 9),
        "BIGNUMERIC" => DataType::Decimal256(76, 38),
        "BOOL" => DataType::Boolean,
        "STRING" => DataType::Utf8,
        "BYTES" => DataType::Binary,
        "DATE" => DataType::Date32,
        "DATETIME" => datetime_type(),
        "TIMESTAMP" => timestamp_type(),
        "TIME" => DataType::Time64(TimeUnit::Microsecond),
        _ => return None,
    })
}

fn cast_return(types: &[DataType], scalars: &[Option<&ScalarValue>]) -> Result<DataType> {
    check_arity("CAST", types, 3, 3)?;
    let Some(name) = literal_str(scalars, 1) else {
        return Err(plan_error("bq_cast needs a literal type name"));
    };
    bigquery_type(name).ok_or_else(|| plan_error(format!("unknown BigQuery type {name}")))
}

fn cast_coerce(types: &[DataType]) -> Result<Vec<DataType>> {
    check_arity("CAST", types, 3, 3)?;
    let source = match &types[0] {
        DataType::LargeUtf8 | DataType::Utf8View => DataType::Utf8,
        DataType::Timestamp(_, Some(_)) => timestamp_type(),
        DataType::Timestamp(_, None) => datetime_type(),
        DataType::Float16 | DataType::Float32 => DataType::Float64,
        other => other.clone(),
    };
    Ok(vec![source, DataType::Utf8, DataType::Boolean])
}

fn cast_invoke(args: &[ArrayRef], target: &DataType) -> Result<ArrayRef> {
    let safe = args[2]
        .as_boolean_opt()
        .is_some_and(|b| !b.is_empty() && b.value(0));
    let source = &args[0];
    if source.data_type() == &DataType::Null {
        return Ok(datafusion::arrow::array::new_null_array(
            target,
            source.len(),
        ));
    }
    let result = match target {
        DataType::Utf8 => to_string_array(source),
        DataType::Int64 => to_int64(source, safe),
        DataType::Boolean if is_string(source.data_type()) => Ok(string_to_bool(source, safe)?),
        DataType::Timestamp(TimeUnit::Microsecond, tz) if is_string(source.data_type()) => {
            string_to_timestamp(source, tz.is_some(), safe)
        }
        _ => arrow_cast(source, target, safe),
    };
    match result {
        Err(_) if safe => Ok(datafusion::arrow::array::new_null_array(
            target,
            source.len(),
        )),
        other => other,
    }
}

fn arrow_cast(source: &ArrayRef, target: &DataType, safe: bool) -> Result<ArrayRef> {
    let options = CastOptions {
        safe,
        ..Default::default()
    };
    cast_with_options(source, target, &options).map_err(|e| exec_error(format!("CAST: {e}")))
}

/// Casts to INT64, rounding FLOAT64 and NUMERIC halfway cases away from zero.
fn to_int64(source: &ArrayRef, safe: bool) -> Result<ArrayRef> {
    let data_type = source.data_type().clone();
    if is_float(&data_type) || is_decimal(&data_type) {
        if is_decimal(&data_type) {
            return decimal_to_int64(source, safe);
        }
        let floats = arrow_cast(source, &DataType::Float64, safe)?;
        let floats = floats.as_primitive::<Float64Type>();
        let mut out = Vec::with_capacity(floats.len());
        for v in floats.iter() {
            out.push(match v {
                None => None,
                Some(f) => match float_to_int64(f) {
                    Some(i) => Some(i),
                    None if safe => None,
                    None => {
                        return Err(exec_error(format!(
                            "Illegal conversion of non-finite or out of range value {f} to INT64"
                        )));
                    }
                },
            });
        }
        return Ok(Arc::new(Int64Array::from(out)));
    }
    if is_string(&data_type) {
        return string_to_int64(source, safe);
    }
    arrow_cast(source, &DataType::Int64, safe)
}

fn float_to_int64(f: f64) -> Option<i64> {
    let r = f.round();
    // i64::MAX is not exactly representable; 2^63 is the first value out of range.
    (r.is_finite() && (-9_223_372_036_854_775_808.0..9_223_372_036_854_775_808.0).contains(&r))
        .then_some(r as i64)
}

fn decimal_to_int64(source: &ArrayRef, safe: bool) -> Result<ArrayRef> {
    let DataType::Decimal128(_, scale) = source.data_type() else {
        // Decimal256 (BIGNUMERIC) and narrow decimals: through Decimal128(38, 9).
        let narrowed = arrow_cast(source, &DataType::Decimal128(38, 9), safe)?;
        return decimal_to_int64(&narrowed, safe);
    };
    let divisor = 10_i128
        .checked_pow(u32::try_from(*scale).unwrap_or(0))
        .unwrap_or(1);
    let decimals = source.as_primitive::<Decimal128Type>();
    let mut out = Vec::with_capacity(decimals.len());
    for v in decimals.iter() {
        let Some(v) = v else {
            out.push(None);
            continue;
        };
        let (q, r) = (v / divisor, v % divisor);
        let q = if r.abs() * 2 >= divisor {
            q + v.signum()
        } else {
            q
        };
        match i64::try_from(q) {
            Ok(i) => out.push(Some(i)),
            Err(_) if safe => out.push(None),
            Err(_) => return Err(exec_error("int64 overflow in CAST of NUMERIC to INT64")),
        }
    }
    Ok(Arc::new(Int64Array::from(out)))
}

fn string_to_int64(source: &ArrayRef, safe: bool) -> Result<ArrayRef> {
    let mut out = Vec::with_capacity(source.len());
    for i in 0..source.len() {
        let Some(text) = str_at(source, i) else {
            out.push(None);
            continue;
        };
        match parse_int64(text) {
            Some(v) => out.push(Some(v)),
            None if safe => out.push(None),
            None => return Err(exec_error(format!("Bad int64 value: {text}"))),
        }
    }
    Ok(Arc::new(Int64Array::from(out)))
}

/// Parses BigQuery's INT64 text: optional sign, decimal or `0x` hex digits.
fn parse_int64(text: &str) -> Option<i64> {
    let t = text.trim();
    let (negative, digits) = match t.as_bytes().first() {
        Some(b'-') => (true, &t[1..]),
        Some(b'+') => (false, &t[1..]),
        _ => (false, t),
    };
    let magnitude: i128 = if let Some(hex) = digits
        .strip_prefix("0x")
        .or_else(|| digits.strip_prefix("0X"))
    {
        i128::from_str_radix(hex, 16).ok()?
    } else {
        if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        digits.parse::<i128>().ok()?
    };
    let value = if negative { -magnitude } else { magnitude };
    i64::try_from(value).ok()
}

fn string_to_bool(source: &ArrayRef, safe: bool) -> Result<ArrayRef> {
    let mut out = Vec::with_capacity(source.len());
    for i in 0..source.len() {
        let Some(text) = str_at(source, i) else {
            out.push(None);
            continue;
        };
        if text.eq_ignore_ascii_case("true") {
            out.push(Some(true));
        } else if text.eq_ignore_ascii_case("false") {
            out.push(Some(false));
        } else if safe {
            out.push(None);
        } else {
            return Err(exec_error(format!("Bad bool value: {text}")));
        }
    }
    Ok(Arc::new(BooleanArray::from(out)))
}

fn string_to_timestamp(source: &ArrayRef, zoned: bool, safe: bool) -> Result<ArrayRef> {
    let mut out = Vec::with_capacity(source.len());
    for i in 0..source.len() {
        let Some(text) = str_at(source, i) else {
            out.push(None);
            continue;
        };
        let parsed = if zoned {
            parse_timestamp(text, 0)
        } else {
            parse_datetime(text)
        };
        match parsed.and_then(datetime_to_micros) {
            Some(v) => out.push(Some(v)),
            None if safe => out.push(None),
            None if zoned => return Err(exec_error(format!("Invalid timestamp: '{text}'"))),
            None => return Err(exec_error(format!("Invalid datetime string \"{text}\""))),
        }
    }
    let tz = zoned.then(|| Arc::<str>::from("UTC"));
    Ok(Arc::new(
        TimestampMicrosecondArray::from(out).with_timezone_opt(tz),
    ))
}

/// Parses a BigQuery DATETIME literal: `YYYY-[M]M-[D]D[( |T)[H]H:[M]M:[S]S[.F]]`.
pub fn parse_datetime(text: &str) -> Option<NaiveDateTime> {
    let t = text.trim();
    let (date_part, time_part) = match t.find([' ', 'T', 't']) {
        Some(pos) => (&t[..pos], Some(t[pos + 1..].trim())),
        None => (t, None),
    };
    let date = parse_date(date_part)?;
    let time = match time_part {
        None | Some("") => NaiveTime::MIN,
        Some(tp) => parse_time(tp)?,
    };
    Some(date.and_time(time))
}

/// Parses `YYYY-[M]M-[D]D`.
pub fn parse_date(text: &str) -> Option<NaiveDate> {
    let mut parts = text.trim().splitn(3, '-');
    let year: i32 = parts.next()?.parse().ok()?;
    let month: u32 = parts.next()?.parse().ok()?;
    let day: u32 = parts.next()?.parse().ok()?;
    if !(1..=9999).contains(&year) {
        return None;
    }
    NaiveDate::from_ymd_opt(year, month, day)
}

/// Parses `[H]H:[M]M[:[S]S[.F]]`.
fn parse_time(text: &str) -> Option<NaiveTime> {
    let mut parts = text.splitn(3, ':');
    let hour: u32 = parts.next()?.parse().ok()?;
    let minute: u32 = parts.next()?.parse().ok()?;
    let (second, micros) = match parts.next() {
        None => (0, 0),
        Some(sec) => {
            let (whole, frac) = sec.split_once('.').unwrap_or((sec, ""));
            let second: u32 = whole.parse().ok()?;
            if frac.len() > 9 || !frac.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            let padded = format!("{frac:0<6}");
            let micros: u32 = padded.get(..6)?.parse().ok()?;
            (second, micros)
        }
    };
    NaiveTime::from_hms_micro_opt(hour, minute, second, micros)
}

/// Parses a BigQuery TIMESTAMP literal into UTC wall time: a DATETIME
/// followed by an optional zone (`Z`, `UTC`, `+HH[:MM]`); zone-less text is
/// read in `default_offset_secs`.
pub fn parse_timestamp(text: &str, default_offset_secs: i32) -> Option<NaiveDateTime> {
    let t = text.trim();
    let (body, offset) = split_zone(t)?;
    let local = parse_datetime(body)?;
    let offset = offset.unwrap_or(default_offset_secs);
    local.checked_sub_signed(chrono::TimeDelta::seconds(i64::from(offset)))
}

/// Splits a trailing zone from timestamp text; returns its offset in seconds.
fn split_zone(t: &str) -> Option<(&str, Option<i32>)> {
    for suffix in [" UTC", "UTC", "Z", "z", "+00"] {
        if let Some(body) = t.strip_suffix(suffix)
            && !body.is_empty()
            && body.ends_with(|c: char| c.is_ascii_digit() || c == ' ')
        {
            return Some((body.trim_end(), Some(0)));
        }
    }
    // A sign after the time part starts an offset (the date's '-' come earlier).
    let Some(time_start) = t.find([' ', 'T', 't']) else {
        return Some((t, None));
    };
    let Some(rel) = t[time_start..].find(['+', '-']) else {
        return Some((t, None));
    };
    let pos = time_start + rel;
    let offset = parse_offset(&t[pos..])?;
    Some((t[..pos].trim_end(), Some(offset)))
}

/// Parses `+HH`, `+HH:MM` or `+HHMM` into seconds east of UTC.
pub fn parse_offset(text: &str) -> Option<i32> {
    let t = text.trim();
    let (sign, rest) = match t.as_bytes().first()? {
        b'+' => (1, &t[1..]),
        b'-' => (-1, &t[1..]),
        _ => return None,
    };
    let (hours, minutes) = if let Some((h, m)) = rest.split_once(':') {
        (h, m)
    } else if rest.len() == 4 {
        (&rest[..2], &rest[2..])
    } else {
        (rest, "0")
    };
    let hours: i32 = hours.parse().ok()?;
    let minutes: i32 = minutes.parse().ok()?;
    if hours > 14 || minutes > 59 {
        return None;
    }
    Some(sign * (hours * 3600 + minutes * 60))
}

/// Converts any supported array to BigQuery's text form of its values.
pub fn to_string_array(source: &ArrayRef) -> Result<ArrayRef> {
    let data_type = source.data_type();
    if is_string(data_type) || data_type == &DataType::Null {
        return arrow_cast(source, &DataType::Utf8, false);
    }
    let mut out: Vec<Option<String>> = Vec::with_capacity(source.len());
    match data_type {
        DataType::Float16 | DataType::Float32 | DataType::Float64 => {
            let floats = arrow_cast(source, &DataType::Float64, false)?;
            for v in floats.as_primitive::<Float64Type>().iter() {
                out.push(v.map(format_float64));
            }
        }
        DataType::Decimal128(_, _) | DataType::Decimal256(_, _) => {
            let text = arrow_cast(source, &DataType::Utf8, false)?;
            for v in text.as_string::<i32>().iter() {
                out.push(v.map(trim_decimal_text));
            }
        }
        DataType::Timestamp(TimeUnit::Microsecond, tz) => {
            let a = source.as_primitive::<datafusion::arrow::datatypes::TimestampMicrosecondType>();
            for v in a.iter() {
                out.push(
                    v.and_then(micros_to_datetime)
                        .map(|dt| format_datetime(dt, tz.is_some())),
                );
            }
        }
        DataType::Timestamp(_, tz) => {
            let target = DataType::Timestamp(TimeUnit::Microsecond, tz.clone());
            let micros = arrow_cast(source, &target, false)?;
            return to_string_array(&micros);
        }
        DataType::Binary | DataType::LargeBinary | DataType::BinaryView => {
            let bytes = arrow_cast(source, &DataType::Binary, false)?;
            for v in bytes.as_binary::<i32>().iter() {
                out.push(match v {
                    None => None,
                    Some(b) => Some(
                        String::from_utf8(b.to_vec())
                            .map_err(|_| exec_error("Invalid UTF-8 in BYTES cast to STRING"))?,
                    ),
                });
            }
        }
        DataType::List(_) | DataType::LargeList(_) | DataType::Struct(_) | DataType::Map(_, _) => {
            return Err(exec_error(format!(
                "BigQuery feature not supported locally yet: CAST of {data_type} to STRING"
            )));
        }
        _ => {
            let options = FormatOptions::default();
            let formatter = ArrayFormatter::try_new(source.as_ref(), &options)?;
            for i in 0..source.len() {
                out.push((!source.is_null(i)).then(|| formatter.value(i).to_string()));
            }
        }
    }
    Ok(Arc::new(StringArray::from(out)))
}

/// BigQuery's text form of a FLOAT64: shortest round-trip digits, exponent
/// form outside [1e-4, 1e15), and `inf`, `-inf`, `nan`.
pub fn format_float64(f: f64) -> String {
    if f.is_nan() {
        return "nan".to_string();
    }
    if f.is_infinite() {
        return if f > 0.0 { "inf" } else { "-inf" }.to_string();
    }
    if f == 0.0 {
        return if f.is_sign_negative() { "-0" } else { "0" }.to_string();
    }
    let abs = f.abs();
    if (1e-4..1e15).contains(&abs) {
        let text = format!("{f}");
        return text;
    }
    // Exponent form like C's %g: mantissa digits, then e+XX / e-XX.
    let sci = format!("{f:e}");
    let Some((mantissa, exponent)) = sci.split_once('e') else {
        return sci;
    };
    let exp: i32 = exponent.parse().unwrap_or(0);
    let sign = if exp < 0 { '-' } else { '+' };
    format!("{mantissa}e{sign}{:02}", exp.abs())
}

/// Drops trailing fractional zeros of decimal text: `1.500000000` → `1.5`.
fn trim_decimal_text(text: &str) -> String {
    if !text.contains('.') {
        return text.to_string();
    }
    let trimmed = text.trim_end_matches('0').trim_end_matches('.');
    if trimmed.is_empty() || trimmed == "-" || trimmed == "-0" {
        "0".to_string()
    } else {
        trimmed.to_string()
    }
}

/// BigQuery's text form of DATETIME (`2026-01-02 03:04:05[.ffffff]`) and
/// TIMESTAMP (the same followed by `+00`).
pub fn format_datetime(dt: NaiveDateTime, zoned: bool) -> String {
    let micros = chrono::Timelike::nanosecond(&dt) / 1000;
    let base = dt.format("%Y-%m-%d %H:%M:%S").to_string();
    let fraction = if micros == 0 {
        String::new()
    } else if micros.is_multiple_of(1000) {
        format!(".{:03}", micros / 1000)
    } else {
        format!(".{micros:06}")
    };
    let zone = if zoned { "+00" } else { "" };
    format!("{base}{fraction}{zone}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_floats_like_bigquery() {
        assert_eq!(format_float64(1.0), "1");
        assert_eq!(format_float64(0.1), "0.1");
        assert_eq!(format_float64(-2.5), "-2.5");
        assert_eq!(format_float64(1e20), "1e+20");
        assert_eq!(format_float64(1.5e-7), "1.5e-07");
        assert_eq!(format_float64(f64::NAN), "nan");
    }

    #[test]
    fn parses_timestamps_with_offsets() {
        let t = parse_timestamp("2026-01-02 10:00:00+02:00", 0).unwrap();
        assert_eq!(t.to_string(), "2026-01-02 08:00:00");
        let t = parse_timestamp("2026-01-02T10:00:00Z", 0).unwrap();
        assert_eq!(t.to_string(), "2026-01-02 10:00:00");
        let t = parse_timestamp("2026-01-02 10:00:00 UTC", 0).unwrap();
        assert_eq!(t.to_string(), "2026-01-02 10:00:00");
        let t = parse_timestamp("2026-01-02", 0).unwrap();
        assert_eq!(t.to_string(), "2026-01-02 00:00:00");
        let t = parse_timestamp("2026-01-02 10:00:00.5-05", 0).unwrap();
        assert_eq!(t.to_string(), "2026-01-02 15:00:00.500");
        assert!(parse_timestamp("yesterday", 0).is_none());
    }

    #[test]
    fn parses_int64_text() {
        assert_eq!(parse_int64("42"), Some(42));
        assert_eq!(parse_int64("-0x1F"), Some(-31));
        assert_eq!(parse_int64("1.5"), None);
        assert_eq!(parse_int64("99999999999999999999"), None);
    }

    #[test]
    fn trims_decimal_text() {
        assert_eq!(trim_decimal_text("1.500000000"), "1.5");
        assert_eq!(trim_decimal_text("2.000000000"), "2");
        assert_eq!(trim_decimal_text("-0.000000000"), "0");
    }
}
