//! BigQuery string and bytes functions whose semantics differ from
//! DataFusion's: CONCAT (NULL if any argument is NULL), SUBSTR (1-based,
//! negative positions count from the end), TRIM family (Unicode whitespace),
//! LENGTH (characters or bytes), REPLACE (empty pattern is a no-op), SPLIT,
//! INITCAP, INSTR with a position or occurrence, FORMAT (%d, %i, %s and %%
//! on INT64 and STRING values), CONTAINS_SUBSTR (ASCII STRING values), TO_HEX,
//! TO_BASE64,
//! FROM_HEX, SHA1 and FARM_FINGERPRINT.

use std::sync::Arc;

use datafusion::arrow::array::{
    Array, ArrayRef, AsArray, BinaryArray, BooleanArray, Int64Array, ListBuilder, StringArray,
    StringBuilder,
};
use datafusion::arrow::datatypes::{DataType, Field};
use datafusion::common::{Result, ScalarValue};
use datafusion::logical_expr::ScalarUDF;

use super::cast::to_string_array;
use super::common::{
    BqFunction, check_arity, exec_error, i64_at, is_binary, is_string, plan_error, ret_binary,
    ret_bool, ret_int64, ret_string, str_at, text_or_bytes,
};

/// All UDFs of this module.
pub fn udfs() -> Vec<ScalarUDF> {
    vec![
        BqFunction::udf("bq_concat", ret_concat, coerce_concat, invoke_concat),
        BqFunction::udf("bq_substr", ret_same_text, coerce_substr, invoke_substr),
        BqFunction::udf("bq_trim", ret_same_text, coerce_trim, invoke_trim_both),
        BqFunction::udf("bq_ltrim", ret_same_text, coerce_trim, invoke_trim_start),
        BqFunction::udf("bq_rtrim", ret_same_text, coerce_trim, invoke_trim_end),
        BqFunction::udf("bq_length", ret_int64, coerce_text_one, invoke_length),
        BqFunction::udf("bq_replace", ret_same_text, coerce_replace, invoke_replace),
        BqFunction::udf("bq_split", ret_string_list, coerce_split, invoke_split),
        BqFunction::udf("bq_initcap", ret_same_text, coerce_initcap, invoke_initcap),
        BqFunction::udf("bq_to_hex", ret_string, coerce_bytes_one, invoke_to_hex),
        BqFunction::udf("bq_instr", ret_int64, coerce_instr, invoke_instr),
        BqFunction::udf("bq_format", ret_string, coerce_format, invoke_format),
        BqFunction::udf(
            "bq_contains_substr",
            ret_bool,
            coerce_contains_substr,
            invoke_contains_substr,
        ),
        BqFunction::udf(
            "bq_to_base64",
            ret_string,
            coerce_bytes_one,
            invoke_to_base64,
        ),
        BqFunction::udf("bq_from_hex", ret_binary, coerce_text_only, invoke_from_hex),
        BqFunction::udf("bq_sha1", ret_binary, coerce_bytes_one, invoke_sha1),
        BqFunction::udf(
            "bq_farm_fingerprint",
            ret_int64,
            coerce_bytes_one,
            invoke_farm_fingerprint,
        ),
    ]
}

fn ret_concat(types: &[DataType], _: &[Option<&ScalarValue>]) -> Result<DataType> {
    Ok(if !types.is_empty() && types.iter().all(is_binary) {
        DataType::Binary
    } else {
        DataType::Utf8
    })
}

fn ret_same_text(types: &[DataType], _: &[Option<&ScalarValue>]) -> Result<DataType> {
    Ok(types.first().map(text_or_bytes).unwrap_or(DataType::Utf8))
}

fn ret_string_list(_: &[DataType], _: &[Option<&ScalarValue>]) -> Result<DataType> {
    Ok(DataType::List(Arc::new(Field::new_list_field(
        DataType::Utf8,
        true,
    ))))
}

fn coerce_concat(types: &[DataType]) -> Result<Vec<DataType>> {
    if types.is_empty() {
        return Err(plan_error("CONCAT needs at least one argument"));
    }
    if types.iter().all(is_binary) {
        return Ok(vec![DataType::Binary; types.len()]);
    }
    // Non-text values are turned into text in the body, with BigQuery's formats.
    Ok(types
        .iter()
        .map(|t| match t {
            DataType::LargeUtf8 | DataType::Utf8View | DataType::Null => DataType::Utf8,
            other => other.clone(),
        })
        .collect())
}

fn coerce_substr(types: &[DataType]) -> Result<Vec<DataType>> {
    check_arity("SUBSTR", types, 2, 3)?;
    let mut out = vec![text_or_bytes(&types[0]), DataType::Int64];
    if types.len() == 3 {
        out.push(DataType::Int64);
    }
    Ok(out)
}

fn coerce_trim(types: &[DataType]) -> Result<Vec<DataType>> {
    check_arity("TRIM", types, 1, 2)?;
    Ok(types.iter().map(text_or_bytes).collect())
}

fn coerce_text_one(types: &[DataType]) -> Result<Vec<DataType>> {
    check_arity("LENGTH", types, 1, 1)?;
    Ok(vec![text_or_bytes(&types[0])])
}

fn coerce_text_only(types: &[DataType]) -> Result<Vec<DataType>> {
    check_arity("FROM_HEX", types, 1, 1)?;
    Ok(vec![DataType::Utf8])
}

fn coerce_bytes_one(types: &[DataType]) -> Result<Vec<DataType>> {
    check_arity("TO_HEX", types, 1, 1)?;
    Ok(vec![DataType::Binary])
}

fn coerce_instr(types: &[DataType]) -> Result<Vec<DataType>> {
    check_arity("INSTR", types, 2, 4)?;
    if types.iter().take(2).any(is_binary) {
        return Err(plan_error(
            "BigQuery feature not supported locally yet: INSTR on BYTES",
        ));
    }
    let mut out = vec![DataType::Utf8, DataType::Utf8];
    out.extend(std::iter::repeat_n(DataType::Int64, types.len() - 2));
    Ok(out)
}

/// FORMAT: the format string, then INT64 and STRING values only; other
/// types need BigQuery's type-specific formatting, not implemented locally.
fn coerce_format(types: &[DataType]) -> Result<Vec<DataType>> {
    if types.is_empty() || !(is_string(&types[0]) || types[0] == DataType::Null) {
        return Err(plan_error("FORMAT expects a format string"));
    }
    let mut out = vec![DataType::Utf8];
    for t in &types[1..] {
        out.push(if is_string(t) {
            DataType::Utf8
        } else if t.is_integer() {
            DataType::Int64
        } else {
            return Err(plan_error(format!(
                "BigQuery feature not supported locally yet: FORMAT of a {t} value"
            )));
        });
    }
    Ok(out)
}

/// CONTAINS_SUBSTR on STRING values; searching STRUCT, ARRAY, JSON or other
/// values, and the json_scope argument, are not implemented locally.
fn coerce_contains_substr(types: &[DataType]) -> Result<Vec<DataType>> {
    check_arity("CONTAINS_SUBSTR", types, 2, 2)?;
    for t in types {
        if !(is_string(t) || *t == DataType::Null) {
            return Err(plan_error(format!(
                "BigQuery feature not supported locally yet: CONTAINS_SUBSTR of a {t} value"
            )));
        }
    }
    Ok(vec![DataType::Utf8, DataType::Utf8])
}

fn coerce_replace(types: &[DataType]) -> Result<Vec<DataType>> {
    check_arity("REPLACE", types, 3, 3)?;
    Ok(vec![DataType::Utf8; 3])
}

fn coerce_split(types: &[DataType]) -> Result<Vec<DataType>> {
    check_arity("SPLIT", types, 1, 2)?;
    Ok(vec![DataType::Utf8; types.len()])
}

fn coerce_initcap(types: &[DataType]) -> Result<Vec<DataType>> {
    check_arity("INITCAP", types, 1, 2)?;
    Ok(vec![DataType::Utf8; types.len()])
}

fn rows(args: &[ArrayRef]) -> usize {
    args.iter().map(|a| a.len()).max().unwrap_or(0)
}

fn bytes_at(array: &ArrayRef, i: usize) -> Option<&[u8]> {
    if array.is_null(i) {
        return None;
    }
    array.as_binary_opt::<i32>().map(|a| a.value(i))
}

fn invoke_concat(args: &[ArrayRef], ret: &DataType) -> Result<ArrayRef> {
    let n = rows(args);
    if *ret == DataType::Binary {
        let out: Vec<Option<Vec<u8>>> = (0..n)
            .map(|i| {
                let mut buf = Vec::new();
                for a in args {
                    buf.extend_from_slice(bytes_at(a, i)?);
                }
                Some(buf)
            })
            .collect();
        return Ok(Arc::new(BinaryArray::from_iter(out)));
    }
    let texts = args
        .iter()
        .map(to_string_array)
        .collect::<Result<Vec<_>>>()?;
    let out: StringArray = (0..n)
        .map(|i| {
            let mut s = String::new();
            for t in &texts {
                s.push_str(str_at(t, i)?);
            }
            Some(s)
        })
        .collect();
    Ok(Arc::new(out))
}

/// BigQuery's SUBSTR on a sequence of `len` units: the 0-based start and end.
fn substr_range(len: usize, pos: i64, count: Option<i64>) -> Result<(usize, usize)> {
    if let Some(c) = count
        && c < 0
    {
        return Err(exec_error(
            "Third argument in SUBSTR() function cannot be negative",
        ));
    }
    let len_i = i64::try_from(len).unwrap_or(i64::MAX);
    let start = if pos > 0 {
        pos - 1
    } else if pos == 0 {
        0
    } else {
        (len_i + pos).max(0)
    };
    let start = start.min(len_i);
    let end = match count {
        Some(c) => start.saturating_add(c).min(len_i),
        None => len_i,
    };
    Ok((
        usize::try_from(start).unwrap_or(len),
        usize::try_from(end).unwrap_or(len),
    ))
}

fn invoke_substr(args: &[ArrayRef], ret: &DataType) -> Result<ArrayRef> {
    let n = rows(args);
    let count_at = |i: usize| -> Option<Option<i64>> {
        match args.get(2) {
            None => Some(None),
            Some(a) => i64_at(a, i).map(Some),
        }
    };
    if *ret == DataType::Binary {
        let mut out: Vec<Option<Vec<u8>>> = Vec::with_capacity(n);
        for i in 0..n {
            let (Some(b), Some(pos), Some(count)) =
                (bytes_at(&args[0], i), i64_at(&args[1], i), count_at(i))
            else {
                out.push(None);
                continue;
            };
            let (s, e) = substr_range(b.len(), pos, count)?;
            out.push(Some(b[s..e].to_vec()));
        }
        return Ok(Arc::new(BinaryArray::from_iter(out)));
    }
    let mut out = StringBuilder::with_capacity(n, 16 * n);
    for i in 0..n {
        let (Some(text), Some(pos), Some(count)) =
            (str_at(&args[0], i), i64_at(&args[1], i), count_at(i))
        else {
            out.append_null();
            continue;
        };
        let chars: Vec<char> = text.chars().collect();
        let (s, e) = substr_range(chars.len(), pos, count)?;
        out.append_value(chars[s..e].iter().collect::<String>());
    }
    Ok(Arc::new(out.finish()))
}

#[derive(Clone, Copy)]
enum TrimSide {
    Both,
    Start,
    End,
}

fn trim_text<'a>(text: &'a str, set: Option<&str>, side: TrimSide) -> &'a str {
    let is_trimmed = |c: char| match set {
        Some(s) => s.contains(c),
        None => c.is_whitespace(),
    };
    match side {
        TrimSide::Both => text.trim_matches(is_trimmed),
        TrimSide::Start => text.trim_start_matches(is_trimmed),
        TrimSide::End => text.trim_end_matches(is_trimmed),
    }
}

fn trim_bytes<'a>(bytes: &'a [u8], set: &[u8], side: TrimSide) -> &'a [u8] {
    let mut start = 0;
    let mut end = bytes.len();
    if matches!(side, TrimSide::Both | TrimSide::Start) {
        while start < end && set.contains(&bytes[start]) {
            start += 1;
        }
    }
    if matches!(side, TrimSide::Both | TrimSide::End) {
        while end > start && set.contains(&bytes[end - 1]) {
            end -= 1;
        }
    }
    &bytes[start..end]
}

fn invoke_trim(args: &[ArrayRef], ret: &DataType, side: TrimSide) -> Result<ArrayRef> {
    let n = rows(args);
    if *ret == DataType::Binary {
        let Some(set_array) = args.get(1) else {
            return Err(exec_error("TRIM of BYTES needs the bytes to trim"));
        };
        let out: Vec<Option<Vec<u8>>> = (0..n)
            .map(|i| {
                Some(trim_bytes(bytes_at(&args[0], i)?, bytes_at(set_array, i)?, side).to_vec())
            })
            .collect();
        return Ok(Arc::new(BinaryArray::from_iter(out)));
    }
    if args.len() == 1
        && let Some(texts) = args[0].as_string_opt::<i32>()
    {
        // The common TRIM(text): slices of the input, no string per row.
        let mut out = StringBuilder::with_capacity(texts.len(), texts.values().len());
        for text in texts {
            match text {
                Some(text) => out.append_value(trim_text(text, None, side)),
                None => out.append_null(),
            }
        }
        return Ok(Arc::new(out.finish()));
    }
    let out: StringArray = (0..n)
        .map(|i| {
            let text = str_at(&args[0], i)?;
            let set = match args.get(1) {
                Some(a) => Some(str_at(a, i)?),
                None => None,
            };
            Some(trim_text(text, set, side).to_string())
        })
        .collect();
    Ok(Arc::new(out))
}

fn invoke_trim_both(args: &[ArrayRef], ret: &DataType) -> Result<ArrayRef> {
    invoke_trim(args, ret, TrimSide::Both)
}

fn invoke_trim_start(args: &[ArrayRef], ret: &DataType) -> Result<ArrayRef> {
    invoke_trim(args, ret, TrimSide::Start)
}

fn invoke_trim_end(args: &[ArrayRef], ret: &DataType) -> Result<ArrayRef> {
    invoke_trim(args, ret, TrimSide::End)
}

fn invoke_length(args: &[ArrayRef], _: &DataType) -> Result<ArrayRef> {
    let a = &args[0];
    let binary = is_binary(a.data_type());
    let out: Int64Array = (0..a.len())
        .map(|i| {
            let n = if binary {
                bytes_at(a, i)?.len()
            } else {
                str_at(a, i)?.chars().count()
            };
            i64::try_from(n).ok()
        })
        .collect();
    Ok(Arc::new(out))
}

fn invoke_replace(args: &[ArrayRef], _: &DataType) -> Result<ArrayRef> {
    let out: StringArray = (0..rows(args))
        .map(|i| {
            let (text, from, to) = (
                str_at(&args[0], i)?,
                str_at(&args[1], i)?,
                str_at(&args[2], i)?,
            );
            Some(if from.is_empty() {
                text.to_string()
            } else {
                text.replace(from, to)
            })
        })
        .collect();
    Ok(Arc::new(out))
}

fn invoke_split(args: &[ArrayRef], _: &DataType) -> Result<ArrayRef> {
    let n = rows(args);
    let mut builder = ListBuilder::new(StringBuilder::new());
    for i in 0..n {
        let text = str_at(&args[0], i);
        let delim = match args.get(1) {
            Some(d) => str_at(d, i),
            None => Some(","),
        };
        let (Some(text), Some(delim)) = (text, delim) else {
            builder.append_null();
            continue;
        };
        if delim.is_empty() {
            if text.is_empty() {
                builder.values().append_value("");
            }
            for c in text.chars() {
                builder.values().append_value(c.to_string());
            }
        } else {
            for piece in text.split(delim) {
                builder.values().append_value(piece);
            }
        }
        builder.append(true);
    }
    Ok(Arc::new(builder.finish()))
}

/// BigQuery's default INITCAP delimiters, besides whitespace.
const INITCAP_DELIMITERS: &str = "[](){}/|\\<>!?@\"^#$&~_,.:;*%+-";

fn initcap(text: &str, delimiters: Option<&str>) -> String {
    let is_delim = |c: char| match delimiters {
        Some(d) => d.contains(c),
        None => c.is_whitespace() || INITCAP_DELIMITERS.contains(c),
    };
    let mut out = String::with_capacity(text.len());
    let mut at_word_start = true;
    for c in text.chars() {
        if is_delim(c) {
            out.push(c);
            at_word_start = true;
        } else if at_word_start {
            out.extend(c.to_uppercase());
            at_word_start = false;
        } else {
            out.extend(c.to_lowercase());
        }
    }
    out
}

fn invoke_initcap(args: &[ArrayRef], _: &DataType) -> Result<ArrayRef> {
    let out: StringArray = (0..rows(args))
        .map(|i| {
            let text = str_at(&args[0], i)?;
            let delims = match args.get(1) {
                Some(d) => Some(str_at(d, i)?),
                None => None,
            };
            Some(initcap(text, delims))
        })
        .collect();
    Ok(Arc::new(out))
}

fn invoke_to_hex(args: &[ArrayRef], _: &DataType) -> Result<ArrayRef> {
    let a = &args[0];
    let out: StringArray = (0..a.len())
        .map(|i| {
            bytes_at(a, i).map(|b| {
                let mut s = String::with_capacity(b.len() * 2);
                for byte in b {
                    s.push_str(&format!("{byte:02x}"));
                }
                s
            })
        })
        .collect();
    Ok(Arc::new(out))
}

/// BigQuery's INSTR: the 1-based character position of the `occurrence`-th
/// (overlapping) match of `search`, searching forward from `position`, or
/// backward from the end when `position` is negative; 0 when there is none.
fn instr(source: &str, search: &str, position: i64, occurrence: i64) -> Result<i64> {
    if position == 0 {
        return Err(exec_error("INSTR: position must not be 0"));
    }
    if occurrence <= 0 {
        return Err(exec_error("INSTR: occurrence must be positive"));
    }
    let hay: Vec<char> = source.chars().collect();
    let needle: Vec<char> = search.chars().collect();
    let len = i64::try_from(hay.len()).unwrap_or(i64::MAX);
    let matches_at = |i: usize| hay.get(i..i + needle.len()) == Some(needle.as_slice());
    let mut seen = 0;
    let mut found = |i: usize| {
        if matches_at(i) {
            seen += 1;
            return seen == occurrence;
        }
        false
    };
    let hit = if position > 0 {
        if position > len {
            return Ok(0);
        }
        let start = usize::try_from(position - 1).unwrap_or(usize::MAX);
        (start..hay.len()).find(|&i| found(i))
    } else {
        if -position > len {
            return Ok(0);
        }
        let start = usize::try_from(len + position).unwrap_or(0);
        (0..=start).rev().find(|&i| found(i))
    };
    Ok(hit.map_or(0, |i| i64::try_from(i).unwrap_or(i64::MAX) + 1))
}

fn invoke_instr(args: &[ArrayRef], _: &DataType) -> Result<ArrayRef> {
    let n = rows(args);
    let mut out = Vec::with_capacity(n);
    for i in 0..n {
        let position = args.get(2).map_or(Some(1), |a| i64_at(a, i));
        let occurrence = args.get(3).map_or(Some(1), |a| i64_at(a, i));
        out.push(
            match (
                str_at(&args[0], i),
                str_at(&args[1], i),
                position,
                occurrence,
            ) {
                (Some(s), Some(t), Some(p), Some(o)) => Some(instr(s, t, p, o)?),
                _ => None,
            },
        );
    }
    Ok(Arc::new(Int64Array::from(out)))
}

/// One FORMAT call: `%d`/`%i` (INT64), `%s` (STRING or INT64) and `%%`.
/// Flags, widths, precisions, other specifiers and NULL values are refused
/// rather than formatted differently from BigQuery.
fn format_row(format: &str, args: &[ArrayRef], row: usize) -> Result<String> {
    let unsupported = |what: String| {
        exec_error(format!(
            "BigQuery feature not supported locally yet: FORMAT {what}"
        ))
    };
    let mut out = String::with_capacity(format.len());
    let mut next = 0;
    let mut chars = format.chars();
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        let spec = chars
            .next()
            .ok_or_else(|| exec_error("FORMAT: the format string ends with %"))?;
        if spec == '%' {
            out.push('%');
            continue;
        }
        let arg = args
            .get(next)
            .ok_or_else(|| exec_error("FORMAT: too few arguments for the format string"))?;
        next += 1;
        if arg.is_null(row) {
            return Err(unsupported("of a NULL value".to_string()));
        }
        match (spec, arg.data_type()) {
            ('d' | 'i' | 's', DataType::Int64) => {
                out.push_str(&i64_at(arg, row).unwrap_or_default().to_string());
            }
            ('s', DataType::Utf8) => out.push_str(str_at(arg, row).unwrap_or_default()),
            (spec, t) => return Err(unsupported(format!("specifier %{spec} for a {t} value"))),
        }
    }
    if next != args.len() {
        return Err(exec_error(
            "FORMAT: too many arguments for the format string",
        ));
    }
    Ok(out)
}

fn invoke_format(args: &[ArrayRef], _: &DataType) -> Result<ArrayRef> {
    let n = rows(args);
    let mut out: Vec<Option<String>> = Vec::with_capacity(n);
    for i in 0..n {
        out.push(match str_at(&args[0], i) {
            Some(format) => Some(format_row(format, &args[1..], i)?),
            None => None,
        });
    }
    Ok(Arc::new(StringArray::from(out)))
}

/// CONTAINS_SUBSTR compares NFKC-normalized, case-folded text; for ASCII
/// text that is ASCII lowercase. Other text is refused rather than compared
/// differently from BigQuery.
fn contains_substr(value: &str, search: &str) -> Result<bool> {
    if !value.is_ascii() || !search.is_ascii() {
        return Err(exec_error(
            "BigQuery feature not supported locally yet: CONTAINS_SUBSTR on non-ASCII text",
        ));
    }
    Ok(value
        .to_ascii_lowercase()
        .contains(&search.to_ascii_lowercase()))
}

fn invoke_contains_substr(args: &[ArrayRef], _: &DataType) -> Result<ArrayRef> {
    let n = rows(args);
    let mut out: Vec<Option<bool>> = Vec::with_capacity(n);
    for i in 0..n {
        out.push(match (str_at(&args[0], i), str_at(&args[1], i)) {
            (Some(value), Some(search)) => Some(contains_substr(value, search)?),
            _ => None,
        });
    }
    Ok(Arc::new(BooleanArray::from(out)))
}

/// Standard base64 with `=` padding, as BigQuery's TO_BASE64.
fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for k in 0..4 {
            if k <= chunk.len() {
                out.push(char::from(ALPHABET[((n >> (18 - 6 * k)) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

fn invoke_to_base64(args: &[ArrayRef], _: &DataType) -> Result<ArrayRef> {
    let a = &args[0];
    let out: StringArray = (0..a.len()).map(|i| bytes_at(a, i).map(base64)).collect();
    Ok(Arc::new(out))
}

fn invoke_from_hex(args: &[ArrayRef], _: &DataType) -> Result<ArrayRef> {
    let a = &args[0];
    let mut out: Vec<Option<Vec<u8>>> = Vec::with_capacity(a.len());
    for i in 0..a.len() {
        let Some(text) = str_at(a, i) else {
            out.push(None);
            continue;
        };
        let padded = if text.len() % 2 == 1 {
            format!("0{text}")
        } else {
            text.to_string()
        };
        let bytes = (0..padded.len())
            .step_by(2)
            .map(|k| {
                padded
                    .get(k..k + 2)
                    .and_then(|h| u8::from_str_radix(h, 16).ok())
            })
            .collect::<Option<Vec<u8>>>()
            .ok_or_else(|| {
                exec_error(format!(
                    "Failed to decode invalid hexadecimal string: \"{text}\""
                ))
            })?;
        out.push(Some(bytes));
    }
    Ok(Arc::new(BinaryArray::from_iter(out)))
}

fn invoke_sha1(args: &[ArrayRef], _: &DataType) -> Result<ArrayRef> {
    let a = &args[0];
    let out: Vec<Option<Vec<u8>>> = (0..a.len())
        .map(|i| bytes_at(a, i).map(|b| super::hash::sha1(b).to_vec()))
        .collect();
    Ok(Arc::new(BinaryArray::from_iter(out)))
}

fn invoke_farm_fingerprint(args: &[ArrayRef], _: &DataType) -> Result<ArrayRef> {
    let a = &args[0];
    let out: Int64Array = (0..a.len())
        .map(|i| {
            bytes_at(a, i).map(|b| i64::from_ne_bytes(super::hash::fingerprint64(b).to_ne_bytes()))
        })
        .collect();
    Ok(Arc::new(out))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// TRIM of a text column: whitespace of any kind off either side, NULL kept.
    #[test]
    fn trim_of_a_text_column_cuts_whitespace_and_keeps_nulls() {
        let column: ArrayRef = Arc::new(StringArray::from(vec![
            Some("  Paid Search \t"),
            None,
            Some("\u{2003}é\u{00a0}"),
            Some(""),
            Some("   "),
        ]));
        let both = invoke_trim_both(&[Arc::clone(&column)], &DataType::Utf8).unwrap();
        let start = invoke_trim_start(&[Arc::clone(&column)], &DataType::Utf8).unwrap();
        let texts = |a: &ArrayRef| -> Vec<Option<String>> {
            a.as_string::<i32>()
                .iter()
                .map(|v| v.map(str::to_string))
                .collect()
        };
        assert_eq!(
            texts(&both),
            [Some("Paid Search"), None, Some("é"), Some(""), Some("")]
                .map(|v| v.map(str::to_string))
        );
        assert_eq!(texts(&start)[0].as_deref(), Some("Paid Search \t"));
    }

    fn substr(text: &str, pos: i64, count: Option<i64>) -> String {
        let chars: Vec<char> = text.chars().collect();
        let (s, e) = substr_range(chars.len(), pos, count).unwrap();
        chars[s..e].iter().collect()
    }

    #[test]
    fn instr_matches_bigquery() {
        assert_eq!(instr("banana", "an", 1, 1).unwrap(), 2);
        assert_eq!(instr("banana", "an", 1, 2).unwrap(), 4);
        assert_eq!(instr("banana", "an", -1, 1).unwrap(), 4);
        assert_eq!(instr("banana", "an", 3, 1).unwrap(), 4);
        assert_eq!(instr("banana", "ann", 1, 1).unwrap(), 0);
        assert_eq!(instr("abcabc", "bc", -1, 2).unwrap(), 2);
        assert_eq!(instr("helloooo", "oo", 1, 2).unwrap(), 6);
        assert_eq!(instr("banana", "an", 7, 1).unwrap(), 0);
        assert!(instr("banana", "an", 0, 1).is_err());
        assert!(instr("banana", "an", 1, 0).is_err());
    }

    #[test]
    fn base64_pads_like_bigquery() {
        assert_eq!(base64(b""), "");
        assert_eq!(base64(b"f"), "Zg==");
        assert_eq!(base64(b"fo"), "Zm8=");
        assert_eq!(base64(b"foo"), "Zm9v");
        assert_eq!(base64(b"foobar"), "Zm9vYmFy");
    }

    #[test]
    fn substr_matches_bigquery() {
        assert_eq!(substr("apple", 2, None), "pple");
        assert_eq!(substr("apple", 2, Some(2)), "pp");
        assert_eq!(substr("apple", -2, None), "le");
        assert_eq!(substr("apple", 0, Some(2)), "ap");
        assert_eq!(substr("apple", -10, Some(2)), "ap");
        assert_eq!(substr("apple", 10, None), "");
        assert!(substr_range(5, 1, Some(-1)).is_err());
    }

    #[test]
    fn initcap_matches_bigquery() {
        assert_eq!(
            initcap("hello WORLD-foo don't", None),
            "Hello World-Foo Don't"
        );
        assert_eq!(initcap("a.b c", Some(".")), "A.B c");
    }

    #[test]
    fn trims_unicode_whitespace() {
        assert_eq!(trim_text("\t x \n", None, TrimSide::Both), "x");
        assert_eq!(trim_text("xxaxx", Some("x"), TrimSide::Start), "axx");
    }
}
