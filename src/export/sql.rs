//! The Customer Match normalization as BigQuery SQL, so a BigQuery target can
//! export with `EXPORT DATA` without moving rows through cohort. One set of
//! rules ([`super::normalize`]), two renderings; a test runs this SQL on the
//! local engine over the sample data and compares every hash with the Rust
//! path.
//!
//! Limits of the SQL rendering (the Rust path has none of them):
//! - Phones: SQL has no phone-number library. Numbers written with `+` or
//!   `00` keep their digits; national numbers become E.164 for North America
//!   (`US`, `CA`: 10 digits, or 11 starting with 1) and the trunk-zero
//!   countries of [`super::country::TRUNK_ZERO`]; anything else is NULL. The
//!   result must look like E.164 (`+` then 7 to 15 digits) but is not
//!   checked against the numbering plan, so a number the Rust path rejects
//!   as invalid may get a hash here.
//! - Whitespace: `\s` is ASCII whitespace in BigQuery (RE2) but Unicode
//!   whitespace in Rust.
//! - One `Email` and one `Phone` column (BigQuery refuses repeated column names).

use std::fmt::Write;

use super::country::{ALPHA2, NANP, TRUNK_ZERO};
use super::record::Options;
use crate::compile::segment::rules::string_literal;
use crate::error::{Diagnostic, Error, Result};

/// The raw columns (or expressions) the rendering reads.
#[derive(Debug, Clone, Default)]
pub struct SqlColumns {
    pub emails: Vec<String>,
    pub phones: Vec<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub country: Option<String>,
    pub zip: Option<String>,
}

impl SqlColumns {
    fn has_address(&self) -> bool {
        self.first_name.is_some()
            && self.last_name.is_some()
            && self.country.is_some()
            && self.zip.is_some()
    }
}

/// The characters removed from last names: `[[:punct:]]` (ASCII) and the
/// typographic dashes and quotes, as [`super::normalize::is_punctuation`].
pub const PUNCTUATION: &str = r"[[:punct:]\x{2010}-\x{2015}\x{2018}-\x{201F}]";

/// Email: NULL when blank or invalid.
pub fn email(column: &str, gmail_remove_dots: bool) -> String {
    let e = format!("lower(regexp_replace({column}, r'\\s', ''))");
    let gmail = if gmail_remove_dots {
        format!(
            "if(regexp_contains({e}, r'@(gmail|googlemail)\\.com$'), nullif(concat(replace(regexp_extract({e}, r'^([^@]+)@'), '.', ''), regexp_extract({e}, r'(@.*)$')), regexp_extract({e}, r'(@.*)$')), {e})"
        )
    } else {
        e.clone()
    };
    format!("if(regexp_contains({e}, r'^[^@]+@[^@]+\\.[^@]+$'), {gmail}, null)")
}

/// First name: lowercase, trimmed, inner whitespace collapsed; NULL when blank.
pub fn first_name(column: &str) -> String {
    format!("nullif(regexp_replace(trim(lower({column})), r'\\s+', ' '), '')")
}

/// Last name: as [`first_name`], without punctuation.
pub fn last_name(column: &str) -> String {
    format!(
        "nullif(regexp_replace(trim(regexp_replace(lower({column}), r'{PUNCTUATION}', '')), r'\\s+', ' '), '')"
    )
}

/// Country: the ISO 3166-1 alpha-2 code, or NULL.
pub fn country(column: &str) -> String {
    let codes: Vec<String> = ALPHA2.iter().map(|c| format!("'{c}'")).collect();
    format!(
        "if(upper(trim({column})) in ({}), upper(trim({column})), null)",
        codes.join(", ")
    )
}

/// Zip: trimmed; the 5-digit form in the US; NULL when blank.
pub fn zip(column: &str, country: &str) -> String {
    let z = format!("trim({column})");
    format!(
        "case when {z} = '' then null when {country} = 'US' and regexp_contains({z}, r'^[0-9]{{5}}-[0-9]{{4}}$') then substr({z}, 1, 5) when {country} = 'US' and regexp_contains({z}, r'^[0-9]{{3,4}}$') then lpad({z}, 5, '0') else {z} end"
    )
}

/// Phone: E.164 or NULL; `country` is the row's country (or the default).
pub fn phone(column: &str, country: &str) -> String {
    let p = format!("replace(trim({column}), '(0)', '')");
    let d = format!("regexp_replace({p}, r'[^0-9]', '')");
    let nanp: Vec<String> = NANP.iter().map(|c| format!("'{c}'")).collect();
    let nanp = nanp.join(", ");
    let mut cases = format!(
        "case\n        when {d} = '' then null\n        when starts_with({p}, '+') then concat('+', {d})\n        when starts_with({d}, '00') then concat('+', substr({d}, 3))\n        when {country} in ({nanp}) and length({d}) = 10 then concat('+1', {d})\n        when {country} in ({nanp}) and length({d}) = 11 and starts_with({d}, '1') then concat('+', {d})\n"
    );
    for (code, calling) in TRUNK_ZERO {
        let _ = writeln!(
            cases,
            "        when {country} = '{code}' and starts_with({d}, '0') then concat('+{calling}', substr({d}, 2))"
        );
    }
    cases.push_str("        else null\n    end");
    format!("regexp_extract({cases}, r'^(\\+[1-9][0-9]{{6,14}})$')")
}

fn hashed(expr: &str, hash: bool) -> String {
    if hash {
        format!("to_hex(sha256({expr}))")
    } else {
        expr.to_string()
    }
}

/// A SELECT over `from` (a table or a parenthesized query) giving the
/// Customer Match columns (`Email`, `Phone`, `First Name`, ...), normalized
/// and hashed, for the rows where `consent` holds and some identifier is
/// usable; `keep` columns are passed through first.
pub fn normalized_select(
    from: &str,
    keep: &[&str],
    columns: &SqlColumns,
    options: &Options,
    consent: Option<&str>,
) -> Result<String> {
    if columns.emails.len() > 1 || columns.phones.len() > 1 {
        return Err(Error::config(
            Diagnostic::new("the BigQuery rendering of an export supports one email and one phone column")
                .help("map one column each, or export through cohort (`cohort export` on the local engine)"),
        ));
    }
    let default_country = options
        .default_country
        .as_deref()
        .map(string_literal)
        .unwrap_or_else(|| "cast(null as string)".into());
    let country_expr = match &columns.country {
        Some(c) => format!("coalesce({}, {default_country})", country(c)),
        None => default_country.clone(),
    };
    // Stage 1: the row's country (read by phones and zips) next to the raw columns.
    let mut base = keep.iter().map(|k| k.to_string()).collect::<Vec<_>>();
    base.push(format!(
        "{} as _country",
        columns
            .country
            .as_deref()
            .map(country)
            .unwrap_or_else(|| "cast(null as string)".into())
    ));
    base.push(format!("{country_expr} as _phone_country"));
    let raw = |expr: &Option<String>, alias: &str, out: &mut Vec<String>| {
        if let Some(e) = expr {
            out.push(format!("{e} as {alias}"));
        }
    };
    raw(&columns.emails.first().cloned(), "_email", &mut base);
    raw(&columns.phones.first().cloned(), "_phone", &mut base);
    raw(&columns.first_name, "_first_name", &mut base);
    raw(&columns.last_name, "_last_name", &mut base);
    raw(&columns.zip, "_zip", &mut base);
    let filter = consent
        .map(|c| format!("\n    where {c}"))
        .unwrap_or_default();
    // Stages 2 and 3 pass the kept columns on by name.
    let kept: Vec<String> = keep.iter().map(|k| output_name(k).to_string()).collect();
    // Stage 2: normalized values.
    let mut normalized = kept.clone();
    if !columns.emails.is_empty() {
        normalized.push(format!(
            "{} as email",
            email("_email", options.gmail_remove_dots)
        ));
    }
    if !columns.phones.is_empty() {
        normalized.push(format!("{} as phone", phone("_phone", "_phone_country")));
    }
    let address = columns.has_address();
    if address {
        normalized.push(format!("{} as first_name", first_name("_first_name")));
        normalized.push(format!("{} as last_name", last_name("_last_name")));
        normalized.push("_country as country".into());
        normalized.push(format!("{} as zip", zip("_zip", "_country")));
    }
    // Stage 3: whole addresses only, hashing, usable rows only.
    let mut out = kept;
    let mut usable = Vec::new();
    if !columns.emails.is_empty() {
        out.push(format!("{} as `Email`", hashed("email", options.hash)));
        usable.push("email");
    }
    if !columns.phones.is_empty() {
        out.push(format!("{} as `Phone`", hashed("phone", options.hash)));
        usable.push("phone");
    }
    if address {
        let whole = "first_name is not null and last_name is not null and country is not null and zip is not null";
        out.push(format!(
            "if({whole}, {}, null) as `First Name`",
            hashed("first_name", options.hash)
        ));
        out.push(format!(
            "if({whole}, {}, null) as `Last Name`",
            hashed("last_name", options.hash)
        ));
        out.push(format!("if({whole}, country, null) as `Country`"));
        out.push(format!("if({whole}, zip, null) as `Zip`"));
        usable.push(whole);
    }
    let usable: Vec<String> = usable
        .iter()
        .map(|u| {
            if u.contains(' ') {
                format!("({u})")
            } else {
                format!("{u} is not null")
            }
        })
        .collect();
    Ok(format!(
        "select\n    {}\nfrom (\n    select\n    {}\n    from (\n    select\n    {}\n    from {from}{filter}\n    ) as base\n) as normalized\nwhere {}",
        out.join(",\n    "),
        normalized.join(",\n    "),
        base.join(",\n    "),
        usable.join(" or ")
    ))
}

/// The name a select item is known by: its alias (`x as y` → `y`), or itself.
fn output_name(item: &str) -> &str {
    let lower = item.to_ascii_lowercase();
    match lower.rfind(" as ") {
        Some(i) => item[i + 4..].trim(),
        None => item.trim(),
    }
}

/// `EXPORT DATA` writing the select to `uri` (`gs://.../part-*.csv`).
pub fn export_data(uri: &str, select: &str) -> String {
    format!(
        "export data options (\n    uri = {},\n    format = 'CSV',\n    overwrite = true,\n    header = true,\n    field_delimiter = ','\n) as\n{select};\n",
        string_literal(uri)
    )
}

/// The `EXPORT DATA` statement(s) of `source` for `day` into `folder` (a
/// `gs://` day folder): one for a full list, `entered` and `left` for a
/// delta. BigQuery names the parts itself (`part-000000000000.csv`, ...) and
/// writes no manifest.
pub fn export_statements(
    source: &super::source::ExportSource,
    day: chrono::NaiveDate,
    folder: &super::sink::Destination,
) -> Result<String> {
    use super::source::columns as c;
    let export = &source.export;
    let ids = &export.identifiers;
    let columns = SqlColumns {
        emails: (0..ids.emails.len()).map(c::email).collect(),
        phones: (0..ids.phones.len()).map(c::phone).collect(),
        first_name: ids.first_name.as_ref().map(|_| c::FIRST_NAME.to_string()),
        last_name: ids.last_name.as_ref().map(|_| c::LAST_NAME.to_string()),
        country: ids.country.as_ref().map(|_| c::COUNTRY.to_string()),
        zip: ids.zip.as_ref().map(|_| c::ZIP.to_string()),
    };
    let options = Options {
        hash: export.hash,
        gmail_remove_dots: export.gmail_remove_dots,
        default_country: export.default_country.clone(),
    };
    let rows = source.rows_sql(day);
    let lists: Vec<(&str, String)> = match export.mode {
        crate::project::export::ExportMode::Full => vec![("part", format!("(\n{rows}\n)"))],
        crate::project::export::ExportMode::Delta => vec![
            (
                "entered-part",
                format!(
                    "(\nselect * from (\n{rows}\n) where {} = 'entered'\n)",
                    c::CHANGE
                ),
            ),
            (
                "left-part",
                format!(
                    "(\nselect * from (\n{rows}\n) where {} = '{}'\n)",
                    c::CHANGE,
                    super::source::EXITED
                ),
            ),
        ],
    };
    let mut script = format!(
        "-- Customer Match export `{}` of segment `{}` for {day} (`cohort export {} --date {day}`).\n",
        export.name, export.segment.name, export.name
    );
    for (prefix, from) in lists {
        let select = normalized_select(&from, &[], &columns, &options, Some(c::CONSENT))?;
        script.push_str(&export_data(&format!("{folder}/{prefix}-*.csv"), &select));
    }
    Ok(script)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_select_parses_as_bigquery_sql() {
        let columns = SqlColumns {
            emails: vec!["email".into()],
            phones: vec!["phone".into()],
            first_name: Some("first_name".into()),
            last_name: Some("last_name".into()),
            country: Some("country".into()),
            zip: Some("zip".into()),
        };
        let options = Options {
            hash: true,
            gmail_remove_dots: true,
            default_country: Some("DE".into()),
        };
        let select = normalized_select(
            "`raw.raw_customers`",
            &["customer_id"],
            &columns,
            &options,
            Some("consent_ad_user_data"),
        )
        .unwrap();
        let sql = export_data("gs://b/cm/vip/2026-11-23/part-*.csv", &select);
        let statements = crate::sql::parse::parse_bigquery(&sql).unwrap();
        assert_eq!(statements.len(), 1, "{sql}");
        assert!(sql.contains("to_hex(sha256(email)) as `Email`"), "{sql}");
        assert!(sql.contains("concat('+49', substr("), "{sql}");
        let two = SqlColumns {
            emails: vec!["a".into(), "b".into()],
            ..SqlColumns::default()
        };
        assert!(normalized_select("t", &[], &two, &options, None).is_err());
    }
}
