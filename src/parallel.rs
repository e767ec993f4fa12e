//! Spreading independent CPU work (rendering, parsing) over the machine's
//! cores with scoped threads: [`map`] keeps the input order, so callers
//! that report the first error in that order behave exactly as a loop would.

use std::num::NonZeroUsize;

/// Items below this many run on the calling thread (a thread costs more).
const MIN_ITEMS_PER_THREAD: usize = 16;
/// The main thread's usual stack (parsing and rendering recurse; a spawned
/// thread's default of 2 MiB could fail on a model the main thread handles).
const STACK_SIZE: usize = 8 << 20;

/// `items.iter().map(f).collect()`, the items split into contiguous chunks
/// run on up to one thread per core.
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
    let chunk = items.len().div_ceil(threads);
    let f = &f;
    std::thread::scope(|scope| {
        // A chunk whose thread cannot start runs on this thread instead.
        let parts: Vec<_> = items
            .chunks(chunk)
            .map(|part| {
                let spawned = std::thread::Builder::new()
                    .stack_size(STACK_SIZE)
                    .spawn_scoped(scope, move || part.iter().map(f).collect::<Vec<R>>());
                (part, spawned.ok())
            })
            .collect();
        let mut out = Vec::with_capacity(items.len());
        for (part, handle) in parts {
            match handle.map(|h| h.join()) {
                Some(Ok(results)) => out.extend(results),
                // A panic in `f` is a bug: surface it as the loop would have.
                Some(Err(panic)) => std::panic::resume_unwind(panic),
                None => out.extend(part.iter().map(f)),
            }
        }
        out
    })
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
    }
}
