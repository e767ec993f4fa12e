//! String and bytes literals with BigQuery's rules: raw, triple-quoted and
//! byte strings, and escapes (`\n`, `\x41`, `\u2168`, octal) resolved the way
//! BigQuery resolves them; an illegal escape is BigQuery's syntax error.

use super::*;

pub(super) fn normalize_value(value: &mut Value) -> Result<(), SqlError> {
    let replacement = match value {
        // The parser keeps escapes (see `parse`); BigQuery resolves them in
        // every string literal that is not raw.
        Value::SingleQuotedString(s) => {
            Value::SingleQuotedString(unescape_string(&s.replace("''", "'"))?)
        }
        Value::DoubleQuotedString(s) => {
            Value::SingleQuotedString(unescape_string(&s.replace("\"\"", "\""))?)
        }
        Value::TripleSingleQuotedString(s) | Value::TripleDoubleQuotedString(s) => {
            Value::SingleQuotedString(unescape_string(s)?)
        }
        Value::SingleQuotedRawStringLiteral(s)
        | Value::DoubleQuotedRawStringLiteral(s)
        | Value::TripleSingleQuotedRawStringLiteral(s)
        | Value::TripleDoubleQuotedRawStringLiteral(s) => {
            Value::SingleQuotedString(std::mem::take(s))
        }
        Value::SingleQuotedByteStringLiteral(s)
        | Value::DoubleQuotedByteStringLiteral(s)
        | Value::TripleSingleQuotedByteStringLiteral(s)
        | Value::TripleDoubleQuotedByteStringLiteral(s) => Value::HexStringLiteral(
            unescape_bytes(s)
                .iter()
                .map(|b| format!("{b:02X}"))
                .collect(),
        ),
        _ => return Ok(()),
    };
    *value = replacement;
    Ok(())
}

/// The text of a BigQuery string literal body with its escapes resolved:
/// `\n`-style escapes, `\xHH` and `\ooo` bytes (which must form UTF-8),
/// `\uXXXX` and `\UXXXXXXXX` code points. Any other escape is an error, as
/// in BigQuery.
fn unescape_string(body: &str) -> Result<String, SqlError> {
    if !body.contains('\\') {
        return Ok(body.to_string());
    }
    let illegal =
        |e: &str| SqlError::syntax(format!("syntax error: Illegal escape sequence: \\{e}"));
    let mut out: Vec<u8> = Vec::with_capacity(body.len());
    let mut chars = body.chars();
    let push_char = |out: &mut Vec<u8>, c: char| {
        let mut buf = [0_u8; 4];
        out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
    };
    while let Some(c) = chars.next() {
        if c != '\\' {
            push_char(&mut out, c);
            continue;
        }
        let Some(e) = chars.next() else {
            return Err(illegal(""));
        };
        let simple = match e {
            'n' => Some('\n'),
            't' => Some('\t'),
            'r' => Some('\r'),
            'a' => Some('\u{7}'),
            'b' => Some('\u{8}'),
            'f' => Some('\u{c}'),
            'v' => Some('\u{b}'),
            '\\' | '\'' | '"' | '`' | '?' => Some(e),
            _ => None,
        };
        if let Some(c) = simple {
            push_char(&mut out, c);
            continue;
        }
        let (radix, len) = match e {
            'x' | 'X' => (16, 2),
            '0'..='7' => (8, 2),
            'u' => (16, 4),
            'U' => (16, 8),
            _ => return Err(illegal(&e.to_string())),
        };
        let mut digits = String::new();
        if radix == 8 {
            digits.push(e);
        }
        for _ in 0..len {
            match chars.next() {
                Some(d) if d.is_digit(radix) => digits.push(d),
                _ => return Err(illegal(&format!("{e}{digits}"))),
            }
        }
        let code = u32::from_str_radix(&digits, radix).map_err(|_| illegal(&digits))?;
        if matches!(e, 'u' | 'U') {
            let c = char::from_u32(code).ok_or_else(|| illegal(&format!("{e}{digits}")))?;
            push_char(&mut out, c);
        } else {
            out.push(u8::try_from(code).map_err(|_| illegal(&digits))?);
        }
    }
    String::from_utf8(out).map_err(|_| {
        SqlError::syntax("syntax error: a string literal's escapes are not valid UTF-8")
    })
}

/// The bytes of a BigQuery bytes literal body, with its escapes (`\\xHH`,
/// octal `\\ooo`, `\\n`, ...) resolved.
fn unescape_bytes(body: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(body.len());
    let mut chars = body.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '\\' {
            let mut buf = [0_u8; 4];
            out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
            continue;
        }
        let Some(e) = chars.next() else {
            out.push(b'\\');
            break;
        };
        let simple = match e {
            'n' => Some(b'\n'),
            't' => Some(b'\t'),
            'r' => Some(b'\r'),
            'a' => Some(0x07),
            'b' => Some(0x08),
            'f' => Some(0x0c),
            'v' => Some(0x0b),
            '\\' | '\'' | '"' | '`' | '?' => u8::try_from(e).ok(),
            _ => None,
        };
        if let Some(b) = simple {
            out.push(b);
            continue;
        }
        let (radix, len) = match e {
            'x' | 'X' => (16, 2),
            '0'..='7' => (8, 2),
            _ => (0, 0),
        };
        let mut digits = String::new();
        if radix == 8 {
            digits.push(e);
        }
        for _ in 0..len {
            if let Some(&d) = chars.peek()
                && d.is_digit(radix)
            {
                digits.push(d);
                chars.next();
            }
        }
        match u8::from_str_radix(&digits, radix.max(2)) {
            Ok(b) if radix != 0 => out.push(b),
            _ => {
                out.push(b'\\');
                if radix != 8 {
                    let mut buf = [0_u8; 4];
                    out.extend_from_slice(e.encode_utf8(&mut buf).as_bytes());
                }
                out.extend_from_slice(digits.as_bytes());
            }
        }
    }
    out
}
