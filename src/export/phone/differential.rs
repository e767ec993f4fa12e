//! The differential test of the fast path: a deterministic corpus built from
//! the metadata's example numbers (every number type of many regions), with
//! digit mutations and the forms people write them in, each normalized by
//! the fast path (with its library fallback) and by the library alone; the
//! answers must be equal, and the fast path must answer the common shapes
//! itself.

use rlibphonenumber::enums::{PhoneNumberType, Region};
use rlibphonenumber::{
    PHONE_NUMBER_UTIL, PhoneNumberFormat, get_national_significant_number_owned,
};

use super::fast::{self, Fast};
use super::{Path, e164_with, prepare};

/// The required regions, then some with unusual rules: shared country codes
/// (NANPA, +44, +7, +39), national-prefix transform rules (BR, AR, MX, JP,
/// GG, JE, IM, SM), leading zeros (IT,
/// SM, VA), long and short numbering plans.
const REGIONS: [&str; 38] = [
    "US", "CA", "DE", "FR", "GB", "IT", "ES", "NL", "AT", "CH", "BR", "IN", "AU", "JP", "RU", "PR",
    "JM", "GG", "JE", "IM", "KZ", "SM", "VA", "AR", "MX", "CN", "NZ", "SE", "BE", "PL", "ZA", "SG",
    "HK", "IE", "FI", "GF", "BY", "UY",
];

const TYPES: [PhoneNumberType; 10] = [
    PhoneNumberType::FixedLine,
    PhoneNumberType::Mobile,
    PhoneNumberType::TollFree,
    PhoneNumberType::PremiumRate,
    PhoneNumberType::SharedCost,
    PhoneNumberType::VoIP,
    PhoneNumberType::PersonalNumber,
    PhoneNumberType::Pager,
    PhoneNumberType::UAN,
    PhoneNumberType::VoiceMail,
];

/// One test input: the raw text, the row's country, and whether it is one of
/// the common shapes the fast path must answer itself.
struct Case {
    raw: String,
    country: &'static str,
    common: bool,
}

/// The digit strings tried for one example NSN: itself, digits changed at a
/// few positions, one digit short, one or two digits long, a leading digit
/// dropped, four digits only, the first digits replaced by a trunk prefix's.
fn variants(nsn: &str) -> Vec<(String, bool)> {
    let mut out = vec![(nsn.to_string(), true)];
    let bytes = nsn.as_bytes();
    for (k, delta) in [(1usize, 1u8), (2, 7), (4, 3), (7, 9), (9, 4)] {
        let Some(pos) = bytes.len().checked_sub(k) else {
            continue;
        };
        let mut changed = bytes.to_vec();
        changed[pos] = b'0' + (changed[pos] - b'0' + delta) % 10;
        out.push((String::from_utf8(changed).unwrap(), true));
    }
    out.push((nsn[..nsn.len() - 1].to_string(), false));
    out.push((format!("{nsn}7"), false));
    out.push((format!("{nsn}42"), false));
    out.push((nsn[1..].to_string(), false));
    out.push((nsn[..nsn.len().min(4)].to_string(), false));
    // Starting with a trunk prefix's digits, at a valid number's length.
    for lead in ["0", "00", "8", "1", "90"] {
        if let Some(rest) = nsn.get(lead.len()..) {
            out.push((format!("{lead}{rest}"), false));
        }
    }
    out
}

/// `digits` grouped as people write them.
fn grouped(digits: &str, sep: &str) -> String {
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && i % 3 == 0 {
            out.push_str(sep);
        }
        out.push(c);
    }
    out
}

fn corpus() -> Vec<Case> {
    let mut cases = Vec::new();
    let mut push = |raw: String, country: &'static str, common: bool| {
        cases.push(Case {
            raw,
            country,
            common,
        })
    };
    for code in REGIONS {
        let region = Region::from_code(code).unwrap();
        for t in TYPES {
            let Ok(example) = PHONE_NUMBER_UTIL.get_example_number_for_type_and_region(region, t)
            else {
                continue;
            };
            let cc = example.country_code;
            let nsn = get_national_significant_number_owned(&example);
            // The library's own national and international renderings.
            let national = PHONE_NUMBER_UTIL
                .format(&example, PhoneNumberFormat::National)
                .into_owned();
            let international = PHONE_NUMBER_UTIL
                .format(&example, PhoneNumberFormat::International)
                .into_owned();
            push(national.clone(), code, true);
            push(international.clone(), code, true);
            push(international.clone(), "DE", true);
            push(format!("  {national}  "), code, true);
            // Trunk-prefix-like digits in front of a cut number: where the
            // library keeps or drops what looks like a national prefix.
            for lead in ["", "0", "00", "000", "8", "80", "1", "06", "9", "90"] {
                for cut in 0..3 {
                    if let Some(rest) = nsn.get(cut..) {
                        push(format!("{lead}{rest}"), code, false);
                        push(format!("+{cc}{lead}{rest}"), code, false);
                    }
                }
            }
            for (v, plausible) in variants(&nsn) {
                // National, with and without the usual trunk prefixes.
                push(v.clone(), code, plausible);
                push(format!("0{v}"), code, plausible);
                push(format!("1 {v}"), code, false);
                push(format!("8 {v}"), code, false);
                push(
                    format!("({}) {}", &v[..v.len().min(3)], &v[v.len().min(3)..]),
                    code,
                    plausible,
                );
                push(grouped(&v, "-"), code, plausible);
                push(format!("0 {}", grouped(&v, ".")), code, plausible);
                push(format!("0/{}", grouped(&v, " / ")), code, false);
                // International: `+`, `00`, a trunk prefix kept in brackets.
                push(format!("+{cc}{v}"), "US", plausible);
                push(format!("+{cc} {}", grouped(&v, " ")), code, plausible);
                push(format!("00{cc} {v}"), "FR", plausible);
                push(format!("+{cc} (0){v}"), code, plausible);
                push(format!("+{cc}-0-{}", grouped(&v, "-")), code, false);
                push(format!("+ {cc} ({v})"), code, false);
                // The country code without `+`, and after IDD prefixes.
                push(format!("{cc}{v}"), code, false);
                push(format!("{cc} {v}"), "GB", false);
                push(format!("011 {cc} {v}"), code, false);
                push(format!("0011 {cc} {v}"), code, false);
                push(format!("010 {cc} {v}"), code, false);
                push(format!("810 {cc} {v}"), code, false);
                // Leading zeros and too many of them.
                push(format!("00{v}"), code, false);
                push(format!("+{cc}0{v}"), code, false);
                push(format!("+{cc}00{v}"), code, false);
            }
        }
    }
    // Garbage and odd forms.
    for raw in [
        "abc",
        "12",
        "123",
        "+",
        "+1",
        "+12",
        "++49 151 23456789",
        "tel:+4915123456789",
        "0151 2345 6789 ext 12",
        "0151 23456789 x12",
        "(0)",
        "+49 151 23456789#",
        "１２３４５６７８９",
        "0049",
        "00",
        "000",
        "+0049 151 23456789",
        "+999 123456",
        "+800 12345678",
        "+882 34 1234 5678",
        "+1 (800) 555-0199",
        "--415--555--2671",
        "(415) 555-2671 / x2",
        "415.555.2671.",
        "+44 (0)7911 123456",
        "+39 06 1234 5678",
        "+39 00 1234 5678",
        "+39 0000",
        "+7 8 912 345 67 89",
        "8 912 345 67 89",
        "+1 1 415 555 2671",
        "1 415 555 2671",
        "+49 (0) 0151 23456789",
        "0 0 0 0 0",
        "+4 9",
        "12345678901234567890",
        "+123456789012345678901",
        "1-800-FLOWERS",
        "415 555 2671;ext=12",
        "+49-151-2345 6789,,12",
    ] {
        for country in ["US", "DE", "IT", "GB", "RU", "BR"] {
            push(raw.to_string(), country, false);
        }
    }
    cases
}

#[test]
fn the_fast_path_answers_as_the_library_does() {
    let cases = corpus();
    assert!(cases.len() > 20_000, "corpus of {}", cases.len());
    let (mut common, mut common_fast, mut fast_answers) = (0usize, 0usize, 0usize);
    let mut valid = 0usize;
    let mut mismatches = Vec::new();
    for case in &cases {
        let country = Some(case.country);
        let fast_result = e164_with(&case.raw, country, Path::Fast);
        let library_result = e164_with(&case.raw, country, Path::Library);
        if fast_result != library_result {
            mismatches.push(format!(
                "{:?} in {}: fast {:?}, library {:?}",
                case.raw, case.country, fast_result, library_result
            ));
        }
        valid += usize::from(matches!(library_result, Ok(Some(_))));
        let answered = match prepare(&case.raw, country) {
            Ok(Some((text, region))) => fast::e164(&text, region) != Fast::Unhandled,
            _ => false,
        };
        fast_answers += usize::from(answered);
        if case.common {
            common += 1;
            common_fast += usize::from(answered);
        }
    }
    assert!(
        mismatches.is_empty(),
        "{} of {} differ, e.g.:\n{}",
        mismatches.len(),
        cases.len(),
        mismatches[..mismatches.len().min(30)].join("\n")
    );
    // Both answers occur in quantity: the corpus tests acceptance and rejection.
    assert!(valid > cases.len() / 10, "{valid} valid of {}", cases.len());
    assert!(
        valid < cases.len() * 9 / 10,
        "{valid} valid of {}",
        cases.len()
    );
    // The fast path answers the common shapes itself, and most inputs overall.
    assert!(
        common_fast * 100 >= common * 97,
        "fast path answered {common_fast} of {common} common shapes"
    );
    assert!(
        fast_answers * 100 >= cases.len() * 60,
        "fast path answered {fast_answers} of {}",
        cases.len()
    );
}
