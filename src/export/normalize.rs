//! Customer Match normalization of the text identifiers (email, names,
//! country, zip), as `../shared/CUSTOMER_MATCH.md` specifies; phones are in
//! [`super::phone`]. Each function returns the normalized value, `Ok(None)`
//! for a missing (NULL or blank) value, or the [`Reject`] reason for a value
//! that is present but unusable. Values never appear in errors.

use super::country;
use super::report::Reject;

/// Email: trim, remove all whitespace, lowercase; for `gmail.com` and
/// `googlemail.com` (when `gmail_remove_dots`) remove every `.` before the
/// `@`. Without exactly one `@` and a dotted domain it is rejected.
pub fn email(raw: &str, gmail_remove_dots: bool) -> Result<Option<String>, Reject> {
    let text: String = if raw.is_ascii() {
        raw.bytes()
            .filter(|b| !b.is_ascii_whitespace() && *b != 0x0b)
            .map(|b| char::from(b.to_ascii_lowercase()))
            .collect()
    } else {
        raw.chars()
            .filter(|c| !c.is_whitespace())
            .flat_map(char::to_lowercase)
            .collect()
    };
    if text.is_empty() {
        return Ok(None);
    }
    let Some((local, domain)) = text.split_once('@') else {
        return Err(Reject::EmailInvalid);
    };
    let dotted = domain
        .char_indices()
        .any(|(i, c)| c == '.' && i > 0 && i + 1 < domain.len());
    if local.is_empty() || domain.contains('@') || !dotted {
        return Err(Reject::EmailInvalid);
    }
    if gmail_remove_dots && is_gmail(domain) && local.contains('.') {
        let local: String = local.chars().filter(|c| *c != '.').collect();
        if local.is_empty() {
            return Err(Reject::EmailInvalid);
        }
        return Ok(Some(format!("{local}@{domain}")));
    }
    Ok(Some(text))
}

/// The domains whose addresses ignore dots before the `@`.
pub const GMAIL_DOMAINS: [&str; 2] = ["gmail.com", "googlemail.com"];

fn is_gmail(domain: &str) -> bool {
    GMAIL_DOMAINS.contains(&domain)
}

/// First name: lowercase, trim, collapse inner whitespace runs to one space.
/// Accents stay.
pub fn first_name(raw: &str) -> Option<String> {
    collapse(&lowercase(raw))
}

/// Last name: as [`first_name`], after removing punctuation ([`is_punctuation`]).
pub fn last_name(raw: &str) -> Option<String> {
    let without: String = lowercase(raw)
        .chars()
        .filter(|c| !is_punctuation(*c))
        .collect();
    collapse(&without)
}

/// ASCII punctuation (`[[:punct:]]`: `!"#$%&'()*+,-./:;<=>?@[\]^_`{|}~`)
/// plus the typographic apostrophes, quotes and dashes (U+2010..U+2015,
/// U+2018..U+201F). The SQL rendering uses the same set.
pub fn is_punctuation(c: char) -> bool {
    c.is_ascii_punctuation()
        || ('\u{2010}'..='\u{2015}').contains(&c)
        || ('\u{2018}'..='\u{201F}').contains(&c)
}

fn lowercase(raw: &str) -> String {
    if raw.is_ascii() {
        raw.to_ascii_lowercase()
    } else {
        raw.to_lowercase()
    }
}

fn collapse(text: &str) -> Option<String> {
    let mut out = String::with_capacity(text.len());
    for word in text.split_whitespace() {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(word);
    }
    (!out.is_empty()).then_some(out)
}

/// Country: ISO 3166-1 alpha-2 (trimmed, upper case); anything else is rejected.
pub fn country_code(raw: &str) -> Result<Option<String>, Reject> {
    let code = raw.trim();
    if code.is_empty() {
        return Ok(None);
    }
    let code = code.to_ascii_uppercase();
    if country::is_alpha2(&code) {
        Ok(Some(code))
    } else {
        Err(Reject::CountryInvalid)
    }
}

/// Zip: trimmed, as given; in the US the 5-digit form: ZIP+4 cut
/// (`94103-1234` → `94103`), and the leading zeros spreadsheets drop put
/// back (`2134` → `02134`, from 3 or 4 digits).
pub fn zip(raw: &str, country: Option<&str>) -> Option<String> {
    let zip = raw.trim();
    if zip.is_empty() {
        return None;
    }
    if country == Some("US") {
        let b = zip.as_bytes();
        let digits = |s: &[u8]| s.iter().all(u8::is_ascii_digit);
        if b.len() == 10 && b[5] == b'-' && digits(&b[..5]) && digits(&b[6..]) {
            return Some(zip[..5].to_string());
        }
        if (3..5).contains(&b.len()) && digits(b) {
            return Some(format!("{zip:0>5}"));
        }
    }
    Some(zip.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_follow_the_contract() {
        assert_eq!(
            email("  Test@Gmail.com ", true).unwrap().as_deref(),
            Some("test@gmail.com")
        );
        assert_eq!(
            email("John.Doe@Example.com", true).unwrap().as_deref(),
            Some("john.doe@example.com")
        );
        assert_eq!(
            email("John.Doe@gmail.com", true).unwrap().as_deref(),
            Some("johndoe@gmail.com")
        );
        assert_eq!(
            email("j.o.e@googlemail.com", true).unwrap().as_deref(),
            Some("joe@googlemail.com")
        );
        assert_eq!(
            email("John.Doe@gmail.com", false).unwrap().as_deref(),
            Some("john.doe@gmail.com")
        );
        assert_eq!(
            email("jo hn@exa mple.com", true).unwrap().as_deref(),
            Some("john@example.com")
        );
        assert_eq!(email("   ", true), Ok(None));
        for bad in [
            "john",
            "a@b@c.com",
            "@example.com",
            "john@localhost",
            "john@.com",
            "john@com.",
        ] {
            assert_eq!(email(bad, true), Err(Reject::EmailInvalid), "{bad}");
        }
    }

    #[test]
    fn names_are_lowercased_collapsed_and_last_names_lose_punctuation() {
        assert_eq!(first_name(" John ").as_deref(), Some("john"));
        assert_eq!(first_name("Mary   Ann").as_deref(), Some("mary ann"));
        assert_eq!(first_name("Zoë").as_deref(), Some("zoë"));
        assert_eq!(first_name(" \t").as_deref(), None);
        assert_eq!(last_name("Pérez").as_deref(), Some("pérez"));
        assert_eq!(last_name("O'Brien-Smith").as_deref(), Some("obriensmith"));
        assert_eq!(
            last_name("O\u{2019}Neil , Jr.").as_deref(),
            Some("oneil jr")
        );
        assert_eq!(last_name("--").as_deref(), None);
    }

    #[test]
    fn countries_must_be_iso_alpha2_and_us_zips_are_five_digits() {
        assert_eq!(country_code(" de ").unwrap().as_deref(), Some("DE"));
        assert_eq!(country_code("Germany"), Err(Reject::CountryInvalid));
        assert_eq!(country_code("XX"), Err(Reject::CountryInvalid));
        assert_eq!(country_code(""), Ok(None));
        assert_eq!(zip(" 94103-1234 ", Some("US")).as_deref(), Some("94103"));
        assert_eq!(zip("94103-1234", Some("DE")).as_deref(), Some("94103-1234"));
        assert_eq!(zip("2134", Some("US")).as_deref(), Some("02134"));
        assert_eq!(zip("2134", Some("DE")).as_deref(), Some("2134"));
        assert_eq!(zip("SW1A 1AA", Some("GB")).as_deref(), Some("SW1A 1AA"));
        assert_eq!(zip("  ", Some("US")), None);
    }
}
