//! Hashing for the billing hot paths: a small, fixed-key hasher (the multiply-rotate of
//! rustc's FxHash), and [`InlineIndex`], ids to their place in a list by an inline copy of
//! their bytes. plock-core takes no randomness, not even for a hash seed, so its hash is a
//! fixed function, and keys chosen to collide in it would make a map slow. It hashes only
//! keys the company itself defines: account keys of the account book, metric ids of the
//! catalogue, and dense numbers it assigns. Record ids, which come straight from usage files,
//! are kept in ordered maps instead.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

/// A dense index, the place of an item in a list held in memory: no such list holds
/// `u32::MAX` accounts, metrics, groups or subscriptions (it would not fit), so the conversion
/// saturates only in theory.
pub(crate) fn dense(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// The hasher's state builder.
pub(crate) type FastState = BuildHasherDefault<FastHasher>;

const SEED: u64 = 0x51_7c_c1_b7_27_22_0a_95;

/// FxHash: one rotate, xor and multiply per word.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct FastHasher(u64);

impl FastHasher {
    fn add(&mut self, word: u64) {
        self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(SEED);
    }
}

impl Hasher for FastHasher {
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for chunk in &mut chunks {
            let mut word = [0u8; 8];
            word.copy_from_slice(chunk);
            self.add(u64::from_le_bytes(word));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut word = [0u8; 8];
            if let Some(head) = word.get_mut(..rest.len()) {
                head.copy_from_slice(rest);
            }
            self.add(u64::from_le_bytes(word));
        }
    }
    fn write_u8(&mut self, i: u8) {
        self.add(u64::from(i));
    }
    fn write_u32(&mut self, i: u32) {
        self.add(u64::from(i));
    }
    fn write_u64(&mut self, i: u64) {
        self.add(i);
    }
    fn write_usize(&mut self, i: usize) {
        self.add(i as u64);
    }
    fn finish(&self) -> u64 {
        // The multiply leaves the low bits depending on the input's low bits only; hash
        // tables index by the low bits, so bring the well-mixed high bits down (as
        // rustc-hash 2 does).
        self.0.rotate_left(26)
    }
}

/// Keys (ids) by an inline copy of their bytes, to their place in the list they were given
/// in, so a lookup never follows a pointer: an open-addressing table (linear probing, at most
/// half full) of short keys, and a map of the rare longer ones. Built in one pass, without
/// sorting or a copy of the keys; 24 bytes a slot.
pub(crate) struct InlineIndex<'a> {
    slots: Vec<Slot>,
    /// `64 - log2(slots.len())`: a key's home slot is its hash's top bits.
    shift: u32,
    long: HashMap<&'a [u8], u32, FastState>,
}

/// A short key, inline, and its place; the all-zero key (of no id: ids are never empty)
/// marks an empty slot.
#[derive(Clone, Copy, Default)]
struct Slot {
    key: [u64; 2],
    index: u32,
}

/// Keys whose home slots are loaded together, so their cache misses overlap.
const BATCH: usize = 32;

impl<'a> InlineIndex<'a> {
    /// The index of `keys`, each to its place in them (a key given twice, to its last).
    pub(crate) fn new(keys: impl ExactSizeIterator<Item = &'a str>) -> InlineIndex<'a> {
        let len = keys.len().saturating_mul(2).max(2).next_power_of_two();
        let mut index = InlineIndex {
            slots: vec![Slot::default(); len],
            shift: 64u32.saturating_sub(len.trailing_zeros()),
            long: HashMap::default(),
        };
        // Inserted a batch at a time, after the batch's home slots were loaded together: a
        // million accounts' slots (48 MB) are far out of cache, one miss an insert.
        let mut batch: Vec<([u64; 2], u32)> = Vec::with_capacity(BATCH);
        for (i, key) in keys.enumerate() {
            let i = u32::try_from(i).unwrap_or(u32::MAX);
            match inline(key) {
                Some(k) => {
                    batch.push((k, i));
                    if batch.len() == BATCH {
                        index.insert_batch(&mut batch);
                    }
                }
                None => {
                    index.long.insert(key.as_bytes(), i);
                }
            }
        }
        index.insert_batch(&mut batch);
        index
    }

    /// Inserts `batch` in order (the table is the one single inserts make), then clears it.
    fn insert_batch(&mut self, batch: &mut Vec<([u64; 2], u32)>) {
        self.touch(batch.iter().map(|(k, _)| *k));
        for (k, i) in batch.drain(..) {
            self.insert(k, i);
        }
    }

    /// The places of `keys`' keys, in order and in parallel, each batch's home slots loaded
    /// together before it is looked up.
    pub(crate) fn places<T: Sync>(
        &self,
        keys: &[T],
        key: impl Fn(&T) -> &str + Sync,
    ) -> Vec<Option<u32>> {
        use crate::par::prelude::*;
        let mut places = vec![None; keys.len()];
        places
            .par_chunks_mut(BATCH)
            .zip(keys.par_chunks(BATCH))
            .for_each(|(places, keys)| {
                let mut inline_keys = [None; BATCH];
                for (slot, k) in inline_keys.iter_mut().zip(keys) {
                    *slot = inline(key(k));
                }
                self.touch(inline_keys.iter().flatten().copied());
                for ((place, k), short) in places.iter_mut().zip(keys).zip(inline_keys) {
                    *place = self.get(key(k).as_bytes(), short);
                }
            });
        places
    }

    fn home(&self, key: [u64; 2]) -> usize {
        let [lo, hi] = key;
        let h = (lo ^ hi.rotate_left(29)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        usize::try_from(h.checked_shr(self.shift).unwrap_or(0)).unwrap_or(0)
    }

    /// The slot holding `key`, or else the empty slot where it would go; `None` only for a
    /// full table, which the index never is.
    fn find(&self, key: [u64; 2]) -> Option<usize> {
        let mask = self.slots.len().wrapping_sub(1);
        let mut i = self.home(key);
        for _ in 0..self.slots.len() {
            let slot = self.slots.get(i)?;
            if slot.key == key || slot.key == [0, 0] {
                return Some(i);
            }
            i = i.wrapping_add(1) & mask;
        }
        None
    }

    fn insert(&mut self, key: [u64; 2], value: u32) {
        if let Some(slot) = self.find(key).and_then(|i| self.slots.get_mut(i)) {
            *slot = Slot { key, index: value };
        }
    }

    /// Loads the home slots of a batch's keys, each independent of the others, so their cache
    /// misses overlap instead of coming one lookup at a time. A slot's first and last words
    /// are read: a quarter of the 24-byte slots cross a cache line.
    pub(crate) fn touch(&self, keys: impl Iterator<Item = [u64; 2]>) {
        let sum = keys
            .filter_map(|k| self.slots.get(self.home(k)))
            .fold(0u64, |acc, s| acc ^ s.key[0] ^ u64::from(s.index));
        std::hint::black_box(sum);
    }

    /// The place of `key`, whose inline form (`inline`'s) is `short`.
    pub(crate) fn get(&self, key: &[u8], short: Option<[u64; 2]>) -> Option<u32> {
        match short {
            // The empty key's inline form marks empty slots: no id is empty.
            Some([0, 0]) => None,
            Some(k) => self
                .find(k)
                .and_then(|i| self.slots.get(i))
                .filter(|s| s.key == k)
                .map(|s| s.index),
            None => self.long.get(key).copied(),
        }
    }

    /// The place of `key`.
    pub(crate) fn get_str(&self, key: &str) -> Option<u32> {
        self.get(key.as_bytes(), inline(key))
    }
}

/// A key of at most 15 bytes as two words: its bytes, zero-padded, with its length in the
/// last byte. Keys of 8 bytes or more are read as two overlapping words, without a copy loop.
pub(crate) fn inline(key: &str) -> Option<[u64; 2]> {
    let bytes = key.as_bytes();
    let len = bytes.len();
    let word = |b: &[u8]| -> Option<u64> { Some(u64::from_le_bytes(b.try_into().ok()?)) };
    let (lo, hi) = match len {
        0..=7 => {
            let mut padded = [0u8; 8];
            padded.get_mut(..len)?.copy_from_slice(bytes);
            (u64::from_le_bytes(padded), 0)
        }
        8..=15 => {
            // Bytes 8.. are the top `len - 8` bytes of the last eight.
            let last = word(bytes.get(len.checked_sub(8)?..)?)?;
            let drop = u32::try_from(16usize.checked_sub(len)?.checked_mul(8)?).ok()?;
            (word(bytes.get(..8)?)?, last.checked_shr(drop).unwrap_or(0))
        }
        _ => return None,
    };
    let len = u64::try_from(len).ok()?;
    Some([lo, hi | len.checked_shl(56)?])
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;
    use std::hash::BuildHasher;

    use super::{FastState, InlineIndex, inline};
    use crate::id::AccountKey;

    #[test]
    fn keys_that_differ_only_in_their_last_bytes_spread_over_buckets() {
        // Account keys like "a0000001" differ in the high bytes of their one word.
        let state = FastState::default();
        let buckets: HashSet<u64> = (0..4096)
            .map(|i| state.hash_one(format!("a{i:07}")) & 1023)
            .collect();
        assert!(
            buckets.len() > 800,
            "{} of 1024 buckets used",
            buckets.len()
        );
    }

    #[test]
    fn inline_keys_are_the_bytes_then_the_length() {
        let text = "abcdefghijklmnopq";
        for len in 0..=17 {
            let key = &text[..len];
            let expected = (len <= 15).then(|| {
                let mut word = [0u8; 16];
                word[..len].copy_from_slice(key.as_bytes());
                word[15] = len as u8;
                let n = u128::from_le_bytes(word);
                [n as u64, (n >> 64) as u64]
            });
            assert_eq!(inline(key), expected, "{key}");
        }
    }

    #[test]
    fn the_inline_index_finds_every_key_and_no_other() {
        // Lengths 1 to 20: short keys in the probed table, long ones in the map; 2,000 keys
        // in 4,096 slots wrap around the table's end.
        let mut keys: Vec<AccountKey> = (0..2_000usize)
            .map(|i| AccountKey::new(format!("k{i}{}", "x".repeat(i % 19))).unwrap())
            .collect();
        keys.sort_unstable();
        let index = InlineIndex::new(keys.iter().map(AccountKey::as_str));
        for (i, key) in keys.iter().enumerate() {
            let found = index.get(key.as_str().as_bytes(), inline(key.as_str()));
            assert_eq!(found, Some(u32::try_from(i).unwrap()), "{key}");
        }
        for unknown in ["", "k", "k2000", "k1xx", "k0000000000000000000000"] {
            assert_eq!(
                index.get(unknown.as_bytes(), inline(unknown)),
                None,
                "{unknown}"
            );
        }
        // Looked up in batches, in parallel: the same places, in order, across a partial
        // last batch.
        let mut asked: Vec<&str> = keys.iter().rev().map(AccountKey::as_str).collect();
        asked.extend(["", "k2000", "k0000000000000000000000"]);
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(3)
            .build()
            .unwrap();
        let places = pool.install(|| index.places(&asked, |k| k));
        let expected: Vec<Option<u32>> = asked.iter().map(|k| index.get_str(k)).collect();
        assert_eq!(places, expected);
        assert_eq!(places[0], Some(1_999));
        assert_eq!(places.len(), 2_003);
    }
}
