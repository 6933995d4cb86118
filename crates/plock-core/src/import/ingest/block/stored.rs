//! The records a store holds, read by the table's sort in parts of whole segments, each
//! buffer of words freed once every part that reads it is filed.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{PoisonError, RwLock};

use super::{Codec, METRIC_BITS, Segment, Store, decode_each};
use crate::usage::{Bounds, Packed, RecordSource, bucket_of, count_in};

/// The records of a store, their metric numbers turned into ranks, in parts of whole
/// segments: part `p` is `segments[part_starts[p]..part_starts[p + 1]]`.
pub(in crate::import::ingest) struct Stored {
    /// The segments (the wide ones with their records); the narrow ones' words are in
    /// `buffers`.
    store: Store,
    /// The store's buffers, each freed once every part that reads it is filed
    /// ([`RecordSource::done`]): the filed keys then take the place of the words.
    buffers: Vec<RwLock<Vec<u64>>>,
    /// By buffer, how many parts read it and are not done.
    readers: Vec<AtomicUsize>,
    rank: Vec<u32>,
    part_starts: Vec<usize>,
}

/// A segment as the sort reads it: a narrow one's codec and words, or a wide one.
enum Read<'a> {
    Words(&'a Codec, &'a [u64]),
    Wide(&'a Segment),
}

impl RecordSource for Stored {
    fn len(&self) -> usize {
        self.store.len
    }

    fn parts(&self) -> usize {
        self.part_starts.len().saturating_sub(1)
    }

    fn each(&self, part: usize, mut f: impl FnMut(Packed)) {
        let rank = |m: u32| self.rank.get(m as usize).copied().unwrap_or(0);
        self.read_part(part, |read| match read {
            Read::Words(codec, words) => decode_each(codec, words, rank, &mut f),
            Read::Wide(segment) => self.store.each(segment, rank, &mut f),
        });
    }

    fn bounds(&self, part: usize) -> Option<Bounds> {
        self.segments(part)
            .iter()
            .try_fold(Bounds::EMPTY, |all, segment| match segment {
                Segment::Narrow { bounds, .. } => Some(all.merge(*bounds)),
                Segment::Wide(_) => None,
            })
    }

    fn count_buckets(&self, part: usize, shift: u32, counts: &mut [usize]) {
        let rank = |m: u32| self.rank.get(m as usize).copied().unwrap_or(0);
        self.read_part(part, |read| match read {
            // A group is account x METRIC_SLOTS + a metric below METRIC_SLOTS, below 2^32
            // (the sink holds dense groups only so): its bits from `shift` up are the
            // account's from `shift - METRIC_BITS` up.
            Read::Words(codec, words) => match shift.checked_sub(METRIC_BITS) {
                Some(account_shift) => {
                    for w in words {
                        let account = codec.account(*w);
                        count_in(counts, (account >> account_shift) as usize);
                    }
                }
                None => {
                    for w in words {
                        count_in(counts, bucket_of(codec.group(*w, rank), shift));
                    }
                }
            },
            Read::Wide(segment) => self.store.each(segment, rank, |r| {
                count_in(counts, bucket_of(r.group(), shift));
            }),
        });
    }

    fn each_key(
        &self,
        part: usize,
        key: impl Fn(u32, u32, u64) -> (usize, u64),
        mut f: impl FnMut(usize, u64),
    ) {
        let rank = |m: u32| self.rank.get(m as usize).copied().unwrap_or(0);
        self.read_part(part, |read| match read {
            Read::Words(codec, words) => {
                for w in words {
                    let (group, day_scale, sortable) = codec.key_fields(*w, rank);
                    let (bucket, k) = key(group, day_scale, sortable);
                    f(bucket, k);
                }
            }
            Read::Wide(segment) => self.store.each(segment, rank, |r| {
                let sortable = r.mantissa().cast_unsigned() ^ (1 << 63);
                let (bucket, k) = key(r.group(), r.day_scale(), sortable);
                f(bucket, k);
            }),
        });
    }

    fn done(&self, part: usize) {
        for b in self.buffers_of(part) {
            let last = self
                .readers
                .get(b)
                .is_some_and(|r| r.fetch_sub(1, Ordering::AcqRel) == 1);
            if last && let Some(buffer) = self.buffers.get(b) {
                let mut words = buffer.write().unwrap_or_else(PoisonError::into_inner);
                drop(std::mem::take(&mut *words));
            }
        }
    }
}

impl Stored {
    /// The records of `store` in parts of whole segments, part `p` being
    /// `segments[part_starts[p]..part_starts[p + 1]]`, their metric numbers turned into
    /// `rank[metric]`.
    pub(super) fn new(mut store: Store, rank: Vec<u32>, part_starts: Vec<usize>) -> Stored {
        let buffers: Vec<RwLock<Vec<u64>>> = std::mem::take(&mut store.buffers)
            .into_iter()
            .map(RwLock::new)
            .collect();
        let readers: Vec<AtomicUsize> = buffers.iter().map(|_| AtomicUsize::new(0)).collect();
        let mut stored = Stored {
            store,
            buffers,
            readers,
            rank,
            part_starts,
        };
        for part in 0..stored.parts() {
            for b in stored.buffers_of(part) {
                if let Some(r) = stored.readers.get_mut(b) {
                    *r.get_mut() = r.get_mut().saturating_add(1);
                }
            }
        }
        stored
    }

    /// Calls `f` with each segment of `part`, in order: a narrow one's codec and words, or
    /// a wide one.
    fn read_part(&self, part: usize, mut f: impl FnMut(Read<'_>)) {
        for segment in self.segments(part) {
            match segment.narrow() {
                Some((codec, [buffer, start, len])) => {
                    self.read(buffer, start, len, |words| f(Read::Words(codec, words)));
                }
                None => f(Read::Wide(segment)),
            }
        }
    }

    /// Calls `f` with the words `buffers[buffer][start..start + len]` (none once the buffer
    /// is freed).
    fn read<T>(&self, buffer: usize, start: usize, len: usize, f: impl FnOnce(&[u64]) -> T) -> T {
        let words = self
            .buffers
            .get(buffer)
            .map(|b| b.read().unwrap_or_else(PoisonError::into_inner));
        let words = words
            .as_deref()
            .and_then(|w| w.get(start..start.saturating_add(len)))
            .unwrap_or_default();
        f(words)
    }

    /// The buffers `part`'s narrow segments read, each once.
    fn buffers_of(&self, part: usize) -> Vec<usize> {
        let mut buffers: Vec<usize> = self
            .segments(part)
            .iter()
            .filter_map(|s| match s {
                Segment::Narrow { buffer, .. } => Some(*buffer),
                Segment::Wide(_) => None,
            })
            .collect();
        // A part's segments are in the order they were written, buffer after buffer.
        buffers.dedup();
        buffers
    }

    /// The segments of `part`.
    fn segments(&self, part: usize) -> &[Segment] {
        let (Some(from), Some(to)) = (
            self.part_starts.get(part),
            self.part_starts.get(part.saturating_add(1)),
        ) else {
            return &[];
        };
        self.store.segments.get(*from..*to).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::super::{SCALE_BITS, Store};
    use super::Stored;
    use crate::import::ingest::piece::METRIC_SLOTS;
    use crate::usage::{Packed, RecordSource};

    #[test]
    fn a_buffer_is_freed_once_every_part_reading_it_is_done() {
        let map: Vec<u32> = (0..64).collect();
        let records: Vec<Packed> = (0..4_000u32)
            .map(|i| {
                Packed::new(
                    i64::from(i % 97),
                    (i % 50) * METRIC_SLOTS,
                    (20_000 + i % 30) << SCALE_BITS,
                )
            })
            .collect();
        let mut store = Store::default();
        // Many segments, all in the one buffer: every part reads it.
        for chunk in records.chunks(100) {
            store.add(&[(chunk, &map)]);
        }
        let stored = store.into_source((0..64).collect());
        let parts = stored.parts();
        assert!(parts > 1, "{parts} parts");
        let held = |stored: &Stored| {
            stored
                .buffers
                .iter()
                .map(|b| b.read().unwrap().len())
                .sum::<usize>()
        };
        let mut read = vec![Vec::new(); parts];
        // The last part first: the others still find their words.
        for part in (0..parts).rev() {
            assert_eq!(held(&stored), records.len(), "before part {part} is done");
            stored.each(part, |r| read[part].push(r));
            stored.done(part);
        }
        assert_eq!(held(&stored), 0);
        assert_eq!(read.concat(), records);
    }
}
