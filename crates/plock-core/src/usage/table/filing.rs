//! Filing records into buckets by their group's top bits, each part of the input into its
//! own slices of every bucket, and the spans of their fields that decide how they are filed.

use super::key_sort::SortRoom;
use super::pack::Packed;
use super::pieces::split_lengths;
use super::source::{Bounds, RecordSource, bucket_of, count_in};

/// Bits of the buckets a bucket sort files records into, by the top bits of their group: few
/// enough that a thread's write positions stay in its cache and its address translations,
/// many enough that each bucket sorts in a core's cache. Between these bounds, a bucket
/// holds about 2^[`BUCKET_RECORD_BITS`] records: at 10 million records (the kit's M), 1,024
/// buckets of about 10,000; 4,096 there made each record filed a store that missed, and
/// took about 4% more of the load's processor time.
const BUCKET_BITS: [u32; 2] = [8, 12];

/// A bucket's records, about: 2^13 records of 8 bytes, 64 KiB.
const BUCKET_RECORD_BITS: u32 = 13;

/// The bucket bits for `n` records.
fn bucket_bits(n: usize) -> u32 {
    let [least, most] = BUCKET_BITS;
    n.checked_ilog2()
        .unwrap_or(0)
        .saturating_sub(BUCKET_RECORD_BITS)
        .clamp(least, most)
}

/// What a bucket holds: records, or their `BucketKey`s (`sort.rs`).
pub(super) trait Filed: Copy + Default + Send + Sync {
    /// Sorts a bucket small enough for one thread; `room` is room it may reuse.
    fn sort_bucket(bucket: &mut [Self], room: &mut SortRoom);
    /// Sorts a bucket larger than a thread's share, in parallel.
    fn sort_large(bucket: &mut [Self]);

    /// Room for `n` of them, its pages touched by every thread.
    fn room(n: usize) -> Vec<Self> {
        use crate::par::prelude::*;
        let mut filed = Vec::with_capacity(n);
        filed.par_extend(crate::par::repeat_n(Self::default(), n));
        filed
    }
}

/// The least and largest group (or bounds holding the groups, where they were not
/// measured), day word and mantissa (sortable bits) of some records, and whether every
/// mantissa fits in 32 bits.
#[derive(Clone, Copy)]
pub(super) struct Spans {
    pub(super) narrow: bool,
    pub(super) group: [u32; 2],
    pub(super) day: [u32; 2],
    pub(super) mantissa: [u64; 2],
}

impl Spans {
    const EMPTY: Spans = Spans {
        narrow: true,
        group: [u32::MAX, 0],
        day: [u32::MAX, 0],
        mantissa: [u64::MAX, 0],
    };

    fn add(&mut self, r: Packed) {
        self.narrow &= u32::try_from(r.mantissa()).is_ok();
        let (g, d, m) = (r.group(), r.day_scale(), r.sortable());
        self.group = [self.group[0].min(g), self.group[1].max(g)];
        self.day = [self.day[0].min(d), self.day[1].max(d)];
        self.mantissa = [self.mantissa[0].min(m), self.mantissa[1].max(m)];
    }

    fn merge(self, other: Spans) -> Spans {
        let both = |a: [u32; 2], b: [u32; 2]| [a[0].min(b[0]), a[1].max(b[1])];
        Spans {
            narrow: self.narrow && other.narrow,
            group: both(self.group, other.group),
            day: both(self.day, other.day),
            mantissa: [
                self.mantissa[0].min(other.mantissa[0]),
                self.mantissa[1].max(other.mantissa[1]),
            ],
        }
    }

    /// Of records of these bounds, their groups not measured (filing does not use their
    /// span): any group.
    fn of_bounds(bounds: Bounds) -> Spans {
        // A mantissa fits in 32 bits when it is 0 to u32::MAX: sortable bits from 2^63 to
        // 2^63 + u32::MAX.
        let zero = 1u64 << 63;
        let [least, most] = bounds.mantissa;
        Spans {
            narrow: least >= zero && most <= zero.saturating_add(u64::from(u32::MAX)),
            group: [0, u32::MAX],
            day: bounds.day,
            mantissa: bounds.mantissa,
        }
    }

    /// Of `records`.
    pub(super) fn of(records: &[Packed]) -> Spans {
        let mut spans = Spans::EMPTY;
        for r in records {
            spans.add(*r);
        }
        spans
    }
}

/// How records are filed into buckets by their group's top bits: the buckets, and each part
/// of the input's count of records by bucket.
pub(super) struct Filing {
    /// A bucket is a group's number shifted right by this.
    pub(super) shift: u32,
    buckets: usize,
    counts: Vec<Vec<usize>>,
    pub(super) spans: Spans,
}

impl Filing {
    /// Counts the records of `source` (at least one) by part and bucket, and takes their
    /// spans.
    pub(super) fn count<S: RecordSource>(source: &S, groups: u32) -> Filing {
        use crate::par::prelude::*;
        let group_bits = 32u32.saturating_sub(groups.leading_zeros());
        let bits = bucket_bits(source.len());
        let shift = group_bits.saturating_sub(bits);
        let buckets = 1usize << bits.min(group_bits);
        // Each part files into its own slices of every bucket.
        let parts: Vec<(Vec<usize>, Spans)> = (0..source.parts())
            .into_par_iter()
            .map(|part| {
                let mut count = vec![0usize; buckets];
                let spans = match source.bounds(part) {
                    // Only the buckets are read.
                    Some(bounds) => {
                        source.count_buckets(part, shift, &mut count);
                        Spans::of_bounds(bounds)
                    }
                    None => {
                        let mut spans = Spans::EMPTY;
                        source.each(part, |r| {
                            count_in(&mut count, bucket_of(r.group(), shift));
                            spans.add(r);
                        });
                        spans
                    }
                };
                (count, spans)
            })
            .collect();
        let spans = parts
            .iter()
            .fold(Spans::EMPTY, |all, (_, spans)| all.merge(*spans));
        Filing {
            shift,
            buckets,
            counts: parts.into_iter().map(|(count, _)| count).collect(),
            spans,
        }
    }

    fn bucket(&self, r: &Packed) -> usize {
        bucket_of(r.group(), self.shift)
    }

    /// The buckets' lengths, in order.
    pub(super) fn lengths(&self) -> Vec<usize> {
        (0..self.buckets)
            .map(|b| self.counts.iter().filter_map(|c| c.get(b)).sum::<usize>())
            .collect()
    }

    /// The records of `source` as `encode` makes them, filed into buckets in bucket order,
    /// each unsorted; `source` is dropped once they are filed, before anything else is
    /// allocated.
    pub(super) fn file<S: RecordSource, T: Filed>(
        &self,
        source: S,
        encode: impl Fn(Packed) -> T + Sync,
    ) -> Vec<T> {
        use crate::par::prelude::*;
        let mut filed = T::room(source.len());
        self.slices(&mut filed)
            .into_par_iter()
            .enumerate()
            .for_each(|(part, mut out)| {
                let mut next = vec![0usize; self.buckets];
                source.each(part, |r| {
                    put(&mut out, &mut next, self.bucket(&r), encode(r))
                });
                source.done(part);
            });
        drop(source);
        filed
    }

    /// [`Filing::file`] of the records' keys (`key` makes a record's bucket and key of its
    /// group, day word and sortable mantissa; `encode` files the key), which the source may
    /// take from its own words ([`RecordSource::each_key`]) without making each record first.
    pub(super) fn file_keys<S: RecordSource, T: Filed>(
        &self,
        source: S,
        key: impl Fn(u32, u32, u64) -> (usize, u64) + Sync,
        encode: impl Fn(u64) -> T + Sync,
    ) -> Vec<T> {
        use crate::par::prelude::*;
        let mut filed = T::room(source.len());
        self.slices(&mut filed)
            .into_par_iter()
            .enumerate()
            .for_each(|(part, mut out)| {
                let mut next = vec![0usize; self.buckets];
                source.each_key(part, &key, |b, k| put(&mut out, &mut next, b, encode(k)));
                source.done(part);
            });
        drop(source);
        filed
    }

    /// `filed` cut into each part's slices of every bucket: the output in (bucket, part)
    /// order, so that each part takes its slice of every bucket.
    fn slices<'a, T>(&self, filed: &'a mut [T]) -> Vec<Vec<&'a mut [T]>> {
        let lengths = (0..self.buckets).flat_map(|b| {
            self.counts
                .iter()
                .map(move |c| c.get(b).copied().unwrap_or(0))
        });
        let mut slices: Vec<Vec<&mut [T]>> = self.counts.iter().map(|_| Vec::new()).collect();
        for (i, piece) in split_lengths(filed, lengths).into_iter().enumerate() {
            if let Some(part) = i
                .checked_rem(self.counts.len())
                .and_then(|p| slices.get_mut(p))
            {
                part.push(piece);
            }
        }
        slices
    }
}

/// Files `item` in bucket `b` of a part's slices `out`, whose next free places are `next`.
#[inline(always)]
fn put<T>(out: &mut [&mut [T]], next: &mut [usize], b: usize, item: T) {
    // The counts were taken over the same part: every record has its slot.
    if let (Some(piece), Some(at)) = (out.get_mut(b), next.get_mut(b))
        && let Some(slot) = piece.get_mut(*at)
    {
        *slot = item;
        *at = at.saturating_add(1);
    }
}
