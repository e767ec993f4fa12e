//! cohort: marketing data models and audience segments, declared in YAML and
//! BigQuery SQL, compiled to BigQuery SQL and built on BigQuery or locally on
//! Apache DataFusion.
//!
//! The flow of one build: [`project`] loads files into a `Project`, [`graph`]
//! orders its nodes, [`compile`] renders each node to BigQuery SQL, and an
//! [`engine`] materializes it. The library never prints and never exits; the
//! CLI (in `src/cli/`) owns terminal output and exit codes.

pub mod artifacts;
pub mod compile;
pub mod engine;
pub mod error;
pub mod export;
pub mod graph;
pub mod jinja;
pub mod open_files;
mod parallel;
pub mod profile;
pub mod project;
pub mod run;
pub mod sample;
pub mod schedule;
pub mod segments;
pub mod sql;
pub mod testing;

pub use error::{Diagnostic, Error, Location, Result};
