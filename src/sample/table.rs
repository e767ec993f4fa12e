//! A table being generated: its column builders, cut into record batches of
//! [`BATCH_ROWS`] rows that are sent to the thread writing the table's file
//! (a bounded channel, so memory stays bounded however many rows there are).

use std::sync::mpsc::{Receiver, SyncSender, sync_channel};

use datafusion::arrow::error::ArrowError;
use datafusion::arrow::record_batch::RecordBatch;

use super::writer::{FinishedFile, ParquetFile};
use crate::{Diagnostic, Error};

/// Rows per record batch handed to the Parquet writer.
pub const BATCH_ROWS: usize = 32_768;
/// Record batches that may wait for a writer before generation blocks.
const QUEUE_BATCHES: usize = 4;

/// Column builders of one table.
pub trait Batch {
    /// Rows appended since the last [`Batch::finish`].
    fn len(&self) -> usize;
    /// The appended rows as a record batch; the builders start over empty.
    fn finish(&mut self) -> Result<RecordBatch, ArrowError>;
}

/// The generating side of a table: builders and the channel to its writer.
pub struct Feed<B> {
    pub batch: B,
    table: &'static str,
    sender: SyncSender<RecordBatch>,
}

/// A new feed for `table` and the receiving end for its writer.
pub fn feed<B: Batch>(table: &'static str, batch: B) -> (Feed<B>, Receiver<RecordBatch>) {
    let (sender, receiver) = sync_channel(QUEUE_BATCHES);
    (
        Feed {
            batch,
            table,
            sender,
        },
        receiver,
    )
}

impl<B: Batch> Feed<B> {
    /// Sends the builders' rows once they make a full batch. Returns false
    /// when the writer has stopped (it failed; its error is reported by it).
    pub fn flush_if_full(&mut self) -> Result<bool, Error> {
        if self.batch.len() >= BATCH_ROWS {
            return self.flush();
        }
        Ok(true)
    }

    /// Sends whatever the builders hold; false when the writer has stopped.
    pub fn flush(&mut self) -> Result<bool, Error> {
        if self.batch.len() == 0 {
            return Ok(true);
        }
        let batch = self.batch.finish().map_err(|e| {
            Error::execution(Diagnostic::new(format!(
                "could not build a record batch for {}: {e}",
                self.table
            )))
        })?;
        Ok(self.sender.send(batch).is_ok())
    }
}

/// The writing side: writes every batch received until the feed is dropped,
/// then completes the file. Returns it with its row count.
pub fn drain(
    mut file: ParquetFile,
    receiver: Receiver<RecordBatch>,
) -> Result<(FinishedFile, u64), Error> {
    let mut rows = 0;
    for batch in receiver {
        rows += batch.num_rows() as u64;
        file.write(&batch)?;
    }
    Ok((file.finish()?, rows))
}
