//! Where the records a table is sorted from come from: one vector, or any store that can
//! hand them out in parts, so that the records need not be gathered into a vector first.

use super::pack::Packed;

/// Records read in parts, each part by one thread at a time.
pub(crate) trait RecordSource: Sync {
    /// The records in all.
    fn len(&self) -> usize;

    /// The parts, numbered from 0.
    fn parts(&self) -> usize;

    /// Calls `f` with each record of `part`, always in the same order.
    fn each(&self, part: usize, f: impl FnMut(Packed));
}

/// Parts a thread: enough that a thread done early takes another.
pub(crate) const PARTS_PER_THREAD: usize = 2;

/// The length of the parts `len` records are cut into for the current pool's threads.
pub(crate) fn part_len(len: usize) -> usize {
    let parts = crate::par::current_num_threads()
        .saturating_mul(PARTS_PER_THREAD)
        .max(2);
    len.div_ceil(parts).max(1)
}

impl RecordSource for Vec<Packed> {
    fn len(&self) -> usize {
        self.as_slice().len()
    }

    fn parts(&self) -> usize {
        self.as_slice()
            .len()
            .div_ceil(part_len(self.as_slice().len()))
    }

    fn each(&self, part: usize, f: impl FnMut(Packed)) {
        let part_len = part_len(self.as_slice().len());
        let start = part.saturating_mul(part_len);
        let end = start.saturating_add(part_len).min(self.as_slice().len());
        self.get(start..end)
            .unwrap_or_default()
            .iter()
            .copied()
            .for_each(f);
    }
}
