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

    /// Says that `part`'s records are read for the last time: a source may free them, so that
    /// what they are filed into takes their place.
    fn done(&self, _part: usize) {}

    /// The bounds of `part`'s records, if the source knows them without reading the records.
    fn bounds(&self, _part: usize) -> Option<Bounds> {
        None
    }

    /// Adds to `counts[b]` each record of `part` whose group shifted right by `shift` is
    /// `b` (records of a bucket past `counts` are not counted): a source that holds its
    /// records packed otherwise may take the bucket from its own words.
    fn count_buckets(&self, part: usize, shift: u32, counts: &mut [usize]) {
        self.each(part, |r| count_in(counts, bucket_of(r.group(), shift)));
    }

    /// Calls `f` with the bucket and key that `key` makes of each record of `part`'s group,
    /// day word and mantissa (its sortable bits), in [`RecordSource::each`]'s order: a
    /// source that holds its records packed otherwise may take those from its own words
    /// without making each record first.
    fn each_key(
        &self,
        part: usize,
        key: impl Fn(u32, u32, u64) -> (usize, u64),
        mut f: impl FnMut(usize, u64),
    ) {
        self.each(part, |r| {
            let (bucket, k) = key(r.group(), r.day_scale(), r.sortable());
            f(bucket, k);
        });
    }
}

/// The bucket of a record of `group`: its group's bits from `shift` up.
#[inline(always)]
pub(crate) fn bucket_of(group: u32, shift: u32) -> usize {
    group.checked_shr(shift).unwrap_or(0) as usize
}

/// Counts one record in `counts[bucket]`, if there is such a counter.
#[inline(always)]
pub(crate) fn count_in(counts: &mut [usize], bucket: usize) {
    if let Some(c) = counts.get_mut(bucket) {
        // A count is at most the records': it does not wrap.
        *c = c.wrapping_add(1);
    }
}

/// The least and largest day word and mantissa (its sortable bits: the sign bit flipped) of
/// some records; for none, the least is the type's largest value and the largest 0.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Bounds {
    pub(crate) day: [u32; 2],
    pub(crate) mantissa: [u64; 2],
}

impl Bounds {
    /// The bounds of no record.
    pub(crate) const EMPTY: Bounds = Bounds {
        day: [u32::MAX, 0],
        mantissa: [u64::MAX, 0],
    };

    /// The bounds of these records and `other`'s.
    pub(crate) fn merge(self, other: Bounds) -> Bounds {
        Bounds {
            day: [self.day[0].min(other.day[0]), self.day[1].max(other.day[1])],
            mantissa: [
                self.mantissa[0].min(other.mantissa[0]),
                self.mantissa[1].max(other.mantissa[1]),
            ],
        }
    }
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
