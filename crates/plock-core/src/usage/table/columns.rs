//! The columns a table holds its records in: mantissas narrow or wide, days as words or offsets.

use super::pack::Packed;

/// Records in the order they came, in three columns: 12 bytes a record (16 with wide
/// mantissas), the first two of which become the table's.
#[derive(Debug, Default)]
pub(super) struct Columns {
    pub(super) mantissas: Mantissas,
    pub(super) days: Vec<u32>,
    pub(super) groups: Vec<u32>,
}

impl Columns {
    pub(super) fn with_capacity(records: usize) -> Columns {
        Columns {
            mantissas: Mantissas::Narrow(Vec::with_capacity(records)),
            days: Vec::with_capacity(records),
            groups: Vec::with_capacity(records),
        }
    }

    pub(super) fn push(&mut self, r: Packed) {
        self.mantissas.push(r.mantissa());
        self.days.push(r.day_scale());
        self.groups.push(r.group());
    }
}

/// A table's quantity mantissas: 4 bytes each while every one fits in a `u32` (usage counts
/// and most measures do), 8 otherwise. Which one a table has depends only on its records.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Mantissas {
    Narrow(Vec<u32>),
    Wide(Vec<i64>),
}

impl Default for Mantissas {
    fn default() -> Mantissas {
        Mantissas::Narrow(Vec::new())
    }
}

impl Mantissas {
    /// Adds one, widening the column (once) for one that does not fit.
    pub(super) fn push(&mut self, mantissa: i64) {
        match self {
            Mantissas::Narrow(narrow) => match u32::try_from(mantissa) {
                Ok(m) => narrow.push(m),
                Err(_) => {
                    let room = narrow.capacity().max(narrow.len().saturating_add(1));
                    let mut wide = Vec::with_capacity(room);
                    wide.extend(narrow.iter().map(|m| i64::from(*m)));
                    wide.push(mantissa);
                    *self = Mantissas::Wide(wide);
                }
            },
            Mantissas::Wide(wide) => wide.push(mantissa),
        }
    }

    pub(super) fn len(&self) -> usize {
        match self {
            Mantissas::Narrow(m) => m.len(),
            Mantissas::Wide(m) => m.len(),
        }
    }

    pub(super) fn heap_bytes(&self) -> usize {
        match self {
            Mantissas::Narrow(m) => m.capacity().saturating_mul(std::mem::size_of::<u32>()),
            Mantissas::Wide(m) => m.capacity().saturating_mul(std::mem::size_of::<i64>()),
        }
    }
}

/// A table's packed day and scale words: while they span less than 2^16 (days about 2,000
/// apart: the scale takes the word's low 5 bits), each as its offset from the least, 2 bytes
/// instead of 4 (20 MB of a 10-million-record table). Which one a table has depends only on
/// its records.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Days {
    /// Every word is `base` plus its offset.
    Narrow { base: u32, offsets: Vec<u16> },
    /// Whole words.
    Wide(Vec<u32>),
}

impl Default for Days {
    fn default() -> Days {
        Days::Wide(Vec::new())
    }
}

impl Days {
    /// The column of `words`, narrow when their span allows.
    pub(super) fn of(words: Vec<u32>) -> Days {
        use crate::par::prelude::*;
        let (least, most) = words
            .par_iter()
            .map(|w| (*w, *w))
            .reduce_with(|a, b| (a.0.min(b.0), a.1.max(b.1)))
            .unwrap_or((u32::MAX, 0));
        if words.is_empty() || most.saturating_sub(least) > u32::from(u16::MAX) {
            return Days::Wide(words);
        }
        // Every word lies in least..=least + u16::MAX: its offset fits.
        let offsets = words
            .par_iter()
            .map(|w| u16::try_from(w.saturating_sub(least)).unwrap_or(u16::MAX))
            .collect();
        Days::Narrow {
            base: least,
            offsets,
        }
    }

    pub(super) fn heap_bytes(&self) -> usize {
        match self {
            Days::Narrow { offsets, .. } => offsets.capacity().saturating_mul(2),
            Days::Wide(words) => words.capacity().saturating_mul(4),
        }
    }
}

/// A day column's value: a whole word, or an offset from the column's base.
pub(super) trait DayWord: Copy + Send + Sync {
    /// The value as held, compared with bounds taken off the same base.
    fn held(self) -> u32;
    /// The value held of `word` in a column of base `base` (0 for whole words), `word` at
    /// least the base and, for offsets, within 2^16 of it.
    fn of_word(word: u32, base: u32) -> Self;
    /// The word, given the column's base (0 for whole words).
    fn word(self, base: u32) -> u32 {
        // Below u32::MAX: the base is the least word and the offset the word's distance from
        // it.
        base.wrapping_add(self.held())
    }
}

impl DayWord for u16 {
    fn of_word(word: u32, base: u32) -> u16 {
        u16::try_from(word.saturating_sub(base)).unwrap_or(u16::MAX)
    }

    fn held(self) -> u32 {
        u32::from(self)
    }
}

impl DayWord for u32 {
    fn of_word(word: u32, base: u32) -> u32 {
        word.saturating_sub(base)
    }

    fn held(self) -> u32 {
        self
    }
}

/// A mantissa as a column holds it.
pub(super) trait Mantissa: Copy + Ord + Send + Sync + Into<i64> {
    /// The column's value of a mantissa that came from it.
    fn from_wide(mantissa: i64) -> Self;
    /// The exact sum.
    fn sum(mantissas: &[Self]) -> i128;
}

impl Mantissa for u32 {
    fn from_wide(mantissa: i64) -> u32 {
        u32::try_from(mantissa).unwrap_or_default()
    }

    // No overflow: fewer than 2^32 values below 2^32 sum below 2^64, and fewer than 2^64
    // such sums below 2^128.
    #[allow(clippy::arithmetic_side_effects)]
    fn sum(mantissas: &[u32]) -> i128 {
        mantissas
            .chunks(u32::MAX as usize)
            .map(|c| i128::from(c.iter().map(|m| u64::from(*m)).sum::<u64>()))
            .sum()
    }
}

impl Mantissa for i64 {
    fn from_wide(mantissa: i64) -> i64 {
        mantissa
    }

    // No overflow: fewer than 2^64 records of less than 2^63 each sum below 2^127.
    #[allow(clippy::arithmetic_side_effects)]
    fn sum(mantissas: &[i64]) -> i128 {
        mantissas.iter().map(|m| i128::from(*m)).sum()
    }
}
