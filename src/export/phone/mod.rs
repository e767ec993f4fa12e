//! Phone normalization to E.164 (`+14155552671`) with `rlibphonenumber`, a
//! maintained port of Google's libphonenumber with its metadata (chosen over
//! the `phonenumber` crate, which is several times slower on lists mixing
//! countries and misreads `+49…` numbers when given a default region). A
//! number written without a country code takes the row's country, else the
//! export's `default_country`; a number that is not valid for that country
//! is rejected, never guessed.
//!
//! - [`fast`]: the common shapes (digits, spaces, `( ) - . /`, an optional
//!   `+`) read with the library's metadata ([`plan`]), giving exactly what
//!   the library gives, several times faster.
//! - everything else: the library's `parse` → `is_valid_number` →
//!   `format(E164)` ([`library`]).
//!
//! `differential` (tests) holds the two to the same answers.

mod fast;
mod plan;

#[cfg(test)]
mod differential;

use std::borrow::Cow;
use std::str::FromStr;

use rlibphonenumber::enums::Region;
use rlibphonenumber::{PHONE_NUMBER_UTIL, PhoneNumberFormat};

use super::report::Reject;

/// E.164 form of `raw`, read in `country` (ISO alpha-2) when it carries no
/// country code. `Ok(None)` when blank.
pub fn e164(raw: &str, country: Option<&str>) -> Result<Option<String>, Reject> {
    e164_with(raw, country, Path::Fast)
}

/// Which reading [`e164_with`] uses.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Path {
    /// The fast path, the library for what it leaves.
    Fast,
    /// The library only (the reference the differential test compares with).
    #[cfg_attr(not(test), allow(dead_code))]
    Library,
}

fn e164_with(raw: &str, country: Option<&str>, path: Path) -> Result<Option<String>, Reject> {
    let Some((text, region)) = prepare(raw, country)? else {
        return Ok(None);
    };
    if path == Path::Fast {
        match fast::e164(&text, region) {
            fast::Fast::Valid(e164) => return Ok(Some(e164)),
            fast::Fast::Invalid => return Err(Reject::PhoneInvalid),
            fast::Fast::Unhandled => {}
        }
    }
    library(&text, region).map(Some)
}

/// The text to read and the region to read it in (`None` for `+` numbers);
/// `Ok(None)` when blank.
/// The text and region after the shared preparation.
type Prepared<'a> = Option<(Cow<'a, str>, Option<Region>)>;

fn prepare<'a>(raw: &'a str, country: Option<&str>) -> Result<Prepared<'a>, Reject> {
    let text = raw.trim();
    if text.is_empty() {
        return Ok(None);
    }
    // "0049 151 ...": the international prefix most countries dial, as `+`
    // (the library only knows the default region's own prefix).
    let text = match text.strip_prefix("00") {
        Some(rest) => Cow::Owned(format!("+{rest}")),
        None => Cow::Borrowed(text),
    };
    let region = if text.starts_with('+') {
        None
    } else {
        match country.map(Region::from_str) {
            Some(Ok(region)) => Some(region),
            _ => return Err(Reject::PhoneNoCountry),
        }
    };
    Ok(Some((text, region)))
}

/// The library's reading: `parse` → `is_valid_number` → `format(E164)`.
fn library(text: &str, region: Option<Region>) -> Result<String, Reject> {
    let number = PHONE_NUMBER_UTIL
        .parse(text, region)
        .map_err(|_| Reject::PhoneInvalid)?;
    if !PHONE_NUMBER_UTIL.is_valid_number(&number) {
        return Err(Reject::PhoneInvalid);
    }
    Ok(PHONE_NUMBER_UTIL
        .format(&number, PhoneNumberFormat::E164)
        .into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_contract_vectors_normalize() {
        assert_eq!(
            e164("(415) 555-2671", Some("US")).unwrap().as_deref(),
            Some("+14155552671")
        );
        assert_eq!(
            e164("0151 23456789", Some("DE")).unwrap().as_deref(),
            Some("+4915123456789")
        );
    }

    #[test]
    fn international_forms_ignore_the_country_and_bad_numbers_are_rejected() {
        let ok = |raw: &str, country: Option<&str>| e164(raw, country).unwrap().unwrap();
        assert_eq!(ok("+1 415 555 2671", None), "+14155552671");
        assert_eq!(ok("+44 (0)7911 123456", Some("GB")), "+447911123456");
        assert_eq!(ok("0049 151 23456789", Some("US")), "+4915123456789");
        assert_eq!(ok("06 12 34 56 78", Some("FR")), "+33612345678");
        assert_eq!(ok("+4915123456789", Some("US")), "+4915123456789");
        assert_eq!(ok("+39 06 1234 5678", None), "+390612345678");
        assert_eq!(e164("415-555-2671", None), Err(Reject::PhoneNoCountry));
        assert_eq!(e164("12", Some("DE")), Err(Reject::PhoneInvalid));
        assert_eq!(e164("not a phone", Some("DE")), Err(Reject::PhoneInvalid));
        assert_eq!(e164("  ", Some("DE")), Ok(None));
    }
}
