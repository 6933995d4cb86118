//! Sorting by id text with integer comparisons: each item carries its id's first 16 bytes
//! as a big-endian `u128`, and only items whose prefixes are equal compare their whole ids.
//!
//! A prefix, zero-padded, orders as the text does: at the first byte where two prefixes
//! differ, either both ids have a byte there (and the text differs there too), or one id has
//! ended (a proper prefix of the other, so the smaller) and the other's byte is above zero.
//! Equal prefixes (ids sharing 16 bytes, or differing only by trailing zero bytes) fall back
//! to comparing the ids, so the order is exactly the text's. A run sorts 150,000
//! subscriptions at M; comparing their ids as strings was 7% of its instructions.

use std::cmp::Ordering;

use crate::par::prelude::*;

/// The first 16 bytes of `id`, zero-padded, as a big-endian integer.
fn prefix(id: &str) -> u128 {
    let mut bytes = [0u8; 16];
    for (to, from) in bytes.iter_mut().zip(id.as_bytes()) {
        *to = *from;
    }
    u128::from_be_bytes(bytes)
}

/// `items` sorted by `id` (their text's order), across the current pool's threads. Unstable:
/// items of equal ids end up side by side in some order.
pub(super) fn sort_by_id<T: Sync + ?Sized>(items: &mut [&T], id: impl Fn(&T) -> &str + Sync) {
    let mut keyed: Vec<(u128, &T)> = items.par_iter().map(|t| (prefix(id(t)), *t)).collect();
    keyed.par_sort_unstable_by(|a, b| match a.0.cmp(&b.0) {
        Ordering::Equal => id(a.1).cmp(id(b.1)),
        other => other,
    });
    for (to, (_, from)) in items.iter_mut().zip(keyed) {
        *to = from;
    }
}

#[cfg(test)]
mod tests {
    use super::sort_by_id;
    use proptest::prelude::*;

    /// Ids with long shared prefixes, zero bytes and bytes above 127.
    fn id() -> impl Strategy<Value = String> {
        prop_oneof![
            "[a-c]{0,20}",
            "prefix-shared-by-many-[0-9\u{0}]{0,4}",
            "[\u{0}-\u{ff}]{0,18}",
            "[0-9]{1,7}",
        ]
    }

    fn check(ids: &[String]) -> Result<(), TestCaseError> {
        let mut sorted: Vec<&String> = ids.iter().collect();
        sort_by_id(&mut sorted, |s: &String| s.as_str());
        let mut expected: Vec<&String> = ids.iter().collect();
        expected.sort();
        prop_assert_eq!(sorted, expected);
        Ok(())
    }

    proptest! {
        /// The order is the ids' text order, whatever they hold.
        #[test]
        fn sorts_as_the_text(ids in prop::collection::vec(id(), 0..80)) {
            check(&ids)?;
        }
    }

    #[test]
    fn orders_numbers_as_text_and_zero_bytes_after_their_prefix() {
        let ids: Vec<String> = [
            "10",
            "9",
            "1",
            "a\u{0}",
            "a",
            "a\u{0}\u{0}",
            "0123456789abcdefZ",
            "0123456789abcdef",
        ]
        .iter()
        .map(|s| (*s).to_owned())
        .collect();
        let mut sorted: Vec<&String> = ids.iter().collect();
        sort_by_id(&mut sorted, |s: &String| s.as_str());
        let got: Vec<&str> = sorted.iter().map(|s| s.as_str()).collect();
        assert_eq!(
            got,
            [
                "0123456789abcdef",
                "0123456789abcdefZ",
                "1",
                "10",
                "9",
                "a",
                "a\u{0}",
                "a\u{0}\u{0}"
            ]
        );
    }
}
