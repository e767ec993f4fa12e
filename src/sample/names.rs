//! Names of sample customers: given and family names per country (with
//! accents and apostrophes), as CRMs store them (padded, odd case), and
//! folded to ASCII for email addresses.

use super::persona::Country;
use super::rng::Rng;

/// Given names in the US and Canada.
#[rustfmt::skip]
const US_FIRST: [&str; 20] = [
    "James", "Mary", "Michael", "Jennifer", "David", "Emily", "Daniel", "Olivia", "Chris", "Sophia",
    "Liam", "Ava", "Noah", "Mia", "Ethan", "Zoë", "José", "Aaliyah", "Jamal", "Mei",
];
/// Family names in the US and Canada.
#[rustfmt::skip]
const US_LAST: [&str; 20] = [
    "Smith", "Johnson", "Williams", "Brown", "Jones", "García", "Miller", "Davis", "Rodríguez",
    "Martínez", "Pérez", "Nguyen", "Kim", "Patel", "O'Connor", "Anderson", "Thompson", "White",
    "Lee", "Harris",
];
/// Given names in Germany.
#[rustfmt::skip]
const DE_FIRST: [&str; 20] = [
    "Lukas", "Leon", "Finn", "Jonas", "Anna", "Lena", "Hannah", "Sophie", "Jürgen", "Jörg",
    "Björn", "Günter", "Marie", "Laura", "Felix", "Maximilian", "Katrin", "Sören", "Zoë", "Ümit",
];
/// Family names in Germany.
#[rustfmt::skip]
const DE_LAST: [&str; 20] = [
    "Müller", "Schmidt", "Schneider", "Fischer", "Weber", "Meyer", "Wagner", "Becker", "Schulz",
    "Hoffmann", "Schäfer", "Koch", "Bauer", "Richter", "Klein", "Wolf", "Schröder", "Neumann",
    "Groß", "Yılmaz",
];
/// Given names in the UK.
#[rustfmt::skip]
const GB_FIRST: [&str; 20] = [
    "Oliver", "George", "Harry", "Jack", "Charlie", "Amelia", "Isla", "Ava", "Emily", "Poppy",
    "Freya", "Niamh", "Siobhán", "Rhys", "Seán", "Chloë", "Arthur", "Grace", "Lily", "Thomas",
];
/// Family names in the UK.
#[rustfmt::skip]
const GB_LAST: [&str; 20] = [
    "Smith", "Jones", "Taylor", "Brown", "Williams", "Wilson", "Evans", "Davies", "Thomas",
    "Roberts", "O'Brien", "Walker", "Wright", "Hughes", "Edwards", "Green", "Hall", "Wood",
    "Clarke", "Patel",
];
/// Given names in France.
#[rustfmt::skip]
const FR_FIRST: [&str; 20] = [
    "Gabriel", "Léo", "Raphaël", "Louis", "Jules", "Emma", "Jade", "Louise", "Alice", "Chloé",
    "Léa", "Inès", "Zoé", "Hélène", "Élodie", "François", "Thibault", "Mathéo", "Noémie", "Maëlle",
];
/// Family names in France.
#[rustfmt::skip]
const FR_LAST: [&str; 20] = [
    "Martin", "Bernard", "Dubois", "Thomas", "Robert", "Richard", "Petit", "Durand", "Leroy",
    "Moreau", "Lefèvre", "Girard", "Bonnet", "Lambert", "Fontaine", "Rousseau", "Pérez", "Garnier",
    "Chevalier", "Faure",
];

/// Given and family names of a country.
fn name_pool(country: Country) -> (&'static [&'static str], &'static [&'static str]) {
    match country {
        Country::Us | Country::Ca => (&US_FIRST, &US_LAST),
        Country::De => (&DE_FIRST, &DE_LAST),
        Country::Gb => (&GB_FIRST, &GB_LAST),
        Country::Fr => (&FR_FIRST, &FR_LAST),
    }
}

/// A random given and family name for someone from `country`.
pub fn random_name(rng: &mut Rng, country: Country) -> (&'static str, &'static str) {
    let (first, last) = name_pool(country);
    (*rng.pick(first), *rng.pick(last))
}

/// A name as a CRM holds it: usually as typed, sometimes padded or re-cased.
pub fn render_name(rng: &mut Rng, name: &str) -> String {
    let cased = match rng.weighted(&[92, 4, 4]) {
        0 => name.to_string(),
        1 => name.to_uppercase(),
        _ => name.to_lowercase(),
    };
    pad_sometimes(rng, cased, 4.0)
}

/// `value` with a space or two around it, `percent` of the time.
pub fn pad_sometimes(rng: &mut Rng, value: String, percent: f64) -> String {
    if !rng.percent(percent) {
        return value;
    }
    match rng.below(3) {
        0 => format!(" {value}"),
        1 => format!("{value}  "),
        _ => format!("  {value} "),
    }
}

/// `name` in lower-case ASCII for an email address (Müller -> mueller in
/// German, Zoë -> zoe elsewhere, apostrophes and spaces dropped).
pub fn ascii_fold(name: &str, german: bool) -> String {
    let mut out = String::with_capacity(name.len());
    for c in name.chars().flat_map(char::to_lowercase) {
        match c {
            'ä' if german => out.push_str("ae"),
            'ö' if german => out.push_str("oe"),
            'ü' if german => out.push_str("ue"),
            'ß' => out.push_str("ss"),
            'à' | 'á' | 'â' | 'ä' | 'ã' => out.push('a'),
            'ç' => out.push('c'),
            'è' | 'é' | 'ê' | 'ë' => out.push('e'),
            'ì' | 'í' | 'î' | 'ï' | 'ı' => out.push('i'),
            'ñ' => out.push('n'),
            'ò' | 'ó' | 'ô' | 'ö' | 'ø' => out.push('o'),
            'ù' | 'ú' | 'û' | 'ü' => out.push('u'),
            'ÿ' => out.push('y'),
            c if c.is_ascii_alphanumeric() => out.push(c),
            _ => {}
        }
    }
    out
}

/// The same name with its accents stripped (Zoë -> Zoe), as a second system
/// that only stores ASCII would hold it.
pub fn strip_accents(name: &str) -> String {
    name.chars()
        .map(|c| {
            let folded = ascii_fold(&c.to_string(), false);
            match folded.chars().next() {
                Some(f) if c.is_uppercase() => f.to_ascii_uppercase(),
                Some(f) => f,
                None => c,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folding_handles_accents() {
        assert_eq!(ascii_fold("Müller", true), "mueller");
        assert_eq!(ascii_fold("Müller", false), "muller");
        assert_eq!(ascii_fold("Zoë", false), "zoe");
        assert_eq!(ascii_fold("O'Brien", false), "obrien");
        assert_eq!(ascii_fold("Groß", true), "gross");
        assert_eq!(strip_accents("Pérez"), "Perez");
        assert_eq!(strip_accents("Élodie"), "Elodie");
    }
}
