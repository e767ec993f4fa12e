//! The library's error type: every failure a user can cause carries a
//! [`Diagnostic`] saying what is wrong, where (file:line:col) and how to fix it.
//!
//! Two families matter to the CLI: [`Error::Config`] (bad project, profile or
//! flags; exit code 2, raised before anything runs) and [`Error::Execution`]
//! (a model or query failed while running; exit code 1).

use std::fmt;
use std::path::{Path, PathBuf};

/// A position in a project file, 1-based line and column.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Location {
    pub file: PathBuf,
    pub line: usize,
    pub column: usize,
}

impl Location {
    pub fn new(file: impl Into<PathBuf>, line: usize, column: usize) -> Self {
        Self {
            file: file.into(),
            line: line.max(1),
            column: column.max(1),
        }
    }

    /// The start of a file, for errors that concern the file as a whole.
    pub fn file_start(file: impl Into<PathBuf>) -> Self {
        Self::new(file, 1, 1)
    }

    /// This location, with its path shown relative to `base` when it is inside it.
    pub fn relative_to(&self, base: &Path) -> Location {
        let file = self
            .file
            .strip_prefix(base)
            .map(Path::to_path_buf)
            .unwrap_or_else(|_| self.file.clone());
        Location {
            file,
            ..self.clone()
        }
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.file.display(), self.line, self.column)
    }
}

/// One user-facing problem: a message, where it is, and a hint to fix it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    pub message: String,
    pub location: Option<Location>,
    pub help: Option<String>,
}

impl Diagnostic {
    pub fn new(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            location: None,
            help: None,
        }
    }

    pub fn at(mut self, location: Location) -> Self {
        self.location = Some(location);
        self
    }

    pub fn at_opt(mut self, location: Option<Location>) -> Self {
        if location.is_some() {
            self.location = location;
        }
        self
    }

    pub fn help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(location) = &self.location {
            write!(f, "{location}: ")?;
        }
        write!(f, "{}", self.message)?;
        if let Some(help) = &self.help {
            write!(f, "\n  help: {help}")?;
        }
        Ok(())
    }
}

/// The library's error.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The project, profile or command line is wrong; nothing ran.
    #[error("{0}")]
    Config(Box<Diagnostic>),
    /// Running a model, query or export failed.
    #[error("{0}")]
    Execution(Box<Diagnostic>),
    /// The run was interrupted (Ctrl-C / SIGTERM) before it finished.
    #[error("interrupted")]
    Interrupted,
}

impl Error {
    pub fn config(diagnostic: Diagnostic) -> Self {
        Error::Config(Box::new(diagnostic))
    }

    pub fn execution(diagnostic: Diagnostic) -> Self {
        Error::Execution(Box::new(diagnostic))
    }

    /// An I/O failure on `path` during execution.
    pub fn io(action: &str, path: &Path, err: std::io::Error) -> Self {
        Error::execution(Diagnostic::new(format!(
            "could not {action} {}: {err}",
            path.display()
        )))
    }

    pub fn diagnostic(&self) -> Option<&Diagnostic> {
        match self {
            Error::Config(d) | Error::Execution(d) => Some(d),
            Error::Interrupted => None,
        }
    }

    /// True when the error is the user's input (exit code 2).
    pub fn is_config(&self) -> bool {
        matches!(self, Error::Config(_))
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// The closest candidate to `word`, if one is close enough to be a useful suggestion.
pub fn closest<'a, I>(word: &str, candidates: I) -> Option<&'a str>
where
    I: IntoIterator<Item = &'a str>,
{
    let word_lower = word.to_ascii_lowercase();
    candidates
        .into_iter()
        .map(|c| {
            (
                strsim::jaro_winkler(&word_lower, &c.to_ascii_lowercase()),
                c,
            )
        })
        .filter(|(score, _)| *score >= 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0).then_with(|| b.1.cmp(a.1)))
        .map(|(_, c)| c)
}

/// "did you mean `x`?" or a list of what exists, for unknown-name errors.
pub fn suggestion<'a, I>(word: &str, candidates: I, kind: &str) -> String
where
    I: IntoIterator<Item = &'a str>,
{
    let mut all: Vec<&str> = candidates.into_iter().collect();
    match closest(word, all.iter().copied()) {
        Some(best) => format!("did you mean `{best}`?"),
        None => {
            all.sort_unstable();
            all.dedup();
            if all.is_empty() {
                format!("no {kind} is defined")
            } else if all.len() <= 12 {
                format!("known {kind}s: {}", all.join(", "))
            } else {
                format!("known {kind}s include: {}, ...", all[..12].join(", "))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn closest_finds_typos_and_rejects_strangers() {
        let names = ["customers", "sessions", "transactions"];
        assert_eq!(closest("custmers", names), Some("customers"));
        assert_eq!(closest("zzz", names), None);
    }

    #[test]
    fn diagnostic_display_has_location_and_help() {
        let d = Diagnostic::new("unknown ref `x`")
            .at(Location::new("models/a.sql", 3, 7))
            .help("did you mean `y`?");
        assert_eq!(
            d.to_string(),
            "models/a.sql:3:7: unknown ref `x`\n  help: did you mean `y`?"
        );
    }
}
