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
}
