//! The fast path of phone normalization: for the shapes people write
//! (ASCII digits with spaces and `( ) - . /`, an optional leading `+`), the
//! result `rlibphonenumber`'s `parse` → `is_valid_number` → `format(E164)`
//! gives, computed from the library's metadata ([`super::plan`]) without its
//! general-purpose parser. Step for step it follows the library's
//! `parse_helper`, `maybe_extract_country_code`,
//! `maybe_strip_national_prefix_and_carrier_code`, `test_number_length` and
//! `is_valid_number`; anything else is [`Fast::Unhandled`] and goes to the
//! library.

use std::borrow::Cow;

use rlibphonenumber::PHONE_NUMBER_UTIL;
use rlibphonenumber::enums::Region;

use super::plan::{self, MAX_NSN, Plan};

/// The fast path's answer for one number.
#[derive(Debug, PartialEq, Eq)]
pub enum Fast {
    /// Valid: its E.164 form.
    Valid(String),
    /// The library would reject it (a parse error or not a valid number).
    Invalid,
    /// Outside the shapes modelled here: ask the library.
    Unhandled,
}

/// The longest digit run considered (country code + the longest NSN + a
/// national prefix); longer input goes to the library.
const MAX_DIGITS: usize = 24;

/// `text` is trimmed, `00` already turned into `+`; `region` is the default
/// region (`None` only for `+` numbers).
pub fn e164(text: &str, region: Option<Region>) -> Fast {
    let (plus, body) = match text.strip_prefix('+') {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    let mut buf = [0u8; MAX_DIGITS];
    let mut n = 0;
    for b in body.bytes() {
        match b {
            b'0'..=b'9' => {
                let Some(slot) = buf.get_mut(n) else {
                    return Fast::Unhandled;
                };
                *slot = b;
                n += 1;
            }
            b' ' | b'(' | b')' | b'-' | b'.' | b'/' => {}
            _ => return Fast::Unhandled,
        }
    }
    // Fewer than 3 digits: the library's viability rules (2-digit numbers,
    // "too short after IDD") are not modelled.
    if n < 3 {
        return Fast::Unhandled;
    }
    let Ok(digits) = std::str::from_utf8(&buf[..n]) else {
        return Fast::Unhandled;
    };
    if plus {
        international(digits)
    } else {
        match region {
            Some(region) => national(digits, region),
            None => Fast::Unhandled,
        }
    }
}

/// `+` and digits: the country code is the shortest known 1–3 digit prefix
/// (`extract_country_code`); the rest is read with that country's metadata.
fn international(digits: &str) -> Fast {
    if digits.starts_with('0') {
        return Fast::Unhandled;
    }
    let found = (1..=3).find_map(|i| {
        let code: i32 = digits.get(..i)?.parse().ok()?;
        let region = PHONE_NUMBER_UTIL.get_region_for_country_code(code)?;
        Some((i, code, region))
    });
    let Some((i, code, region)) = found else {
        return Fast::Unhandled;
    };
    let Some(plan) = plan::plan(region) else {
        return Fast::Unhandled;
    };
    if plan.country_code != code {
        return Fast::Unhandled;
    }
    let rest = &digits[i..];
    if rest.len() < 2 {
        return Fast::Invalid;
    }
    finish(code, rest, plan)
}

/// Digits without `+`, in the row's region.
fn national(digits: &str, region: Region) -> Fast {
    let Some(plan) = plan::plan(region) else {
        return Fast::Unhandled;
    };
    // An international (IDD) prefix or the country code itself: the library
    // tries more readings than modelled here.
    if plan
        .idd_start
        .as_ref()
        .is_some_and(|re| re.is_match(digits))
        || digits.starts_with(plan.country_code_text.as_str())
    {
        return Fast::Unhandled;
    }
    finish(plan.country_code, digits, plan)
}

/// From the digits after the country code to the answer: national prefix,
/// length checks, validity, E.164.
fn finish(code: i32, number: &str, plan: &Plan) -> Fast {
    let potential = strip_national_prefix(number, plan);
    // Keep the stripped number only when it is still a possible length.
    let nsn = match test_length(&potential, plan) {
        Length::Possible | Length::TooLong => potential.as_ref(),
        Length::Other => number,
    };
    if !nsn.bytes().all(|b| b.is_ascii_digit()) {
        return Fast::Unhandled;
    }
    if nsn.len() < 2 || nsn.len() > MAX_NSN {
        return Fast::Invalid;
    }
    // The library keeps leading zeros (Italian style) as a count next to the
    // integer; its national significant number is these digits exactly.
    match valid(code, nsn) {
        Some(true) => {
            let mut out = String::with_capacity(1 + 3 + nsn.len());
            out.push('+');
            out.push_str(&plan.country_code_text);
            out.push_str(nsn);
            Fast::Valid(out)
        }
        Some(false) => Fast::Invalid,
        None => Fast::Unhandled,
    }
}

/// `maybe_strip_national_prefix_and_carrier_code`: the national prefix (and
/// carrier code) removed, or rewritten by the region's transform rule, unless
/// that turns a number matching the general pattern into one that does not.
fn strip_national_prefix<'a>(number: &'a str, plan: &Plan) -> Cow<'a, str> {
    let Some(prefix) = plan.national_prefix_start.as_ref() else {
        return Cow::Borrowed(number);
    };
    let candidate = if plan.transform_rule.is_empty() {
        // No transform: only the whole match matters, which `find` gives
        // without the cost of capture groups.
        match prefix.find(number) {
            Some(found) => Cow::Borrowed(&number[found.end()..]),
            None => return Cow::Borrowed(number),
        }
    } else {
        let Some(captures) = prefix.captures(number) else {
            return Cow::Borrowed(number);
        };
        let first = captures.get(1);
        let second = captures.get(2);
        let transform = first.is_some_and(|first| {
            second.is_some_and(|s| !s.is_empty()) || (!first.is_empty() && second.is_none())
        });
        if transform {
            prefix.replace(number, plan.transform_rule.as_str())
        } else {
            match captures.get(0) {
                Some(found) => Cow::Borrowed(&number[found.end()..]),
                None => return Cow::Borrowed(number),
            }
        }
    };
    let viable = plan.general.pattern_matches(number);
    if viable && !plan.general.pattern_matches(&candidate) {
        return Cow::Borrowed(number);
    }
    candidate
}

/// The outcomes of `test_number_length_with_unknown_type` that matter here.
enum Length {
    Possible,
    TooLong,
    Other,
}

/// `test_number_length` with the unknown type (the general desc's lengths).
fn test_length(number: &str, plan: &Plan) -> Length {
    let mask = plan.general_mask;
    if mask == 0 {
        return Length::Other;
    }
    let len = number.len() as u32;
    if len >= 64 {
        return Length::TooLong;
    }
    let bit = 1u64 << len;
    if plan.general_local_mask & bit != 0 {
        return Length::Other;
    }
    let min = mask.trailing_zeros();
    let max = 63 - mask.leading_zeros();
    if min == len {
        Length::Possible
    } else if min > len {
        Length::Other
    } else if max < len {
        Length::TooLong
    } else if mask & bit != 0 {
        Length::Possible
    } else {
        Length::Other
    }
}

/// `is_valid_number`: the number's region among those sharing the country
/// code (the first whose leading digits match or whose types accept the
/// number), then whether a number type of that region accepts it. `None`
/// when a region is not modelled.
fn valid(code: i32, nsn: &str) -> Option<bool> {
    let mut regions = PHONE_NUMBER_UTIL.get_regions_for_country_calling_code(code)?;
    if regions.len() == 1 {
        let region = regions.next()?;
        return type_known(nsn, plan::plan(region)?);
    }
    for region in regions {
        let plan = plan::plan(region)?;
        let known = type_known(nsn, plan)?;
        if known
            || plan
                .leading_digits_start
                .as_ref()
                .is_some_and(|re| re.is_match(nsn))
        {
            return Some(known);
        }
    }
    Some(false)
}

/// `get_number_type_helper(…) != Unknown`; `None` when not modelled.
fn type_known(nsn: &str, plan: &Plan) -> Option<bool> {
    if !plan.general.matches(nsn) {
        return Some(false);
    }
    Some(plan.types_at(nsn.len())?.iter().any(|re| re.is_match(nsn)))
}
