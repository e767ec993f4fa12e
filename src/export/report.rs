//! What an export counts: rows read, consent exclusions, rows without a
//! usable identifier, rows written, and rejected values by reason. Only
//! counts: the values themselves are never kept, logged or reported.

use std::collections::BTreeMap;

use serde::Serialize;

/// Why one value (or one row) was left out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Reject {
    /// Not exactly one `@` and a dotted domain.
    EmailInvalid,
    /// Not a valid number for its country.
    PhoneInvalid,
    /// No country code, no row country and no `default_country`.
    PhoneNoCountry,
    /// Not an ISO 3166-1 alpha-2 code.
    CountryInvalid,
    /// Some of first name, last name, country and zip, not all four: the
    /// address fields are left empty (Google matches addresses only whole).
    AddressIncomplete,
    /// The row has no usable identifier after normalization: not exported.
    NoIdentifier,
}

impl Reject {
    /// The reason's name in reports and `_manifest.json`.
    pub fn name(self) -> &'static str {
        match self {
            Reject::EmailInvalid => "email_invalid",
            Reject::PhoneInvalid => "phone_invalid",
            Reject::PhoneNoCountry => "phone_without_country",
            Reject::CountryInvalid => "country_invalid",
            Reject::AddressIncomplete => "address_incomplete",
            Reject::NoIdentifier => "no_usable_identifier",
        }
    }
}

/// The counts of one export file set (full list, entered or left).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Tally {
    /// Rows read from the segment snapshot (members, or changes of the day).
    pub rows: u64,
    /// Rows left out because a required consent is not granted (or unknown).
    pub consent_excluded: u64,
    /// Rows written to the files.
    pub written: u64,
    /// Rejected values (and rows without any usable identifier) by reason.
    pub rejects: BTreeMap<&'static str, u64>,
}

impl Tally {
    pub fn reject(&mut self, reason: Reject) {
        *self.rejects.entry(reason.name()).or_default() += 1;
    }

    /// Rows not written for lack of a usable identifier.
    pub fn without_identifier(&self) -> u64 {
        self.rejects
            .get(Reject::NoIdentifier.name())
            .copied()
            .unwrap_or_default()
    }

    /// Add `other`'s counts to these.
    pub fn add(&mut self, other: &Tally) {
        self.rows += other.rows;
        self.consent_excluded += other.consent_excluded;
        self.written += other.written;
        for (reason, n) in &other.rejects {
            *self.rejects.entry(reason).or_default() += n;
        }
    }
}
