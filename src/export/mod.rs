//! Customer Match exports: a segment's members (or the day's changes) from
//! the daily segment tables, joined with their identifier and consent
//! columns, normalized and hashed as `../shared/CUSTOMER_MATCH.md` says, and
//! written as CSV parts plus `_manifest.json` to Cloud Storage or a folder.
//!
//! - [`normalize`], [`phone`], [`country`], [`hash`]: the normalization rules;
//!   [`sql`] renders the same rules as BigQuery SQL (`EXPORT DATA`).
//! - [`record`]: one row → one CSV line, with consent and rejects counted in
//!   a [`report::Tally`] (counts only, never values).
//! - [`parts`], [`manifest`]: part files and the manifest.
//! - [`source`]: which rows an export reads, and the refusals (day never
//!   refreshed, drift-blocked).
//! - [`run`]: one export for one day, from the engine's rows to the files.
//! - [`sink`], [`gcs`], [`publish`]: where files go, and the write order
//!   that makes a present manifest mean a complete day.

pub mod country;
pub mod gcs;
pub mod hash;
pub mod manifest;
pub mod normalize;
pub mod parts;
pub mod phone;
pub mod publish;
pub mod record;
pub mod report;
pub mod run;
pub mod sink;
pub mod source;
pub mod sql;

pub use manifest::{MANIFEST, Manifest};
pub use record::{Columns, Normalizer, Options, Row};
pub use report::{Reject, Tally};
pub use sink::{Destination, FileSink, Sink};
