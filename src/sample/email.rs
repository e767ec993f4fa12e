//! Email addresses of sample customers: built from the name, then typed
//! the way people and CRMs do it (Gmail dots and googlemail.com, odd case,
//! padding, and a few invalid ones).

use super::names::{ascii_fold, pad_sometimes};
use super::persona::Country;
use super::rng::Rng;

/// Email providers per country, with weights.
fn email_domains(country: Country) -> &'static [(&'static str, u32)] {
    match country {
        Country::Us | Country::Ca => &[
            ("gmail.com", 36),
            ("googlemail.com", 2),
            ("yahoo.com", 12),
            ("outlook.com", 10),
            ("hotmail.com", 8),
            ("icloud.com", 10),
            ("aol.com", 3),
            ("acme-corp.com", 4),
        ],
        Country::De => &[
            ("gmail.com", 25),
            ("googlemail.com", 10),
            ("web.de", 20),
            ("gmx.de", 20),
            ("t-online.de", 10),
            ("outlook.de", 5),
        ],
        Country::Gb => &[
            ("gmail.com", 30),
            ("googlemail.com", 8),
            ("hotmail.co.uk", 15),
            ("yahoo.co.uk", 10),
            ("btinternet.com", 8),
            ("outlook.com", 10),
        ],
        Country::Fr => &[
            ("gmail.com", 30),
            ("orange.fr", 20),
            ("free.fr", 15),
            ("laposte.net", 10),
            ("hotmail.fr", 10),
            ("sfr.fr", 8),
        ],
    }
}

/// A clean email address, split at the `@`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email {
    pub local: String,
    pub domain: &'static str,
}

impl Email {
    /// A plausible address for this person (first.last, flast, first_last12, ...).
    pub fn random(rng: &mut Rng, first: &str, last: &str, country: Country) -> Email {
        let german = country == Country::De;
        let (f, l) = (ascii_fold(first, german), ascii_fold(last, german));
        let initial = f.chars().next().map(String::from).unwrap_or_default();
        let mut local = match rng.below(5) {
            0 => format!("{f}.{l}"),
            1 => format!("{f}{l}"),
            2 => format!("{initial}{l}"),
            3 => format!("{f}_{l}"),
            _ => format!("{l}.{f}"),
        };
        if rng.percent(55.0) {
            local.push_str(&rng.range(1, 99).to_string());
        } else if rng.percent(20.0) {
            local.push_str(&rng.range(1958, 2006).to_string());
        }
        let domain = rng.weighted_pick(email_domains(country));
        let mut email = Email { local, domain };
        email.gmail_noise(rng);
        email
    }

    /// Whether the provider ignores dots and `+tags` in the local part.
    pub fn is_gmail(&self) -> bool {
        matches!(self.domain, "gmail.com" | "googlemail.com")
    }

    /// Some Gmail users sign up with a `+tag`.
    fn gmail_noise(&mut self, rng: &mut Rng) {
        if self.is_gmail() && rng.percent(5.0) {
            self.local
                .push_str(rng.pick::<&str>(&["+shop", "+news", "+promo"]));
        }
    }

    /// The address as typed this time: Gmail ignores dots and treats
    /// googlemail.com as gmail.com, so people write both inconsistently.
    fn typed(&self, rng: &mut Rng) -> (String, &'static str) {
        if !self.is_gmail() {
            return (self.local.clone(), self.domain);
        }
        let local = match rng.weighted(&[75, 15, 10]) {
            0 => self.local.clone(),
            1 => self.local.replace('.', ""),
            _ => dotted(rng, &self.local),
        };
        let domain = match (self.domain, rng.percent(8.0)) {
            ("gmail.com", true) => "googlemail.com",
            ("googlemail.com", true) => "gmail.com",
            (domain, _) => domain,
        };
        (local, domain)
    }

    /// The address as a CRM stored it: mostly lower case, sometimes
    /// capitalized or upper case, padded, or (rarely) invalid.
    pub fn render(&self, rng: &mut Rng) -> String {
        if rng.percent(1.5) {
            return self.invalid(rng);
        }
        let (local, domain) = self.typed(rng);
        let text = match rng.weighted(&[82, 13, 3]) {
            0 => format!("{local}@{domain}"),
            1 => format!("{}@{}", capitalize_words(&local), capitalize_words(domain)),
            _ => format!("{local}@{domain}").to_uppercase(),
        };
        pad_sometimes(rng, text, 4.0)
    }

    /// The address mangled the way form input goes wrong.
    fn invalid(&self, rng: &mut Rng) -> String {
        let (local, domain) = (&self.local, self.domain);
        match rng.below(6) {
            0 => format!("{local}@"),
            1 => format!("{local}{domain}"),
            2 => format!("{local}@@{domain}"),
            3 => format!("{local}@{}", domain.split('.').next().unwrap_or(domain)),
            4 => format!("{local} @{domain}"),
            _ => "n/a".to_string(),
        }
    }
}

/// `local` with one extra dot inside its name part ("jsmith" -> "js.mith").
fn dotted(rng: &mut Rng, local: &str) -> String {
    let name_len = local
        .find(|c: char| !c.is_ascii_alphabetic())
        .unwrap_or(local.len());
    if name_len < 2 {
        return local.to_string();
    }
    let cut = 1 + rng.below(name_len as u64 - 1) as usize;
    format!("{}.{}", &local[..cut], &local[cut..])
}

/// "john.smith" -> "John.Smith": upper-case the first letter of each part.
fn capitalize_words(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut start = true;
    for c in text.chars() {
        if start && c.is_ascii_alphabetic() {
            out.push(c.to_ascii_uppercase());
        } else {
            out.push(c);
        }
        start = !c.is_ascii_alphanumeric();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gmail_addresses_vary_only_in_dots_and_domain() {
        let mut rng = Rng::seeded(12);
        let email = Email {
            local: "zoe.perez12".into(),
            domain: "gmail.com",
        };
        let mut seen = std::collections::BTreeSet::new();
        for _ in 0..500 {
            let (local, domain) = email.typed(&mut rng);
            assert_eq!(local.replace('.', ""), "zoeperez12");
            assert!(domain == "gmail.com" || domain == "googlemail.com");
            seen.insert(format!("{local}@{domain}"));
        }
        assert!(seen.len() > 5, "{seen:?}");
        let other = Email {
            local: "zoe.perez".into(),
            domain: "web.de",
        };
        assert_eq!(other.typed(&mut rng), ("zoe.perez".to_string(), "web.de"));
    }

    #[test]
    fn emails_are_mostly_valid_lower_case() {
        let mut rng = Rng::seeded(2);
        let mut valid = 0;
        for _ in 0..1_000 {
            let email = Email::random(&mut rng, "Zoë", "Pérez", Country::Fr);
            let text = email.render(&mut rng);
            let trimmed = text.trim();
            let ok = trimmed.matches('@').count() == 1
                && !trimmed.contains(' ')
                && trimmed.split('@').nth(1).is_some_and(|d| d.contains('.'));
            valid += usize::from(ok);
            assert!(trimmed.is_ascii(), "{text}");
        }
        assert!((960..1_000).contains(&valid), "{valid}");
    }
}
