//! Account keys that are numbers (`1` to `100000`, as many books number their accounts):
//! found by their value in a table of places, one 4-byte slot a number up to the largest.
//! At 100,000 accounts that is 400 KB, which a core's cache holds, where the table of their
//! bytes ([`ShortIndex`](super::accounts::ShortIndex)) takes 1.5 MiB in two arrays, and a
//! lookup there missed the cache twice (the key's word, then its place).

use super::word::{ASCII_ZEROS, HIGH, LOW7, digit_value, low_bytes};
use crate::hash::inline;
use crate::id::AccountKey;

/// Slots a key at most, on average: a book whose numbers are sparser is left to the other
/// indexes (this one would hold more than their 12 to 24 bytes a key).
const SLOTS_A_KEY: usize = 3;

/// Slots past which a table no longer fits a core's cache (1 MiB), and a batch's slots are
/// loaded together before they are read.
const CACHED_SLOTS: usize = 1 << 18;

/// No account at this number.
const EMPTY: u32 = u32::MAX;

/// The places of account keys that are all numbers written plainly (digits, no leading zero),
/// by their value.
pub(super) struct NumberIndex {
    places: Vec<u32>,
}

/// The value of an inline key (`inline`'s) that is a number written plainly in at most 8
/// digits: no sign, no leading zero, nothing but digits.
#[inline(always)]
pub(super) fn number_of(key: [u64; 2]) -> Option<u32> {
    let [lo, hi] = key;
    let len = hi >> 56;
    // Bytes 8 to 14 hold nothing for keys of at most 8 bytes.
    if len == 0 || len > 8 || hi & ((1 << 56) - 1) != 0 {
        return None;
    }
    let x = lo ^ ASCII_ZEROS;
    // A byte is a digit when its value, xored, is below 10 (as `digits_at` checks).
    let stops = ((x & LOW7).wrapping_add(0x7676_7676_7676_7676) | x) & HIGH;
    let n = len as usize;
    if stops & low_bytes(HIGH, n) != 0 || (n > 1 && lo & 0xff == u64::from(b'0')) {
        return None;
    }
    // At most 8 digits: below 10^8.
    u32::try_from(digit_value(x, n as u32)).ok()
}

impl NumberIndex {
    /// The index of `keys` (the book's, sorted: a key's place is its index), or `None` when
    /// one is not a plain number or they are too sparse.
    pub(super) fn new(keys: &[AccountKey]) -> Option<NumberIndex> {
        let mut numbers = Vec::with_capacity(keys.len());
        for key in keys {
            numbers.push(inline(key.as_str()).and_then(number_of)?);
        }
        let largest = numbers.iter().copied().max()? as usize;
        let slots = largest.checked_add(1)?;
        if slots > keys.len().saturating_mul(SLOTS_A_KEY).max(64) {
            return None;
        }
        let mut places = vec![EMPTY; slots];
        for (place, number) in numbers.iter().enumerate() {
            *places.get_mut(*number as usize)? = u32::try_from(place).ok()?;
        }
        Some(NumberIndex { places })
    }

    /// Loads the slots of a batch's keys together when the table is larger than a core's
    /// cache, so their misses overlap.
    #[inline(always)]
    pub(super) fn touch(&self, keys: impl Iterator<Item = [u64; 2]>) {
        if self.places.len() <= CACHED_SLOTS {
            return;
        }
        let sum = keys
            .filter_map(number_of)
            .filter_map(|n| self.places.get(n as usize))
            .fold(0u32, |acc, p| acc ^ p);
        std::hint::black_box(sum);
    }

    /// The place of the key whose inline key is `key`.
    #[inline(always)]
    pub(super) fn get(&self, key: [u64; 2]) -> Option<u32> {
        let place = *self.places.get(number_of(key)? as usize)?;
        (place != EMPTY).then_some(place)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// A key is a number exactly when it is its value written plainly.
        #[test]
        fn numbers_are_keys_written_plainly(
            key in prop_oneof!["[0-9a ]{1,10}", "[1-9][0-9]{0,8}", "0[0-9]{0,8}"],
        ) {
            let plain = key
                .parse::<u32>()
                .ok()
                .filter(|n| n.to_string() == key && key.len() <= 8);
            prop_assert_eq!(inline(&key).and_then(number_of), plain, "{}", key);
        }
    }
}
