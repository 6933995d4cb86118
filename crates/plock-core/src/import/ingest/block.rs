//! Records kept between chunks, 8 bytes each where they fit: a block's records as offsets
//! from the block's least account, metric, day, scale and mantissa, each field in as many bits
//! as its span needs (a chunk's usage spans a few months and a few metrics, so a 64-bit word
//! usually holds a record); 16 bytes each, as they are, where they do not. The table's sort
//! needs every record as a 16-byte key in one vector: built from blocks once the input ends,
//! the records are held twice at most at 8 + 16 bytes, never at 16 + 16 as a growing vector
//! held them while it was copied to a larger one.

use rayon::prelude::*;

use super::piece::METRIC_SLOTS;
use crate::usage::Packed;

/// The low bits of a day word holding the quantity's scale (the table's layout).
pub(super) const SCALE_BITS: u32 = 5;

/// Records of one block.
pub(super) enum Block {
    /// As 64-bit words of `Codec`.
    Narrow(Codec, Vec<u64>),
    /// As they are.
    Wide(Vec<Packed>),
}

/// The fields of a record, as a block takes them: account, metric (numbers below
/// [`METRIC_SLOTS`]), day, scale, and the mantissa as bits that sort as it does.
#[derive(Clone, Copy)]
struct Fields([u64; 5]);

impl Fields {
    /// The fields of `r` (a dense group, its metric number turned into `metric`).
    fn of(r: Packed, metric: u32) -> Fields {
        let day_scale = r.day_scale();
        Fields([
            u64::from(r.group() / METRIC_SLOTS),
            u64::from(metric),
            u64::from(day_scale >> SCALE_BITS),
            u64::from(day_scale & ((1 << SCALE_BITS) - 1)),
            r.mantissa().cast_unsigned() ^ (1 << 63),
        ])
    }

    /// The record of the fields, its metric number turned into `rank(metric)`.
    fn record(self, rank: impl Fn(u32) -> u32) -> Packed {
        let [account, metric, day, scale, mantissa] = self.0;
        let narrow = |v: u64| u32::try_from(v).unwrap_or(u32::MAX);
        let group = narrow(account)
            .saturating_mul(METRIC_SLOTS)
            .saturating_add(rank(narrow(metric)));
        let day_scale = (narrow(day) << SCALE_BITS) | narrow(scale);
        Packed::new((mantissa ^ (1 << 63)).cast_signed(), group, day_scale)
    }
}

/// How a block's records are words: each field's least value, and where its offset from
/// that lies in the word (the mantissa's in the low bits, the account's in the high).
#[derive(Clone, Copy)]
pub(super) struct Codec {
    least: [u64; 5],
    shift: [u32; 5],
    mask: [u64; 5],
}

/// The bits a span of `span` needs.
fn bits(span: u64) -> u32 {
    64u32.saturating_sub(span.leading_zeros())
}

impl Codec {
    /// The codec of records of these fields, or `None` when they need more than 64 bits.
    fn of(fields: impl Iterator<Item = Fields>) -> Option<Codec> {
        let mut least = [u64::MAX; 5];
        let mut most = [0u64; 5];
        for f in fields {
            for ((l, m), v) in least.iter_mut().zip(&mut most).zip(f.0) {
                *l = (*l).min(v);
                *m = (*m).max(v);
            }
        }
        let mut codec = Codec {
            least,
            shift: [0; 5],
            mask: [0; 5],
        };
        let mut below = 0u32;
        for i in (0..5).rev() {
            let span = most
                .get(i)
                .zip(least.get(i))
                .map_or(0, |(m, l)| m.saturating_sub(*l));
            let width = bits(span);
            if let (Some(shift), Some(mask)) = (codec.shift.get_mut(i), codec.mask.get_mut(i)) {
                *shift = below;
                *mask = 1u64
                    .checked_shl(width)
                    .map_or(u64::MAX, |b| b.wrapping_sub(1));
            }
            below = below.saturating_add(width);
        }
        (below <= 64).then_some(codec)
    }

    /// The word of `f`; a field of no bits is its least, so its offset is 0 wherever it goes.
    #[inline(always)]
    fn encode(&self, f: Fields) -> u64 {
        f.0.iter()
            .zip(&self.least)
            .zip(&self.shift)
            .fold(0, |word, ((v, l), s)| {
                word | v.wrapping_sub(*l).wrapping_shl(*s)
            })
    }

    #[inline(always)]
    fn decode(&self, word: u64) -> Fields {
        let mut fields = [0u64; 5];
        let layout = self.least.iter().zip(&self.shift).zip(&self.mask);
        for (v, ((l, s), m)) in fields.iter_mut().zip(layout) {
            // The offset was at most the span from the least: the sum does not wrap.
            *v = l.wrapping_add(word.wrapping_shr(*s) & m);
        }
        Fields(fields)
    }
}

impl Block {
    /// The block of `records`, dense groups whose metric numbers `map` turns into the sink's.
    pub(super) fn of(records: &[Packed], map: &[u32]) -> Block {
        let metric = |r: &Packed| {
            map.get((r.group() % METRIC_SLOTS) as usize)
                .copied()
                .unwrap_or(0)
        };
        let fields = records.iter().map(|r| Fields::of(*r, metric(r)));
        match Codec::of(fields.clone()) {
            Some(codec) => Block::Narrow(codec, fields.map(|f| codec.encode(f)).collect()),
            None => Block::Wide(
                records
                    .iter()
                    .map(|r| Fields::of(*r, metric(r)).record(|m| m))
                    .collect(),
            ),
        }
    }

    pub(super) fn len(&self) -> usize {
        match self {
            Block::Narrow(_, words) => words.len(),
            Block::Wide(records) => records.len(),
        }
    }

    /// Each record, its metric number turned into `rank(metric)`.
    pub(super) fn for_each(&self, rank: impl Fn(u32) -> u32, mut f: impl FnMut(Packed)) {
        match self {
            Block::Narrow(codec, words) => {
                for w in words {
                    f(codec.decode(*w).record(&rank));
                }
            }
            Block::Wide(records) => {
                for r in records {
                    f(Fields::of(*r, r.group() % METRIC_SLOTS).record(&rank));
                }
            }
        }
    }

    /// Writes the records into `out`, as long as the block, each metric number turned into
    /// `rank(metric)`.
    fn write(&self, out: &mut [Packed], rank: impl Fn(u32) -> u32) {
        let mut slots = out.iter_mut();
        self.for_each(rank, |r| {
            if let Some(slot) = slots.next() {
                *slot = r;
            }
        });
    }
}

/// Every record of `blocks` in one vector, each metric number turned into `rank(metric)`;
/// the blocks are freed once written.
pub(super) fn unpack(blocks: Vec<Block>, rank: impl Fn(u32) -> u32 + Sync) -> Vec<Packed> {
    let n = blocks.iter().map(Block::len).sum();
    let mut records = Vec::with_capacity(n);
    // Fresh pages, touched by every thread.
    records.par_extend(rayon::iter::repeat_n(Packed::default(), n));
    let parts = crate::usage::split_lengths(&mut records, blocks.iter().map(Block::len));
    parts
        .into_par_iter()
        .zip(blocks.par_iter())
        .for_each(|(out, block)| block.write(out, &rank));
    drop(blocks);
    records
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::usage::{pack, quantity, unix_day_word};
    use chrono::NaiveDate;
    use proptest::prelude::*;
    use rust_decimal::Decimal;

    #[test]
    fn the_scale_is_the_low_bits_of_the_day_word() {
        let date = NaiveDate::from_ymd_opt(2025, 3, 1).unwrap();
        for scale in 0..=28 {
            let (mantissa, day_scale) = pack(Decimal::new(15, scale), date).unwrap();
            assert_eq!(day_scale & ((1 << SCALE_BITS) - 1), scale);
            assert_eq!(quantity(mantissa, day_scale), Decimal::new(15, scale));
        }
        assert_eq!(unix_day_word(1).unwrap() & ((1 << SCALE_BITS) - 1), 0);
    }

    proptest! {
        /// Blocks give back their records, narrow or wide, their metrics renumbered.
        #[test]
        fn blocks_give_back_their_records(
            records in prop::collection::vec(
                (0u32..100_000, 0u32..64, 0u32..(1 << 24), 0u32..29, any::<i64>()),
                0..200,
            ),
            narrow in any::<bool>(),
        ) {
            let map: Vec<u32> = (0..64).rev().collect();
            let records: Vec<Packed> = records
                .iter()
                .map(|(a, m, day, scale, mantissa)| {
                    let (day, mantissa) = match narrow {
                        true => (day % 100 + 20_000, mantissa % 1_000_000_000),
                        false => (*day, *mantissa),
                    };
                    Packed::new(mantissa, a * METRIC_SLOTS + m, (day << SCALE_BITS) | scale)
                })
                .collect();
            let block = Block::of(&records, &map);
            prop_assert_eq!(block.len(), records.len());
            let mut back = Vec::new();
            block.for_each(|m| m, |r| back.push(r));
            let expected: Vec<Packed> = records
                .iter()
                .map(|r| r.with_group(r.group() / METRIC_SLOTS * METRIC_SLOTS + map[(r.group() % METRIC_SLOTS) as usize]))
                .collect();
            prop_assert_eq!(&back, &expected);
            let unpacked = unpack(vec![block], |m| m);
            prop_assert_eq!(unpacked, expected);
        }
    }
}
