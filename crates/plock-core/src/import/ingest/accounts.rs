//! The book's account keys to their place, for the pieces' lookups. Keys of up to 8 bytes
//! (numbers, short codes: most books) are found in a table of their bytes as one word, 12
//! bytes a slot at most 0.8 full: 1.5 MiB for 100,000 accounts, which a core's cache holds,
//! where the general index ([`InlineIndex`], 24 bytes a slot at most half full) takes 6 MiB;
//! every row looks up its account. Keys that are all plain numbers are found by their value
//! instead (`account_numbers`).

use super::account_numbers::NumberIndex;
use crate::hash::{InlineIndex, inline};
use crate::id::AccountKey;

/// Account keys to their place in the book's keys, sorted.
pub(super) enum Accounts<'k> {
    /// Every key is a number written plainly, the numbers dense enough.
    Numbers(NumberIndex),
    /// Every key is at most 8 bytes.
    Short(ShortIndex),
    Inline(InlineIndex<'k>),
}

impl<'k> Accounts<'k> {
    pub(super) fn new(keys: &'k [AccountKey]) -> Accounts<'k> {
        if let Some(numbers) = NumberIndex::new(keys) {
            return Accounts::Numbers(numbers);
        }
        match ShortIndex::new(keys) {
            Some(short) => Accounts::Short(short),
            None => Accounts::Inline(InlineIndex::new(keys.iter().map(AccountKey::as_str))),
        }
    }

    /// Loads the slots of a batch's inline keys together, so their cache misses overlap.
    #[inline(always)]
    pub(super) fn touch(&self, keys: impl Iterator<Item = [u64; 2]>) {
        match self {
            Accounts::Numbers(numbers) => numbers.touch(keys),
            Accounts::Short(short) => short.touch(keys),
            Accounts::Inline(index) => index.touch(keys),
        }
    }

    /// The place of `key`, whose inline key is `short`.
    #[inline(always)]
    pub(super) fn get(&self, key: &[u8], short: Option<[u64; 2]>) -> Option<u32> {
        match self {
            Accounts::Numbers(index) => index.get(short?),
            Accounts::Short(index) => index.get(short?),
            Accounts::Inline(index) => index.get(key, short),
        }
    }
}

/// Keys of up to 8 bytes as one word each (their bytes, zero-padded: no key holds a zero
/// byte, so the word is the key) in an open-addressing table (linear probing), their places
/// beside. A zero word marks an empty slot (no key is empty).
pub(super) struct ShortIndex {
    words: Vec<u64>,
    places: Vec<u32>,
    /// `64 - log2(slots)`: a key's home slot is its hash's top bits.
    shift: u32,
}

/// The word of an inline key of at most 8 bytes.
fn short_word(key: [u64; 2]) -> Option<u64> {
    let [lo, hi] = key;
    // The second word holds bytes 8 to 14, and the length in its top byte.
    (hi >> 56 <= 8 && hi & ((1 << 56) - 1) == 0).then_some(lo)
}

impl ShortIndex {
    /// The index of `keys`, or `None` when one is longer than 8 bytes.
    fn new(keys: &[AccountKey]) -> Option<ShortIndex> {
        // At most 0.8 full: a lookup probes about three slots, in one or two cache lines.
        let slots = keys
            .len()
            .saturating_mul(5)
            .checked_div(4)?
            .max(2)
            .next_power_of_two();
        let mut index = ShortIndex {
            words: vec![0; slots],
            places: vec![0; slots],
            shift: 64u32.saturating_sub(slots.trailing_zeros()),
        };
        for (place, key) in keys.iter().enumerate() {
            let word = inline(key.as_str()).and_then(short_word)?;
            let at = index.find(word)?;
            if let (Some(w), Some(p)) = (index.words.get_mut(at), index.places.get_mut(at)) {
                *w = word;
                *p = u32::try_from(place).ok()?;
            }
        }
        Some(index)
    }

    #[inline(always)]
    fn home(&self, word: u64) -> usize {
        let h = word.wrapping_mul(0x9E37_79B9_7F4A_7C15);
        usize::try_from(h.checked_shr(self.shift).unwrap_or(0)).unwrap_or(0)
    }

    /// The slot holding `word`, or else the empty slot where it would go.
    #[inline(always)]
    fn find(&self, word: u64) -> Option<usize> {
        let mask = self.words.len().wrapping_sub(1);
        let mut at = self.home(word);
        for _ in 0..self.words.len() {
            let slot = *self.words.get(at)?;
            if slot == word || slot == 0 {
                return Some(at);
            }
            at = at.wrapping_add(1) & mask;
        }
        None
    }

    #[inline(always)]
    fn touch(&self, keys: impl Iterator<Item = [u64; 2]>) {
        let sum = keys
            .filter_map(short_word)
            .filter_map(|w| self.words.get(self.home(w)))
            .fold(0u64, |acc, w| acc ^ w);
        std::hint::black_box(sum);
    }

    #[inline(always)]
    fn get(&self, key: [u64; 2]) -> Option<u32> {
        let word = short_word(key).filter(|w| *w != 0)?;
        let at = self.find(word)?;
        (*self.words.get(at)? == word).then(|| self.places.get(at).copied())?
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Which index `Accounts::new` chose.
    #[derive(Debug, PartialEq)]
    enum Kind {
        Numbers,
        Short,
        Inline,
    }

    fn check(keys: &[&str], absent: &[&str], kind: Kind) {
        let keys: Vec<AccountKey> = keys.iter().map(|k| AccountKey::new(k).unwrap()).collect();
        let index = Accounts::new(&keys);
        let chosen = match index {
            Accounts::Numbers(_) => Kind::Numbers,
            Accounts::Short(_) => Kind::Short,
            Accounts::Inline(_) => Kind::Inline,
        };
        assert_eq!(chosen, kind);
        for (place, key) in keys.iter().enumerate() {
            let k = key.as_str();
            assert_eq!(
                index.get(k.as_bytes(), inline(k)),
                Some(place as u32),
                "{k}"
            );
        }
        for k in absent {
            assert_eq!(index.get(k.as_bytes(), inline(k)), None, "{k}");
        }
    }

    #[test]
    fn short_and_long_keys_are_found_at_their_place() {
        let absent = ["3", "100000000", "a000000", "zzzzzzz", "a-key-of-1"];
        check(
            &["1", "10", "100", "2", "20000", "a0000001", "zzzzzzzz"],
            &absent,
            Kind::Short,
        );
        check(&["1", "a-key-of-9", "b"], &absent, Kind::Inline);
        let many: Vec<String> = (1..=100_000).map(|i: u32| i.to_string()).collect();
        let mut many: Vec<&str> = many.iter().map(String::as_str).collect();
        many.sort_unstable();
        let near = ["0", "100001", "01", "001", "1a", "a1", "1 ", "12345678901"];
        check(&many, &near, Kind::Numbers);
        // Too sparse for a table by value, or not plain numbers.
        check(&["1", "2", "99999"], &absent, Kind::Short);
        check(&["007", "1", "2"], &["7", "07"], Kind::Short);
        check(&["0", "1", "2", "3"], &["00", "4", "01"], Kind::Numbers);
    }
}
