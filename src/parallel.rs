//! Spreading independent CPU work (rendering, parsing) over the machine's
//! cores with scoped threads: [`map`] keeps the input order, so callers
//! that report the first error in that order behave exactly as a loop would.

use std::num::NonZeroUsize;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Below this many items per thread, fewer threads are used (a thread costs
/// tens of microseconds; one item, a YAML file or a model, costs more).
const MIN_ITEMS_PER_THREAD: usize = 2;
/// The main thread's usual stack (parsing and rendering recurse; a spawned
/// thread's default of 2 MiB could fail on a model the main thread handles).
const STACK_SIZE: usize = 8 << 20;

/// `items.iter().map(f).collect()`, run on up to one thread per core. Each
/// thread takes the next item not yet taken, so a few costly items (a large
/// schema file, a long model) do not leave the other threads idle.
pub fn map<T, R, F>(items: &[T], f: F) -> Vec<R>
where
    T: Sync,
    R: Send,
    F: Fn(&T) -> R + Sync,
{
    let cores = std::thread::available_parallelism().map_or(1, NonZeroUsize::get);
    let threads = cores.min(items.len() / MIN_ITEMS_PER_THREAD).max(1);
    if threads == 1 {
        return items.iter().map(f).collect();
    }
    let next = AtomicUsize::new(0);
    let work = || {
        let mut done = Vec::new();
        loop {
            let index = next.fetch_add(1, Ordering::Relaxed);
            let Some(item) = items.get(index) else {
                return done;
            };
            done.push((index, f(item)));
        }
    };
    let mut results: Vec<(usize, R)> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .filter_map(|_| {
                std::thread::Builder::new()
                    .stack_size(STACK_SIZE)
                    .spawn_scoped(scope, work)
                    .ok()
            })
            .collect();
        // Items no thread could start for run here.
        let mut results = work();
        for handle in handles {
            match handle.join() {
                Ok(part) => results.extend(part),
                // A panic in `f` is a bug: surface it as the loop would have.
                Err(panic) => std::panic::resume_unwind(panic),
            }
        }
        results
    });
    results.sort_unstable_by_key(|(index, _)| *index);
    results.into_iter().map(|(_, result)| result).collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn keeps_the_order_of_the_items() {
        let items: Vec<u32> = (0..1000).collect();
        let doubled = super::map(&items, |i| i * 2);
        assert_eq!(doubled, items.iter().map(|i| i * 2).collect::<Vec<_>>());
        assert!(super::map(&[] as &[u32], |i| *i).is_empty());
        assert_eq!(super::map(&[7], |i| i + 1), [8]);
        // Uneven costs: the order still follows the items.
        let slow_first: Vec<u64> = (0..40).rev().collect();
        let echoed = super::map(&slow_first, |&i| {
            std::thread::sleep(std::time::Duration::from_micros(i * 50));
            i
        });
        assert_eq!(echoed, slow_first);
    }
}
