//! Comparing ids as text with integer comparisons: a key holds an id's first 16 bytes as a
//! big-endian `u128`, zero-padded, and its length.
//!
//! A prefix orders as the text does: at the first byte where two prefixes differ, either both
//! ids have a byte there (and the text differs there too), or one id has ended (a proper
//! prefix of the other, so the smaller) and the other's byte is above zero. When the prefixes
//! are equal and both ids fit in 16 bytes, each id is that prefix cut to its length, so the
//! shorter is a prefix of the longer: the lengths decide. Only ids sharing 16 bytes compare
//! their whole text, so the order is exactly the text's. Sorting invoice lines and product
//! totals compared ids as strings through pointers, a call and a branch on the string's
//! representation each time.

use std::cmp::Ordering;

/// The first 16 bytes of `id`, zero-padded, as a big-endian integer.
pub(crate) fn prefix(id: &str) -> u128 {
    let (mut bytes, id) = ([0u8; 16], id.as_bytes());
    let n = id.len().min(16);
    if let (Some(to), Some(from)) = (bytes.get_mut(..n), id.get(..n)) {
        to.copy_from_slice(from);
    }
    u128::from_be_bytes(bytes)
}

/// An id's prefix and length: compared with [`TextKey::cmp_text`], it orders as the text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct TextKey {
    prefix: u128,
    len: usize,
}

impl TextKey {
    pub(crate) fn of(id: &str) -> TextKey {
        TextKey {
            prefix: prefix(id),
            len: id.len(),
        }
    }

    /// The order of the texts `a` and `b`, whose keys are `self` and `other`.
    pub(crate) fn cmp_text(&self, a: &str, other: &TextKey, b: &str) -> Ordering {
        match self.prefix.cmp(&other.prefix) {
            Ordering::Equal if self.len <= 16 && other.len <= 16 => self.len.cmp(&other.len),
            Ordering::Equal => a.cmp(b),
            unequal => unequal,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::TextKey;
    use proptest::prelude::*;

    /// Ids with long shared prefixes, zero bytes, bytes above 127 and lengths around 16.
    fn id() -> impl Strategy<Value = String> {
        prop_oneof![
            "[a-c]{0,20}",
            "prefix-shared-by-many-[0-9\u{0}]{0,4}",
            "[\u{0}-\u{ff}]{0,18}",
            "[a\u{0}]{14,18}",
            "[0-9]{1,7}",
        ]
    }

    proptest! {
        #[test]
        fn keys_order_as_the_text(a in id(), b in id()) {
            let (ka, kb) = (TextKey::of(&a), TextKey::of(&b));
            prop_assert_eq!(ka.cmp_text(&a, &kb, &b), a.cmp(&b));
            prop_assert_eq!(ka.cmp_text(&a, &ka, &a), std::cmp::Ordering::Equal);
        }
    }

    #[test]
    fn a_trailing_zero_byte_comes_after_its_prefix() {
        let (a, b) = ("a", "a\u{0}");
        let (ka, kb) = (TextKey::of(a), TextKey::of(b));
        assert_eq!(ka.cmp_text(a, &kb, b), std::cmp::Ordering::Less);
        let (c, d) = ("0123456789abcdefX", "0123456789abcdef\u{0}");
        let (kc, kd) = (TextKey::of(c), TextKey::of(d));
        assert_eq!(kc.cmp_text(c, &kd, d), std::cmp::Ordering::Greater);
    }
}
