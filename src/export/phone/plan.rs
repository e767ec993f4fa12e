//! The libphonenumber metadata, compiled for the fast path ([`super::fast`]):
//! per region, the regular expressions and length sets that `parse` and
//! `is_valid_number` of `rlibphonenumber` consult, built the way the library
//! builds them (patterns are stored wrapped as `^(?:…)$`; "anchor start"
//! drops the `$`).
//!
//! `rlibphonenumber` does not expose its metadata, so `metadata.bin` is a
//! byte-for-byte copy of the file the locked version ships
//! (`src/generated/metadata/metadata.bin` of rlibphonenumber
//! [`LIBRARY_VERSION`]); a test fails when `Cargo.lock` moves to another
//! version, and the differential test compares the fast path with the
//! library on thousands of numbers.
//!
//! The generated metadata types mark their pattern fields deprecated
//! because the library's wrappers move them out; decoded here they are
//! filled, hence `allow(deprecated)`.
//!
//! Regions are compiled on first use; a region whose metadata the fast path
//! does not model (an unexpected pattern shape, a regex that does not
//! compile) compiles to `None` and its numbers go to the library.

#![allow(deprecated)]

use std::sync::{LazyLock, OnceLock};

use prost::Message;
use regex::Regex;
use rlibphonenumber::enums::Region;
use rlibphonenumber::{PhoneMetadata, PhoneMetadataCollection, PhoneNumberDesc};

/// The `rlibphonenumber` release `metadata.bin` was copied from.
/// (Read by the test that holds it to `Cargo.lock`.)
#[cfg_attr(not(test), allow(dead_code))]
pub const LIBRARY_VERSION: &str = "2.2.15";

/// The longest national significant number the library parses.
pub const MAX_NSN: usize = 17;

static METADATA: &[u8] = include_bytes!("metadata.bin");

/// Every geographic region of the metadata, compiled lazily, at its
/// [`slot`].
static PLANS: LazyLock<Vec<Option<Lazy>>> = LazyLock::new(load);

/// A two-letter region's place in [`PLANS`].
fn slot(region: Region) -> Option<usize> {
    match region.as_region_str().as_bytes() {
        &[a @ b'A'..=b'Z', b @ b'A'..=b'Z'] => {
            Some(usize::from(a - b'A') * 26 + usize::from(b - b'A'))
        }
        _ => None,
    }
}

/// A region's metadata and its compiled form, built on first use.
struct Lazy {
    metadata: PhoneMetadata,
    plan: OnceLock<Option<Plan>>,
}

/// What the fast path needs of one region.
pub struct Plan {
    pub country_code: i32,
    /// The country code as text, to spot national numbers that start with it.
    pub country_code_text: String,
    /// `international_prefix`, anchored at the start.
    pub idd_start: Option<Regex>,
    /// `national_prefix_for_parsing`, anchored at the start.
    pub national_prefix_start: Option<Regex>,
    /// `national_prefix_transform_rule` (empty when none).
    pub transform_rule: String,
    /// `leading_digits` (regions sharing a country code), anchored at the start.
    pub leading_digits_start: Option<Regex>,
    /// `general_desc`: its possible lengths and full-match pattern.
    pub general: Desc,
    /// Possible lengths of `general_desc` as the library's bit masks.
    pub general_mask: u64,
    pub general_local_mask: u64,
    /// Per NSN length: the (wrapped) patterns of every number type
    /// `get_number_type_helper` accepts as valid at that length.
    type_patterns: Vec<Vec<String>>,
    /// [`Self::type_patterns`] compiled on first use of the length.
    types: Vec<OnceLock<Option<Vec<Regex>>>>,
}

impl Plan {
    /// Full-match regexes of the number types admitting `len` digits (empty
    /// when none does): one alternation when it compiles within the regex
    /// crate's size limit, else one per type. `None` when a pattern does not
    /// compile.
    pub fn types_at(&self, len: usize) -> Option<&[Regex]> {
        let patterns = self.type_patterns.get(len)?;
        self.types
            .get(len)?
            .get_or_init(|| alternation(patterns).ok())
            .as_deref()
    }
}

/// A `PhoneNumberDesc`: possible lengths and its full-match regex.
pub struct Desc {
    pub possible_length: Vec<i32>,
    pub full: Option<Regex>,
}

impl Desc {
    /// `is_number_matching_desc`.
    pub fn matches(&self, nsn: &str) -> bool {
        let len = nsn.len() as i32;
        if !self.possible_length.is_empty() && !self.possible_length.contains(&len) {
            return false;
        }
        self.full.as_ref().is_some_and(|re| re.is_match(nsn))
    }

    /// `helper_functions::is_match` (the pattern only, no length check).
    pub fn pattern_matches(&self, nsn: &str) -> bool {
        self.full.as_ref().is_some_and(|re| re.is_match(nsn))
    }
}

/// The compiled plan of `region`, `None` when the fast path does not model it.
pub fn plan(region: Region) -> Option<&'static Plan> {
    let lazy = PLANS.get(slot(region)?)?.as_ref()?;
    lazy.plan.get_or_init(|| compile(&lazy.metadata)).as_ref()
}

fn load() -> Vec<Option<Lazy>> {
    let mut plans: Vec<Option<Lazy>> = (0..26 * 26).map(|_| None).collect();
    let Ok(collection) = PhoneMetadataCollection::decode(METADATA) else {
        return plans;
    };
    for metadata in collection.metadata {
        if metadata.country_code.is_none() {
            continue;
        }
        let Some(at) = Region::from_code(&metadata.id).ok().and_then(slot) else {
            continue;
        };
        if let Some(place) = plans.get_mut(at) {
            *place = Some(Lazy {
                metadata,
                plan: OnceLock::new(),
            });
        }
    }
    plans
}

/// The inner pattern of a wrapped `^(?:…)$` pattern; `None` for any other shape.
fn inner(base: &str) -> Option<&str> {
    base.strip_prefix("^(?:")?.strip_suffix(")$")
}

/// `RegexTriplets::anchor_start`: `Ok(None)` without a pattern.
fn anchor_start(base: Option<&str>) -> Result<Option<Regex>, ()> {
    match base {
        None => Ok(None),
        Some(base) => {
            inner(base).ok_or(())?;
            Regex::new(&base[..base.len() - 1])
                .map(Some)
                .map_err(|_| ())
        }
    }
}

/// `RegexTriplets::anchor_full`: `Ok(None)` without a pattern.
fn anchor_full(base: Option<&str>) -> Result<Option<Regex>, ()> {
    match base {
        None => Ok(None),
        Some(base) => {
            inner(base).ok_or(())?;
            Regex::new(base).map(Some).map_err(|_| ())
        }
    }
}

/// `build_length_mask`.
fn length_mask(lengths: &[i32]) -> Result<u64, ()> {
    let mut mask = 0u64;
    for &l in lengths {
        if l == -1 {
            mask = 0;
        } else {
            mask |= 1u64
                .checked_shl(u32::try_from(l).map_err(|_| ())?)
                .ok_or(())?;
        }
    }
    Ok(mask)
}

fn desc(d: Option<&PhoneNumberDesc>) -> Result<Desc, ()> {
    Ok(Desc {
        possible_length: d.map(|d| d.possible_length.clone()).unwrap_or_default(),
        full: anchor_full(d.and_then(|d| d.national_number_pattern.as_deref()))?,
    })
}

/// Full-match regexes equivalent to "any of `bases` (wrapped `^(?:…)$`
/// patterns) matches": one alternation, or each pattern alone when the
/// alternation is too large for the regex crate's limits.
fn alternation(bases: &[String]) -> Result<Vec<Regex>, ()> {
    if bases.is_empty() {
        return Ok(Vec::new());
    }
    let inners: Vec<String> = bases
        .iter()
        .map(|b| inner(b).map(|i| format!("(?:{i})")).ok_or(()))
        .collect::<Result<_, _>>()?;
    if let Ok(one) = Regex::new(&format!("^(?:{})$", inners.join("|"))) {
        return Ok(vec![one]);
    }
    bases
        .iter()
        .map(|b| Regex::new(b).map_err(|_| ()))
        .collect()
}

fn compile(m: &PhoneMetadata) -> Option<Plan> {
    compile_checked(m).ok()
}

fn compile_checked(m: &PhoneMetadata) -> Result<Plan, ()> {
    let country_code = m.country_code.ok_or(())?;
    let general = m.general_desc.as_ref();
    // The types `get_number_type_helper` tries, in any order: a number is
    // valid when it matches the general desc and any of them.
    let mut types: Vec<&PhoneNumberDesc> = [
        &m.premium_rate,
        &m.toll_free,
        &m.shared_cost,
        &m.voip,
        &m.personal_number,
        &m.pager,
        &m.uan,
        &m.voicemail,
        &m.fixed_line,
    ]
    .into_iter()
    .filter_map(Option::as_ref)
    .collect();
    if !m.same_mobile_and_fixed_line_pattern() {
        types.extend(m.mobile.as_ref());
    }
    let mut type_patterns = Vec::with_capacity(MAX_NSN + 1);
    for len in 0..=MAX_NSN as i32 {
        let mut bases = Vec::new();
        for t in &types {
            if !t.possible_length.is_empty() && !t.possible_length.contains(&len) {
                continue;
            }
            if let Some(base) = t.national_number_pattern.as_deref() {
                inner(base).ok_or(())?;
                bases.push(base.to_string());
            }
        }
        type_patterns.push(bases);
    }
    Ok(Plan {
        country_code,
        country_code_text: country_code.to_string(),
        idd_start: anchor_start(m.international_prefix.as_deref())?,
        national_prefix_start: anchor_start(m.national_prefix_for_parsing.as_deref())?,
        transform_rule: m.national_prefix_transform_rule().to_string(),
        leading_digits_start: anchor_start(m.leading_digits.as_deref())?,
        general_mask: length_mask(
            general
                .map(|g| g.possible_length.as_slice())
                .unwrap_or_default(),
        )?,
        general_local_mask: length_mask(
            general
                .map(|g| g.possible_length_local_only.as_slice())
                .unwrap_or_default(),
        )?,
        general: desc(general)?,
        types: type_patterns.iter().map(|_| OnceLock::new()).collect(),
        type_patterns,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_vendored_metadata_is_the_locked_library_s() {
        let lock = include_str!("../../../Cargo.lock");
        let locked = lock
            .split("[[package]]")
            .find(|p| p.contains("\nname = \"rlibphonenumber\"\n"))
            .and_then(|p| p.lines().find_map(|l| l.strip_prefix("version = ")))
            .map(|v| v.trim_matches('"'));
        assert_eq!(
            locked,
            Some(LIBRARY_VERSION),
            "copy src/generated/metadata/metadata.bin of the new rlibphonenumber to src/export/phone/"
        );
    }

    #[test]
    fn the_vendored_metadata_agrees_with_the_library_on_every_region() {
        use rlibphonenumber::enums::PhoneNumberType;
        use rlibphonenumber::{PHONE_NUMBER_UTIL, get_national_significant_number_owned};
        let mut compared = 0;
        for region in PHONE_NUMBER_UTIL.get_supported_regions() {
            let lazy = slot(region)
                .and_then(|at| PLANS.get(at))
                .and_then(Option::as_ref)
                .unwrap_or_else(|| panic!("{region} missing"));
            let m = &lazy.metadata;
            assert_eq!(
                m.country_code,
                PHONE_NUMBER_UTIL.get_country_code_for_region(region),
                "{region}"
            );
            for (t, desc) in [
                (PhoneNumberType::FixedLine, &m.fixed_line),
                (PhoneNumberType::Mobile, &m.mobile),
                (PhoneNumberType::TollFree, &m.toll_free),
            ] {
                let ours = desc.as_ref().and_then(|d| d.example_number.clone());
                let theirs = PHONE_NUMBER_UTIL
                    .get_example_number_for_type_and_region(region, t)
                    .ok()
                    .map(|n| get_national_significant_number_owned(&n));
                assert_eq!(ours, theirs, "{region} {t:?}");
                compared += usize::from(ours.is_some());
            }
        }
        assert!(compared > 400, "{compared}");
    }

    #[test]
    fn every_region_compiles() {
        let regions: Vec<Region> = rlibphonenumber::PHONE_NUMBER_UTIL
            .get_supported_regions()
            .collect();
        let failed: Vec<String> = regions
            .iter()
            .filter(|r| plan(**r).is_none())
            .map(|r| r.to_string())
            .collect();
        assert!(failed.is_empty(), "{failed:?}");
        assert!(regions.len() > 200, "{} regions", regions.len());
    }

    #[test]
    fn the_common_regions_compile() {
        for code in [
            "US", "CA", "DE", "FR", "GB", "IT", "ES", "NL", "AT", "CH", "BR", "IN", "AU", "JP",
            "RU",
        ] {
            let region = Region::from_code(code).unwrap();
            assert!(plan(region).is_some(), "{code}");
        }
    }
}
