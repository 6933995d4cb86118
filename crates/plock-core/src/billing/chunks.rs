//! How the run's partitions are shared between threads: cut into chunks of about equal
//! subscription counts, many a thread, each taken largest first by whichever thread is free.

use std::sync::atomic::{AtomicUsize, Ordering};

use crate::par::prelude::*;

/// Chunks of partitions a thread: enough that the last one taken is short.
pub(super) const CHUNKS_PER_THREAD: usize = 32;

/// `work` done on each item, across the pool's threads, largest items (by `size`) first,
/// each taken by the next thread free; the results in no particular order.
pub(super) fn largest_first<T: Sync, R: Send>(
    items: &[T],
    size: impl Fn(&T) -> usize + Sync,
    work: impl Fn(&T, usize) -> R + Sync,
) -> Vec<R> {
    let mut order: Vec<(usize, &T)> = items.iter().map(|i| (size(i), i)).collect();
    order.sort_by_key(|(size, _)| std::cmp::Reverse(*size));
    let next = AtomicUsize::new(0);
    (0..crate::par::current_num_threads())
        .into_par_iter()
        .flat_map_iter(|_| {
            std::iter::from_fn(|| {
                let (size, item) = order.get(next.fetch_add(1, Ordering::Relaxed))?;
                Some(work(item, *size))
            })
        })
        .collect()
}

/// Consecutive runs of `partitions` holding about `total / chunks` subscriptions each.
pub(super) fn chunk_partitions<'p, T>(
    partitions: &'p [&'p [T]],
    total: usize,
    chunks: usize,
) -> Vec<&'p [&'p [T]]> {
    let target = total.div_ceil(chunks.max(1)).max(1);
    let mut out = Vec::with_capacity(chunks.saturating_add(1));
    let (mut start, mut size) = (0, 0usize);
    for (i, part) in partitions.iter().enumerate() {
        size = size.saturating_add(part.len());
        if size >= target {
            out.extend(partitions.get(start..=i));
            (start, size) = (i.saturating_add(1), 0);
        }
    }
    out.extend(partitions.get(start..).filter(|rest| !rest.is_empty()));
    out
}

#[cfg(test)]
mod tests {
    use super::largest_first;
    use proptest::prelude::*;

    proptest! {
        /// Every item is worked on exactly once, whatever the sizes and the threads.
        #[test]
        fn largest_first_works_every_item_once(
            sizes in prop::collection::vec(0usize..50, 0..60),
            threads in 1usize..4,
        ) {
            let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
            let items: Vec<(usize, usize)> = sizes.iter().copied().enumerate().collect();
            let mut done = pool.install(|| largest_first(&items, |i| i.1, |i, size| (i.0, size)));
            done.sort_unstable();
            prop_assert_eq!(done, items);
        }
    }
}
