//! Reading YAML files into typed structs with errors that point at
//! file:line:col and suggest the closest valid key for unknown keys.

use std::path::Path;

use serde::de::DeserializeOwned;
use serde_saphyr::Spanned;

use crate::error::{Diagnostic, Error, Location};

/// Parse `text` (the contents of `file`) into `T`.
pub fn parse<T: DeserializeOwned>(file: &Path, text: &str) -> Result<T, Error> {
    serde_saphyr::from_str::<T>(text).map_err(|err| Error::config(diagnose(file, &err)))
}

/// The location of a spanned YAML value in `file`.
pub fn location_of<T>(file: &Path, spanned: &Spanned<T>) -> Location {
    let loc = spanned.referenced;
    Location::new(file, loc.line() as usize, loc.column() as usize)
}

fn diagnose(file: &Path, err: &serde_saphyr::Error) -> Diagnostic {
    let inner = err.without_snippet();
    let raw = match inner {
        serde_saphyr::Error::Message { msg, .. } => msg.clone(),
        other => other.to_string(),
    };
    let message = strip_position_suffix(raw.lines().next().unwrap_or_default()).to_string();
    let location = err
        .location()
        .filter(|loc| loc.line() > 0)
        .map(|loc| Location::new(file, loc.line() as usize, loc.column() as usize))
        .unwrap_or_else(|| Location::file_start(file));
    let diagnostic = Diagnostic::new(message.clone()).at(location);
    match unknown_field_help(&message) {
        Some(help) => diagnostic.help(help),
        None if message.contains("invalid type") || message.contains("missing field") => {
            diagnostic.help("see the project format in README.md")
        }
        None => diagnostic,
    }
}

/// serde says "unknown field `x`, expected one of `a`, `b`": turn that into a suggestion.
pub(crate) fn unknown_field_help(message: &str) -> Option<String> {
    let rest = message.strip_prefix("unknown field `")?;
    let (field, expected) = rest.split_once('`')?;
    // serde_json writes "expected one of `a`, `b`"; serde-saphyr "expected one of a, b".
    let expected = expected
        .trim_start_matches(',')
        .trim()
        .trim_start_matches("expected one of")
        .trim_start_matches("expected");
    let candidates: Vec<&str> = expected
        .split(',')
        .map(|c| c.trim().trim_matches('`'))
        .filter(|c| !c.is_empty())
        .collect();
    Some(crate::error::suggestion(
        field,
        candidates.iter().copied(),
        "key",
    ))
}

/// Remove a trailing " at line X column Y" that the parser adds to messages.
fn strip_position_suffix(message: &str) -> &str {
    match message.rfind(" at line ") {
        Some(idx) if message[idx..].contains("column") => message[..idx].trim_end_matches(','),
        _ => message,
    }
}

#[cfg(test)]
mod help_tests {
    use super::*;

    #[test]
    fn reads_both_expected_formats() {
        assert_eq!(
            unknown_field_help("unknown field `datset`, expected one of `path`, `dataset`")
                .as_deref(),
            Some("did you mean `dataset`?")
        );
        assert_eq!(
            unknown_field_help("unknown field `materialised`, expected one of name, materialized")
                .as_deref(),
            Some("did you mean `materialized`?")
        );
        assert_eq!(
            strip_position_suffix("expected x at line 1, column 7"),
            "expected x"
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Cfg {
        name: String,
        materialized: Option<String>,
    }

    #[test]
    fn unknown_key_points_at_line_and_suggests() {
        let err = parse::<Cfg>(Path::new("cohort.yml"), "name: x\nmaterialised: table\n")
            .expect_err("unknown key must fail");
        let d = err.diagnostic().expect("diagnostic");
        assert!(d.message.contains("unknown field `materialised`"), "{d}");
        assert_eq!(d.location.as_ref().map(|l| l.line), Some(2), "{d}");
        assert_eq!(d.help.as_deref(), Some("did you mean `materialized`?"));
    }

    #[test]
    fn malformed_yaml_has_a_location() {
        let err = parse::<Cfg>(Path::new("cohort.yml"), "name: [unclosed\nmore: x\n")
            .expect_err("malformed yaml must fail");
        let d = err.diagnostic().expect("diagnostic");
        assert!(d.location.as_ref().is_some_and(|l| l.line >= 1), "{d}");
    }
}
