//! Addresses of sample customers: postal codes of real metro areas (US
//! ZIP codes that match the phone area codes, German, British, French and
//! Canadian codes), rendered with spreadsheet damage and padding.

use super::names::pad_sometimes;
use super::persona::Country;
use super::phone::Phone;
use super::rng::Rng;

/// A metro area: its phone area codes and the first digits of its postal codes.
struct Metro {
    area_codes: &'static [&'static str],
    postal_prefixes: &'static [&'static str],
}

static US_METROS: [Metro; 11] = [
    Metro {
        area_codes: &["415", "628"],
        postal_prefixes: &["941"],
    },
    Metro {
        area_codes: &["212", "646", "917"],
        postal_prefixes: &["100", "101"],
    },
    Metro {
        area_codes: &["718", "347"],
        postal_prefixes: &["112", "113"],
    },
    Metro {
        area_codes: &["617", "857"],
        postal_prefixes: &["021"],
    },
    Metro {
        area_codes: &["312", "773"],
        postal_prefixes: &["606"],
    },
    Metro {
        area_codes: &["213", "310", "323"],
        postal_prefixes: &["900"],
    },
    Metro {
        area_codes: &["206"],
        postal_prefixes: &["981"],
    },
    Metro {
        area_codes: &["512", "737"],
        postal_prefixes: &["787"],
    },
    Metro {
        area_codes: &["303", "720"],
        postal_prefixes: &["802"],
    },
    Metro {
        area_codes: &["305", "786"],
        postal_prefixes: &["331"],
    },
    Metro {
        area_codes: &["201", "973"],
        postal_prefixes: &["070", "071"],
    },
];

static CA_METROS: [Metro; 3] = [
    Metro {
        area_codes: &["416", "647"],
        postal_prefixes: &["M5V", "M4C", "M6K"],
    },
    Metro {
        area_codes: &["604", "778"],
        postal_prefixes: &["V6B", "V5K"],
    },
    Metro {
        area_codes: &["514", "438"],
        postal_prefixes: &["H2X", "H3B"],
    },
];

/// German postal code regions (Berlin, Munich, Hamburg, Cologne, Frankfurt, Dresden, Leipzig).
const DE_POSTAL_PREFIXES: [&str; 11] = [
    "10", "12", "13", "80", "81", "20", "22", "50", "60", "01", "04",
];
/// British postcode districts.
const GB_OUTWARD: [&str; 14] = [
    "SW1A", "EC1A", "W1T", "N1", "E14", "SE1", "M1", "M4", "B1", "LS1", "G2", "EH1", "BS1", "CF10",
];
/// Letters used in the inward part of a British postcode.
const GB_INWARD_LETTERS: &[u8] = b"ABDEFGHJLNPQRSTUWXYZ";
/// French postal codes (Paris arrondissements are drawn separately).
const FR_POSTAL: [&str; 6] = ["69003", "13001", "31000", "33000", "59000", "44000"];

/// Where someone lives: the clean postal code and their metro's area codes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Address {
    pub country: Country,
    pub postal: String,
    area_codes: &'static [&'static str],
}

impl Address {
    /// A random address in `country`.
    pub fn random(rng: &mut Rng, country: Country) -> Address {
        match country {
            Country::Us => {
                let metro = rng.pick(&US_METROS);
                Address::in_metro(rng, country, metro)
            }
            Country::Ca => {
                let metro = rng.pick(&CA_METROS);
                Address::in_metro(rng, country, metro)
            }
            Country::De => {
                let prefix = rng.pick(&DE_POSTAL_PREFIXES);
                Address {
                    country,
                    postal: digits_after(rng, prefix, 3),
                    area_codes: &[],
                }
            }
            Country::Gb => Address {
                country,
                postal: gb_postcode(rng),
                area_codes: &[],
            },
            Country::Fr => Address {
                country,
                postal: fr_postal(rng),
                area_codes: &[],
            },
        }
    }

    fn in_metro(rng: &mut Rng, country: Country, metro: &'static Metro) -> Address {
        let prefix = rng.pick(metro.postal_prefixes);
        let postal = if country == Country::Ca {
            let letter = char::from(*rng.pick(b"ABCEGHJKLMNPRSTVWXYZ"));
            format!("{prefix} {}{letter}{}", rng.below(10), rng.below(10))
        } else {
            digits_after(rng, prefix, 2)
        };
        Address {
            country,
            postal,
            area_codes: metro.area_codes,
        }
    }

    /// The postal code as a CRM stored it: US codes lose a leading zero
    /// after a spreadsheet round-trip or carry ZIP+4, British ones lose
    /// their space or case, any may be padded.
    pub fn render_postal(&self, rng: &mut Rng) -> String {
        let postal = &self.postal;
        let text = match self.country {
            Country::Us if postal.starts_with('0') && rng.percent(35.0) => {
                postal.trim_start_matches('0').to_string()
            }
            Country::Us if rng.percent(6.0) => format!("{postal}-{:04}", rng.below(10_000)),
            Country::Gb | Country::Ca => match rng.weighted(&[80, 10, 10]) {
                0 => postal.clone(),
                1 => postal.replace(' ', ""),
                _ => postal.to_lowercase(),
            },
            _ => postal.clone(),
        };
        pad_sometimes(rng, text, 2.0)
    }
    /// A valid mobile (or, in North America, any) phone number here.
    pub fn random_phone(&self, rng: &mut Rng) -> Phone {
        Phone::random(rng, self.country, self.area_codes)
    }
}

/// `prefix` followed by `n` random digits.
fn digits_after(rng: &mut Rng, prefix: &str, n: usize) -> String {
    let mut out = String::with_capacity(prefix.len() + n);
    out.push_str(prefix);
    rng.push_digits(&mut out, n);
    out
}

fn gb_postcode(rng: &mut Rng) -> String {
    let outward = rng.pick(&GB_OUTWARD);
    let a = char::from(*rng.pick(GB_INWARD_LETTERS));
    let b = char::from(*rng.pick(GB_INWARD_LETTERS));
    format!("{outward} {}{a}{b}", rng.below(10))
}

fn fr_postal(rng: &mut Rng) -> String {
    if rng.percent(45.0) {
        format!("750{:02}", rng.range(1, 20))
    } else {
        rng.pick(&FR_POSTAL).to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn postal_codes_fit_their_country() {
        let mut rng = Rng::seeded(13);
        for _ in 0..500 {
            let us = Address::random(&mut rng, Country::Us);
            assert!(us.postal.len() == 5 && us.postal.chars().all(|c| c.is_ascii_digit()));
            let de = Address::random(&mut rng, Country::De);
            assert!(de.postal.len() == 5 && de.postal.chars().all(|c| c.is_ascii_digit()));
            let gb = Address::random(&mut rng, Country::Gb);
            assert!(
                gb.postal.contains(' ') && gb.postal.len() <= 8,
                "{}",
                gb.postal
            );
            let ca = Address::random(&mut rng, Country::Ca);
            assert_eq!(ca.postal.len(), 7, "{}", ca.postal);
        }
    }

    #[test]
    fn us_phone_area_codes_match_the_zip_code() {
        let mut rng = Rng::seeded(14);
        for _ in 0..500 {
            let address = Address::random(&mut rng, Country::Us);
            let phone = address.random_phone(&mut rng);
            let metro = US_METROS
                .iter()
                .find(|m| m.area_codes.contains(&&phone.digits[..3]))
                .unwrap();
            assert!(
                metro
                    .postal_prefixes
                    .iter()
                    .any(|p| address.postal.starts_with(p))
            );
        }
    }
}
