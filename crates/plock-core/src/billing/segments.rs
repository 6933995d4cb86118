//! How a streamed run is cut into segments, so that its invoices can be handed on while it
//! bills instead of all at its end.
//!
//! Invoices are numbered in the order of their owners' ranks. A partition's drafts belong to
//! its root or to one of its members' accounts (a child billed on its own), so a partition
//! can give drafts from its lowest such rank up. Partitions taken in the order of that lowest
//! rank and cut into segments: once a segment is billed, every draft whose owner ranks below
//! the next segment's lowest rank is known, and those are built and numbered. The few drafts
//! of higher owners (a master whose child ranks below it) wait for their turn.

use super::chunks::chunk_partitions;
use super::rank_order::by_distinct_rank;

/// One segment of partitions, and the owner rank below which every draft is known once it is
/// billed (`u32::MAX` for the last).
pub(super) struct Segment<'p, T> {
    pub(super) partitions: &'p [&'p [T]],
    pub(super) end: u32,
}

/// `partitions` (each put in place by a stable sort on `lowest`, the lowest owner rank it can
/// bill) cut into consecutive segments of about `size` items each; one segment when `size`
/// covers them all, and then nothing is reordered.
pub(super) fn cut<'p, 'q: 'p, T>(
    partitions: &'p mut [&'q [T]],
    total: usize,
    size: usize,
    lowest: impl Fn(&[T]) -> u32,
) -> Vec<Segment<'p, T>> {
    let count = total.div_ceil(size.max(1));
    if count > 1 {
        in_lowest_order(partitions, &lowest);
    }
    let partitions: &'p [&'p [T]] = partitions;
    let chunks = chunk_partitions(partitions, total, count);
    let ends: Vec<u32> = chunks
        .iter()
        .skip(1)
        .map(|c| c.first().map_or(u32::MAX, |p| lowest(p)))
        .chain(std::iter::once(u32::MAX))
        .collect();
    chunks
        .into_iter()
        .zip(ends)
        .map(|(partitions, end)| Segment { partitions, end })
        .collect()
}

/// Puts `partitions` in the order of `lowest`, stably, each key taken once: a key walks its
/// whole partition, and a sort that took it at every comparison walked them all many times
/// (a twentieth of a run's instructions at M, on one thread). The keys are distinct ranks
/// (an account is in one partition), so each partition is placed at its key in one pass.
fn in_lowest_order<T>(partitions: &mut [&[T]], lowest: &impl Fn(&[T]) -> u32) {
    let keyed: Vec<(u32, &[T])> = partitions.iter().map(|p| (lowest(p), *p)).collect();
    if keyed.is_sorted_by_key(|(key, _)| *key) {
        return;
    }
    let bound = keyed
        .iter()
        .map(|(key, _)| *key as usize)
        .max()
        .map_or(0, |k| k.saturating_add(1));
    let ordered = by_distinct_rank(keyed, bound, |(key, _)| *key);
    for (slot, (_, p)) in partitions.iter_mut().zip(ordered) {
        *slot = p;
    }
}

#[cfg(test)]
mod tests {
    use super::cut;
    use proptest::prelude::*;

    proptest! {
        /// Every partition is in exactly one segment, its lowest rank at or above the end of
        /// the segment before: every draft of a rank below an end is billed by then. The last
        /// segment's end is `u32::MAX`: nothing waits past it.
        #[test]
        fn segments_cover_each_partition_once_in_rank_order(
            parts in prop::collection::vec(prop::collection::vec(0u32..200, 1..5), 0..60),
            size in 1usize..20,
        ) {
            let mut slices: Vec<&[u32]> = parts.iter().map(Vec::as_slice).collect();
            let total = slices.iter().map(|p| p.len()).sum();
            let lowest = |p: &[u32]| p.iter().copied().min().unwrap_or(u32::MAX);
            let segments = cut(&mut slices, total, size, lowest);
            let mut seen: Vec<&[u32]> = Vec::new();
            let mut before = 0u32;
            for s in &segments {
                for p in s.partitions {
                    prop_assert!(lowest(p) >= before && lowest(p) <= s.end);
                    seen.push(p);
                }
                before = s.end;
            }
            let mut expected: Vec<&[u32]> = parts.iter().map(Vec::as_slice).collect();
            expected.sort();
            seen.sort();
            prop_assert_eq!(seen, expected);
            prop_assert!(segments.last().is_none_or(|s| s.end == u32::MAX));
        }
    }

    /// Partitions are put in the order of their lowest rank, placed by distinct keys or,
    /// when two share one, sorted stably: equal keys keep their order.
    #[test]
    fn partitions_come_in_lowest_rank_order_equal_keys_in_place() {
        let lowest = |p: &[u32]| p.iter().copied().min().unwrap_or(u32::MAX);
        let distinct: Vec<Vec<u32>> = vec![vec![5, 9], vec![2], vec![7, 3], vec![0]];
        let mut slices: Vec<&[u32]> = distinct.iter().map(Vec::as_slice).collect();
        super::in_lowest_order(&mut slices, &lowest);
        assert_eq!(slices, [&[0][..], &[2], &[7, 3], &[5, 9]]);

        let shared: Vec<Vec<u32>> = vec![vec![4, 1], vec![3], vec![1, 8], vec![0]];
        let mut slices: Vec<&[u32]> = shared.iter().map(Vec::as_slice).collect();
        super::in_lowest_order(&mut slices, &lowest);
        assert_eq!(slices, [&[0][..], &[4, 1], &[1, 8], &[3]]);
    }
}
