//! Sorting a bucket's 64-bit keys: one counting pass by their top bits, then each run of
//! keys sharing those bits sorted on its own.
//!
//! A bucket's keys lead with their group's bits under the bucket's, so their top bits are
//! about the group: counted by those, a bucket of 10,000 records falls into runs of a group
//! or a few (about ten records at the kit's M), each sorted in a few comparisons, where one
//! sort of the whole bucket makes about 13 comparisons a key. The counting pass reads the
//! keys twice and writes them twice, all in a core's cache.

/// Buckets shorter than this are sorted whole: the counting pass would not pay for itself.
const LEAST_COUNTED: usize = 1 << 8;

/// The most top bits counted by: 2^16 counters of 8 bytes, 512 KiB, about a core's cache.
const MOST_DIGIT_BITS: u32 = 16;

/// Room a sort reuses from bucket to bucket.
#[derive(Default)]
pub(super) struct SortRoom {
    /// Keys made from a bucket's items, for items that are not 64-bit keys themselves.
    pub(super) keys: Vec<u64>,
    /// Where the counting pass puts the keys in order of their top bits.
    spare: Vec<u64>,
    /// The counting pass's counters.
    counts: Vec<usize>,
}

/// Sorts `keys` (the same order as `sort_unstable`), with the room of `room` other than its
/// `keys`.
pub(super) fn sort_keys(keys: &mut [u64], room: &mut SortRoom) {
    sort_with(keys, &mut room.spare, &mut room.counts);
}

/// Sorts `room.keys` as [`sort_keys`] does.
pub(super) fn sort_room_keys(room: &mut SortRoom) {
    sort_with(&mut room.keys, &mut room.spare, &mut room.counts);
}

/// Sorts `keys` by counting them by their top bits into `spare`, then sorting each run of
/// equal top bits, then copying them back.
fn sort_with(keys: &mut [u64], spare: &mut Vec<u64>, counts: &mut Vec<usize>) {
    let n = keys.len();
    if n < LEAST_COUNTED {
        keys.sort_unstable();
        return;
    }
    // Every key is below 2^high; its digit is its bits from `shift` up.
    let all = keys.iter().fold(0u64, |all, k| all | k);
    let high = 64u32.saturating_sub(all.leading_zeros());
    let digit_bits = n.ilog2().min(MOST_DIGIT_BITS).min(high);
    let shift = high.saturating_sub(digit_bits);
    let digit = |k: u64| usize::try_from(k.checked_shr(shift).unwrap_or(0)).unwrap_or(0);
    counts.clear();
    counts.resize(1usize << digit_bits, 0);
    for k in keys.iter() {
        if let Some(c) = counts.get_mut(digit(*k)) {
            *c = c.wrapping_add(1);
        }
    }
    // Each counter becomes where its digit's keys start (at most `n`: no wrap).
    let mut at = 0usize;
    for c in counts.iter_mut() {
        let count = *c;
        *c = at;
        at = at.wrapping_add(count);
    }
    spare.clear();
    spare.resize(n, 0);
    for k in keys.iter() {
        if let Some(next) = counts.get_mut(digit(*k))
            && let Some(slot) = spare.get_mut(*next)
        {
            *slot = *k;
            *next = next.wrapping_add(1);
        }
    }
    // Each counter is now where its digit's keys end.
    let mut start = 0usize;
    for end in counts.iter().copied() {
        if end.wrapping_sub(start) > 1
            && let Some(run) = spare.get_mut(start..end)
        {
            run.sort_unstable();
        }
        start = end;
    }
    keys.copy_from_slice(spare);
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// Keys of any spread, few or many, as one sort orders them.
        #[test]
        fn keys_sort_as_one_sort_does(
            keys in prop::collection::vec(any::<u64>(), 0..3_000),
            bits in 0u32..=64,
            repeats in 1usize..4,
        ) {
            let mask = 1u64.checked_shl(bits).map_or(u64::MAX, |b| b - 1);
            let mut keys: Vec<u64> = keys
                .iter()
                .flat_map(|k| std::iter::repeat_n(k & mask, repeats))
                .collect();
            let mut expected = keys.clone();
            expected.sort_unstable();
            let mut room = SortRoom::default();
            sort_keys(&mut keys, &mut room);
            prop_assert_eq!(&keys, &expected);
            // The room, reused, sorts again.
            room.keys = keys.iter().rev().copied().collect();
            sort_room_keys(&mut room);
            prop_assert_eq!(room.keys, expected);
        }
    }
}
