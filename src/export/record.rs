//! One customer row → one Customer Match CSV line: consent first (a row
//! without it is never normalized or written), then every identifier
//! normalized ([`super::normalize`], [`super::phone`]), hashed when the
//! export hashes ([`super::hash`]), and the row kept only when it has a
//! usable identifier: an email, a phone, or a whole address (first name,
//! last name, country and zip).

use super::report::{Reject, Tally};
use super::{hash, normalize, phone};

/// Which Customer Match columns a file has, in the contract's order.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Columns {
    /// `Email` columns (one per mapped email column).
    pub emails: usize,
    /// `Phone` columns.
    pub phones: usize,
    /// `First Name`, `Last Name`, `Country`, `Zip`: all four or none.
    pub address: bool,
}

impl Columns {
    /// The number of columns.
    pub fn len(&self) -> usize {
        self.emails + self.phones + if self.address { 4 } else { 0 }
    }

    /// True when the file would have no column.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The header names, exactly as Customer Match expects them.
    pub fn header(&self) -> Vec<&'static str> {
        let mut names = vec!["Email"; self.emails];
        names.extend(std::iter::repeat_n("Phone", self.phones));
        if self.address {
            names.extend(["First Name", "Last Name", "Country", "Zip"]);
        }
        names
    }
}

/// How values are normalized and written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Options {
    /// SHA-256 Email, Phone, First Name and Last Name (the default).
    pub hash: bool,
    /// Remove dots before the `@` of gmail.com / googlemail.com addresses.
    pub gmail_remove_dots: bool,
    /// The country of phones written without a country code, when the row has none.
    pub default_country: Option<String>,
}

/// One input row: the raw values of the mapped columns and its consent.
#[derive(Debug, Clone, Copy, Default)]
pub struct Row<'a> {
    pub emails: &'a [Option<&'a str>],
    pub phones: &'a [Option<&'a str>],
    pub first_name: Option<&'a str>,
    pub last_name: Option<&'a str>,
    /// Read for phones even when the file has no address columns.
    pub country: Option<&'a str>,
    pub zip: Option<&'a str>,
    /// Every required consent is granted (unknown counts as not granted).
    pub consent: bool,
}

/// Turns rows into CSV lines for one file layout.
#[derive(Debug, Clone)]
pub struct Normalizer {
    pub columns: Columns,
    pub options: Options,
}

impl Normalizer {
    pub fn new(columns: Columns, options: Options) -> Self {
        Normalizer { columns, options }
    }

    /// The header line (with its newline).
    pub fn header_line(&self) -> String {
        let mut line = self.columns.header().join(",");
        line.push('\n');
        line
    }

    /// Normalize `row`, count it in `tally` and, when it is written, append
    /// its line to `out`. Returns whether it was written.
    pub fn push_row(&self, row: &Row<'_>, tally: &mut Tally, out: &mut String) -> bool {
        tally.rows += 1;
        if !row.consent {
            tally.consent_excluded += 1;
            return false;
        }
        // (normalized value, hashed when the export hashes)
        let mut fields: Vec<(Option<String>, bool)> = Vec::with_capacity(self.columns.len());
        let mut usable = false;
        for i in 0..self.columns.emails {
            let raw = row.emails.get(i).copied().flatten();
            let value = raw.and_then(|v| {
                normalize::email(v, self.options.gmail_remove_dots)
                    .unwrap_or_else(|r| reject(tally, r))
            });
            usable |= value.is_some();
            fields.push((value, true));
        }
        let country = row
            .country
            .and_then(|c| normalize::country_code(c).unwrap_or_else(|r| reject(tally, r)));
        let phone_country = country
            .as_deref()
            .or(self.options.default_country.as_deref());
        for i in 0..self.columns.phones {
            let raw = row.phones.get(i).copied().flatten();
            let value = raw
                .and_then(|v| phone::e164(v, phone_country).unwrap_or_else(|r| reject(tally, r)));
            usable |= value.is_some();
            fields.push((value, true));
        }
        if self.columns.address {
            let first = row.first_name.and_then(normalize::first_name);
            let last = row.last_name.and_then(normalize::last_name);
            let zip = row.zip.and_then(|z| normalize::zip(z, country.as_deref()));
            let parts = [
                first.is_some(),
                last.is_some(),
                country.is_some(),
                zip.is_some(),
            ];
            if parts.iter().all(|p| *p) {
                usable = true;
                fields.push((first, true));
                fields.push((last, true));
                fields.push((country, false));
                fields.push((zip, false));
            } else {
                if parts.iter().any(|p| *p) {
                    tally.reject(Reject::AddressIncomplete);
                }
                fields.extend([(None, false), (None, false), (None, false), (None, false)]);
            }
        }
        if !usable {
            tally.reject(Reject::NoIdentifier);
            return false;
        }
        for (i, (value, secret)) in fields.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            match value {
                Some(value) if *secret && self.options.hash => hash::push_sha256_hex(out, value),
                Some(value) => push_csv_field(out, value),
                None => {}
            }
        }
        out.push('\n');
        tally.written += 1;
        true
    }
}

fn reject(tally: &mut Tally, reason: Reject) -> Option<String> {
    tally.reject(reason);
    None
}

/// One CSV field (RFC 4180): quoted when it holds a comma, quote or line break.
pub fn push_csv_field(out: &mut String, value: &str) {
    if value
        .bytes()
        .any(|b| matches!(b, b',' | b'"' | b'\n' | b'\r'))
    {
        out.push('"');
        out.push_str(&value.replace('"', "\"\""));
        out.push('"');
    } else {
        out.push_str(value);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn normalizer(hash: bool) -> Normalizer {
        Normalizer::new(
            Columns {
                emails: 1,
                phones: 1,
                address: true,
            },
            Options {
                hash,
                gmail_remove_dots: true,
                default_country: Some("DE".into()),
            },
        )
    }

    #[test]
    fn rows_are_consent_checked_normalized_counted_and_written() {
        let n = normalizer(false);
        assert_eq!(
            n.header_line(),
            "Email,Phone,First Name,Last Name,Country,Zip\n"
        );
        let mut tally = Tally::default();
        let mut out = String::new();
        let emails = [Some(" A.B@Gmail.com")];
        let phones = [Some("0151 23456789")];
        let full = Row {
            emails: &emails,
            phones: &phones,
            first_name: Some(" Zoë "),
            last_name: Some("O'Neil, Jr"),
            country: None,
            zip: Some("10115"),
            consent: true,
        };
        assert!(n.push_row(&full, &mut tally, &mut out));
        // No country: the phone takes default_country, the address is incomplete.
        assert_eq!(out, "ab@gmail.com,+4915123456789,,,,\n");
        assert_eq!(tally.rejects.get("address_incomplete"), Some(&1));

        let bad_email = [Some("nope")];
        let no_phone = [None];
        let unusable = Row {
            emails: &bad_email,
            phones: &no_phone,
            consent: true,
            ..Row::default()
        };
        assert!(!n.push_row(&unusable, &mut tally, &mut out));
        let refused = Row {
            consent: false,
            ..full
        };
        assert!(!n.push_row(&refused, &mut tally, &mut out));
        assert_eq!(tally.rows, 3);
        assert_eq!(tally.written, 1);
        assert_eq!(tally.consent_excluded, 1);
        assert_eq!(tally.rejects.get("email_invalid"), Some(&1));
        assert_eq!(tally.without_identifier(), 1);
    }

    #[test]
    fn hashed_rows_hash_identifiers_but_not_country_and_zip() {
        let n = normalizer(true);
        let (mut tally, mut out) = (Tally::default(), String::new());
        let none = [None];
        let row = Row {
            emails: &none,
            phones: &none,
            first_name: Some("John"),
            last_name: Some("Smith"),
            country: Some("us"),
            zip: Some("94103-1234"),
            consent: true,
        };
        assert!(n.push_row(&row, &mut tally, &mut out));
        assert_eq!(
            out,
            format!(
                ",,{},{},US,94103\n",
                hash::sha256_hex("john"),
                hash::sha256_hex("smith")
            )
        );
        let mut field = String::new();
        push_csv_field(&mut field, "a,\"b\"");
        assert_eq!(field, "\"a,\"\"b\"\"\"");
    }
}
