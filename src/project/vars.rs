//! Project variables: `vars:` from `cohort.yml` merged with `--vars`, and the
//! `as_of` date every relative time window is anchored to.

use std::collections::BTreeMap;
use std::path::Path;

use chrono::NaiveDate;
use serde_json::Value;

use crate::error::{Diagnostic, Error, Location, Result};

/// The name of the variable holding the run's reference date.
pub const AS_OF: &str = "as_of";

/// Merge `--vars` (YAML text) over the project's vars and resolve `as_of`.
pub fn resolve(
    project_vars: &BTreeMap<String, Value>,
    overrides: Option<&str>,
    today: NaiveDate,
) -> Result<(BTreeMap<String, Value>, NaiveDate)> {
    let mut vars = project_vars.clone();
    if let Some(text) = overrides.filter(|t| !t.trim().is_empty()) {
        let parsed: BTreeMap<String, Value> = serde_saphyr::from_str(text).map_err(|err| {
            Error::config(
                Diagnostic::new(format!("--vars is not a YAML mapping: {}", first_line(&err.to_string())))
                    .help("pass a YAML or JSON mapping, e.g. --vars '{as_of: 2026-11-23, data_dir: /data}'"),
            )
        })?;
        vars.extend(parsed);
    }
    let as_of = match vars.get(AS_OF) {
        None | Some(Value::Null) => today,
        Some(Value::String(s)) if s.eq_ignore_ascii_case("today") => today,
        Some(Value::String(s)) => parse_date(s)?,
        Some(other) => return Err(bad_as_of(&other.to_string())),
    };
    vars.insert(
        AS_OF.into(),
        Value::String(as_of.format("%Y-%m-%d").to_string()),
    );
    Ok((vars, as_of))
}

fn parse_date(text: &str) -> Result<NaiveDate> {
    NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d").map_err(|_| bad_as_of(text))
}

fn bad_as_of(text: &str) -> Error {
    Error::config(
        Diagnostic::new(format!(
            "`as_of` must be a date like 2026-11-23 or `today`, not `{text}`"
        ))
        .at(Location::file_start(Path::new(super::PROJECT_FILE)))
        .help("set vars.as_of in cohort.yml or pass --vars '{as_of: 2026-11-23}'"),
    )
}

fn first_line(s: &str) -> &str {
    s.lines().next().unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn as_of_defaults_to_today_and_can_be_overridden() {
        let today = day("2026-11-23");
        let (vars, as_of) = resolve(&BTreeMap::new(), None, today).unwrap();
        assert_eq!(as_of, today);
        assert_eq!(vars[AS_OF], Value::String("2026-11-23".into()));
        let (vars, as_of) = resolve(
            &BTreeMap::new(),
            Some("{as_of: 2026-01-31, data_dir: /x}"),
            today,
        )
        .unwrap();
        assert_eq!(as_of, day("2026-01-31"));
        assert_eq!(vars["data_dir"], Value::String("/x".into()));
    }

    #[test]
    fn bad_as_of_is_a_config_error() {
        let err = resolve(
            &BTreeMap::new(),
            Some("{as_of: yesterday-ish}"),
            day("2026-11-23"),
        )
        .unwrap_err();
        assert!(err.is_config());
        let err = resolve(&BTreeMap::new(), Some("[1, 2"), day("2026-11-23")).unwrap_err();
        assert!(err.to_string().contains("--vars"));
    }
}
