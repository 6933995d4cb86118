//! Putting a run's results in order by ranks (dense integers below a known bound) by placing
//! each at its rank, one pass, instead of sorting: the subscriptions billed and the
//! subscriptions grouped by partition root, about 110,000 each at the kit's M scale.

/// Ranks a slot for each item, at least, for placing to beat a sort.
const SPARSE: usize = 16;

/// `items` ordered by `rank`, when the ranks are distinct and below `bound`: each is placed
/// at its rank. Otherwise, or when the items are few against `bound`, a stable sort by rank
/// gives the same order.
pub(super) fn by_distinct_rank<T>(
    mut items: Vec<T>,
    bound: usize,
    rank: impl Fn(&T) -> u32,
) -> Vec<T> {
    const FREE: u32 = u32::MAX;
    // Few items under a high bound (a streamed run's segment, whose ranks spread over all
    // of them): a sort of the items beats clearing and scanning a slot for every rank (at
    // L, 1.1 M slots for each of 268 segments).
    if bound / SPARSE > items.len() {
        items.sort_by_key(|i| rank(i));
        return items;
    }
    let mut at: Vec<u32> = vec![FREE; bound];
    let mut placed = u32::try_from(items.len()).is_ok();
    for (i, item) in (0u32..).zip(items.iter()) {
        match at.get_mut(rank(item) as usize) {
            Some(slot) if *slot == FREE && placed => *slot = i,
            _ => {
                placed = false;
                break;
            }
        }
    }
    if !placed {
        items.sort_by_key(|i| rank(i));
        return items;
    }
    let mut slots: Vec<Option<T>> = items.into_iter().map(Some).collect();
    // Sized once: a filtered iterator's collect grows its vector by doubling, a copy of
    // every item at each step.
    let mut ordered = Vec::with_capacity(slots.len());
    ordered.extend(
        at.into_iter()
            .filter(|i| *i != FREE)
            .filter_map(|i| slots.get_mut(i as usize).and_then(Option::take)),
    );
    ordered
}

/// `items` stably ordered by `group` (each below `bound`): counted, then placed, where a sort
/// compared each about 17 times. Groups at or past `bound` fall back to a stable sort.
pub(super) fn by_group<T: Copy>(
    mut items: Vec<T>,
    bound: usize,
    group: impl Fn(&T) -> u32,
) -> Vec<T> {
    if items.iter().any(|i| group(i) as usize >= bound) {
        items.sort_by_key(|i| group(i));
        return items;
    }
    let mut starts: Vec<usize> = vec![0; bound.saturating_add(1)];
    for item in &items {
        if let Some(count) = starts.get_mut((group(item) as usize).saturating_add(1)) {
            *count = count.saturating_add(1);
        }
    }
    let mut total = 0usize;
    for start in &mut starts {
        total = total.saturating_add(*start);
        *start = total;
    }
    let mut placed: Vec<Option<T>> = vec![None; items.len()];
    for item in &items {
        if let Some(next) = starts.get_mut(group(item) as usize) {
            if let Some(slot) = placed.get_mut(*next) {
                *slot = Some(*item);
            }
            *next = next.saturating_add(1);
        }
    }
    let mut grouped = Vec::with_capacity(items.len());
    grouped.extend(placed.into_iter().flatten());
    grouped
}

#[cfg(test)]
mod tests {
    use super::{by_distinct_rank, by_group};
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn placing_by_rank_is_a_stable_sort(
            ranks in prop::collection::vec(0u32..40, 0..30),
            bound in 0usize..45,
        ) {
            let items: Vec<(u32, usize)> = ranks.iter().copied().zip(0..).collect();
            let mut expected = items.clone();
            expected.sort_by_key(|i| i.0);
            prop_assert_eq!(by_distinct_rank(items.clone(), bound, |i| i.0), expected.clone());
            prop_assert_eq!(by_group(items, bound, |i| i.0), expected);
        }

        #[test]
        fn distinct_ranks_are_placed(mut ranks in prop::collection::vec(0u32..60, 0..30)) {
            ranks.sort_unstable();
            ranks.dedup();
            ranks.reverse();
            let placed = by_distinct_rank(ranks.clone(), 60, |r| *r);
            ranks.reverse();
            prop_assert_eq!(placed, ranks);
        }
    }
}
