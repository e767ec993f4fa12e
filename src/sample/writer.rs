//! Parquet files that appear atomically: rows go to a hidden temporary file
//! next to the final one, which is renamed into place only once complete and
//! synced. A failed or killed run never leaves a half-written file under the
//! final name; a failed run also removes its temporary file.

use std::fs::File;
use std::io::BufWriter;
use std::path::{Path, PathBuf};

use datafusion::arrow::record_batch::RecordBatch;
use datafusion::parquet::arrow::ArrowWriter;
use datafusion::parquet::basic::{Compression, ZstdLevel};
use datafusion::parquet::errors::ParquetError;
use datafusion::parquet::file::properties::WriterProperties;
use datafusion::parquet::schema::types::ColumnPath;

use super::schema::Table;

use crate::{Diagnostic, Error};

/// Rows per Parquet row group.
const ROW_GROUP_ROWS: usize = 1 << 18;

/// A table's Parquet file while rows are being written to it.
pub struct ParquetFile {
    table: String,
    temp: TempPath,
    writer: ArrowWriter<BufWriter<File>>,
}

impl ParquetFile {
    /// Starts `<dir>/<table>.parquet` under a temporary name.
    pub fn create(dir: &Path, table: &Table) -> Result<Self, Error> {
        let name = table.name;
        let final_path = dir.join(format!("{name}.parquet"));
        let temp_path = dir.join(format!(".{name}.parquet.{}.tmp", std::process::id()));
        let file = File::create(&temp_path).map_err(|e| Error::io("create", &final_path, e))?;
        let temp = TempPath {
            temp: temp_path,
            final_path,
        };
        let writer = ArrowWriter::try_new(
            BufWriter::new(file),
            table.arrow_schema(),
            Some(properties(table)),
        )
        .map_err(|e| parquet_error(&temp.final_path, e))?;
        Ok(ParquetFile {
            table: name.to_string(),
            temp,
            writer,
        })
    }

    /// Appends a record batch.
    pub fn write(&mut self, batch: &RecordBatch) -> Result<(), Error> {
        self.writer
            .write(batch)
            .map_err(|e| parquet_error(&self.temp.final_path, e))
    }

    /// Writes the footer and syncs the temporary file to disk.
    pub fn finish(self) -> Result<FinishedFile, Error> {
        let ParquetFile {
            table,
            temp,
            writer,
        } = self;
        let buffered = writer
            .into_inner()
            .map_err(|e| parquet_error(&temp.final_path, e))?;
        let file = buffered
            .into_inner()
            .map_err(|e| Error::io("write", &temp.temp, e.into_error()))?;
        file.sync_all()
            .map_err(|e| Error::io("sync", &temp.temp, e))?;
        Ok(FinishedFile { table, temp })
    }
}

/// A complete file still under its temporary name.
pub struct FinishedFile {
    table: String,
    temp: TempPath,
}

impl FinishedFile {
    /// The table this file holds.
    pub fn table(&self) -> &str {
        &self.table
    }

    /// Moves the file to its final name (replacing an older one).
    pub fn publish(self) -> Result<PathBuf, Error> {
        let temp = &self.temp;
        std::fs::rename(&temp.temp, &temp.final_path)
            .map_err(|e| Error::io("rename into place", &temp.final_path, e))?;
        Ok(temp.final_path.clone())
    }
}

/// A temporary path that is removed when dropped, unless it was renamed away.
struct TempPath {
    temp: PathBuf,
    final_path: PathBuf,
}

impl Drop for TempPath {
    fn drop(&mut self) {
        // After a successful rename the temporary path no longer exists;
        // otherwise this is cleanup on failure, and nothing better can be
        // done if it fails too.
        let _ = std::fs::remove_file(&self.temp);
    }
}

/// Writer settings: zstd-compressed, row groups of [`ROW_GROUP_ROWS`],
/// dictionary encoding only where values repeat.
fn properties(table: &Table) -> WriterProperties {
    let level = ZstdLevel::try_new(1).unwrap_or_default();
    let mut builder = WriterProperties::builder()
        .set_compression(Compression::ZSTD(level))
        .set_max_row_group_row_count(Some(ROW_GROUP_ROWS))
        .set_dictionary_enabled(false);
    for column in table.dictionary {
        builder = builder.set_column_dictionary_enabled(ColumnPath::from(*column), true);
    }
    builder.build()
}

fn parquet_error(path: &Path, err: ParquetError) -> Error {
    Error::execution(Diagnostic::new(format!(
        "could not write {}: {err}",
        path.display()
    )))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sample::schema::TRANSACTIONS;

    fn entries(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    #[test]
    fn unfinished_files_leave_nothing_behind() {
        let dir = tempfile::tempdir().unwrap();
        let file = ParquetFile::create(dir.path(), &TRANSACTIONS).unwrap();
        assert_eq!(entries(dir.path()).len(), 1);
        drop(file);
        assert!(entries(dir.path()).is_empty());

        let file = ParquetFile::create(dir.path(), &TRANSACTIONS).unwrap();
        drop(file.finish().unwrap());
        assert!(entries(dir.path()).is_empty());
    }

    #[test]
    fn published_files_appear_under_the_final_name_only() {
        let dir = tempfile::tempdir().unwrap();
        let file = ParquetFile::create(dir.path(), &TRANSACTIONS).unwrap();
        let path = file.finish().unwrap().publish().unwrap();
        assert_eq!(path, dir.path().join("raw_transactions.parquet"));
        assert_eq!(entries(dir.path()), ["raw_transactions.parquet"]);
    }
}
