//! `cohort init DIR`: a small working project (a CSV source, a YAML model,
//! a SQL model and a macro) that builds with `cohort build` right away.

use std::fs;
use std::path::Path;

use cohort::error::{Diagnostic, Error, Result};

use super::EXIT_OK;
use super::output::Printer;

const FILES: &[(&str, &str)] = &[
    ("cohort.yml", include_str!("starter/cohort.yml")),
    ("models/sources.yml", include_str!("starter/sources.yml")),
    ("models/orders.yml", include_str!("starter/orders.yml")),
    (
        "models/customer_revenue.sql",
        include_str!("starter/customer_revenue.sql"),
    ),
    (
        "macros/normalize_email.sql",
        include_str!("starter/normalize_email.sql"),
    ),
    (
        "data/raw_orders.csv",
        include_str!("starter/raw_orders.csv"),
    ),
    (".gitignore", "target/\n"),
];

pub fn run(dir: &Path, printer: &Printer) -> Result<u8> {
    if dir.join(cohort::project::PROJECT_FILE).exists() {
        return Err(Error::config(
            Diagnostic::new(format!("{} already holds a cohort project", dir.display()))
                .help("choose a new folder: cohort init my_project"),
        ));
    }
    let name = project_name(dir);
    for (path, text) in FILES {
        let full = dir.join(path);
        if let Some(parent) = full.parent() {
            fs::create_dir_all(parent).map_err(|e| Error::io("create", parent, e))?;
        }
        fs::write(&full, text.replace("__NAME__", &name))
            .map_err(|e| Error::io("write", &full, e))?;
    }
    printer.info(&format!("Created project `{name}` in {}", dir.display()));
    printer.info(&format!("Next: cd {} && cohort build", dir.display()));
    Ok(EXIT_OK)
}

/// A valid project name from the folder's name.
fn project_name(dir: &Path) -> String {
    let raw = std::path::absolute(dir)
        .ok()
        .and_then(|p| p.file_name().map(|n| n.to_string_lossy().to_string()))
        .unwrap_or_default();
    let mut name: String = raw
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '_'
            }
        })
        .collect();
    if name.is_empty() || name.starts_with(|c: char| c.is_ascii_digit()) {
        name.insert_str(0, "project_");
    }
    name
}
