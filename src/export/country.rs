//! ISO 3166-1 alpha-2 country codes (the 249 officially assigned ones), and
//! the trunk-prefix dialing rules the SQL rendering of phone normalization
//! knows (see [`super::sql`]).

/// Every officially assigned ISO 3166-1 alpha-2 code, sorted.
pub const ALPHA2: [&str; 249] = [
    "AD", "AE", "AF", "AG", "AI", "AL", "AM", "AO", "AQ", "AR", "AS", "AT", "AU", "AW", "AX", "AZ",
    "BA", "BB", "BD", "BE", "BF", "BG", "BH", "BI", "BJ", "BL", "BM", "BN", "BO", "BQ", "BR", "BS",
    "BT", "BV", "BW", "BY", "BZ", "CA", "CC", "CD", "CF", "CG", "CH", "CI", "CK", "CL", "CM", "CN",
    "CO", "CR", "CU", "CV", "CW", "CX", "CY", "CZ", "DE", "DJ", "DK", "DM", "DO", "DZ", "EC", "EE",
    "EG", "EH", "ER", "ES", "ET", "FI", "FJ", "FK", "FM", "FO", "FR", "GA", "GB", "GD", "GE", "GF",
    "GG", "GH", "GI", "GL", "GM", "GN", "GP", "GQ", "GR", "GS", "GT", "GU", "GW", "GY", "HK", "HM",
    "HN", "HR", "HT", "HU", "ID", "IE", "IL", "IM", "IN", "IO", "IQ", "IR", "IS", "IT", "JE", "JM",
    "JO", "JP", "KE", "KG", "KH", "KI", "KM", "KN", "KP", "KR", "KW", "KY", "KZ", "LA", "LB", "LC",
    "LI", "LK", "LR", "LS", "LT", "LU", "LV", "LY", "MA", "MC", "MD", "ME", "MF", "MG", "MH", "MK",
    "ML", "MM", "MN", "MO", "MP", "MQ", "MR", "MS", "MT", "MU", "MV", "MW", "MX", "MY", "MZ", "NA",
    "NC", "NE", "NF", "NG", "NI", "NL", "NO", "NP", "NR", "NU", "NZ", "OM", "PA", "PE", "PF", "PG",
    "PH", "PK", "PL", "PM", "PN", "PR", "PS", "PT", "PW", "PY", "QA", "RE", "RO", "RS", "RU", "RW",
    "SA", "SB", "SC", "SD", "SE", "SG", "SH", "SI", "SJ", "SK", "SL", "SM", "SN", "SO", "SR", "SS",
    "ST", "SV", "SX", "SY", "SZ", "TC", "TD", "TF", "TG", "TH", "TJ", "TK", "TL", "TM", "TN", "TO",
    "TR", "TT", "TV", "TW", "TZ", "UA", "UG", "UM", "US", "UY", "UZ", "VA", "VC", "VE", "VG", "VI",
    "VN", "VU", "WF", "WS", "YE", "YT", "ZA", "ZM", "ZW",
];

/// True for an assigned ISO 3166-1 alpha-2 code (upper case).
pub fn is_alpha2(code: &str) -> bool {
    code.len() == 2 && ALPHA2.binary_search(&code).is_ok()
}

/// Countries whose national numbers are dialed with a trunk `0` that E.164
/// drops, with their calling code. The SQL rendering turns `0…` into
/// `+<code>…` for these (and North American 10/11-digit numbers into `+1…`);
/// the Rust path uses the full phone-number library for every country.
pub const TRUNK_ZERO: [(&str, &str); 8] = [
    ("AT", "43"),
    ("BE", "32"),
    ("CH", "41"),
    ("DE", "49"),
    ("FR", "33"),
    ("GB", "44"),
    ("IE", "353"),
    ("NL", "31"),
];

/// North American Numbering Plan countries in the SQL rendering.
pub const NANP: [&str; 2] = ["US", "CA"];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_list_is_sorted_and_unique_so_binary_search_works() {
        assert!(ALPHA2.windows(2).all(|w| w[0] < w[1]));
        assert!(is_alpha2("DE") && is_alpha2("US") && is_alpha2("ZW"));
        assert!(!is_alpha2("XK") && !is_alpha2("UK") && !is_alpha2("de"));
    }
}
