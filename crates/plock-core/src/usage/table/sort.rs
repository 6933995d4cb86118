//! Putting records in (group, day) order: in place by group, or out of place by bucket.

use super::MIXED_SCALES;
use super::columns::{DayWord, Days, Mantissa, Mantissas};
use super::filing::{Filed, Filing, Spans};
use super::key_sort::{SortRoom, sort_keys, sort_room_keys};
use super::pack::{Packed, scale_of};
use super::pieces::{split_lengths, starts};
use super::source::RecordSource;

/// Puts the records of the three columns (`groups` holding numbers below `group_count`) in
/// order of group, day and scale, then mantissa, where they are: the order of
/// [`sort_records`]. Returns the groups' bounds: group `g`'s records are
/// `bounds[g]..bounds[g + 1]`.
///
/// The records are first moved to their group's place, each swapped at most once into it (an
/// in-place counting sort), then the group column is freed (before anything else is
/// allocated, which may take its place) and each group sorted on its own, in parallel.
pub(super) fn sort_columns<M: Mantissa>(
    mantissas: &mut [M],
    days: &mut [u32],
    mut groups: Vec<u32>,
    group_count: usize,
) -> Vec<usize> {
    let bounds = place_by_group(mantissas, days, &mut groups, group_count);
    drop(groups);
    sort_groups(mantissas, days, &bounds);
    bounds
}

/// Moves each record of the columns to its group's places (an in-place counting sort, each
/// record swapped at most once into its group); returns the groups' bounds.
pub(super) fn place_by_group<M: Mantissa>(
    mantissas: &mut [M],
    days: &mut [u32],
    groups: &mut [u32],
    group_count: usize,
) -> Vec<usize> {
    let mut bounds = vec![0usize; group_count.saturating_add(1)];
    for g in groups.iter() {
        if let Some(b) = bounds.get_mut((*g as usize).saturating_add(1)) {
            *b = b.saturating_add(1);
        }
    }
    let mut total = 0usize;
    for b in &mut bounds {
        total = total.saturating_add(*b);
        *b = total;
    }
    // `next[g]`: the first place of group `g` not yet known to hold one of its records.
    let mut next: Vec<usize> = bounds.iter().take(group_count).copied().collect();
    for g in 0..group_count {
        let end = bounds.get(g.saturating_add(1)).copied().unwrap_or_default();
        while let Some(i) = next.get(g).copied().filter(|i| *i < end) {
            let home = groups.get(i).map_or(g, |h| *h as usize);
            let to = if home == g {
                None
            } else {
                next.get_mut(home).map(|n| {
                    let to = *n;
                    *n = n.saturating_add(1);
                    to
                })
            };
            match to {
                // The record at `i` goes home; `i` takes whatever was there.
                Some(to) => {
                    mantissas.swap(i, to);
                    days.swap(i, to);
                    groups.swap(i, to);
                }
                None => {
                    if let Some(n) = next.get_mut(g) {
                        *n = i.saturating_add(1);
                    }
                }
            }
        }
    }
    bounds
}

/// Sorts each group's records (`bounds` as [`place_by_group`] gives them) by day and scale,
/// then mantissa, in parallel.
pub(super) fn sort_groups<M: Mantissa>(mantissas: &mut [M], days: &mut [u32], bounds: &[usize]) {
    use crate::par::prelude::*;
    // Each group's records, as disjoint slices of both columns.
    let mut slices = Vec::with_capacity(bounds.len());
    let (mut m_rest, mut d_rest) = (mantissas, days);
    for w in bounds.windows(2) {
        if let [start, end] = *w {
            let len = end.saturating_sub(start);
            let (m, m_tail) = m_rest.split_at_mut(len.min(m_rest.len()));
            let (d, d_tail) = d_rest.split_at_mut(len.min(d_rest.len()));
            (m_rest, d_rest) = (m_tail, d_tail);
            if len > 1 {
                slices.push((m, d));
            }
        }
    }
    slices
        .par_iter_mut()
        .for_each_init(Vec::new, |keys, (m, d)| {
            // A group's records as packed records of one group: they sort by day and scale,
            // then mantissa.
            let key = |mantissa: &M, day: &u32| Packed::new((*mantissa).into(), 0, *day);
            if m.iter().zip(d.iter()).map(|(m, d)| key(m, d)).is_sorted() {
                return;
            }
            keys.clear();
            keys.extend(m.iter().zip(d.iter()).map(|(m, d)| key(m, d)));
            keys.sort_unstable();
            for ((m, d), k) in m.iter_mut().zip(d.iter_mut()).zip(keys.iter()) {
                *d = k.day_scale();
                *m = M::from_wide(k.mantissa());
            }
        });
}

/// Sorts by group, day and scale, then mantissa, in one pass: equal tables are equal values
/// whatever the input order.
pub(super) fn sort_records(records: &mut [Packed]) {
    use crate::par::prelude::*;
    records.par_sort_unstable();
}

/// The groups' runs (group, start, the scale its records share or [`MIXED_SCALES`]) in
/// order, a vector for each bucket: a group is in one bucket, and the runs are not gathered
/// into one vector (16 bytes a group, at scale M 16 MB) but read bucket by bucket, each freed
/// once read. A run ends where the next starts (the last at the table's end): with its end
/// held too, the runs took 8 MB more at M, beside the filed records and the new columns at
/// the load's peak. The scale is taken where each bucket is written, in parallel, while its
/// records are in cache: a serial pass over the day column afterwards took a few percent of
/// a load.
pub(super) type Runs = Vec<Vec<(u32, usize, u8)>>;

/// The records sorted as [`sort_records`] sorts them, as the table's columns (mantissas
/// narrow or wide, each written once, never widened or narrowed afterwards) and the groups'
/// runs (group, start, end), in order; `groups` bounds the records' group numbers.
///
/// Sorted by bucket, out of place: one parallel pass files the records into buckets by their
/// group's top bits (each part of the input into its own slices of a second buffer), then
/// each bucket is sorted on its own, in cache, and written to its place in the columns while
/// it is there. Sorting 10 million records this way takes about half the instructions of one
/// sort of all. The records are filed as 64-bit [`BucketKey`]s when those hold them (half the
/// bytes to move and to sort), and otherwise as they are.
#[cfg(test)]
pub(super) fn sorted_columns<S: RecordSource>(source: S, groups: u32) -> (Mantissas, Days, Runs) {
    let (mantissas, days, runs, spent) = sorted_columns_spent(source, groups);
    drop(spent);
    (mantissas, days, runs)
}

/// The filed records once written into the columns: freed by the caller, which may free them
/// while it does other work (freeing 8 bytes a record is a few milliseconds on one thread at
/// 10 million records, which would otherwise wait alone).
pub(super) type Spent = Box<dyn Send>;

/// [`sorted_columns`], the filed records handed back to be freed.
pub(super) fn sorted_columns_spent<S: RecordSource>(
    source: S,
    groups: u32,
) -> (Mantissas, Days, Runs, Spent) {
    let n = source.len();
    if n < (1 << 16) {
        // One bucket of the records as they are.
        let mut records = Vec::with_capacity(n);
        for part in 0..source.parts() {
            source.each(part, |r| records.push(r));
        }
        let spans = Spans::of(&records);
        return columns(records, &[n], &spans, |_, r| r);
    }
    let filing = Filing::count(&source, groups);
    match BucketKey::of(&filing) {
        // Keys of at most 48 bits are filed in 6 bytes (the kit's M data needs 53: 11 bits of
        // the group under its bucket's, 12 of the day word, 30 of six-decimal quantities).
        Some(key) if key.bits() <= 48 => {
            let keyed = |g, d, m| key.of_fields(g, d, m);
            let filed = filing.file_keys(source, keyed, Key48::of);
            columns(filed, &filing.lengths(), &filing.spans, |b, k| {
                key.record(b, k.key())
            })
        }
        Some(key) => {
            let keyed = |g, d, m| key.of_fields(g, d, m);
            let filed = filing.file_keys(source, keyed, |k| k);
            columns(filed, &filing.lengths(), &filing.spans, |b, k| {
                key.record(b, k)
            })
        }
        None => {
            let filed = filing.file(source, |r| r);
            columns(filed, &filing.lengths(), &filing.spans, |_, r| r)
        }
    }
}

/// The columns of `filed` (buckets of the given lengths, each unsorted, of records of
/// `spans`), whose items `decode` turns back into records given their bucket. The day column
/// is written as offsets from the least word when the words span less than 2^16, as
/// [`Days::of`] would make it.
pub(super) fn columns<T: Filed + 'static>(
    mut filed: Vec<T>,
    lengths: &[usize],
    spans: &Spans,
    decode: impl Fn(usize, T) -> Packed + Sync,
) -> (Mantissas, Days, Runs, Spent) {
    let n = filed.len();
    let [least, most] = spans.day;
    let (mantissas, days, runs) = if n > 0 && most.saturating_sub(least) <= u32::from(u16::MAX) {
        let mut offsets = zeroed::<u16>(n);
        let (mantissas, runs) = mantissa_column(
            &mut filed,
            lengths,
            spans.narrow,
            (&mut offsets, least),
            decode,
        );
        let days = Days::Narrow {
            base: least,
            offsets,
        };
        (mantissas, days, runs)
    } else {
        let mut words = zeroed::<u32>(n);
        let (mantissas, runs) =
            mantissa_column(&mut filed, lengths, spans.narrow, (&mut words, 0), decode);
        (mantissas, Days::Wide(words), runs)
    };
    (mantissas, days, runs, Box::new(filed))
}

/// A column of `n` zeros, written by every thread: a fresh allocation's pages are then
/// touched in parallel, and memory the allocator hands back from freed blocks is cleared in
/// parallel too (`vec![0; n]` clears such memory on the calling thread alone while the
/// others wait: 2% of the load's processor time at the kit's M, all of it serial).
pub(super) fn zeroed<T: Copy + Default + Send + Sync>(n: usize) -> Vec<T> {
    use crate::par::prelude::*;
    let mut column = Vec::with_capacity(n);
    column.par_extend(crate::par::repeat_n(T::default(), n));
    column
}

/// The mantissa column (narrow if `narrow`) of `filed`, its days written into `days` held
/// off `base`, as [`columns`] says.
fn mantissa_column<D: DayWord, T: Filed>(
    filed: &mut [T],
    lengths: &[usize],
    narrow: bool,
    days: (&mut [D], u32),
    decode: impl Fn(usize, T) -> Packed + Sync,
) -> (Mantissas, Runs) {
    if narrow {
        let mut mantissas = zeroed::<u32>(filed.len());
        let runs = write_buckets(filed, lengths, &mut mantissas, days, decode);
        (Mantissas::Narrow(mantissas), runs)
    } else {
        let mut mantissas = zeroed::<i64>(filed.len());
        let runs = write_buckets(filed, lengths, &mut mantissas, days, decode);
        (Mantissas::Wide(mantissas), runs)
    }
}

impl Filed for Packed {
    fn sort_bucket(bucket: &mut [Packed], room: &mut SortRoom) {
        sort_bucket(bucket, room);
    }

    fn sort_large(bucket: &mut [Packed]) {
        sort_records(bucket);
    }
}

impl Filed for u64 {
    fn sort_bucket(bucket: &mut [u64], room: &mut SortRoom) {
        sort_keys(bucket, room);
    }

    fn sort_large(bucket: &mut [u64]) {
        use crate::par::prelude::*;
        bucket.par_sort_unstable();
    }

    /// Zeroed memory, fresh from the system: its pages are touched only as the keys are
    /// filed, while the source frees its words part by part ([`RecordSource::done`]), so the
    /// two are not all resident at once (at M, 80 MB of each).
    fn room(n: usize) -> Vec<u64> {
        vec![0; n]
    }
}

/// A [`BucketKey`] of at most 48 bits in 6 bytes, the high bits first, so that keys compare
/// as their values do.
#[derive(Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord)]
pub(super) struct Key48([u16; 3]);

impl Key48 {
    /// The low 48 bits of `key`.
    fn of(key: u64) -> Key48 {
        let part = |shift: u32| u16::try_from((key >> shift) & 0xFFFF).unwrap_or_default();
        Key48([part(32), part(16), part(0)])
    }

    fn key(self) -> u64 {
        let [high, middle, low] = self.0;
        (u64::from(high) << 32) | (u64::from(middle) << 16) | u64::from(low)
    }
}

impl Filed for Key48 {
    /// Sorted as 64-bit keys in the room's keys, then written back.
    fn sort_bucket(bucket: &mut [Key48], room: &mut SortRoom) {
        room.keys.clear();
        room.keys.extend(bucket.iter().map(|k| k.key()));
        sort_room_keys(room);
        for (k, key) in bucket.iter_mut().zip(room.keys.iter()) {
            *k = Key48::of(*key);
        }
    }

    fn sort_large(bucket: &mut [Key48]) {
        use crate::par::prelude::*;
        bucket.par_sort_unstable();
    }
}

/// A record as a 64-bit key that sorts in the records' order: a group field (what it holds is
/// the caller's), then the day word's and the mantissa's offsets from their least values,
/// each in as many bits as the largest offset needs.
#[derive(Clone, Copy)]
pub(super) struct KeyLayout {
    day_least: u32,
    day_bits: u32,
    mantissa_least: u64,
    mantissa_bits: u32,
}

impl KeyLayout {
    /// The layout of records of `spans` under a group field of `group_bits`, or `None` when
    /// the key needs more than 64 bits.
    pub(super) fn of(spans: &Spans, group_bits: u32) -> Option<KeyLayout> {
        let [day_least, day_most] = spans.day;
        let [mantissa_least, mantissa_most] = spans.mantissa;
        let day_bits = bits(u64::from(day_most.checked_sub(day_least)?));
        let mantissa_bits = bits(mantissa_most.checked_sub(mantissa_least)?);
        (group_bits
            .saturating_add(day_bits)
            .saturating_add(mantissa_bits)
            <= 64)
            .then_some(KeyLayout {
                day_least,
                day_bits,
                mantissa_least,
                mantissa_bits,
            })
    }

    /// The key of `r` with `group` in its group field: no field overflows its bits (`of`
    /// measured them all).
    fn key(self, group: u64, r: Packed) -> u64 {
        self.key_of(group, r.day_scale(), r.sortable())
    }

    /// [`KeyLayout::key`] of a record of this day word and mantissa (its sortable bits).
    #[inline(always)]
    fn key_of(self, group: u64, day_scale: u32, sortable: u64) -> u64 {
        let day = u64::from(day_scale.saturating_sub(self.day_least));
        let mantissa = sortable.saturating_sub(self.mantissa_least);
        group
            .checked_shl(self.day_bits.saturating_add(self.mantissa_bits))
            .unwrap_or(0)
            | day.checked_shl(self.mantissa_bits).unwrap_or(0)
            | mantissa
    }

    /// The record of `key`, whose group field `group` turns into its group.
    fn record(self, key: u64, group: impl Fn(u32) -> u32) -> Packed {
        let mantissa = key & low_bits(self.mantissa_bits);
        let day = key.checked_shr(self.mantissa_bits).unwrap_or(0) & low_bits(self.day_bits);
        let field = key
            .checked_shr(self.day_bits.saturating_add(self.mantissa_bits))
            .unwrap_or(0);
        // Each offset came from a value at most the field's largest: the sums fit.
        Packed::from_parts(
            group(u32::try_from(field).unwrap_or(u32::MAX)),
            self.day_least
                .saturating_add(u32::try_from(day).unwrap_or(u32::MAX)),
            self.mantissa_least.saturating_add(mantissa),
        )
    }
}

/// Bits an offset of up to `span` needs.
pub(super) fn bits(span: u64) -> u32 {
    64u32.saturating_sub(span.leading_zeros())
}

/// The key of a record of a known bucket: its group's bits under the bucket's in the group
/// field, its day word and mantissa laid out over all the records' spans.
#[derive(Clone, Copy)]
pub(super) struct BucketKey {
    shift: u32,
    layout: KeyLayout,
}

impl BucketKey {
    /// The keys of the records `filing` counted, or `None` when they need more than 64 bits.
    pub(super) fn of(filing: &Filing) -> Option<BucketKey> {
        Some(BucketKey {
            shift: filing.shift,
            layout: KeyLayout::of(&filing.spans, filing.shift)?,
        })
    }

    /// The bucket (the group's top bits, as [`Filing`] files records) and key of a record of
    /// this group, day word and mantissa (its sortable bits).
    #[inline(always)]
    fn of_fields(self, group: u32, day_scale: u32, sortable: u64) -> (usize, u64) {
        let bucket = group.checked_shr(self.shift).unwrap_or(0) as usize;
        let field = u64::from(group) & low_bits(self.shift);
        (bucket, self.layout.key_of(field, day_scale, sortable))
    }

    /// The bits a key takes.
    fn bits(self) -> u32 {
        self.shift
            .saturating_add(self.layout.day_bits)
            .saturating_add(self.layout.mantissa_bits)
    }

    /// The record of `key`, in `bucket`.
    fn record(self, bucket: usize, key: u64) -> Packed {
        let top = u32::try_from(bucket)
            .unwrap_or(u32::MAX)
            .checked_shl(self.shift)
            .unwrap_or(0);
        self.layout.record(key, |field| top | field)
    }
}

/// The scale of a day word as a table's group holds it (scales are at most 28).
pub(super) fn scale_byte(day_scale: u32) -> u8 {
    u8::try_from(scale_of(day_scale)).unwrap_or(MIXED_SCALES)
}

/// A mask of the low `bits` bits (all from 64).
pub(super) fn low_bits(bits: u32) -> u64 {
    1u64.checked_shl(bits)
        .map_or(u64::MAX, |b| b.wrapping_sub(1))
}

/// Sorts each bucket of `filed` (of the given lengths) and writes it to its place in the
/// columns, in parallel; the groups' runs, in order (a group is in one bucket).
pub(super) fn write_buckets<M: Mantissa, D: DayWord, T: Filed>(
    filed: &mut [T],
    lengths: &[usize],
    mantissas: &mut [M],
    (days, base): (&mut [D], u32),
    decode: impl Fn(usize, T) -> Packed + Sync,
) -> Runs {
    use crate::par::prelude::*;
    let starts = starts(lengths.iter().copied());
    let large = filed
        .len()
        .div_ceil(crate::par::current_num_threads().max(1));
    let runs: Runs = split_lengths(filed, lengths.iter().copied())
        .into_par_iter()
        .zip(split_lengths(mantissas, lengths.iter().copied()))
        .zip(split_lengths(days, lengths.iter().copied()))
        .zip(starts)
        .enumerate()
        .map_init(
            SortRoom::default,
            |room, (b, (((bucket, mantissas), days), start))| {
                if bucket.len() > large {
                    T::sort_large(bucket);
                } else {
                    T::sort_bucket(bucket, room);
                }
                let mut runs: Vec<(u32, usize, u8)> = Vec::new();
                for (at, ((t, m), d)) in (start..).zip(bucket.iter().zip(mantissas).zip(days)) {
                    let r = decode(b, *t);
                    *m = M::from_wide(r.mantissa());
                    *d = D::of_word(r.day_scale(), base);
                    let scale = scale_byte(r.day_scale());
                    match runs.last_mut() {
                        Some((group, _, shared)) if *group == r.group() => {
                            if *shared != scale {
                                *shared = MIXED_SCALES;
                            }
                        }
                        _ => runs.push((r.group(), at, scale)),
                    }
                }
                runs
            },
        )
        .collect();
    runs
}

/// Sorts a bucket as [`sort_records`] does, as 64-bit keys when they hold it: a bucket's
/// records share their group's top bits and most of their days, and their mantissas are
/// small, so each record's offsets from the bucket's least group, day and mantissa usually
/// fit in 64 bits, which sort in about half the time of the 128-bit records. `keys` is room
/// for the keys, reused from bucket to bucket.
pub(super) fn sort_bucket(bucket: &mut [Packed], room: &mut SortRoom) {
    match NarrowKey::of(bucket) {
        Some(narrow) => {
            room.keys.clear();
            room.keys.extend(bucket.iter().map(|r| narrow.key(*r)));
            sort_room_keys(room);
            for (r, k) in bucket.iter_mut().zip(room.keys.iter()) {
                *r = narrow.record(*k);
            }
        }
        None => bucket.sort_unstable(),
    }
}

/// A bucket's records as 64-bit keys that sort in the records' order: the group's offset
/// from the bucket's least in the group field, laid out over the bucket's own spans.
#[derive(Clone, Copy)]
pub(super) struct NarrowKey {
    group_least: u32,
    layout: KeyLayout,
}

impl NarrowKey {
    /// The keys of `records`, or `None` when their offsets need more than 64 bits.
    pub(super) fn of(records: &[Packed]) -> Option<NarrowKey> {
        let spans = Spans::of(records);
        let [group_least, group_most] = spans.group;
        let group_bits = bits(u64::from(group_most.checked_sub(group_least)?));
        Some(NarrowKey {
            group_least,
            layout: KeyLayout::of(&spans, group_bits)?,
        })
    }

    fn key(self, r: Packed) -> u64 {
        self.layout
            .key(u64::from(r.group().saturating_sub(self.group_least)), r)
    }

    fn record(self, key: u64) -> Packed {
        self.layout
            .record(key, |field| self.group_least.saturating_add(field))
    }
}
