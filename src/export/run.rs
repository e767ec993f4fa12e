//! One export for one snapshot day: read the rows ([`super::source`]),
//! turn them into CSV parts and a manifest ([`prepare`]), then write them
//! ([`write`], through [`super::publish`]). A dry run stops after
//! [`prepare`]: the same counts and object names, nothing written.

use std::collections::BTreeMap;
use std::path::Path;

use chrono::NaiveDate;
use datafusion::arrow::array::{Array, ArrayRef, AsArray, RecordBatch};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::DataType;

use super::gcs::{GcsSettings, GcsSink};
use super::manifest::{FileEntry, Manifest};
use super::parts::{Part, PartWriter};
use super::publish::{Published, publish};
use super::record::{Columns, Normalizer, Options, Row};
use super::report::Tally;
use super::sink::{Destination, FileSink, Sink};
use super::source::{EXITED, ExportSource, columns};
use crate::engine::Engine;
use crate::error::{Diagnostic, Error, Result};
use crate::project::export::ExportMode;

/// An export's files for one day, ready to write.
#[derive(Debug, Clone)]
pub struct Prepared {
    pub day: NaiveDate,
    /// The day's folder (`<destination>/<export>/<day>`).
    pub folder: Destination,
    pub parts: Vec<Part>,
    pub manifest: Manifest,
}

/// Read the day's rows and build the parts and the manifest (writes nothing).
pub async fn prepare(
    engine: &dyn Engine,
    source: &ExportSource,
    day: NaiveDate,
    project_root: &Path,
) -> Result<Prepared> {
    let export = &source.export;
    export.consent_columns()?;
    let destination = Destination::parse(&export.destination, project_root).map_err(|m| {
        Error::config(
            Diagnostic::new(format!("export `{}`: destination: {m}", export.name))
                .at(export.destination_at.clone()),
        )
    })?;
    let result = engine.query(&source.rows_sql(day), None).await.map_err(|e| {
        let mut d = Diagnostic::new(format!(
            "export `{}`: reading the members of `{}` with their identifiers failed: {}",
            export.name,
            export.segment.name,
            e.diagnostic().map(|d| d.message.clone()).unwrap_or_else(|| e.to_string())
        ))
        .at(export.defined_at.clone());
        d = d.help(format!(
            "the identifier and consent columns must be columns of {} (identifiers_from), keyed by `{}`",
            source.identifiers.quoted(),
            source.entity_key
        ));
        Error::config(d)
    })?;
    let ids = &export.identifiers;
    let normalizer = Normalizer::new(
        Columns {
            emails: ids.emails.len(),
            phones: ids.phones.len(),
            address: ids.has_address(),
        },
        Options {
            hash: export.hash,
            gmail_remove_dots: export.gmail_remove_dots,
            default_country: export.default_country.clone(),
        },
    );
    let kinds: &[&'static str] = match export.mode {
        ExportMode::Full => &["members"],
        ExportMode::Delta => &["entered", "left"],
    };
    let mut lists: Vec<(PartWriter, Tally)> = kinds
        .iter()
        .map(|k| {
            (
                PartWriter::new(k, normalizer.header_line(), export.max_rows_per_file),
                Tally::default(),
            )
        })
        .collect();
    for batch in &result.batches {
        let batch = Batch::new(batch, &normalizer.columns, export.mode)?;
        for i in 0..batch.rows {
            let list = usize::from(batch.left(i));
            if let Some((writer, tally)) = lists.get_mut(list) {
                let (emails, phones) = (batch.emails(i), batch.phones(i));
                let row = Row {
                    emails: &emails,
                    phones: &phones,
                    first_name: batch.text(&batch.first_name, i),
                    last_name: batch.text(&batch.last_name, i),
                    country: batch.text(&batch.country, i),
                    zip: batch.text(&batch.zip, i),
                    consent: batch.consent(i),
                };
                if normalizer.push_row(&row, tally, writer.buffer()) {
                    writer.line_added();
                }
            }
        }
    }
    let mut parts = Vec::new();
    let mut counts = BTreeMap::new();
    let mut totals = Tally::default();
    for (kind, (writer, tally)) in kinds.iter().zip(lists) {
        parts.extend(writer.finish());
        totals.add(&tally);
        counts.insert(*kind, tally);
    }
    let manifest = Manifest {
        export: export.name.clone(),
        segment: export.segment.name.clone(),
        snapshot_date: day.to_string(),
        mode: export.mode.name(),
        hashed: export.hash,
        columns: normalizer.columns.header(),
        lists: counts,
        totals,
        files: parts.iter().map(FileEntry::from).collect(),
        cohort_version: env!("CARGO_PKG_VERSION"),
    };
    Ok(Prepared {
        day,
        folder: destination.folder(&export.name, &day.to_string()),
        parts,
        manifest,
    })
}

/// The sink of a day's folder.
pub async fn sink_for(folder: &Destination, gcs: &GcsSettings) -> Result<Box<dyn Sink>> {
    Ok(match folder {
        Destination::File(path) => Box::new(FileSink::new(path.clone())),
        Destination::Gcs { bucket, prefix } => {
            Box::new(GcsSink::connect(bucket, prefix, gcs).await?)
        }
    })
}

/// Write `prepared` to `sink`: parts, stale parts removed, manifest last.
pub async fn write(prepared: &Prepared, sink: &dyn Sink) -> Result<Published> {
    publish(sink, &prepared.parts, prepared.manifest.to_bytes()).await
}

/// One batch of rows with its columns as text.
struct Batch {
    rows: usize,
    change: Option<ArrayRef>,
    emails: Vec<ArrayRef>,
    phones: Vec<ArrayRef>,
    first_name: Option<ArrayRef>,
    last_name: Option<ArrayRef>,
    country: Option<ArrayRef>,
    zip: Option<ArrayRef>,
    consent: ArrayRef,
}

impl Batch {
    fn new(batch: &RecordBatch, layout: &Columns, mode: ExportMode) -> Result<Batch> {
        let column = |name: &str, data_type: &DataType| -> Result<ArrayRef> {
            let array = batch.column_by_name(name).ok_or_else(|| {
                Error::execution(Diagnostic::new(format!(
                    "export query returned no `{name}` column"
                )))
            })?;
            cast(array, data_type).map_err(|e| {
                Error::execution(Diagnostic::new(format!(
                    "export column `{name}` is not text: {e}"
                )))
            })
        };
        let text = |name: &str| column(name, &DataType::Utf8);
        let optional = |name: &str| -> Result<Option<ArrayRef>> {
            if batch.column_by_name(name).is_some() {
                text(name).map(Some)
            } else {
                Ok(None)
            }
        };
        Ok(Batch {
            rows: batch.num_rows(),
            change: match mode {
                ExportMode::Delta => Some(text(columns::CHANGE)?),
                ExportMode::Full => None,
            },
            emails: (0..layout.emails)
                .map(|i| text(&columns::email(i)))
                .collect::<Result<_>>()?,
            phones: (0..layout.phones)
                .map(|i| text(&columns::phone(i)))
                .collect::<Result<_>>()?,
            first_name: optional(columns::FIRST_NAME)?,
            last_name: optional(columns::LAST_NAME)?,
            country: optional(columns::COUNTRY)?,
            zip: optional(columns::ZIP)?,
            consent: column(columns::CONSENT, &DataType::Boolean)?,
        })
    }

    fn text<'a>(&self, array: &'a Option<ArrayRef>, i: usize) -> Option<&'a str> {
        let array = array.as_ref()?.as_string::<i32>();
        (!array.is_null(i)).then(|| array.value(i))
    }

    fn all<'a>(&self, arrays: &'a [ArrayRef], i: usize) -> Vec<Option<&'a str>> {
        arrays
            .iter()
            .map(|a| {
                let a = a.as_string::<i32>();
                (!a.is_null(i)).then(|| a.value(i))
            })
            .collect()
    }

    fn emails(&self, i: usize) -> Vec<Option<&str>> {
        self.all(&self.emails, i)
    }

    fn phones(&self, i: usize) -> Vec<Option<&str>> {
        self.all(&self.phones, i)
    }

    fn consent(&self, i: usize) -> bool {
        let consent = self.consent.as_boolean();
        !consent.is_null(i) && consent.value(i)
    }

    /// True for a delta row of someone who left (the second list).
    fn left(&self, i: usize) -> bool {
        self.change.as_ref().is_some_and(|c| {
            let c = c.as_string::<i32>();
            !c.is_null(i) && c.value(i) == EXITED
        })
    }
}
