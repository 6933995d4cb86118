//! Records kept between chunks, 8 bytes each where they fit: a piece's records as offsets
//! from the piece's least account, metric, day, scale and mantissa, each field in as many
//! bits as its span needs (a chunk's usage spans a few months and a few metrics, so a 64-bit
//! word usually holds a record); 16 bytes each, as they are, where they do not. Once the
//! input ends, the table's sort reads the records from the store in parts of whole segments
//! ([`Stored`]) and files them into its buckets (6 or 8 bytes a record), never gathered
//! into a vector of 16-byte records first. A buffer is freed once every part that reads it
//! is filed, so the words and the filed keys are not all held at once.
//! Each segment keeps the exact bounds of its day words and mantissas, so the sort's
//! counting pass reads only the records' groups.

use crate::par::prelude::*;

mod stored;

use super::piece::METRIC_SLOTS;
use crate::usage::{Bounds, Packed, split_lengths};

pub(super) use stored::Stored;

/// The bits of a metric number in a dense group.
const METRIC_BITS: u32 = METRIC_SLOTS.trailing_zeros();
const _: () = assert!(METRIC_SLOTS.is_power_of_two());

/// The low bits of a day word holding the quantity's scale (the table's layout).
pub(super) const SCALE_BITS: u32 = 5;

/// The scale's bits of a day word.
const LOW: u32 = (1 << SCALE_BITS) - 1;

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
    /// The codec of `records` (dense groups whose metric numbers `map` turns into the
    /// sink's), or `None` when they need more than 64 bits. The fields are measured as
    /// [`Fields::all`] makes them, in one pass over the records: the metrics met are only
    /// marked there, and turned into the sink's numbers once at the end.
    fn of_records(records: &[Packed], map: &[u32]) -> Option<(Codec, Bounds)> {
        let mut accounts = [u32::MAX, 0];
        let mut days = [u32::MAX, 0];
        let mut scales = [u32::MAX, 0];
        let mut day_words = [u32::MAX, 0];
        let mut mantissas = [u64::MAX, 0];
        let mut metrics = 0u64;
        let widen = |[l, m]: [u32; 2]| [u64::from(l), u64::from(m)];
        for r in records {
            let (group, word) = (r.group(), r.day_scale());
            let (account, day, scale) = (group / METRIC_SLOTS, word >> SCALE_BITS, word & LOW);
            let sortable = r.mantissa().cast_unsigned() ^ (1 << 63);
            accounts = [accounts[0].min(account), accounts[1].max(account)];
            days = [days[0].min(day), days[1].max(day)];
            scales = [scales[0].min(scale), scales[1].max(scale)];
            day_words = [day_words[0].min(word), day_words[1].max(word)];
            mantissas = [mantissas[0].min(sortable), mantissas[1].max(sortable)];
            metrics |= 1u64.wrapping_shl(group % METRIC_SLOTS);
        }
        let mut metric = [u64::MAX, 0];
        for m in (0..METRIC_SLOTS).filter(|m| metrics & (1u64 << m) != 0) {
            let v = u64::from(map.get(m as usize).copied().unwrap_or(0));
            metric = [metric[0].min(v), metric[1].max(v)];
        }
        let spans = [
            widen(accounts),
            metric,
            widen(days),
            widen(scales),
            mantissas,
        ];
        let bounds = Bounds {
            day: day_words,
            mantissa: mantissas,
        };
        Codec::laid_out(spans, bounds)
    }

    /// The codec of fields of these least and largest values (`[u64::MAX, 0]` for none),
    /// or `None` when they need more than 64 bits.
    fn laid_out(spans: [[u64; 2]; 5], bounds: Bounds) -> Option<(Codec, Bounds)> {
        let least = spans.map(|[l, _]| l);
        let most = spans.map(|[_, m]| m);
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
        (below <= 64).then_some((codec, bounds))
    }

    /// The group of the record of `word`, its metric number turned into `rank(metric)`.
    #[inline(always)]
    fn group(&self, word: u64, rank: impl Fn(u32) -> u32) -> u32 {
        let field = |i: usize| {
            let (Some(l), Some(s), Some(m)) =
                (self.least.get(i), self.shift.get(i), self.mask.get(i))
            else {
                return 0;
            };
            u32::try_from(l.wrapping_add(word.wrapping_shr(*s) & m)).unwrap_or(u32::MAX)
        };
        field(0)
            .saturating_mul(METRIC_SLOTS)
            .saturating_add(rank(field(1)))
    }

    /// The account number of the record of `word`.
    #[inline(always)]
    fn account(&self, word: u64) -> u64 {
        let [least, ..] = self.least;
        let [at, ..] = self.shift;
        let [mask, ..] = self.mask;
        // The offset was at most the span from the least: the sum does not wrap.
        least.wrapping_add(word.wrapping_shr(at) & mask)
    }

    /// The group, day word and sortable mantissa of the record of `word`, its metric number
    /// turned into `rank(metric)`: what [`Codec::decode`] and [`Fields::record`] make of it,
    /// without the record.
    #[inline(always)]
    fn key_fields(&self, word: u64, rank: impl Fn(u32) -> u32) -> (u32, u32, u64) {
        let [account, metric, day, scale, mantissa] = self.least;
        let [account_at, metric_at, day_at, scale_at, mantissa_at] = self.shift;
        let [
            account_mask,
            metric_mask,
            day_mask,
            scale_mask,
            mantissa_mask,
        ] = self.mask;
        // The offset was at most the span from the least: the sums do not wrap.
        let value =
            |least: u64, at: u32, mask: u64| least.wrapping_add(word.wrapping_shr(at) & mask);
        let narrow = |v: u64| u32::try_from(v).unwrap_or(u32::MAX);
        let group = narrow(value(account, account_at, account_mask))
            .saturating_mul(METRIC_SLOTS)
            .saturating_add(rank(narrow(value(metric, metric_at, metric_mask))));
        let day_scale = (narrow(value(day, day_at, day_mask)) << SCALE_BITS)
            | narrow(value(scale, scale_at, scale_mask));
        (
            group,
            day_scale,
            value(mantissa, mantissa_at, mantissa_mask),
        )
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

impl Fields {
    /// The fields of each of `records` (dense groups whose metric numbers `map` turns into
    /// the sink's).
    fn all<'a>(records: &'a [Packed], map: &'a [u32]) -> impl Iterator<Item = Fields> + Clone + 'a {
        records.iter().map(|r| {
            let metric = map.get((r.group() % METRIC_SLOTS) as usize).copied();
            Fields::of(*r, metric.unwrap_or(0))
        })
    }
}

/// Words a buffer of narrow records holds: large enough that, freed, buffers make room the
/// table's sort can take (with mimalloc, freed 256 KiB blocks were not reused for its 80 MB
/// buffer at scale M, freed 2 MiB ones were).
const BUFFER_WORDS: usize = 1 << 20;

/// Records kept between chunks, in segments of one codec each.
#[derive(Default)]
pub(super) struct Store {
    /// The words of narrow segments, each buffer filled before the next is made.
    buffers: Vec<Vec<u64>>,
    segments: Vec<Segment>,
    len: usize,
}

/// Records of one piece.
enum Segment {
    /// `buffers[buffer][start..start + len]`, words of `codec`.
    Narrow {
        codec: Codec,
        bounds: Bounds,
        buffer: usize,
        start: usize,
        len: usize,
    },
    /// As they are, their metric numbers the sink's.
    Wide(Vec<Packed>),
}

impl Segment {
    fn len(&self) -> usize {
        match self {
            Segment::Narrow { len, .. } => *len,
            Segment::Wide(records) => records.len(),
        }
    }

    /// A narrow segment's codec and place: (buffer, start, len); `None` for a wide one.
    fn narrow(&self) -> Option<(&Codec, [usize; 3])> {
        match self {
            Segment::Narrow {
                codec,
                buffer,
                start,
                len,
                ..
            } => Some((codec, [*buffer, *start, *len])),
            Segment::Wide(_) => None,
        }
    }
}

impl Store {
    /// Records held.
    pub(super) fn len(&self) -> usize {
        self.len
    }

    /// Adds the records of `parts`, each dense groups whose metric numbers its map turns
    /// into the sink's, in parallel.
    pub(super) fn add(&mut self, parts: &[(&[Packed], &[u32])]) {
        let codecs: Vec<Option<(Codec, Bounds)>> = parts
            .par_iter()
            .map(|(records, map)| Codec::of_records(records, map))
            .collect();
        let narrow: Vec<usize> = parts
            .iter()
            .zip(&codecs)
            .map(|((records, _), codec)| if codec.is_some() { records.len() } else { 0 })
            .collect();
        let (buffer, start) = self.write(parts, &codecs, &narrow);
        let mut at = start;
        for (((records, map), codec), n) in parts.iter().zip(codecs).zip(narrow) {
            self.len = self.len.saturating_add(records.len());
            self.segments.push(match codec {
                Some((codec, bounds)) => Segment::Narrow {
                    codec,
                    bounds,
                    buffer,
                    start: at,
                    len: n,
                },
                None => Segment::Wide(Fields::all(records, map).map(|f| f.record(|m| m)).collect()),
            });
            at = at.saturating_add(n);
        }
    }

    /// Writes the words of the `parts` that have a codec (`narrow` of each) into the last
    /// buffer, a new one if it has no room, in parallel: where they start.
    fn write(
        &mut self,
        parts: &[(&[Packed], &[u32])],
        codecs: &[Option<(Codec, Bounds)>],
        narrow: &[usize],
    ) -> (usize, usize) {
        let total: usize = narrow.iter().sum();
        let room = self
            .buffers
            .last()
            .map_or(0, |b| b.capacity().saturating_sub(b.len()));
        if room < total {
            self.buffers
                .push(Vec::with_capacity(BUFFER_WORDS.max(total)));
        }
        let buffer = self.buffers.len().saturating_sub(1);
        let start = self.buffers.last().map_or(0, Vec::len);
        if let Some(words) = self.buffers.last_mut() {
            words.par_extend(crate::par::repeat_n(0u64, total));
            let slices = split_lengths(
                words.get_mut(start..).unwrap_or_default(),
                narrow.iter().copied(),
            );
            slices
                .into_par_iter()
                .zip(parts.par_iter().zip(codecs))
                .for_each(|(out, ((records, map), codec))| {
                    if let Some((codec, _)) = codec {
                        for (w, f) in out.iter_mut().zip(Fields::all(records, map)) {
                            *w = codec.encode(f);
                        }
                    }
                });
        }
        (buffer, start)
    }

    /// The words of a narrow segment: `buffers[buffer][start..start + len]`.
    fn words(&self, buffer: usize, start: usize, len: usize) -> &[u64] {
        let words = self.buffers.get(buffer).map_or(&[][..], Vec::as_slice);
        words
            .get(start..start.saturating_add(len))
            .unwrap_or_default()
    }

    /// Each record of `segment`, its metric number turned into `rank(metric)`.
    fn each(&self, segment: &Segment, rank: impl Fn(u32) -> u32, mut f: impl FnMut(Packed)) {
        if let Some((codec, [buffer, start, len])) = segment.narrow() {
            decode_each(codec, self.words(buffer, start, len), rank, f);
        } else if let Segment::Wide(records) = segment {
            for r in records {
                f(Fields::of(*r, r.group() % METRIC_SLOTS).record(&rank));
            }
        }
    }

    /// Each record, in the order they were added.
    pub(super) fn for_each(&self, mut f: impl FnMut(Packed)) {
        for segment in &self.segments {
            self.each(segment, |m| m, &mut f);
        }
    }

    /// The records, each metric number turned into `rank[metric]`, as a source the table's
    /// sort reads in parts of about equal counts (runs of whole segments), in parallel.
    pub(super) fn into_source(self, rank: Vec<u32>) -> Stored {
        let parts = crate::usage::part_len(self.len);
        let mut part_starts = vec![0usize];
        let mut in_part = 0usize;
        for (i, segment) in self.segments.iter().enumerate() {
            in_part = in_part.saturating_add(segment.len());
            if in_part >= parts {
                part_starts.push(i.saturating_add(1));
                in_part = 0;
            }
        }
        if part_starts.last() != Some(&self.segments.len()) {
            part_starts.push(self.segments.len());
        }
        Stored::new(self, rank, part_starts)
    }
}

/// Each record of `words` (of `codec`), its metric number turned into `rank(metric)`.
fn decode_each(codec: &Codec, words: &[u64], rank: impl Fn(u32) -> u32, mut f: impl FnMut(Packed)) {
    for w in words {
        f(codec.decode(*w).record(&rank));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::usage::{RecordSource, pack, quantity, unix_day_word};
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
        /// The store gives back its records, narrow or wide, their metrics renumbered.
        #[test]
        fn the_store_gives_back_its_records(
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
            let mut store = Store::default();
            let half = records.len() / 2;
            let (first, second) = records.split_at(half);
            store.add(&[(first, &map), (second, &map)]);
            prop_assert_eq!(store.len(), records.len());
            let mut back = Vec::new();
            store.for_each(|r| back.push(r));
            let expected: Vec<Packed> = records
                .iter()
                .map(|r| r.with_group(r.group() / METRIC_SLOTS * METRIC_SLOTS + map[(r.group() % METRIC_SLOTS) as usize]))
                .collect();
            prop_assert_eq!(&back, &expected);
            let stored = store.into_source((0..64).collect());
            let mut read = Vec::new();
            for part in 0..stored.parts() {
                let mut records = Vec::new();
                stored.each(part, |r| records.push(r));
                // The buckets counted from the words are the records' groups' top bits,
                // whatever the shift.
                for shift in [3, 6, 11, 25] {
                    let mut counts = vec![0usize; ((100_000 * 64) >> shift) + 1];
                    stored.count_buckets(part, shift, &mut counts);
                    let mut expected = vec![0usize; counts.len()];
                    for r in &records {
                        expected[(r.group() >> shift) as usize] += 1;
                    }
                    prop_assert_eq!(counts, expected);
                }
                // The keys taken from the words are those of the records.
                let key = |g: u32, d: u32, m: u64| ((g >> 3) as usize, (u64::from(g) << 40) ^ (u64::from(d) << 20) ^ m);
                let mut keys = Vec::new();
                stored.each_key(part, key, |b, k| keys.push((b, k)));
                let expected_keys: Vec<(usize, u64)> = records
                    .iter()
                    .map(|r| key(r.group(), r.day_scale(), r.mantissa().cast_unsigned() ^ (1 << 63)))
                    .collect();
                prop_assert_eq!(keys, expected_keys);
                let measured = records.iter().fold(Bounds::EMPTY, |b, r| {
                    b.merge(Bounds {
                        day: [r.day_scale(); 2],
                        mantissa: [(r.mantissa().cast_unsigned() ^ (1 << 63)); 2],
                    })
                });
                if let Some(bounds) = stored.bounds(part) {
                    prop_assert_eq!(bounds, measured);
                }
                read.extend(records);
            }
            prop_assert_eq!(stored.len(), expected.len());
            prop_assert_eq!(read, expected);
        }
    }
}
