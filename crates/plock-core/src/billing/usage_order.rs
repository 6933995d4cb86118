//! A run's billed usage put in order without comparing ids: each subscription's entries are
//! one contiguous run, sorted where it is made; runs are then ordered by the subscription's
//! rank (its place in id order) and gathered into one vector from the chunks that made them.
//!
//! Sorting the whole list compared subscription ids, strings, about 20 times an entry: at
//! the kit's M scale (437,000 entries) that was a third of the run's instructions.

use super::billed_usage::BilledUsage;
use super::rank_order::by_distinct_rank;
use crate::par::prelude::*;

/// A subscription's entries: its rank, where they start and how many there are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct UsageRun {
    pub(super) rank: u32,
    pub(super) start: usize,
    pub(super) len: usize,
}

/// One chunk's entries and where each subscription's run of them is.
pub(super) type Part<T> = (Vec<T>, Vec<UsageRun>);

/// Sorts one subscription's new entries, `items[from..]`, unless they already are (most
/// are: items priced in product order, periods in date order).
pub(super) fn sort_tail<T: Ord>(items: &mut [T], from: usize) {
    if let Some(tail) = items.get_mut(from..)
        && !tail.is_sorted()
    {
        tail.sort_unstable();
    }
}

/// Sorts one subscription's new entries of billed usage, `usage[from..]`, unless they
/// already are. Entries of one subscription in strictly increasing (product, period) order
/// are in order, whatever their other fields: checking that compares a product and a
/// period a pair, where the entries' whole order compared their subscription ids first.
pub(super) fn sort_subscription_usage(usage: &mut [BilledUsage], from: usize) {
    let in_order = usage.get(from..).is_some_and(|tail| {
        tail.is_sorted_by(|a, b| {
            a.subscription == b.subscription && (&a.product, a.period) < (&b.product, b.period)
        })
    });
    if !in_order {
        sort_tail(usage, from);
    }
}

/// The items of `parts` in order, given each part's runs (disjoint, each sorted within, of
/// distinct ranks, and ranks ordered as the runs' items are): the runs of all parts ordered
/// by rank and their items moved into one vector, each part freed once its last run is
/// taken, so no serial copy of every part into one vector comes first. Parts whose runs do
/// not tile their items exactly (which the run does not make) are concatenated and sorted
/// whole, so the order is right either way.
pub(super) fn gather_runs<T: Ord + Send + Sync>(parts: Vec<Part<T>>) -> Vec<T> {
    let tiled = parts.iter().all(|(items, runs)| {
        let end = runs.iter().try_fold(0usize, |at, r| {
            (r.start == at).then(|| at.saturating_add(r.len))
        });
        end == Some(items.len())
    });
    if !tiled {
        let mut all: Vec<T> = parts.into_iter().flat_map(|(items, _)| items).collect();
        all.par_sort_unstable();
        return all;
    }
    // (rank, part, start, len) of every run, in rank order.
    let mut runs: Vec<(u32, usize, usize, usize)> =
        Vec::with_capacity(parts.iter().map(|(_, runs)| runs.len()).sum());
    runs.extend(
        parts
            .iter()
            .enumerate()
            .flat_map(|(p, (_, runs))| runs.iter().map(move |r| (r.rank, p, r.start, r.len))),
    );
    let bound = runs
        .iter()
        .map(|r| r.0 as usize)
        .max()
        .map_or(0, |r| r.saturating_add(1));
    let runs = by_distinct_rank(runs, bound, |r| r.0);
    // Where each part's last run is in that order: the part is freed there.
    let mut last = vec![0usize; parts.len()];
    for (at, (_, p, ..)) in runs.iter().enumerate() {
        if let Some(l) = last.get_mut(*p) {
            *l = at;
        }
    }
    let total = parts.iter().map(|(items, _)| items.len()).sum();
    // Each item moved out of its slot, where cloning it and dropping the original later
    // cost two id clones and two id drops an entry. Wrapped in place: no second vector.
    let mut slots: Vec<Vec<Option<T>>> = parts
        .into_iter()
        .map(|(items, _)| items.into_iter().map(Some).collect())
        .collect();
    let mut gathered = Vec::with_capacity(total);
    for (at, (_, p, start, len)) in runs.into_iter().enumerate() {
        let Some(items) = slots.get_mut(p) else {
            continue;
        };
        if let Some(run) = items.get_mut(start..start.saturating_add(len)) {
            gathered.extend(run.iter_mut().filter_map(Option::take));
        }
        if last.get(p) == Some(&at) {
            *items = Vec::new();
        }
    }
    gathered
}

#[cfg(test)]
mod tests {
    use super::{Part, UsageRun, gather_runs};
    use proptest::prelude::*;

    proptest! {
        /// Runs of sorted keys, laid out in any order across parts, come out as a whole sort
        /// would give.
        #[test]
        fn runs_ordered_by_rank_equal_a_whole_sort(
            runs in prop::collection::vec(prop::collection::vec(0u8..5, 0..6), 0..40),
            seed in any::<u64>(),
            part_count in 1usize..4,
        ) {
            // Run r holds (r, key) pairs; laid out shuffled by a seeded rotation and reversal,
            // dealt to the parts in turn.
            let mut order: Vec<usize> = (0..runs.len()).collect();
            if !order.is_empty() {
                let k = usize::try_from(seed % order.len() as u64).unwrap();
                order.rotate_left(k);
                if seed % 2 == 0 {
                    order.reverse();
                }
            }
            let mut parts: Vec<Part<(u32, u8)>> = vec![(Vec::new(), Vec::new()); part_count];
            let mut expected = Vec::new();
            for (n, r) in order.into_iter().enumerate() {
                let mut run: Vec<(u32, u8)> =
                    runs[r].iter().map(|k| (u32::try_from(r).unwrap(), *k)).collect();
                run.sort_unstable();
                let (items, layout) = &mut parts[n % part_count];
                layout.push(UsageRun { rank: u32::try_from(r).unwrap(), start: items.len(), len: run.len() });
                expected.extend(run.iter().copied());
                items.extend(run);
            }
            expected.sort_unstable();
            prop_assert_eq!(gather_runs(parts), expected);
        }
    }

    proptest! {
        /// A subscription's entries come out as a whole sort gives them: equal products and
        /// periods, entries of another subscription, any other fields.
        #[test]
        fn subscription_usage_is_sorted_as_a_whole(
            entries in prop::collection::vec((0u8..2, 0u8..3, 0u32..2, 0u64..3, any::<bool>()), 0..8),
            from in 0usize..3,
            in_product_order in any::<bool>(),
        ) {
            use crate::billing::BilledUsage;
            use crate::id::{ProductId, SubscriptionId};
            use crate::period::Period;
            use chrono::{Days, NaiveDate};
            use rust_decimal::Decimal;
            let day = NaiveDate::from_ymd_opt(2025, 1, 1).unwrap();
            let mut usage: Vec<BilledUsage> = entries
                .iter()
                .map(|(sub, product, start, records, skipped)| BilledUsage {
                    subscription: SubscriptionId::new(sub.to_string()).unwrap(),
                    product: ProductId::new(product.to_string()).unwrap(),
                    period: Period::new(day + Days::new(u64::from(*start)), day + Days::new(9)).unwrap(),
                    records: *records,
                    quantity: Decimal::ONE,
                    amount: Decimal::new(i64::try_from(*records).unwrap(), 2),
                    replaces: None,
                    skipped: *skipped,
                })
                .collect();
            // Most tails come in (product, period) order: entries equal on both are then
            // in any order of their other fields.
            if in_product_order && let Some(tail) = usage.get_mut(from..) {
                tail.sort_by(|a, b| (&a.product, a.period).cmp(&(&b.product, b.period)));
            }
            let mut expected = usage.clone();
            if let Some(tail) = expected.get_mut(from..) {
                tail.sort_unstable();
            }
            super::sort_subscription_usage(&mut usage, from);
            prop_assert_eq!(usage, expected);
        }
    }

    #[test]
    fn runs_not_covering_the_items_fall_back_to_a_sort() {
        let items = vec![(2, 0), (1, 5), (1, 3)];
        let runs = vec![UsageRun {
            rank: 2,
            start: 0,
            len: 1,
        }];
        assert_eq!(gather_runs(vec![(items, runs)]), [(1, 3), (1, 5), (2, 0)]);
    }

    #[test]
    fn overlapping_runs_fall_back_to_a_sort() {
        let items = vec![(2, 0), (1, 5), (1, 3)];
        let run = |rank, start, len| UsageRun { rank, start, len };
        let runs = vec![run(2, 0, 2), run(1, 1, 2)];
        assert_eq!(gather_runs(vec![(items, runs)]), [(1, 3), (1, 5), (2, 0)]);
    }
}
