//! Where the records read are kept until the table's sort takes them, as 128-bit keys of
//! dense groups (account x [`METRIC_SLOTS`] + the sink's metric number): in the sort's own
//! vector when the input is read as one chunk (a slot a line, reserved as the chunk is
//! read), or else in 8-byte words ([`Store`]), so that a vector growing while it is copied
//! never holds them twice.

use crate::par::prelude::*;

use super::block::{Store, Stored};
use super::piece::METRIC_SLOTS;
use crate::usage::{Bounds, Packed, RecordSource, split_lengths};

/// Records read with the group column's metric numbers the sink's.
pub(super) enum Records {
    /// The sort's vector: `records[..base]` kept, the open chunk's regions after.
    Direct { records: Vec<Packed>, base: usize },
    /// Words, the open chunk's pieces writing into `scratch` first (room reused from chunk to
    /// chunk), records the row rules read gathered in `loose` first.
    Packed {
        scratch: Vec<Packed>,
        store: Store,
        loose: Vec<Packed>,
    },
}

/// Records the row rules read that are stored together.
const LOOSE_BLOCK: usize = 1 << 16;

impl Records {
    /// Records kept in the sort's vector if `direct`, else in words.
    pub(super) fn new(direct: bool) -> Records {
        match direct {
            true => Records::Direct {
                records: Vec::new(),
                base: 0,
            },
            false => Records::Packed {
                scratch: Vec::new(),
                store: Store::default(),
                loose: Vec::new(),
            },
        }
    }

    /// Opens a chunk: room for `slots` records, for its pieces to write.
    pub(super) fn open(&mut self, slots: usize) -> &mut [Packed] {
        match self {
            Records::Direct { records, base } => {
                *base = records.len();
                records.reserve(slots);
                // Written in parallel, so fresh pages are touched by every thread.
                records.par_extend(crate::par::repeat_n(Packed::default(), slots));
                records.get_mut(*base..).unwrap_or_default()
            }
            Records::Packed { scratch, .. } => {
                // Only the slots the pieces write are read: what an earlier chunk left in
                // the others is never seen, so the room is not cleared.
                scratch.resize(slots, Packed::default());
                scratch
            }
        }
    }

    /// Drops what the open chunk's pieces wrote.
    pub(super) fn abort(&mut self) {
        if let Records::Direct { records, base } = self {
            records.truncate(*base);
        }
    }

    /// The open chunk's records: the first `written` of each region of `slots`.
    pub(super) fn chunk(&self, written: &[usize], slots: &[usize]) -> Vec<&[Packed]> {
        let room = match self {
            Records::Direct { records, base } => records.get(*base..).unwrap_or_default(),
            Records::Packed { scratch, .. } => scratch,
        };
        let mut rest = room;
        let mut parts = Vec::with_capacity(slots.len());
        for (n, len) in written.iter().zip(slots) {
            let (region, tail) = rest.split_at((*len).min(rest.len()));
            parts.push(region.get(..*n).unwrap_or_default());
            rest = tail;
        }
        parts
    }

    /// Keeps the open chunk's records, whose metric numbers (a region's of its piece) `maps`
    /// turn into the sink's, all below [`METRIC_SLOTS`].
    pub(super) fn keep_chunk(&mut self, written: &[usize], slots: &[usize], maps: &[Vec<u32>]) {
        match self {
            Records::Direct { records, base } => {
                // Close the gaps the regions left, in order; in a clean chunk only the spare
                // slots. Each region holds its written records: the moves stay in bounds.
                let (mut kept, mut region) = (*base, *base);
                for (n, room) in written.iter().zip(slots) {
                    if region != kept {
                        records.copy_within(region..region.saturating_add(*n), kept);
                    }
                    kept = kept.saturating_add(*n);
                    region = region.saturating_add(*room);
                }
                records.truncate(kept);
                let chunk = records.get_mut(*base..).unwrap_or_default();
                let written = written.iter().copied();
                split_lengths(chunk, written)
                    .into_par_iter()
                    .zip(maps.par_iter())
                    .filter(|(_, map)| map.iter().zip(0u32..).any(|(m, i)| *m != i))
                    .for_each(|(part, map)| renumber(part, |m| map.get(m as usize).copied()));
                *base = records.len();
            }
            Records::Packed { scratch, store, .. } => {
                let mut parts: Vec<(&[Packed], &[u32])> = Vec::with_capacity(maps.len());
                let mut rest = scratch.as_slice();
                for ((n, room), map) in written.iter().zip(slots).zip(maps) {
                    let (region, tail) = rest.split_at((*room).min(rest.len()));
                    rest = tail;
                    if *n > 0 {
                        parts.push((region.get(..*n).unwrap_or_default(), map));
                    }
                }
                store.add(&parts);
            }
        }
    }

    /// Adds a record.
    pub(super) fn push(&mut self, record: Packed) {
        match self {
            Records::Direct { records, base } => {
                records.push(record);
                *base = records.len();
            }
            Records::Packed { store, loose, .. } => {
                loose.push(record);
                if loose.len() >= LOOSE_BLOCK {
                    flush(store, loose);
                }
            }
        }
    }

    /// How many records are kept.
    pub(super) fn len(&self) -> usize {
        match self {
            Records::Direct { base, .. } => *base,
            Records::Packed { store, loose, .. } => store.len().saturating_add(loose.len()),
        }
    }

    /// Every record kept, in no particular order.
    pub(super) fn for_each(&self, mut f: impl FnMut(Packed)) {
        match self {
            Records::Direct { records, base } => {
                records
                    .get(..*base)
                    .unwrap_or_default()
                    .iter()
                    .for_each(|r| f(*r));
            }
            Records::Packed { store, loose, .. } => {
                store.for_each(&mut f);
                loose.iter().for_each(|r| f(*r));
            }
        }
    }

    /// Every record, for the sort, each metric number turned into `rank[metric]`.
    pub(super) fn into_source(self, rank: Vec<u32>) -> Kept {
        let rank_of = |m: u32| rank.get(m as usize).copied().unwrap_or(0);
        match self {
            Records::Direct { mut records, .. } => {
                records
                    .par_chunks_mut(1 << 14)
                    .for_each(|part| renumber(part, |m| Some(rank_of(m))));
                Kept::Direct(records)
            }
            Records::Packed {
                mut store,
                mut loose,
                scratch,
            } => {
                drop(scratch);
                flush(&mut store, &mut loose);
                drop(loose);
                Kept::Stored(store.into_source(rank))
            }
        }
    }
}

/// The records kept, as the table's sort takes them.
pub(super) enum Kept {
    Direct(Vec<Packed>),
    Stored(Stored),
}

impl RecordSource for Kept {
    fn len(&self) -> usize {
        match self {
            Kept::Direct(records) => RecordSource::len(records),
            Kept::Stored(stored) => stored.len(),
        }
    }

    fn parts(&self) -> usize {
        match self {
            Kept::Direct(records) => records.parts(),
            Kept::Stored(stored) => stored.parts(),
        }
    }

    fn each(&self, part: usize, f: impl FnMut(Packed)) {
        match self {
            Kept::Direct(records) => records.each(part, f),
            Kept::Stored(stored) => stored.each(part, f),
        }
    }

    // The store's own ways of reading its words, each the default for the vector.

    fn done(&self, part: usize) {
        match self {
            Kept::Direct(records) => records.done(part),
            Kept::Stored(stored) => stored.done(part),
        }
    }

    fn bounds(&self, part: usize) -> Option<Bounds> {
        match self {
            Kept::Direct(records) => records.bounds(part),
            Kept::Stored(stored) => stored.bounds(part),
        }
    }

    fn count_buckets(&self, part: usize, shift: u32, counts: &mut [usize]) {
        match self {
            Kept::Direct(records) => records.count_buckets(part, shift, counts),
            Kept::Stored(stored) => stored.count_buckets(part, shift, counts),
        }
    }

    fn each_key(
        &self,
        part: usize,
        key: impl Fn(u32, u32, u64) -> (usize, u64),
        f: impl FnMut(usize, u64),
    ) {
        match self {
            Kept::Direct(records) => records.each_key(part, key, f),
            Kept::Stored(stored) => stored.each_key(part, key, f),
        }
    }
}

/// Stores the records gathered in `loose`.
fn flush(store: &mut Store, loose: &mut Vec<Packed>) {
    if !loose.is_empty() {
        let identity: Vec<u32> = (0..METRIC_SLOTS).collect();
        store.add(&[(loose, &identity)]);
        loose.clear();
    }
}

/// Turns the metric numbers of `records`' groups into `map`'s.
fn renumber(records: &mut [Packed], map: impl Fn(u32) -> Option<u32>) {
    for r in records {
        let (a, m) = (r.group() / METRIC_SLOTS, r.group() % METRIC_SLOTS);
        let m = map(m).unwrap_or(0);
        *r = r.with_group(a.saturating_mul(METRIC_SLOTS).saturating_add(m));
    }
}
