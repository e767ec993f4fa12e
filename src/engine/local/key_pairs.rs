//! The keys that appear more than once in a column of integers, found
//! without hashing or sorting whole rows: the local engine's shortcut for
//! the first row per key ([`super::first_row`]) and for `unique` tests
//! ([`super::repeated_keys`]).
//!
//! A plan of two columns, an integer key and an integer-like ordering, is
//! read partition by partition (on every core); its `(key, ordering)` pairs
//! go into hash buckets of 1 MiB chunks; each bucket is sorted on its own
//! core, and its runs of one key give the repeated keys with their row
//! count and best ordering value. The pairs take 16 bytes a row from the
//! memory pool, up to half of it, so that operators running beside this one
//! keep room (a hash join's build side cannot spill); sorting a bucket
//! briefly copies it out of its chunks, so one bucket (the pairs over the
//! number of cores) is held twice for a moment. When they would take
//! more (200M rows in a 1 GB pool), or an ordering value cannot be told
//! apart from NULL in the encoding, [`repeated_keys`] returns `None` and the
//! caller runs its DataFusion plan instead.

use std::hash::BuildHasher;
use std::sync::{Arc, Mutex};

use datafusion::arrow::array::{Array, ArrayRef, AsArray};
use datafusion::arrow::compute::{SortOptions, can_cast_types, cast};
use datafusion::arrow::datatypes::{DataType, Int64Type};
use datafusion::common::hash_utils::RandomState;
use datafusion::common::{DataFusionError, Result, internal_err};
use datafusion::execution::memory_pool::{MemoryConsumer, MemoryLimit, MemoryReservation};
use datafusion::execution::{SendableRecordBatchStream, TaskContext};
use datafusion::physical_plan::{ExecutionPlan, ExecutionPlanProperties};
use futures::StreamExt;

/// A key seen more than once: its rows and its best ordering value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RepeatedKey {
    pub key: i64,
    pub rows: u64,
    pub best: u64,
}

/// What [`repeated_keys`] found.
#[derive(Debug, Default)]
pub struct Repeated {
    /// The non-NULL keys seen more than once, in no particular order.
    pub keys: Vec<RepeatedKey>,
    /// The NULL key's rows and best ordering value, when it has rows.
    pub null_key: Option<(u64, u64)>,
}

/// The repeated keys of `pairs` (column 0 the key, column 1 the ordering,
/// both integers, dates or timestamps), or `None` when the pairs would take
/// more than half the memory pool or an ordering value collides with NULL's
/// encoding. `consumer` names the reservation in memory errors.
pub async fn repeated_keys(
    pairs: &Arc<dyn ExecutionPlan>,
    context: &Arc<TaskContext>,
    options: SortOptions,
    consumer: &str,
) -> Result<Option<Repeated>> {
    let buckets = std::thread::available_parallelism().map_or(2, |n| n.get());
    let pool = context.memory_pool();
    let limit = match pool.memory_limit() {
        MemoryLimit::Finite(bytes) => bytes / 2,
        MemoryLimit::Infinite | MemoryLimit::Unknown => usize::MAX,
    };
    let budget = Arc::new(Mutex::new(Budget {
        reservation: MemoryConsumer::new(consumer).register(pool),
        limit,
    }));
    let mut tasks = tokio::task::JoinSet::new();
    for partition in 0..pairs.output_partitioning().partition_count() {
        let stream = pairs.execute(partition, Arc::clone(context))?;
        tasks.spawn(collect(stream, buckets, Arc::clone(&budget), options));
    }
    let mut collected = Vec::new();
    while let Some(joined) = tasks.join_next().await {
        let done = joined.map_err(|e| DataFusionError::External(Box::new(e)))??;
        match done {
            Some(pairs) => collected.push(pairs),
            None => {
                // The other partitions' pairs and their memory go before
                // the caller's fallback starts.
                tasks.shutdown().await;
                return Ok(None);
            }
        }
    }
    let repeated = tokio::task::spawn_blocking(move || sort_buckets(collected, buckets))
        .await
        .map_err(|e| DataFusionError::External(Box::new(e)))?;
    drop(budget);
    Ok(Some(repeated))
}

/// An ordering value as a `u64` that sorts first-row-first: smaller is
/// better, NULL at the end `options` puts it.
pub fn encode(value: Option<i64>, options: SortOptions) -> u64 {
    match value {
        None if options.nulls_first => 0,
        None => u64::MAX,
        Some(v) => {
            let ascending = (v as u64) ^ (1 << 63);
            if options.descending {
                !ascending
            } else {
                ascending
            }
        }
    }
}

/// A column of integers (or dates, timestamps) as `Int64`.
pub fn as_int64(array: &ArrayRef) -> Result<ArrayRef> {
    if array.data_type() == &DataType::Int64 {
        return Ok(Arc::clone(array));
    }
    Ok(cast(array, &DataType::Int64)?)
}

/// Integer types that fit an `i64` (keys of [`repeated_keys`]).
pub fn is_integer_key(data_type: &DataType) -> bool {
    matches!(
        data_type,
        DataType::Int8
            | DataType::Int16
            | DataType::Int32
            | DataType::Int64
            | DataType::UInt8
            | DataType::UInt16
            | DataType::UInt32
    )
}

/// Types whose order is their `i64` cast's order: integer keys, dates,
/// times and timestamps (orderings of [`repeated_keys`]).
pub fn is_integer_like(data_type: &DataType) -> bool {
    let temporal = matches!(
        data_type,
        DataType::Date32
            | DataType::Date64
            | DataType::Timestamp(..)
            | DataType::Time32(_)
            | DataType::Time64(_)
    );
    (is_integer_key(data_type) || temporal) && can_cast_types(data_type, &DataType::Int64)
}

/// The `(key, ordering)` pairs of one input partition, in hash buckets, and
/// the orderings of its NULL-key rows.
struct Pairs {
    /// Per bucket, chunks of [`CHUNK_PAIRS`] pairs (the memory taken is
    /// what is used, give or take a chunk, not a doubled vector).
    buckets: Vec<Vec<Vec<(i64, u64)>>>,
    null_key: Vec<u64>,
}

/// Pairs per chunk of [`Pairs`] (1 MiB).
const CHUNK_PAIRS: usize = 1 << 16;

impl Pairs {
    fn push(&mut self, bucket: usize, pair: (i64, u64)) {
        let Some(chunks) = self.buckets.get_mut(bucket) else {
            return;
        };
        match chunks.last_mut() {
            Some(chunk) if chunk.len() < CHUNK_PAIRS => chunk.push(pair),
            _ => {
                let mut chunk = Vec::with_capacity(CHUNK_PAIRS);
                chunk.push(pair);
                chunks.push(chunk);
            }
        }
    }

    fn capacity_bytes(&self) -> usize {
        let chunks: usize = self
            .buckets
            .iter()
            .flatten()
            .map(|chunk| chunk.capacity() * size_of::<(i64, u64)>())
            .sum();
        chunks + self.null_key.capacity() * size_of::<u64>()
    }
}

/// The memory the pairs may take (see the module documentation).
struct Budget {
    reservation: MemoryReservation,
    limit: usize,
}

impl Budget {
    fn try_grow(&mut self, bytes: usize) -> bool {
        self.reservation.size().saturating_add(bytes) <= self.limit
            && self.reservation.try_grow(bytes).is_ok()
    }
}

/// One partition's pairs; `None` when the budget cannot hold them or an
/// ordering value collides with NULL's encoding.
async fn collect(
    mut stream: SendableRecordBatchStream,
    buckets: usize,
    budget: Arc<Mutex<Budget>>,
    options: SortOptions,
) -> Result<Option<Pairs>> {
    let null_code = encode(None, options);
    let mut pairs = Pairs {
        buckets: vec![Vec::new(); buckets],
        null_key: Vec::new(),
    };
    let state = RandomState::default();
    while let Some(batch) = stream.next().await {
        let batch = batch?;
        let (Some(keys), Some(orders)) = (batch.columns().first(), batch.columns().get(1)) else {
            return internal_err!("repeated keys: the pairs have two columns");
        };
        let (keys, orders) = (as_int64(keys)?, as_int64(orders)?);
        let (keys, orders) = (
            keys.as_primitive::<Int64Type>(),
            orders.as_primitive::<Int64Type>(),
        );
        let before = pairs.capacity_bytes();
        for row in 0..batch.num_rows() {
            let order = orders.is_valid(row).then(|| orders.value(row));
            let code = encode(order, options);
            if order.is_some() && code == null_code {
                return Ok(None);
            }
            if keys.is_null(row) {
                pairs.null_key.push(code);
            } else {
                let key = keys.value(row);
                let bucket = (state.hash_one(key) as usize) % buckets;
                pairs.push(bucket, (key, code));
            }
        }
        let grown = pairs.capacity_bytes().saturating_sub(before);
        let fits = budget
            .lock()
            .map_err(|_| DataFusionError::Internal("repeated keys: a lock was poisoned".into()))?
            .try_grow(grown);
        if !fits {
            return Ok(None);
        }
    }
    Ok(Some(pairs))
}

/// Sorts each bucket (every partition's share of it) on its own thread and
/// keeps its runs of more than one row.
fn sort_buckets(collected: Vec<Pairs>, buckets: usize) -> Repeated {
    let mut chunks: Vec<Vec<Vec<(i64, u64)>>> = vec![Vec::new(); buckets];
    let mut null_key: Vec<u64> = Vec::new();
    for pairs in collected {
        for (bucket, part) in pairs.buckets.into_iter().enumerate() {
            if let Some(all) = chunks.get_mut(bucket) {
                all.extend(part);
            }
        }
        null_key.extend(pairs.null_key);
    }
    // One vector per bucket, each chunk freed once copied.
    let by_bucket: Vec<Vec<(i64, u64)>> = chunks
        .into_iter()
        .map(|bucket| {
            let mut all = Vec::with_capacity(bucket.iter().map(Vec::len).sum());
            for chunk in bucket {
                all.extend_from_slice(&chunk);
            }
            all
        })
        .collect();
    let keys = std::thread::scope(|scope| {
        let handles: Vec<_> = by_bucket
            .into_iter()
            .map(|mut bucket| {
                scope.spawn(move || {
                    bucket.sort_unstable();
                    bucket
                        .chunk_by(|a, b| a.0 == b.0)
                        .filter(|run| run.len() > 1)
                        .map(|run| RepeatedKey {
                            key: run[0].0,
                            rows: run.len() as u64,
                            best: run[0].1,
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
            .collect()
    });
    Repeated {
        keys,
        null_key: null_key
            .iter()
            .min()
            .map(|best| (null_key.len() as u64, *best)),
    }
}
