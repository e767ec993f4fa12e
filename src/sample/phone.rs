//! Phone numbers of sample customers, valid for their country: US and
//! Canadian numbers use real area codes and an exchange 2xx-9xx (never N11
//! or 555), German numbers are mobile 015x/016x/017x, British mobile 07xxx
//! and French mobile 06/07 (ranges from libphonenumber's metadata). Each is
//! written in one of the formats people use in its country.

use super::persona::Country;
use super::rng::Rng;

/// German mobile prefixes (without the trunk 0): 15[0-25-9], 16[023], 17x.
const DE_MOBILE_PREFIXES: [&str; 17] = [
    "151", "152", "157", "159", "160", "162", "163", "170", "171", "172", "173", "174", "175",
    "176", "177", "178", "179",
];

/// A NANP exchange code: 2-9 then two digits, never N11, 555 or 950/958/959/976.
fn nanp_exchange(rng: &mut Rng) -> String {
    loop {
        let code = rng.range(200, 999);
        let reserved = code % 100 == 11 || matches!(code, 555 | 950 | 958 | 959 | 976);
        if !reserved {
            return code.to_string();
        }
    }
}

/// A British mobile prefix (without the trunk 0): 7[1-3]xx, 78[014-9]x or 79[024-9]x.
fn gb_mobile_prefix(rng: &mut Rng) -> String {
    match rng.below(3) {
        0 => format!("7{}{:02}", rng.range(1, 3), rng.below(100)),
        1 => format!("78{}{}", rng.pick(&[0, 1, 4, 5, 6, 7, 8, 9]), rng.below(10)),
        _ => format!("79{}{}", rng.pick(&[0, 2, 4, 5, 6, 7, 8, 9]), rng.below(10)),
    }
}

/// A French mobile prefix (without the trunk 0): 6[0-24-8]x or 7[3-9]x.
fn fr_mobile_prefix(rng: &mut Rng) -> String {
    if rng.percent(80.0) {
        format!("6{}{}", rng.pick(&[0, 1, 2, 4, 5, 6, 7, 8]), rng.below(10))
    } else {
        format!("7{}{}", rng.range(3, 9), rng.below(10))
    }
}

/// How often each of the six formats of [`Phone::format`] is used (style 4,
/// e.g. the British "+44 (0)7911 123456", is rare).
const PHONE_STYLE_WEIGHTS: [u32; 6] = [28, 30, 12, 15, 5, 10];

/// A phone number as its national significant digits (no trunk 0, no country code).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Phone {
    pub country: Country,
    pub digits: String,
    /// Length of the area code / mobile prefix inside `digits`.
    prefix_len: usize,
}

impl Phone {
    /// A valid number in `country`: mobile, or in North America any number
    /// with one of `area_codes`.
    pub fn random(rng: &mut Rng, country: Country, area_codes: &[&str]) -> Phone {
        let mut digits = String::with_capacity(11);
        let prefix_len = match country {
            Country::Us | Country::Ca => {
                digits.push_str(rng.pick::<&str>(area_codes));
                digits.push_str(&nanp_exchange(rng));
                rng.push_digits(&mut digits, 4);
                3
            }
            Country::De => {
                digits.push_str(rng.pick::<&str>(&DE_MOBILE_PREFIXES));
                rng.push_digits(&mut digits, 8);
                3
            }
            Country::Gb => {
                digits.push_str(&gb_mobile_prefix(rng));
                rng.push_digits(&mut digits, 6);
                4
            }
            Country::Fr => {
                digits.push_str(&fr_mobile_prefix(rng));
                rng.push_digits(&mut digits, 6);
                1
            }
        };
        Phone {
            country,
            digits,
            prefix_len,
        }
    }

    /// The number written in one of the ways people write it in its country.
    pub fn render(&self, rng: &mut Rng) -> String {
        let style = rng.weighted(&PHONE_STYLE_WEIGHTS) as u8;
        self.format(style)
    }

    /// The number in format `style` (0-5; each country has six).
    pub fn format(&self, style: u8) -> String {
        let d = self.digits.as_str();
        let (prefix, rest) = d.split_at(self.prefix_len.min(d.len()));
        match self.country {
            Country::Us | Country::Ca => format_nanp(prefix, rest, style),
            Country::De => format_de(prefix, rest, style),
            Country::Gb => format_gb(prefix, rest, style),
            Country::Fr => format_fr(d, style),
        }
    }
}

fn format_nanp(area: &str, rest: &str, style: u8) -> String {
    let (exchange, line) = rest.split_at(3.min(rest.len()));
    match style {
        0 => format!("+1 {area} {exchange} {line}"),
        1 => format!("({area}) {exchange}-{line}"),
        2 => format!("{area}-{exchange}-{line}"),
        3 => format!("{area}.{exchange}.{line}"),
        4 => format!("+1{area}{exchange}{line}"),
        _ => format!("1-{area}-{exchange}-{line}"),
    }
}

fn format_de(prefix: &str, rest: &str, style: u8) -> String {
    match style {
        0 => format!("+49 {prefix} {rest}"),
        1 => format!("0{prefix} {rest}"),
        2 => format!("0{prefix}/{rest}"),
        3 => format!("+49{prefix}{rest}"),
        4 => format!("0049 {prefix} {rest}"),
        _ => format!("0{prefix}-{rest}"),
    }
}

fn format_gb(prefix: &str, rest: &str, style: u8) -> String {
    match style {
        0 => format!("+44 {prefix} {rest}"),
        1 => format!("0{prefix} {rest}"),
        2 => format!("0{prefix}{rest}"),
        3 => format!("+44{prefix}{rest}"),
        4 => format!("+44 (0){prefix} {rest}"),
        _ => format!(
            "0{prefix} {} {}",
            &rest[..3.min(rest.len())],
            &rest[3.min(rest.len())..]
        ),
    }
}

fn format_fr(digits: &str, style: u8) -> String {
    let national = format!("0{digits}");
    let pairs = |sep: &str| -> String {
        let bytes: Vec<&str> = (0..national.len())
            .step_by(2)
            .map(|i| &national[i..(i + 2).min(national.len())])
            .collect();
        bytes.join(sep)
    };
    match style {
        0 => pairs(" "),
        1 => {
            let spaced = pairs(" ");
            let lead = digits.get(..1).unwrap_or_default();
            format!("+33 {lead} {}", spaced.get(3..).unwrap_or_default())
        }
        2 => national.clone(),
        3 => format!("+33{digits}"),
        4 => pairs("."),
        _ => pairs("-"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sample::address::Address;

    fn numbers(country: Country, n: usize) -> Vec<Phone> {
        let mut rng = Rng::seeded(11);
        (0..n)
            .map(|_| Address::random(&mut rng, country).random_phone(&mut rng))
            .collect()
    }

    #[test]
    fn us_numbers_have_valid_exchanges() {
        for phone in numbers(Country::Us, 2_000) {
            let d = &phone.digits;
            assert_eq!(d.len(), 10, "{d}");
            let exchange: u32 = d[3..6].parse().unwrap();
            assert!((200..=999).contains(&exchange), "{d}");
            assert!(exchange % 100 != 11 && exchange != 555, "{d}");
        }
    }

    #[test]
    fn german_numbers_are_mobile() {
        for phone in numbers(Country::De, 2_000) {
            let d = &phone.digits;
            assert_eq!(d.len(), 11, "{d}");
            assert!(
                d.starts_with("15") || d.starts_with("16") || d.starts_with("17"),
                "{d}"
            );
            assert!(!["153", "154", "161", "164"].contains(&&d[..3]), "{d}");
        }
    }

    #[test]
    fn british_and_french_numbers_are_mobile() {
        for phone in numbers(Country::Gb, 1_000) {
            assert_eq!(phone.digits.len(), 10);
            assert!(phone.digits.starts_with('7') && !phone.digits.starts_with("77"));
        }
        for phone in numbers(Country::Fr, 1_000) {
            assert_eq!(phone.digits.len(), 9);
            assert!(phone.digits.starts_with('6') || phone.digits.starts_with('7'));
            assert!(!phone.digits.starts_with("63") || phone.digits.as_bytes()[2] != b'9');
        }
    }

    #[test]
    fn formats_keep_every_digit() {
        for country in [
            Country::Us,
            Country::De,
            Country::Gb,
            Country::Fr,
            Country::Ca,
        ] {
            for phone in numbers(country, 50) {
                for style in 0..6 {
                    let text = phone.format(style);
                    let digits: String = text.chars().filter(char::is_ascii_digit).collect();
                    assert!(
                        digits.ends_with(&phone.digits),
                        "{country:?} {style}: {text}"
                    );
                }
            }
        }
    }

    #[test]
    fn known_formats_look_like_the_contract() {
        let de = Phone {
            country: Country::De,
            digits: "15123456789".into(),
            prefix_len: 3,
        };
        assert_eq!(de.format(0), "+49 151 23456789");
        assert_eq!(de.format(1), "0151 23456789");
        let us = Phone {
            country: Country::Us,
            digits: "4152342671".into(),
            prefix_len: 3,
        };
        assert_eq!(us.format(1), "(415) 234-2671");
        assert_eq!(us.format(2), "415-234-2671");
        let fr = Phone {
            country: Country::Fr,
            digits: "612345678".into(),
            prefix_len: 1,
        };
        assert_eq!(fr.format(0), "06 12 34 56 78");
        assert_eq!(fr.format(1), "+33 6 12 34 56 78");
    }
}
