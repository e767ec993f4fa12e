//! Export definitions (`exports:` in `exports/*.yml`, or beside the segments
//! in `segments/*.yml`): which segment goes where, in which Customer Match
//! layout. The YAML shape is checked here (unknown keys get a suggestion,
//! errors point at file:line:col); the segment's existence once every file
//! is read ([`check_segments`]); the consent rule when the export runs, so a
//! project with an unfinished export still builds.

use std::path::Path;

use serde::Deserialize;
use serde_saphyr::Spanned;

use super::yaml::location_of;
use crate::error::{Diagnostic, Error, Location, Result, suggestion};

/// An `exports/*.yml` file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExportFile {
    #[serde(default)]
    pub version: Option<u32>,
    #[serde(default)]
    pub exports: Vec<Spanned<ExportDef>>,
}

/// One entry under `exports:`, as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExportDef {
    pub name: String,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(rename = "type")]
    pub kind: Spanned<String>,
    pub segment: Spanned<String>,
    /// `full` (default) or `delta`.
    #[serde(default)]
    pub mode: Option<Spanned<String>>,
    pub identifiers: Spanned<IdentifiersDef>,
    /// The model (or source) holding the identifier and consent columns,
    /// one row per entity_key; default: the segment's `from`.
    #[serde(default)]
    pub identifiers_from: Option<Spanned<String>>,
    #[serde(default)]
    pub default_country: Option<Spanned<String>>,
    #[serde(default)]
    pub consent: Option<Spanned<ConsentDef>>,
    pub destination: Spanned<String>,
    #[serde(default)]
    pub max_rows_per_file: Option<Spanned<u64>>,
    /// `false` writes plain text (opt-in, warned about).
    #[serde(default)]
    pub hash: Option<bool>,
    /// Remove dots before the `@` of gmail.com / googlemail.com (default true).
    #[serde(default)]
    pub gmail_remove_dots: Option<bool>,
}

/// `identifiers:`: Customer Match field → column.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IdentifiersDef {
    /// One column or a list (one `Email` column each).
    #[serde(default)]
    pub email: Option<Spanned<serde_json::Value>>,
    #[serde(default)]
    pub phone: Option<Spanned<serde_json::Value>>,
    #[serde(default)]
    pub first_name: Option<Spanned<String>>,
    #[serde(default)]
    pub last_name: Option<Spanned<String>>,
    #[serde(default)]
    pub country: Option<Spanned<String>>,
    #[serde(default)]
    pub zip: Option<Spanned<String>>,
}

/// `consent: {require: [...]}`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConsentDef {
    #[serde(default)]
    pub require: Vec<Spanned<String>>,
}

/// Full list, or the day's changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportMode {
    /// Every member on the day.
    Full,
    /// Who entered (`entered-part-*`) and who left (`left-part-*`) on the day.
    Delta,
}

impl ExportMode {
    pub fn name(self) -> &'static str {
        match self {
            ExportMode::Full => "full",
            ExportMode::Delta => "delta",
        }
    }
}

/// A column name and where it was written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Column {
    pub name: String,
    pub at: Location,
}

/// The identifier columns of an export.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Identifiers {
    pub emails: Vec<Column>,
    pub phones: Vec<Column>,
    pub first_name: Option<Column>,
    pub last_name: Option<Column>,
    /// Used for phones without a country code even without the other address fields.
    pub country: Option<Column>,
    pub zip: Option<Column>,
}

impl Identifiers {
    /// True when the address columns (first name, last name, country, zip) are all mapped.
    pub fn has_address(&self) -> bool {
        self.first_name.is_some()
            && self.last_name.is_some()
            && self.country.is_some()
            && self.zip.is_some()
    }
}

/// A validated Customer Match export.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Export {
    pub name: String,
    pub description: Option<String>,
    pub segment: Column,
    pub mode: ExportMode,
    pub identifiers: Identifiers,
    pub identifiers_from: Option<(String, Location)>,
    pub default_country: Option<String>,
    /// Required consent columns; `None` (or empty) refuses to run.
    pub consent: Option<Vec<Column>>,
    pub consent_at: Location,
    pub destination: String,
    pub destination_at: Location,
    pub max_rows_per_file: u64,
    pub hash: bool,
    pub gmail_remove_dots: bool,
    pub defined_at: Location,
}

/// Customer Match's limit of rows per uploaded file is far above this default.
pub const DEFAULT_MAX_ROWS_PER_FILE: u64 = 1_000_000;

/// The export types.
pub const EXPORT_TYPES: [&str; 1] = ["customer_match"];

/// How to declare a consent rule (in errors).
pub const CONSENT_HELP: &str = "declare the consent columns that must be true, e.g.\n    consent: {require: [consent_ad_user_data, consent_ad_personalization]}\n  (columns of `identifiers_from`, default the segment's `from`; EEA users need both Google consents)";

impl Export {
    /// Validate a parsed definition from `file`.
    pub fn from_def(def: Spanned<ExportDef>, file: &Path, root: &Path) -> Result<Export> {
        let defined_at = location_of(file, &def);
        let def = def.value;
        super::validate_identifier(&def.name, "export name", defined_at.clone())?;
        let name = def.name.clone();
        let error = |message: String, at: Location, help: &str| {
            Error::config(
                Diagnostic::new(format!("export `{name}`: {message}"))
                    .at(at)
                    .help(help.to_string()),
            )
        };
        let kind = def.kind.value.trim();
        if !EXPORT_TYPES.contains(&kind) {
            return Err(error(
                format!("unknown export type `{kind}`"),
                location_of(file, &def.kind),
                &suggestion(kind, EXPORT_TYPES, "export type"),
            ));
        }
        let mode = match def.mode.as_ref().map(|m| m.value.trim()) {
            None | Some("full") => ExportMode::Full,
            Some("delta") => ExportMode::Delta,
            Some(other) => {
                let at = def.mode.as_ref().map(|m| location_of(file, m));
                return Err(error(
                    format!("unknown mode `{other}`"),
                    at.unwrap_or_else(|| defined_at.clone()),
                    "mode is `full` (every member on the day) or `delta` (entered and left files per day)",
                ));
            }
        };
        let column = |spanned: &Spanned<String>, what: &str| -> Result<Column> {
            let at = location_of(file, spanned);
            let name = spanned.value.trim().to_string();
            match super::validate_identifier(&name, what, at.clone()) {
                Ok(()) => Ok(Column { name, at }),
                Err(_) => Err(error(
                    format!("{what} `{name}` is not a column name"),
                    at,
                    "name a column of `identifiers_from` (default: the segment's `from`)",
                )),
            }
        };
        let columns =
            |value: &Option<Spanned<serde_json::Value>>, what: &str| -> Result<Vec<Column>> {
                let Some(value) = value else {
                    return Ok(Vec::new());
                };
                let at = location_of(file, value);
                let names: Vec<String> = match &value.value {
                    serde_json::Value::String(s) => vec![s.clone()],
                    serde_json::Value::Array(items) if !items.is_empty() => items
                        .iter()
                        .map(|v| v.as_str().map(str::to_string))
                        .collect::<Option<_>>()
                        .ok_or_else(|| {
                            error(
                                format!("identifiers.{what} must name columns"),
                                at.clone(),
                                "write one column or a list of columns",
                            )
                        })?,
                    _ => {
                        return Err(error(
                            format!("identifiers.{what} must name columns"),
                            at,
                            "write one column or a list of columns",
                        ));
                    }
                };
                names
                    .into_iter()
                    .map(|n| {
                        column(
                            &Spanned {
                                value: n,
                                referenced: value.referenced,
                                defined: value.defined,
                            },
                            &format!("identifiers.{what}"),
                        )
                    })
                    .collect()
            };
        let ids = &def.identifiers.value;
        let optional = |v: &Option<Spanned<String>>, what: &str| {
            v.as_ref().map(|s| column(s, what)).transpose()
        };
        let identifiers = Identifiers {
            emails: columns(&ids.email, "email")?,
            phones: columns(&ids.phone, "phone")?,
            first_name: optional(&ids.first_name, "identifiers.first_name")?,
            last_name: optional(&ids.last_name, "identifiers.last_name")?,
            country: optional(&ids.country, "identifiers.country")?,
            zip: optional(&ids.zip, "identifiers.zip")?,
        };
        let identifiers_at = location_of(file, &def.identifiers);
        let some_address = identifiers.first_name.is_some()
            || identifiers.last_name.is_some()
            || identifiers.zip.is_some();
        if some_address && !identifiers.has_address() {
            return Err(error(
                "address matching needs first_name, last_name, country and zip together".into(),
                identifiers_at,
                "map all four, or none of first_name, last_name and zip",
            ));
        }
        if identifiers.emails.is_empty()
            && identifiers.phones.is_empty()
            && !identifiers.has_address()
        {
            return Err(error(
                "no identifier is mapped".into(),
                identifiers_at,
                "map at least one of email, phone, or the address (first_name, last_name, country, zip), e.g. identifiers: {email: email}",
            ));
        }
        let default_country = match &def.default_country {
            None => None,
            Some(c) => {
                let code = c.value.trim().to_ascii_uppercase();
                if !crate::export::country::is_alpha2(&code) {
                    return Err(error(
                        format!(
                            "default_country `{}` is not an ISO 3166-1 alpha-2 code",
                            c.value
                        ),
                        location_of(file, c),
                        "write a two-letter country code, e.g. DE or US",
                    ));
                }
                Some(code)
            }
        };
        let consent_at = def
            .consent
            .as_ref()
            .map(|c| location_of(file, c))
            .unwrap_or_else(|| defined_at.clone());
        let consent = match &def.consent {
            None => None,
            Some(c) => Some(
                c.value
                    .require
                    .iter()
                    .map(|s| column(s, "consent column"))
                    .collect::<Result<Vec<_>>>()?,
            ),
        };
        let destination_at = location_of(file, &def.destination);
        if let Err(message) = crate::export::sink::Destination::parse(&def.destination.value, root)
        {
            return Err(error(
                format!("destination: {message}"),
                destination_at,
                "write gs://bucket/prefix/, file:///path/ or a path relative to the project",
            ));
        }
        let max_rows_per_file = match &def.max_rows_per_file {
            None => DEFAULT_MAX_ROWS_PER_FILE,
            Some(n) if n.value > 0 => n.value,
            Some(n) => {
                return Err(error(
                    "max_rows_per_file must be at least 1".into(),
                    location_of(file, n),
                    "write a row count, e.g. max_rows_per_file: 1000000",
                ));
            }
        };
        Ok(Export {
            description: def.description,
            segment: Column {
                name: def.segment.value.trim().to_string(),
                at: location_of(file, &def.segment),
            },
            mode,
            identifiers,
            identifiers_from: def
                .identifiers_from
                .as_ref()
                .map(|f| (f.value.clone(), location_of(file, f))),
            default_country,
            consent,
            consent_at,
            destination: def.destination.value.trim().to_string(),
            destination_at,
            max_rows_per_file,
            hash: def.hash.unwrap_or(true),
            gmail_remove_dots: def.gmail_remove_dots.unwrap_or(true),
            defined_at,
            name: def.name,
        })
    }

    /// The required consent columns, or the error saying how to declare them.
    pub fn consent_columns(&self) -> Result<&[Column]> {
        match &self.consent {
            Some(columns) if !columns.is_empty() => Ok(columns),
            _ => Err(Error::config(
                Diagnostic::new(format!(
                    "export `{}` has no consent rule: customers are only sent to Google with their consent",
                    self.name
                ))
                .at(self.consent_at.clone())
                .help(CONSENT_HELP),
            )),
        }
    }
}

/// Every export must name a declared segment (with a suggestion when not).
pub fn check_segments<'a>(
    exports: impl IntoIterator<Item = &'a Export>,
    segments: &[&str],
) -> Result<()> {
    for export in exports {
        if !segments.contains(&export.segment.name.as_str()) {
            return Err(Error::config(
                Diagnostic::new(format!(
                    "export `{}`: unknown segment `{}`",
                    export.name, export.segment.name
                ))
                .at(export.segment.at.clone())
                .help(suggestion(
                    &export.segment.name,
                    segments.iter().copied(),
                    "segment",
                )),
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(yaml: &str) -> Result<Vec<Export>> {
        let file = Path::new("exports/gads.yml");
        let parsed: ExportFile = super::super::yaml::parse(file, yaml)?;
        parsed
            .exports
            .into_iter()
            .map(|d| Export::from_def(d, file, Path::new("/p")))
            .collect()
    }

    const GOOD: &str = "exports:
  - name: gads_vip
    type: customer_match
    segment: vip
    mode: delta
    identifiers: {email: [email, email2], phone: phone, country: country}
    default_country: de
    consent: {require: [consent_ad_user_data]}
    destination: gs://b/cm/
    max_rows_per_file: 10
";

    #[test]
    fn a_definition_loads() {
        let exports = load(GOOD).unwrap();
        let e = &exports[0];
        assert_eq!(e.mode, ExportMode::Delta);
        assert_eq!(e.identifiers.emails.len(), 2);
        assert!(!e.identifiers.has_address());
        assert_eq!(e.default_country.as_deref(), Some("DE"));
        assert_eq!(e.consent_columns().unwrap()[0].name, "consent_ad_user_data");
        assert!(e.hash && e.gmail_remove_dots);
        check_segments(&exports, &["vip"]).unwrap();
        let err = check_segments(&exports, &["vips", "other"]).unwrap_err();
        let d = err.diagnostic().unwrap();
        assert_eq!(d.help.as_deref(), Some("did you mean `vips`?"));
        assert_eq!(d.location.as_ref().map(|l| l.line), Some(4));
    }

    #[test]
    fn mistakes_point_at_the_line_and_say_how_to_fix() {
        let err = load(&GOOD.replace("max_rows_per_file", "max_rows_per_fil")).unwrap_err();
        let d = err.diagnostic().unwrap();
        assert_eq!(
            d.help.as_deref(),
            Some("did you mean `max_rows_per_file`?"),
            "{d}"
        );
        assert_eq!(d.location.as_ref().map(|l| l.line), Some(10), "{d}");

        let err = load(&GOOD.replace("customer_match", "customer_matc")).unwrap_err();
        assert!(
            err.to_string().contains("did you mean `customer_match`?"),
            "{err}"
        );

        let err = load(&GOOD.replace("country: country}", "first_name: f}")).unwrap_err();
        assert!(
            err.to_string()
                .contains("first_name, last_name, country and zip"),
            "{err}"
        );

        let err =
            load(&GOOD.replace("default_country: de", "default_country: Germany")).unwrap_err();
        assert!(err.to_string().contains("exports/gads.yml:7:"), "{err}");

        let no_consent =
            load(&GOOD.replace("    consent: {require: [consent_ad_user_data]}\n", "")).unwrap();
        let err = no_consent[0].consent_columns().unwrap_err();
        assert!(err.is_config());
        assert!(err.to_string().contains("consent: {require: ["), "{err}");
    }
}
