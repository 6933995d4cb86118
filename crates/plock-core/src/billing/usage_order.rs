//! A run's billed usage put in order without comparing ids: each subscription's entries are
//! one contiguous run, sorted where it is made; runs are then ordered by the subscription's
//! rank (its place in id order) and moved into place by one permutation, in place.
//!
//! Sorting the whole list compared subscription ids, strings, about 20 times an entry: at
//! the kit's M scale (437,000 entries) that was a third of the run's instructions.

use crate::par::prelude::*;

/// A subscription's entries: its rank, where they start and how many there are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct UsageRun {
    pub(super) rank: u32,
    pub(super) start: usize,
    pub(super) len: usize,
}

/// Sorts one subscription's new entries, `items[from..]`, unless they already are (most
/// are: items priced in product order, periods in date order).
pub(super) fn sort_tail<T: Ord>(items: &mut [T], from: usize) {
    if let Some(tail) = items.get_mut(from..)
        && !tail.is_sorted()
    {
        tail.sort_unstable();
    }
}

/// Puts `items` in order, given `runs`: disjoint, each sorted within, of distinct ranks,
/// and ranks ordered as the runs' items are. Runs that do not cover `items` exactly (which
/// the run does not make) are left to a whole sort, so the order is right either way.
pub(super) fn order_runs<T: Ord + Send>(items: &mut [T], mut runs: Vec<UsageRun>) {
    let covered = runs
        .iter()
        .map(|r| r.len)
        .fold(0usize, usize::saturating_add);
    if covered != items.len() {
        items.par_sort_unstable();
        return;
    }
    runs.par_sort_unstable_by_key(|r| r.rank);
    // Where each item goes: runs laid end to end in rank order.
    let mut dest: Vec<usize> = (0..items.len()).collect();
    let mut next = 0usize;
    for run in &runs {
        let targets = next..next.saturating_add(run.len);
        for (slot, target) in dest
            .get_mut(run.start..run.start.saturating_add(run.len))
            .unwrap_or_default()
            .iter_mut()
            .zip(targets)
        {
            *slot = target;
        }
        next = next.saturating_add(run.len);
    }
    if !permute(items, &mut dest) {
        // Overlapping runs: not a permutation.
        items.par_sort_unstable();
    }
}

/// Moves each `items[i]` to `dest[i]`, in place, following the permutation's cycles (each
/// swap puts one item where it belongs). `false`, `items` in some order, when `dest` is not
/// a permutation.
fn permute<T>(items: &mut [T], dest: &mut [usize]) -> bool {
    let n = items.len();
    if dest.len() != n {
        return false;
    }
    for i in 0..n {
        loop {
            let Some(&j) = dest.get(i) else { return false };
            if j == i {
                break;
            }
            // `dest[j] == j` while `dest[i] == j`: two items for one place.
            if j >= n || dest.get(j) == Some(&j) {
                return false;
            }
            items.swap(i, j);
            dest.swap(i, j);
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::{UsageRun, order_runs, permute};
    use proptest::prelude::*;

    proptest! {
        /// Runs of sorted keys, laid out in any order, come out as a whole sort would give.
        #[test]
        fn runs_ordered_by_rank_equal_a_whole_sort(
            runs in prop::collection::vec(prop::collection::vec(0u8..5, 0..6), 0..40),
            seed in any::<u64>(),
        ) {
            // Run r holds (r, key) pairs; laid out shuffled by a seeded rotation and reversal.
            let mut order: Vec<usize> = (0..runs.len()).collect();
            if !order.is_empty() {
                let k = usize::try_from(seed % order.len() as u64).unwrap();
                order.rotate_left(k);
                if seed % 2 == 0 {
                    order.reverse();
                }
            }
            let mut items = Vec::new();
            let mut layout = Vec::new();
            for r in order {
                let mut run: Vec<(u32, u8)> =
                    runs[r].iter().map(|k| (u32::try_from(r).unwrap(), *k)).collect();
                run.sort_unstable();
                layout.push(UsageRun { rank: u32::try_from(r).unwrap(), start: items.len(), len: run.len() });
                items.extend(run);
            }
            let mut expected = items.clone();
            expected.sort_unstable();
            order_runs(&mut items, layout);
            prop_assert_eq!(items, expected);
        }
    }

    #[test]
    fn a_destination_taken_twice_is_refused() {
        let mut items = [1, 2, 3];
        assert!(!permute(&mut items, &mut [1, 1, 2]));
        assert!(permute(&mut items, &mut [2, 0, 1]));
        assert_eq!(items, [2, 3, 1]);
    }

    #[test]
    fn runs_not_covering_the_items_fall_back_to_a_sort() {
        let mut items = vec![(2, 0), (1, 5), (1, 3)];
        order_runs(
            &mut items,
            vec![UsageRun {
                rank: 2,
                start: 0,
                len: 1,
            }],
        );
        assert_eq!(items, [(1, 3), (1, 5), (2, 0)]);
    }
}
