//! A small, fixed-key hasher for the billing hot paths (the multiply-rotate of rustc's
//! FxHash). plock-core takes no randomness, not even for a hash seed, and the keys it hashes
//! are its own interned ids and account keys, not adversarial input that could flood a
//! bucket and cost more than time.

use std::hash::{BuildHasherDefault, Hasher};

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

/// A map from strings to values, split in shards by hash so it is built in parallel: a million
/// keys are a million cache misses, and one thread would spend them alone.
/// Keys are `&str` or owned inline strings ([`smol_str::SmolStr`]): an owned short key sits
/// in the table, so a probe compares without a cache miss on the key's owner.
pub(crate) struct ShardedIndex<K, V> {
    shards: Vec<std::collections::HashMap<K, V, FastState>>,
}

const SHARD_BITS: u32 = 6;

fn shard_of(key: &str) -> usize {
    use std::hash::BuildHasher;
    // The top bits: the map inside a shard indexes by the low ones.
    (FastState::default().hash_one(key) >> (64 - SHARD_BITS)) as usize
}

impl<K, V> ShardedIndex<K, V>
where
    K: std::borrow::Borrow<str> + std::hash::Hash + Eq + Clone + Send + Sync,
    V: Clone + Send + Sync,
{
    /// The index of `entries`; a key given twice keeps one of its values.
    pub(crate) fn build(mut entries: Vec<(K, V)>) -> ShardedIndex<K, V> {
        use rayon::prelude::*;
        let shards_len = 1usize << SHARD_BITS;
        // Grouped by shard in place, each key hashed once (stable: of a key given twice, the
        // last one stays); no tagged copy of the entries.
        entries.par_sort_by_cached_key(|(k, _)| shard_of(k.borrow()));
        let starts: Vec<usize> = (0..=shards_len)
            .map(|s| entries.partition_point(|(k, _)| shard_of(k.borrow()) < s))
            .collect();
        let shards = starts
            .par_windows(2)
            .map(|w| {
                let group = match w {
                    [start, end] => entries.get(*start..*end).unwrap_or_default(),
                    _ => &[],
                };
                let mut map = std::collections::HashMap::with_capacity_and_hasher(
                    group.len(),
                    FastState::default(),
                );
                map.extend(group.iter().map(|(k, v)| (k.clone(), v.clone())));
                map
            })
            .collect();
        ShardedIndex { shards }
    }

    /// The value of `key`.
    pub(crate) fn get(&self, key: &str) -> Option<&V> {
        self.shards.get(shard_of(key))?.get(key)
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;
    use std::hash::BuildHasher;

    use super::FastState;

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
    fn the_sharded_index_finds_every_key_and_no_other() {
        let keys: Vec<String> = (0..5000).map(|i| format!("k{i}")).collect();
        let index = super::ShardedIndex::build(
            keys.iter()
                .enumerate()
                .map(|(i, k)| (k.as_str(), i))
                .collect(),
        );
        for (i, k) in keys.iter().enumerate() {
            assert_eq!(index.get(k), Some(&i));
        }
        assert_eq!(index.get("k5000"), None);
    }
}
