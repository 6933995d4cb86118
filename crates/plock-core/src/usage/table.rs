//! The usage table: usage records packed for billing at scale.
//!
//! Each record is 8 bytes, in two columns: its quantity's mantissa (4 bytes while every
//! mantissa of the table fits in 32 bits, 8 otherwise), and its UTC day and scale in one
//! word. Records are sorted by (account, metric) group and day, and a group is a range
//! of places, so a period's records are one search of the day column away and aggregate in
//! one pass of integer additions (i128, exact) that is converted to `Decimal` once per
//! period. While the table is built, a record is 16 bytes: the two columns and its group
//! number, in a third column that is dropped once the records are in group order. Re-sent
//! records (same record id) are resolved when the table is built,
//! with the rule of [`deduplicate`](super::deduplicate).

use std::collections::HashMap;

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use rust_decimal::Decimal;

use super::{Aggregation, UsageError, aggregate_quantities};
use crate::hash::FastState;
use crate::period::Period;
use crate::{id::AccountKey, id::MetricId, id::RecordId};

/// Days are stored as an offset from 1970-01-01 plus this bias, in 24 bits: about 22,900
/// years either side.
const DAY_BIAS: i64 = 1 << 23;
const SCALE_BITS: u32 = 5;
/// Days since 0001-01-01 of 1970-01-01.
const UNIX_DAY_FROM_CE: i64 = 719_163;

/// One record, packed for building and sorting, 16 bytes: its sort key itself, `(group <<
/// 96) | (day and scale << 64) | mantissa with its sign bit flipped`, so records sort as
/// plain integers (in one compare, without computing a key) by group, day, scale, mantissa.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub(crate) struct Packed(u128);

/// Flipping the sign bit orders any `i64` as its unsigned bits (mantissas are never
/// negative in a table, but the order stays right for any).
const SIGN: u64 = 1 << 63;

impl Packed {
    /// A record of `group` with `mantissa` and `day_scale` (`(biased day << 5) | scale`).
    pub(crate) fn new(mantissa: i64, group: u32, day_scale: u32) -> Packed {
        Packed(
            (u128::from(group) << 96)
                | (u128::from(day_scale) << 64)
                | u128::from(mantissa.cast_unsigned() ^ SIGN),
        )
    }

    pub(crate) fn group(self) -> u32 {
        (self.0 >> 96) as u32
    }

    pub(crate) fn day_scale(self) -> u32 {
        (self.0 >> 64) as u32
    }

    pub(crate) fn mantissa(self) -> i64 {
        ((self.0 as u64) ^ SIGN).cast_signed()
    }

    /// The mantissa's bits as they sort (its sign bit flipped).
    fn sortable(self) -> u64 {
        self.0 as u64
    }

    /// The record of a group, a day and scale word and a mantissa's sortable bits.
    fn from_parts(group: u32, day_scale: u32, sortable: u64) -> Packed {
        Packed((u128::from(group) << 96) | (u128::from(day_scale) << 64) | u128::from(sortable))
    }

    /// The same record in group `group`.
    pub(crate) fn with_group(self, group: u32) -> Packed {
        Packed((self.0 & !(u128::from(u32::MAX) << 96)) | (u128::from(group) << 96))
    }
}

/// A quantity and a date as the table holds them: (mantissa, day and scale); or the field,
/// `quantity` or `timestamp`, that is outside the table's range.
pub(crate) fn pack(quantity: Decimal, date: NaiveDate) -> Result<(i64, u32), &'static str> {
    let mantissa = i64::try_from(quantity.mantissa()).map_err(|_| "quantity")?;
    let day = day_word(date).ok_or("timestamp")?;
    Ok((mantissa, day | quantity.scale()))
}

/// Re-sent records: of each (group, record id), the greatest (timestamp, quantity, scale), so
/// the one kept never depends on input order.
#[derive(Debug, Default)]
pub(crate) struct Resent(HashMap<(u32, RecordId), (DateTime<Utc>, Decimal), FastState>);

impl Resent {
    /// Offers one record.
    pub(crate) fn keep(
        &mut self,
        group: u32,
        id: RecordId,
        timestamp: DateTime<Utc>,
        quantity: Decimal,
    ) {
        let entry = self.0.entry((group, id)).or_insert((timestamp, quantity));
        if (timestamp, quantity, quantity.scale()) > (entry.0, entry.1, entry.1.scale()) {
            *entry = (timestamp, quantity);
        }
    }

    /// Packs the kept records into `records`; returns those outside the table's range.
    pub(crate) fn pack_into(self, records: &mut Vec<Packed>) -> Vec<(DateTime<Utc>, Decimal)> {
        self.pack_each(|r| records.push(r))
    }

    /// Gives each kept record, packed, to `keep`; returns those outside the table's range.
    fn pack_each(self, mut keep: impl FnMut(Packed)) -> Vec<(DateTime<Utc>, Decimal)> {
        let mut outside = Vec::new();
        for ((group, _), (timestamp, quantity)) in self.0 {
            match pack(quantity, timestamp.date_naive()) {
                Ok((mantissa, day_scale)) => keep(Packed::new(mantissa, group, day_scale)),
                Err(_) => outside.push((timestamp, quantity)),
            }
        }
        outside
    }
}

/// The packed day of a date, or `None` outside the table's range.
pub(crate) fn day_word(date: NaiveDate) -> Option<u32> {
    unix_day_word(i64::from(date.num_days_from_ce()).checked_sub(UNIX_DAY_FROM_CE)?)
}

/// The packed day of the day `days` after 1970-01-01, or `None` outside the table's range.
pub(crate) fn unix_day_word(days: i64) -> Option<u32> {
    let biased = days.checked_add(DAY_BIAS)?;
    let biased = u32::try_from(biased).ok().filter(|d| *d < (1 << 24))?;
    biased.checked_shl(SCALE_BITS)
}

/// An (account, metric) group: its records are `records[start..end]`, sorted by day.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Group {
    account: u32,
    metric: u32,
    start: usize,
    end: usize,
    /// The scale every record of the group has, or `None` when they differ.
    scale: Option<u32>,
}

/// Usage records packed for billing runs at scale: build it with [`UsageTableBuilder`], or
/// [`UsageTable::from_records`], then bill with [`run`](crate::billing::run).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct UsageTable {
    /// Account keys with usage, sorted.
    accounts: Vec<AccountKey>,
    /// Metrics with usage, sorted.
    metrics: Vec<MetricId>,
    /// Groups, sorted by (account, metric).
    groups: Vec<Group>,
    /// `groups[account_groups[a]..account_groups[a + 1]]` are account `a`'s.
    account_groups: Vec<usize>,
    /// The records' quantity mantissas, in group then day order.
    mantissas: Mantissas,
    /// The records' packed day and scale words, in the same order: a group's days are
    /// contiguous, so a period's bounds are searched in 2 or 4 bytes a record.
    days: Days,
}

/// Builds a [`UsageTable`] one record at a time, so the records never exist in any other
/// form. Reserve the capacity up front when the count is known: the builder then holds 12
/// bytes a record (16 with mantissas past 32 bits), in the table's two columns and a column of
/// group numbers, and puts them in order where they are; the table keeps the two columns (6 to
/// 12 bytes a record) and the group column is freed. No second copy of the records is made,
/// so none is left for the allocator to hold on to.
#[derive(Debug, Default)]
pub struct UsageTableBuilder {
    accounts: HashMap<AccountKey, u32, FastState>,
    account_list: Vec<AccountKey>,
    /// `account_list[..preset]` was given sorted up front, and is searched, not hashed.
    preset: usize,
    metrics: Vec<MetricId>,
    groups: HashMap<u64, u32, FastState>,
    group_list: Vec<(u32, u32)>,
    /// The records without a record id, in the order they came.
    records: Columns,
    /// Records with a record id, one per (group, id): the greatest (timestamp, quantity, scale).
    with_ids: Resent,
}

impl UsageTableBuilder {
    /// An empty builder.
    pub fn new() -> UsageTableBuilder {
        UsageTableBuilder::default()
    }

    /// An empty builder with room for `records` records.
    pub fn with_capacity(records: usize) -> UsageTableBuilder {
        UsageTableBuilder {
            records: Columns::with_capacity(records),
            ..UsageTableBuilder::default()
        }
    }

    /// Adds one record.
    ///
    /// # Errors
    /// [`UsageError::NegativeQuantity`], or [`UsageError::OutsideTable`] for a quantity whose
    /// mantissa needs more than 63 bits or a date more than 22,000 years from 1970.
    pub fn push(
        &mut self,
        account: &AccountKey,
        metric: &MetricId,
        timestamp: DateTime<Utc>,
        quantity: Decimal,
        record_id: Option<&RecordId>,
    ) -> Result<(), UsageError> {
        if quantity.is_sign_negative() && !quantity.is_zero() {
            return Err(UsageError::NegativeQuantity {
                account: account.clone(),
                metric: metric.clone(),
                timestamp,
                quantity,
            });
        }
        let outside = |field: &'static str| UsageError::OutsideTable {
            account: account.clone(),
            metric: metric.clone(),
            field,
            value: match field {
                "quantity" => quantity.to_string(),
                _ => timestamp.to_rfc3339(),
            },
        };
        let quantity = if quantity.is_zero() {
            quantity.abs()
        } else {
            quantity
        };
        let (mantissa, day_scale) = pack(quantity, timestamp.date_naive()).map_err(outside)?;
        let group = self.group(account, metric);
        match record_id {
            None => self.records.push(Packed::new(mantissa, group, day_scale)),
            Some(id) => self.push_identified(group, id.clone(), timestamp, quantity),
        }
        Ok(())
    }

    /// Adds one record.
    ///
    /// # Errors
    /// As [`UsageTableBuilder::push`].
    pub fn push_record(&mut self, record: &super::UsageRecord) -> Result<(), UsageError> {
        self.push(
            record.account(),
            record.metric(),
            record.timestamp(),
            record.quantity(),
            record.record_id(),
        )
    }

    /// A builder whose accounts are `accounts` (sorted, distinct), known by their index.
    pub(crate) fn with_accounts(accounts: Vec<AccountKey>, records: usize) -> UsageTableBuilder {
        UsageTableBuilder {
            preset: accounts.len(),
            account_list: accounts,
            records: Columns::with_capacity(records),
            ..UsageTableBuilder::default()
        }
    }

    /// The group of a preset account's index and a metric.
    pub(crate) fn group_of_index(&mut self, account: u32, metric: &MetricId) -> u32 {
        let m = self.metric_index(metric);
        self.group_of_indexes(account, m)
    }

    /// Adds a record already packed, its group one of this builder's.
    pub(crate) fn push_packed(&mut self, record: Packed) {
        self.records.push(record);
    }

    /// Adds a record with a record id: the greatest (timestamp, quantity, scale) of an id is
    /// kept.
    pub(crate) fn push_identified(
        &mut self,
        group: u32,
        id: RecordId,
        timestamp: DateTime<Utc>,
        quantity: Decimal,
    ) {
        self.with_ids.keep(group, id, timestamp, quantity);
    }

    fn metric_index(&mut self, metric: &MetricId) -> u32 {
        // A company has few metrics: a scan beats hashing the name.
        match self.metrics.iter().position(|m| m == metric) {
            Some(m) => dense(m),
            None => {
                self.metrics.push(metric.clone());
                dense(self.metrics.len().saturating_sub(1))
            }
        }
    }

    fn group_of_indexes(&mut self, a: u32, m: u32) -> u32 {
        let key = (u64::from(a) << 32) | u64::from(m);
        let next = dense(self.group_list.len());
        let group = *self.groups.entry(key).or_insert(next);
        if group == next {
            self.group_list.push((a, m));
        }
        group
    }

    fn group(&mut self, account: &AccountKey, metric: &MetricId) -> u32 {
        let preset = self
            .account_list
            .get(..self.preset)
            .and_then(|p| p.binary_search(account).ok());
        let a = match preset
            .map(dense)
            .or_else(|| self.accounts.get(account).copied())
        {
            Some(a) => a,
            None => {
                let a = dense(self.account_list.len());
                self.accounts.insert(account.clone(), a);
                self.account_list.push(account.clone());
                a
            }
        };
        let m = self.metric_index(metric);
        self.group_of_indexes(a, m)
    }

    /// Sorts and indexes the records.
    pub fn finish(mut self) -> UsageTable {
        // Every kept record was packed once in `push`: none is outside the range.
        let records = &mut self.records;
        let _ = std::mem::take(&mut self.with_ids).pack_each(|r| records.push(r));
        let account_rank = ranks(&self.account_list);
        let metric_rank = ranks(&self.metrics);
        let mut order: Vec<u32> = (0..dense(self.group_list.len())).collect();
        let rank_of = |g: u32| {
            let (a, m) = self.group_list.get(g as usize).copied().unwrap_or_default();
            (
                account_rank.get(a as usize).copied().unwrap_or_default(),
                metric_rank.get(m as usize).copied().unwrap_or_default(),
            )
        };
        order.sort_unstable_by_key(|g| rank_of(*g));
        let mut group_rank = vec![0u32; order.len()];
        for (rank, g) in order.iter().enumerate() {
            if let Some(slot) = group_rank.get_mut(*g as usize) {
                *slot = dense(rank);
            }
        }
        let Columns {
            mut mantissas,
            mut days,
            mut groups,
        } = self.records;
        for g in &mut groups {
            *g = group_rank.get(*g as usize).copied().unwrap_or_default();
        }
        let bounds = match &mut mantissas {
            Mantissas::Narrow(m) => sort_columns(m, &mut days, groups, order.len()),
            Mantissas::Wide(m) => sort_columns(m, &mut days, groups, order.len()),
        };
        let mut accounts = self.account_list;
        accounts.sort_unstable();
        let mut metrics = self.metrics;
        metrics.sort_unstable();
        let runs = bounds
            .windows(2)
            .enumerate()
            .filter_map(|(rank, w)| match *w {
                [start, end] if start < end => Some((dense(rank), start, end)),
                _ => None,
            });
        assemble(accounts, metrics, mantissas, days, runs, |rank| {
            order.get(rank as usize).map(|g| rank_of(*g))
        })
    }
}

/// Records in the order they came, in three columns: 12 bytes a record (16 with wide
/// mantissas), the first two of which become the table's.
#[derive(Debug, Default)]
struct Columns {
    mantissas: Mantissas,
    days: Vec<u32>,
    groups: Vec<u32>,
}

impl Columns {
    fn with_capacity(records: usize) -> Columns {
        Columns {
            mantissas: Mantissas::Narrow(Vec::with_capacity(records)),
            days: Vec::with_capacity(records),
            groups: Vec::with_capacity(records),
        }
    }

    fn push(&mut self, r: Packed) {
        self.mantissas.push(r.mantissa());
        self.days.push(r.day_scale());
        self.groups.push(r.group());
    }
}

/// A table's quantity mantissas: 4 bytes each while every one fits in a `u32` (usage counts
/// and most measures do), 8 otherwise. Which one a table has depends only on its records.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Mantissas {
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
    fn push(&mut self, mantissa: i64) {
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

    fn len(&self) -> usize {
        match self {
            Mantissas::Narrow(m) => m.len(),
            Mantissas::Wide(m) => m.len(),
        }
    }

    fn heap_bytes(&self) -> usize {
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
enum Days {
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
    fn of(words: Vec<u32>) -> Days {
        use rayon::prelude::*;
        let (least, most) = words
            .par_iter()
            .fold(|| (u32::MAX, 0u32), |(lo, hi), w| (lo.min(*w), hi.max(*w)))
            .reduce(|| (u32::MAX, 0u32), |a, b| (a.0.min(b.0), a.1.max(b.1)));
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

    fn heap_bytes(&self) -> usize {
        match self {
            Days::Narrow { offsets, .. } => offsets.capacity().saturating_mul(2),
            Days::Wide(words) => words.capacity().saturating_mul(4),
        }
    }
}

/// A day column's value: a whole word, or an offset from the column's base.
trait DayWord: Copy + Send + Sync {
    /// The value as held, compared with bounds taken off the same base.
    fn held(self) -> u32;
    /// The word, given the column's base (0 for whole words).
    fn word(self, base: u32) -> u32 {
        // Below u32::MAX: the base is the least word and the offset the word's distance from
        // it.
        base.wrapping_add(self.held())
    }
}

impl DayWord for u16 {
    fn held(self) -> u32 {
        u32::from(self)
    }
}

impl DayWord for u32 {
    fn held(self) -> u32 {
        self
    }
}

/// A mantissa as a column holds it.
trait Mantissa: Copy + Ord + Send + Sync + Into<i64> {
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

/// Puts the records of the three columns (`groups` holding numbers below `group_count`) in
/// order of group, day and scale, then mantissa, where they are: the order of
/// [`sort_records`]. Returns the groups' bounds: group `g`'s records are
/// `bounds[g]..bounds[g + 1]`.
///
/// The records are first moved to their group's place, each swapped at most once into it (an
/// in-place counting sort), then the group column is freed (before anything else is
/// allocated, which may take its place) and each group sorted on its own, in parallel.
fn sort_columns<M: Mantissa>(
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
fn place_by_group<M: Mantissa>(
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
fn sort_groups<M: Mantissa>(mantissas: &mut [M], days: &mut [u32], bounds: &[usize]) {
    use rayon::prelude::*;
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

impl UsageTable {
    /// A table of records whose `group` is `account x slots + metric`, indexes into
    /// `accounts` and `metrics` (both sorted, `metrics` at most `slots`). Re-sent records
    /// must already be resolved.
    pub(crate) fn from_dense(
        accounts: Vec<AccountKey>,
        metrics: Vec<MetricId>,
        records: Vec<Packed>,
        slots: u32,
    ) -> UsageTable {
        let groups = u32::try_from(accounts.len())
            .unwrap_or(u32::MAX)
            .saturating_mul(slots);
        // Columns without the group number: a group is its place, so equal usage makes equal
        // tables whatever numbering the records were built with.
        let (mantissas, days, runs) = sorted_columns(records, groups);
        assemble(accounts, metrics, mantissas, days, runs, |g| {
            Some((g.checked_div(slots)?, g.checked_rem(slots)?))
        })
    }
}

/// The table of the columns of records sorted by group; `runs` are the groups' numbers and
/// places, in order, and `key_of` gives a group's (account, metric) indexes into the sorted
/// `accounts` and `metrics`. Only accounts with records stay, so equal usage makes equal
/// tables.
fn assemble(
    sorted: Vec<AccountKey>,
    metrics: Vec<MetricId>,
    mantissas: Mantissas,
    days: Vec<u32>,
    runs: impl IntoIterator<Item = (u32, usize, usize)>,
    key_of: impl Fn(u32) -> Option<(u32, u32)>,
) -> UsageTable {
    let mut groups = Vec::new();
    for (group, start, end) in runs {
        let (Some(run), Some((account, metric))) = (days.get(start..end), key_of(group)) else {
            continue;
        };
        let Some(first) = run.first() else {
            continue;
        };
        let scale = Some(scale_of(*first)).filter(|s| run.iter().all(|d| scale_of(*d) == *s));
        groups.push(Group {
            account,
            metric,
            start,
            end,
            scale,
        });
    }
    let mut new_index = vec![None; sorted.len()];
    for g in &groups {
        if let Some(slot) = new_index.get_mut(g.account as usize) {
            *slot = Some(0u32);
        }
    }
    let mut next = 0u32;
    for slot in new_index.iter_mut().flatten() {
        *slot = next;
        next = next.saturating_add(1);
    }
    let accounts: Vec<AccountKey> = sorted
        .into_iter()
        .zip(&new_index)
        .filter_map(|(key, kept)| kept.map(|_| key))
        .collect();
    let mut account_groups = Vec::with_capacity(accounts.len().saturating_add(1));
    for (i, g) in groups.iter_mut().enumerate() {
        let a = new_index
            .get(g.account as usize)
            .copied()
            .flatten()
            .unwrap_or_default();
        if account_groups.len() <= a as usize {
            account_groups.push(i);
        }
        g.account = a;
    }
    account_groups.push(groups.len());
    UsageTable {
        accounts,
        metrics,
        groups,
        account_groups,
        mantissas,
        days: Days::of(days),
    }
}

/// A dense index: the builder never holds more than `u32::MAX` accounts, metrics or groups
/// (a table that large would not fit in memory), so the conversion saturates only in theory.
fn dense(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// The rank of each element of `items` in sorted order.
fn ranks<T: Ord>(items: &[T]) -> Vec<u32> {
    let mut order: Vec<usize> = (0..items.len()).collect();
    order.sort_unstable_by(|a, b| items.get(*a).cmp(&items.get(*b)));
    let mut rank = vec![0u32; items.len()];
    for (r, i) in order.into_iter().enumerate() {
        if let Some(slot) = rank.get_mut(i) {
            *slot = dense(r);
        }
    }
    rank
}

/// Sorts by group, day and scale, then mantissa, in one pass: equal tables are equal values
/// whatever the input order.
fn sort_records(records: &mut [Packed]) {
    use rayon::slice::ParallelSliceMut;
    records.par_sort_unstable();
}

/// Buckets a bucket sort files records into, by the top bits of their group: few enough that
/// a thread's write positions stay in its cache, many enough that each bucket sorts in cache.
const BUCKET_BITS: u32 = 12;

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
fn sorted_columns(
    records: Vec<Packed>,
    groups: u32,
) -> (Mantissas, Vec<u32>, Vec<(u32, usize, usize)>) {
    use rayon::prelude::*;
    let n = records.len();
    if n < (1 << 16) {
        // One bucket of the records as they are.
        let narrow = records
            .par_iter()
            .all(|r| u32::try_from(r.mantissa()).is_ok());
        return columns(records, &[n], narrow, |_, r| r);
    }
    let filing = Filing::count(&records, groups);
    match BucketKey::of(&filing) {
        Some(key) => {
            let filed = filing.file(records, |r| key.key(r));
            columns(filed, &filing.lengths(), filing.spans.narrow, |b, k| {
                key.record(b, k)
            })
        }
        None => {
            let filed = filing.file(records, |r| r);
            columns(filed, &filing.lengths(), filing.spans.narrow, |_, r| r)
        }
    }
}

/// The columns of `filed` (buckets of the given lengths, each unsorted), whose items
/// `decode` turns back into records given their bucket.
fn columns<T: Filed>(
    filed: Vec<T>,
    lengths: &[usize],
    narrow: bool,
    decode: impl Fn(usize, T) -> Packed + Sync,
) -> (Mantissas, Vec<u32>, Vec<(u32, usize, usize)>) {
    let mut days = vec![0u32; filed.len()];
    if narrow {
        let mut mantissas = vec![0u32; filed.len()];
        let runs = write_buckets(filed, lengths, &mut mantissas, &mut days, decode);
        (Mantissas::Narrow(mantissas), days, runs)
    } else {
        let mut mantissas = vec![0i64; filed.len()];
        let runs = write_buckets(filed, lengths, &mut mantissas, &mut days, decode);
        (Mantissas::Wide(mantissas), days, runs)
    }
}

/// What a bucket holds: records, or their [`BucketKey`]s.
trait Filed: Copy + Default + Send + Sync {
    /// Sorts a bucket small enough for one thread; `keys` is room it may reuse.
    fn sort_bucket(bucket: &mut [Self], keys: &mut Vec<u64>);
    /// Sorts a bucket larger than a thread's share, in parallel.
    fn sort_large(bucket: &mut [Self]);
}

impl Filed for Packed {
    fn sort_bucket(bucket: &mut [Packed], keys: &mut Vec<u64>) {
        sort_bucket(bucket, keys);
    }

    fn sort_large(bucket: &mut [Packed]) {
        sort_records(bucket);
    }
}

impl Filed for u64 {
    fn sort_bucket(bucket: &mut [u64], _: &mut Vec<u64>) {
        bucket.sort_unstable();
    }

    fn sort_large(bucket: &mut [u64]) {
        use rayon::slice::ParallelSliceMut;
        bucket.par_sort_unstable();
    }
}

/// The least and largest group, day word and mantissa (sortable bits) of some records, and
/// whether every mantissa fits in 32 bits.
#[derive(Clone, Copy)]
struct Spans {
    narrow: bool,
    group: [u32; 2],
    day: [u32; 2],
    mantissa: [u64; 2],
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

    /// Of `records`.
    fn of(records: &[Packed]) -> Spans {
        let mut spans = Spans::EMPTY;
        for r in records {
            spans.add(*r);
        }
        spans
    }
}

/// How records are filed into buckets by their group's top bits: the buckets, the parts of
/// the input filed in parallel and each part's count of records by bucket.
struct Filing {
    /// A bucket is a group's number shifted right by this.
    shift: u32,
    buckets: usize,
    part_len: usize,
    counts: Vec<Vec<usize>>,
    spans: Spans,
}

impl Filing {
    /// Counts `records` (at least one) by part and bucket, and takes their spans.
    fn count(records: &[Packed], groups: u32) -> Filing {
        use rayon::prelude::*;
        let group_bits = 32u32.saturating_sub(groups.leading_zeros());
        let shift = group_bits.saturating_sub(BUCKET_BITS);
        let buckets = 1usize << BUCKET_BITS.min(group_bits);
        // Two parts a thread (at least two), each filing into its own slices of every bucket.
        let part_len = records
            .len()
            .div_ceil(rayon::current_num_threads().saturating_mul(2).max(2))
            .max(1);
        let parts: Vec<(Vec<usize>, Spans)> = records
            .par_chunks(part_len)
            .map(|part| {
                let mut count = vec![0usize; buckets];
                let mut spans = Spans::EMPTY;
                for r in part {
                    let b = r.group().checked_shr(shift).unwrap_or(0) as usize;
                    if let Some(c) = count.get_mut(b) {
                        *c = c.saturating_add(1);
                    }
                    spans.add(*r);
                }
                (count, spans)
            })
            .collect();
        let spans = parts
            .iter()
            .fold(Spans::EMPTY, |all, (_, spans)| all.merge(*spans));
        Filing {
            shift,
            buckets,
            part_len,
            counts: parts.into_iter().map(|(count, _)| count).collect(),
            spans,
        }
    }

    fn bucket(&self, r: &Packed) -> usize {
        r.group().checked_shr(self.shift).unwrap_or(0) as usize
    }

    /// The buckets' lengths, in order.
    fn lengths(&self) -> Vec<usize> {
        (0..self.buckets)
            .map(|b| self.counts.iter().filter_map(|c| c.get(b)).sum::<usize>())
            .collect()
    }

    /// `records` as `encode` makes them, filed into buckets in bucket order, each unsorted.
    fn file<T: Filed>(&self, records: Vec<Packed>, encode: impl Fn(Packed) -> T + Sync) -> Vec<T> {
        use rayon::prelude::*;
        let n = records.len();
        let mut filed = Vec::with_capacity(n);
        filed.par_extend(rayon::iter::repeat_n(T::default(), n));
        // The output in (bucket, part) order; each part takes its slice of every bucket.
        let lengths = (0..self.buckets).flat_map(|b| {
            self.counts
                .iter()
                .map(move |c| c.get(b).copied().unwrap_or(0))
        });
        let mut slices: Vec<Vec<&mut [T]>> = self.counts.iter().map(|_| Vec::new()).collect();
        for (i, piece) in split_lengths(&mut filed, lengths).into_iter().enumerate() {
            if let Some(part) = i
                .checked_rem(self.counts.len())
                .and_then(|p| slices.get_mut(p))
            {
                part.push(piece);
            }
        }
        records
            .par_chunks(self.part_len)
            .zip(slices.into_par_iter())
            .for_each(|(part, mut out)| {
                let mut next = vec![0usize; self.buckets];
                for r in part {
                    let b = self.bucket(r);
                    // The counts were taken over the same part: every record has its slot.
                    if let (Some(piece), Some(at)) = (out.get_mut(b), next.get_mut(b))
                        && let Some(slot) = piece.get_mut(*at)
                    {
                        *slot = encode(*r);
                        *at = at.saturating_add(1);
                    }
                }
            });
        filed
    }
}

/// A record as a 64-bit key that sorts in the records' order: a group field (what it holds is
/// the caller's), then the day word's and the mantissa's offsets from their least values,
/// each in as many bits as the largest offset needs.
#[derive(Clone, Copy)]
struct KeyLayout {
    day_least: u32,
    day_bits: u32,
    mantissa_least: u64,
    mantissa_bits: u32,
}

impl KeyLayout {
    /// The layout of records of `spans` under a group field of `group_bits`, or `None` when
    /// the key needs more than 64 bits.
    fn of(spans: &Spans, group_bits: u32) -> Option<KeyLayout> {
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
        let day = u64::from(r.day_scale().saturating_sub(self.day_least));
        let mantissa = r.sortable().saturating_sub(self.mantissa_least);
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
fn bits(span: u64) -> u32 {
    64u32.saturating_sub(span.leading_zeros())
}

/// The key of a record of a known bucket: its group's bits under the bucket's in the group
/// field, its day word and mantissa laid out over all the records' spans.
#[derive(Clone, Copy)]
struct BucketKey {
    shift: u32,
    layout: KeyLayout,
}

impl BucketKey {
    /// The keys of the records `filing` counted, or `None` when they need more than 64 bits.
    fn of(filing: &Filing) -> Option<BucketKey> {
        Some(BucketKey {
            shift: filing.shift,
            layout: KeyLayout::of(&filing.spans, filing.shift)?,
        })
    }

    fn key(self, r: Packed) -> u64 {
        self.layout
            .key(u64::from(r.group()) & low_bits(self.shift), r)
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

/// A mask of the low `bits` bits (all from 64).
fn low_bits(bits: u32) -> u64 {
    1u64.checked_shl(bits)
        .map_or(u64::MAX, |b| b.wrapping_sub(1))
}

/// Sorts each bucket of `filed` (of the given lengths) and writes it to its place in the
/// columns, in parallel; the groups' runs, in order (a group is in one bucket).
fn write_buckets<M: Mantissa, T: Filed>(
    mut filed: Vec<T>,
    lengths: &[usize],
    mantissas: &mut [M],
    days: &mut [u32],
    decode: impl Fn(usize, T) -> Packed + Sync,
) -> Vec<(u32, usize, usize)> {
    use rayon::prelude::*;
    let starts = starts(lengths.iter().copied());
    let large = filed.len().div_ceil(rayon::current_num_threads().max(1));
    let runs: Vec<Vec<(u32, usize, usize)>> = split_lengths(&mut filed, lengths.iter().copied())
        .into_par_iter()
        .zip(split_lengths(mantissas, lengths.iter().copied()))
        .zip(split_lengths(days, lengths.iter().copied()))
        .zip(starts)
        .enumerate()
        .map_init(
            Vec::new,
            |keys, (b, (((bucket, mantissas), days), start))| {
                if bucket.len() > large {
                    T::sort_large(bucket);
                } else {
                    T::sort_bucket(bucket, keys);
                }
                let mut runs: Vec<(u32, usize, usize)> = Vec::new();
                for (at, ((t, m), d)) in (start..).zip(bucket.iter().zip(mantissas).zip(days)) {
                    let r = decode(b, *t);
                    *m = M::from_wide(r.mantissa());
                    *d = r.day_scale();
                    let end = at.saturating_add(1);
                    match runs.last_mut() {
                        Some((group, _, last)) if *group == r.group() => *last = end,
                        _ => runs.push((r.group(), at, end)),
                    }
                }
                runs
            },
        )
        .collect();
    runs.into_iter().flatten().collect()
}

/// Sorts a bucket as [`sort_records`] does, as 64-bit keys when they hold it: a bucket's
/// records share their group's top bits and most of their days, and their mantissas are
/// small, so each record's offsets from the bucket's least group, day and mantissa usually
/// fit in 64 bits, which sort in about half the time of the 128-bit records. `keys` is room
/// for the keys, reused from bucket to bucket.
fn sort_bucket(bucket: &mut [Packed], keys: &mut Vec<u64>) {
    match NarrowKey::of(bucket) {
        Some(narrow) => {
            keys.clear();
            keys.extend(bucket.iter().map(|r| narrow.key(*r)));
            keys.sort_unstable();
            for (r, k) in bucket.iter_mut().zip(keys.iter()) {
                *r = narrow.record(*k);
            }
        }
        None => bucket.sort_unstable(),
    }
}

/// A bucket's records as 64-bit keys that sort in the records' order: the group's offset
/// from the bucket's least in the group field, laid out over the bucket's own spans.
#[derive(Clone, Copy)]
struct NarrowKey {
    group_least: u32,
    layout: KeyLayout,
}

impl NarrowKey {
    /// The keys of `records`, or `None` when their offsets need more than 64 bits.
    fn of(records: &[Packed]) -> Option<NarrowKey> {
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

/// Where each of consecutive pieces of the given lengths starts.
pub(crate) fn starts(lengths: impl Iterator<Item = usize>) -> Vec<usize> {
    lengths
        .scan(0usize, |at, len| {
            let start = *at;
            *at = at.saturating_add(len);
            Some(start)
        })
        .collect()
}

/// `slice` cut into consecutive pieces of the given lengths (the last ones shorter, or empty,
/// if the lengths add up to more than the slice).
pub(crate) fn split_lengths<T>(
    slice: &mut [T],
    lengths: impl Iterator<Item = usize>,
) -> Vec<&mut [T]> {
    let mut pieces = Vec::with_capacity(lengths.size_hint().0);
    let mut rest = slice;
    for len in lengths {
        let (piece, tail) = rest.split_at_mut(len.min(rest.len()));
        pieces.push(piece);
        rest = tail;
    }
    pieces
}

impl UsageTable {
    /// A table of `records`.
    ///
    /// # Errors
    /// As [`UsageTableBuilder::push`].
    pub fn from_records<'a>(
        records: impl IntoIterator<Item = &'a super::UsageRecord>,
    ) -> Result<UsageTable, UsageError> {
        let records = records.into_iter();
        let mut builder = UsageTableBuilder::with_capacity(records.size_hint().0);
        for r in records {
            builder.push_record(r)?;
        }
        Ok(builder.finish())
    }

    /// How many records the table holds (re-sent records counted once).
    pub fn len(&self) -> usize {
        self.mantissas.len()
    }

    /// Whether the table holds no record.
    pub fn is_empty(&self) -> bool {
        self.mantissas.len() == 0
    }

    /// The bytes the table's buffers hold.
    pub fn heap_bytes(&self) -> usize {
        use std::mem::size_of;
        let bytes = |n: usize, size: usize| n.saturating_mul(size);
        [
            self.mantissas.heap_bytes(),
            self.days.heap_bytes(),
            bytes(self.groups.capacity(), size_of::<Group>()),
            bytes(self.account_groups.capacity(), size_of::<usize>()),
            bytes(self.accounts.capacity(), size_of::<AccountKey>()),
            self.accounts
                .iter()
                .map(|a| a.as_str().len())
                .sum::<usize>(),
        ]
        .into_iter()
        .fold(0, usize::saturating_add)
    }

    /// Every (account, metric) that has records, with its record count, in order.
    pub fn groups(&self) -> impl Iterator<Item = (&AccountKey, &MetricId, usize)> {
        (0..self.groups.len()).filter_map(|g| self.group(g))
    }

    /// The group at `index` in [`UsageTable::groups`] order.
    pub(crate) fn group(&self, index: usize) -> Option<(&AccountKey, &MetricId, usize)> {
        let g = self.groups.get(index)?;
        Some((
            self.accounts.get(g.account as usize)?,
            self.metrics.get(g.metric as usize)?,
            g.end.saturating_sub(g.start),
        ))
    }

    /// The aggregate of `account`'s records of `metric` whose UTC day lies in `period`, exactly
    /// as [`aggregate`](super::aggregate) computes it; `None` on overflow.
    pub fn aggregate(
        &self,
        account: &AccountKey,
        metric: &MetricId,
        aggregation: Aggregation,
        period: &Period,
    ) -> Option<Decimal> {
        match self.account_index(account) {
            Some(a) => match self.metric_index(metric) {
                Some(m) => self.aggregate_of(a, m, aggregation, period),
                None => Some(Decimal::ZERO),
            },
            None => Some(Decimal::ZERO),
        }
    }

    fn aggregate_group(
        &self,
        group: &Group,
        aggregation: Aggregation,
        period: &Period,
    ) -> Option<Decimal> {
        let at = (group, aggregation, period);
        match (&self.mantissas, &self.days) {
            (Mantissas::Narrow(m), Days::Narrow { base, offsets }) => {
                aggregate_column(m, offsets, *base, at)
            }
            (Mantissas::Narrow(m), Days::Wide(words)) => aggregate_column(m, words, 0, at),
            (Mantissas::Wide(m), Days::Narrow { base, offsets }) => {
                aggregate_column(m, offsets, *base, at)
            }
            (Mantissas::Wide(m), Days::Wide(words)) => aggregate_column(m, words, 0, at),
        }
    }

    /// The account keys with usage, sorted: an account's index is its place here.
    pub(crate) fn accounts(&self) -> &[AccountKey] {
        &self.accounts
    }

    /// The first metric, in order, of the account at `account`.
    pub(crate) fn first_metric(&self, account: usize) -> Option<&MetricId> {
        let g = self.groups.get(*self.account_groups.get(account)?)?;
        self.metrics.get(g.metric as usize)
    }

    /// How many (account, metric) groups the table has.
    pub(crate) fn group_count(&self) -> usize {
        self.groups.len()
    }

    /// The place of `metric` among the table's metrics: what [`UsageTable::group_of`] takes.
    pub(crate) fn metric_index(&self, metric: &MetricId) -> Option<u32> {
        let place = self.metrics.binary_search(metric).ok()?;
        u32::try_from(place).ok()
    }

    /// The group of the `account`th account and the `metric`th metric, if it has usage: a
    /// scan of the account's few groups comparing numbers.
    pub(crate) fn group_of(&self, account: usize, metric: u32) -> Option<usize> {
        let start = *self.account_groups.get(account)?;
        let end = *self.account_groups.get(account.checked_add(1)?)?;
        let offset = self
            .groups
            .get(start..end)?
            .iter()
            .position(|g| g.metric == metric)?;
        start.checked_add(offset)
    }

    /// The aggregate of the `account`th account's `metric`th metric over `period` (zero
    /// without usage); `None` on overflow.
    pub(crate) fn aggregate_of(
        &self,
        account: usize,
        metric: u32,
        aggregation: Aggregation,
        period: &Period,
    ) -> Option<Decimal> {
        match self
            .group_of(account, metric)
            .and_then(|g| self.groups.get(g))
        {
            Some(group) => self.aggregate_group(group, aggregation, period),
            None => Some(Decimal::ZERO),
        }
    }

    /// Every (account, metric) aggregate over `period`, in [`UsageTable::groups`] order, each
    /// with its metric's aggregation (sum for a metric not in `metrics`); `None` where one
    /// overflows. The aggregation alone, split across the current rayon pool's threads.
    pub fn aggregate_all(
        &self,
        metrics: &[super::Metric],
        period: &Period,
    ) -> Vec<Option<Decimal>> {
        use rayon::prelude::*;
        let aggregations: Vec<Aggregation> = self
            .metrics
            .iter()
            .map(|id| {
                metrics
                    .iter()
                    .find(|m| &m.id == id)
                    .map_or(Aggregation::Sum, |m| m.aggregation)
            })
            .collect();
        self.groups
            .par_iter()
            .map(|g| {
                let aggregation = aggregations
                    .get(g.metric as usize)
                    .copied()
                    .unwrap_or_default();
                self.aggregate_group(g, aggregation, period)
            })
            .collect()
    }

    /// The account's table index, if it has usage.
    pub(crate) fn account_index(&self, account: &AccountKey) -> Option<usize> {
        self.accounts.binary_search(account).ok()
    }
}

/// A group's aggregate over a period, from columns whose day words are `base` plus the
/// values held.
fn aggregate_column<M: Mantissa, D: DayWord>(
    mantissas: &[M],
    days: &[D],
    base: u32,
    (group, aggregation, period): (&Group, Aggregation, &Period),
) -> Option<Decimal> {
    let range = group.start..group.end;
    let mantissas = mantissas.get(range.clone()).unwrap_or_default();
    let days = days.get(range).unwrap_or_default();
    let (Some(lo), Some(hi)) = (day_word(period.start()), day_word(period.end())) else {
        // A period outside the table's range: only the exact (slow) path is right.
        return aggregate_quantities(
            mantissas
                .iter()
                .zip(days)
                .filter(|(_, d)| period_contains_word(period, d.word(base)))
                .map(|(m, d)| quantity((*m).into(), d.word(base))),
            aggregation,
        );
    };
    // Every word is at least `base`: it is at least `lo` (below `hi`) exactly when its
    // offset is at least `lo - base` (below `hi - base`), bounds cut at 0.
    let selected = in_days(days, lo.saturating_sub(base), hi.saturating_sub(base));
    aggregate_packed(
        mantissas.get(selected.clone()).unwrap_or_default(),
        days.get(selected).unwrap_or_default(),
        base,
        group.scale,
        aggregation,
    )
}

/// The places of the days, sorted, whose held value is in `lo..hi`. Usually the whole group
/// is, or all but a few records at the end (a later period's): both are found without a
/// binary search.
fn in_days<D: DayWord>(days: &[D], lo: u32, hi: u32) -> std::ops::Range<usize> {
    let from = match days.first() {
        Some(first) if first.held() >= lo => 0,
        _ => days.partition_point(|d| d.held() < lo),
    };
    let rest = days.get(from..).unwrap_or_default();
    // Walk back over a few later records before falling back to a binary search.
    let mut to = rest.len();
    let mut walked = false;
    for _ in 0..8 {
        match to.checked_sub(1).and_then(|i| rest.get(i)) {
            Some(d) if d.held() >= hi => to = to.saturating_sub(1),
            _ => {
                walked = true;
                break;
            }
        }
    }
    if !walked {
        to = rest
            .get(..to)
            .map_or(0, |r| r.partition_point(|d| d.held() < hi));
    }
    from..from.saturating_add(to)
}

/// The scale held in the low bits of a packed day word.
fn scale_of(day_scale: u32) -> u32 {
    day_scale & ((1 << SCALE_BITS) - 1)
}

/// A record's quantity, from its mantissa and packed day word.
pub(crate) fn quantity(mantissa: i64, day_scale: u32) -> Decimal {
    Decimal::new(mantissa, scale_of(day_scale))
}

fn period_contains_word(period: &Period, day_scale: u32) -> bool {
    i64::from(day_scale >> SCALE_BITS)
        .checked_sub(DAY_BIAS)
        .and_then(|d| d.checked_add(UNIX_DAY_FROM_CE))
        .and_then(|d| i32::try_from(d).ok())
        .and_then(NaiveDate::from_num_days_from_ce_opt)
        .is_some_and(|d| period.contains(d))
}

/// The aggregate of records that all lie in the period. Records of one scale take the
/// integer path; mixed scales (rare) take the `Decimal` path, which is exact by construction.
fn aggregate_packed<M: Mantissa, D: DayWord>(
    mantissas: &[M],
    days: &[D],
    base: u32,
    scale: Option<u32>,
    aggregation: Aggregation,
) -> Option<Decimal> {
    if mantissas.is_empty() {
        return Some(Decimal::ZERO);
    }
    let Some(scale) = scale else {
        return aggregate_quantities(
            mantissas
                .iter()
                .zip(days)
                .map(|(m, d)| quantity((*m).into(), d.word(base))),
            aggregation,
        );
    };
    let count = mantissas.len();
    match aggregation {
        Aggregation::Sum => decimal(M::sum(mantissas), scale),
        Aggregation::Count => Some(Decimal::from(count)),
        Aggregation::Max => mantissas
            .iter()
            .max()
            .map(|m| Decimal::new((*m).into(), scale)),
        Aggregation::Min => mantissas
            .iter()
            .min()
            .map(|m| Decimal::new((*m).into(), scale)),
        Aggregation::Average => {
            decimal(M::sum(mantissas), scale)?.checked_div(Decimal::from(count))
        }
    }
}

/// `value / 10^scale` as a `Decimal`, or `None` past its 96 bits.
fn decimal(value: i128, scale: u32) -> Option<Decimal> {
    Decimal::try_from_i128_with_scale(value, scale).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::usage::{UsageRecord, aggregate};
    use chrono::TimeZone;
    use proptest::prelude::*;

    fn rec(account: &str, metric: &str, day: u32, q: Decimal, id: Option<&str>) -> UsageRecord {
        UsageRecord::new(
            AccountKey::new(account).unwrap(),
            MetricId::new(metric).unwrap(),
            Utc.with_ymd_and_hms(2025, 1, 1, 7, 0, 0).unwrap() + chrono::Days::new(day.into()),
            q,
            id.map(|s| RecordId::new(s).unwrap()),
        )
        .unwrap()
    }

    /// A record as numbers: (account, metric, day, mantissa, scale, record id).
    type Raw = (usize, usize, u32, i64, u32, Option<u8>);

    /// The records of `raw`.
    fn records_of(raw: &[Raw]) -> Vec<UsageRecord> {
        raw.iter()
            .map(|(a, m, d, q, s, id)| {
                let id = id.map(|i| format!("r{i}"));
                let quantity = Decimal::new(*q, *s);
                rec(
                    &format!("a{a}"),
                    &format!("m{m}"),
                    *d,
                    quantity,
                    id.as_deref(),
                )
            })
            .collect()
    }

    fn period(from: u64, to: u64) -> Period {
        let origin = NaiveDate::from_ymd_opt(2025, 1, 1).unwrap();
        Period::new(
            origin + chrono::Days::new(from),
            origin + chrono::Days::new(to),
        )
        .unwrap()
    }

    proptest! {
        /// A bucket sorted as 64-bit keys, or as records when the keys would not hold it, is
        /// the bucket sorted as records: groups, days and mantissas over spans from one value
        /// to the whole field, so both ways are taken.
        #[test]
        fn buckets_sort_as_their_records(
            records in prop::collection::vec((any::<u32>(), any::<u32>(), any::<i64>()), 1..300),
            spans in (0u32..=32, 0u32..=32, 0u32..=64),
            least in (any::<u32>(), any::<u32>(), any::<u64>()),
        ) {
            let span = |v: u64, bits: u32, field: u32| {
                if bits >= field { v } else { v & ((1u64 << bits) - 1) }
            };
            let mut bucket: Vec<Packed> = records
                .iter()
                .map(|(g, d, m)| {
                    Packed::from_parts(
                        least.0.saturating_add(span(u64::from(*g), spans.0, 32) as u32),
                        least.1.saturating_add(span(u64::from(*d), spans.1, 32) as u32),
                        least.2.saturating_add(span(*m as u64, spans.2, 64)),
                    )
                })
                .collect();
            let mut expected = bucket.clone();
            expected.sort_unstable();
            let narrow = NarrowKey::of(&bucket).is_some();
            let fits = spans.0 + spans.1 + spans.2 <= 64;
            prop_assert!(narrow || !fits);
            sort_bucket(&mut bucket, &mut Vec::new());
            prop_assert_eq!(bucket, expected);
        }
    }

    #[test]
    fn sorted_columns_are_the_columns_of_one_sort() {
        // Enough records to be filed into buckets; a third of them in one heavy group, a
        // bucket larger than a part, sorted in parallel; groups up to the bound given; one
        // mantissa past 32 bits makes the column wide.
        let mut x = 0x9E37_79B9_7F4A_7C15u64;
        let mut next = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        for (groups, wide) in [
            (1u32, false),
            (4_000, true),
            (70_000, false),
            (u32::MAX, true),
        ] {
            let mut records: Vec<Packed> = (0..200_000)
                .map(|_| {
                    let r = next();
                    let group = if r % 3 == 0 {
                        groups / 2
                    } else {
                        (r >> 8) as u32 % groups
                    };
                    Packed::new((r >> 40) as i64 % 1_000, group, (r % 97) as u32)
                })
                .collect();
            if wide {
                records[7] = Packed::new(1 << 40, records[7].group(), 3);
            }
            let mut expected = records.clone();
            expected.sort_unstable();
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(3)
                .build()
                .unwrap();
            let (mantissas, days, runs) = pool.install(|| sorted_columns(records, groups));
            let expected_days: Vec<u32> = expected.iter().map(|r| r.day_scale()).collect();
            let wide_mantissas: Vec<i64> = expected.iter().map(|r| r.mantissa()).collect();
            match (&mantissas, wide) {
                (Mantissas::Wide(m), true) => assert!(*m == wide_mantissas, "{groups} groups"),
                (Mantissas::Narrow(m), false) => {
                    let m: Vec<i64> = m.iter().map(|m| i64::from(*m)).collect();
                    assert!(m == wide_mantissas, "{groups} groups");
                }
                _ => panic!("{groups} groups: the wrong width"),
            }
            assert!(days == expected_days, "{groups} groups");
            let mut expected_runs = Vec::new();
            let mut at = 0;
            for run in expected.chunk_by(|a, b| a.group() == b.group()) {
                expected_runs.push((run[0].group(), at, at + run.len()));
                at += run.len();
            }
            assert_eq!(runs, expected_runs, "{groups} groups");
        }
    }

    #[test]
    fn a_record_is_sixteen_bytes() {
        assert_eq!(std::mem::size_of::<Packed>(), 16);
    }

    #[test]
    fn mantissas_are_four_bytes_while_they_fit_in_32_bits() {
        let narrow = [
            rec("a", "m", 0, Decimal::from(u32::MAX), None),
            rec("a", "m", 1, Decimal::ONE, None),
        ];
        let table = UsageTable::from_records(&narrow).unwrap();
        assert!(matches!(table.mantissas, Mantissas::Narrow(_)));
        // The second record widens the column: the first keeps its value.
        let wide = [
            narrow[0].clone(),
            rec("b", "m", 0, Decimal::from(u64::from(u32::MAX) + 1), None),
        ];
        let table = UsageTable::from_records(&wide).unwrap();
        assert_eq!(
            table.mantissas,
            Mantissas::Wide(vec![i64::from(u32::MAX), 1 << 32])
        );
        let p = period(0, 2);
        let a = AccountKey::new("a").unwrap();
        let m = MetricId::new("m").unwrap();
        assert_eq!(
            table.aggregate(&a, &m, Aggregation::Sum, &p),
            Some(Decimal::from(u32::MAX))
        );
    }

    #[test]
    fn days_are_two_bytes_while_they_span_less_than_2_to_the_16() {
        let (a, m) = (AccountKey::new("a").unwrap(), MetricId::new("m").unwrap());
        // 2,047 days and scales 0 and 28 apart: 2,047 x 32 + 28 = 65,532.
        let small = Decimal::new(5, 28);
        let near = [
            rec("a", "m", 3, Decimal::ONE, None),
            rec("a", "m", 2_050, small, None),
        ];
        let table = UsageTable::from_records(&near).unwrap();
        let Days::Narrow { offsets, .. } = &table.days else {
            panic!("{:?}", table.days)
        };
        assert_eq!(offsets, &[0, 65_532]);
        // 2,048 days apart: 65,536.
        let far = [near[0].clone(), rec("a", "m", 2_051, small, None)];
        let table_far = UsageTable::from_records(&far).unwrap();
        assert!(matches!(table_far.days, Days::Wide(_)));
        for (table, last) in [(&table, 2_050), (&table_far, 2_051)] {
            let sum = table.aggregate(&a, &m, Aggregation::Sum, &period(0, last + 1));
            assert_eq!(sum, Some(Decimal::ONE + small));
            let none = table.aggregate(&a, &m, Aggregation::Count, &period(4, last));
            assert_eq!(none, Some(Decimal::ZERO));
            let last_day = table.aggregate(&a, &m, Aggregation::Max, &period(last, last + 1));
            assert_eq!(last_day, Some(small));
            let first_day = table.aggregate(&a, &m, Aggregation::Max, &period(3, 4));
            assert_eq!(first_day, Some(Decimal::ONE));
        }
    }

    #[test]
    fn out_of_range_quantities_and_dates_are_named() {
        let mut b = UsageTableBuilder::new();
        let key = AccountKey::new("acme").unwrap();
        let metric = MetricId::new("gb").unwrap();
        let at = Utc.with_ymd_and_hms(2025, 1, 1, 0, 0, 0).unwrap();
        let err = b
            .push(&key, &metric, at, Decimal::MAX, None)
            .unwrap_err()
            .to_string();
        assert!(err.contains("quantity") && err.contains("79228162514264337593543950335"));
        let far = DateTime::<Utc>::MAX_UTC;
        let err = b.push(&key, &metric, far, Decimal::ONE, None).unwrap_err();
        assert!(err.to_string().contains("timestamp"), "{err}");
    }

    const AGGREGATIONS: [Aggregation; 5] = [
        Aggregation::Sum,
        Aggregation::Max,
        Aggregation::Min,
        Aggregation::Average,
        Aggregation::Count,
    ];

    proptest! {
        /// The in-place sort of the builder's columns gives the order of `sort_records` (any
        /// mantissa, any number of groups, some of them empty) and the groups' bounds.
        #[test]
        fn columns_sort_as_packed_records(
            raw in prop::collection::vec((0u32..12, any::<u32>(), prop_oneof![any::<i64>(), -3i64..3]), 0..300),
            day_range in prop_oneof![Just(2u32), Just(u32::MAX)],
        ) {
            let mut packed: Vec<Packed> = raw
                .iter()
                .map(|(g, d, m)| Packed::new(*m, *g, d % day_range))
                .collect();
            let mut mantissas: Vec<i64> = packed.iter().map(|r| r.mantissa()).collect();
            let mut days: Vec<u32> = packed.iter().map(|r| r.day_scale()).collect();
            let mut groups: Vec<u32> = packed.iter().map(|r| r.group()).collect();
            let bounds = place_by_group(&mut mantissas, &mut days, &mut groups, 12);
            sort_groups(&mut mantissas, &mut days, &bounds);
            sort_records(&mut packed);
            prop_assert_eq!(&mantissas, &packed.iter().map(|r| r.mantissa()).collect::<Vec<_>>());
            prop_assert_eq!(&days, &packed.iter().map(|r| r.day_scale()).collect::<Vec<_>>());
            prop_assert_eq!(&groups, &packed.iter().map(|r| r.group()).collect::<Vec<_>>());
            prop_assert_eq!(bounds.len(), 13);
            for (g, w) in bounds.windows(2).enumerate() {
                let expected = packed.iter().filter(|r| r.group() as usize == g).count();
                prop_assert_eq!(w[1] - w[0], expected);
                prop_assert!(groups[w[0]..w[1]].iter().all(|x| *x as usize == g));
            }
        }

        /// The builder's table, whatever the order of the records, is the one the packed path
        /// (`from_dense`: a sort of 16-byte records) makes of them.
        #[test]
        fn the_builder_makes_the_packed_paths_table(
            raw in prop::collection::vec(
                (0usize..5, 0usize..3, 0u32..70, prop_oneof![Just(0i64), 0i64..10_000_000, Just(i64::MAX)], 0u32..4, prop::option::of(0u8..8)),
                0..150,
            ),
            rotate in 0usize..150,
            reverse in any::<bool>(),
        ) {
            let records = records_of(&raw);
            let table = UsageTable::from_records(&records).unwrap();
            let mut shuffled = records.clone();
            let turn = rotate.min(shuffled.len());
            shuffled.rotate_left(turn);
            if reverse {
                shuffled.reverse();
            }
            prop_assert_eq!(&UsageTable::from_records(&shuffled).unwrap(), &table);

            // The packed path: groups numbered account x 3 + metric over sorted names (the
            // builder's table names only the metrics it saw).
            let accounts: Vec<AccountKey> = (0..5).map(|a| AccountKey::new(format!("a{a}")).unwrap()).collect();
            let seen: std::collections::BTreeSet<usize> = raw.iter().map(|r| r.1).collect();
            let metrics: Vec<MetricId> = seen.iter().map(|m| MetricId::new(format!("m{m}")).unwrap()).collect();
            let mut packed = Vec::new();
            let mut resent = Resent::default();
            for ((a, m, ..), r) in raw.iter().zip(&records) {
                let m = seen.iter().position(|x| x == m).unwrap();
                let group = u32::try_from(a * 3 + m).unwrap();
                let quantity = if r.quantity().is_zero() { r.quantity().abs() } else { r.quantity() };
                match r.record_id() {
                    Some(id) => resent.keep(group, id.clone(), r.timestamp(), quantity),
                    None => {
                        let (mantissa, day_scale) = pack(quantity, r.timestamp().date_naive()).unwrap();
                        packed.push(Packed::new(mantissa, group, day_scale));
                    }
                }
            }
            prop_assert!(resent.pack_into(&mut packed).is_empty());
            prop_assert_eq!(UsageTable::from_dense(accounts, metrics, packed, 3), table);
        }

        #[test]
        fn the_table_aggregates_as_the_reference(
            raw in prop::collection::vec(
                // Days 2,000 or more apart in some tables: their day column is whole words.
                (0usize..3, 0usize..2, prop_oneof![8 => 0u32..70, 1 => 2040u32..2060], prop_oneof![4 => Just(0i64), 4 => 0i64..10_000_000, 1 => Just(i64::from(u32::MAX)), 1 => Just(i64::from(u32::MAX) + 1), 1 => (1i64 << 40)..(1i64 << 41)], 0u32..4, prop::option::of(0u8..8)),
                0..120,
            ),
            from in prop_oneof![0u64..40, 2030u64..2060],
            len in prop_oneof![1u64..40, 1u64..2100],
        ) {
            let records = records_of(&raw);
            let table = UsageTable::from_records(&records).unwrap();
            let p = period(from, from + len);
            for a in 0..3 {
                for m in 0..2 {
                    let key = AccountKey::new(format!("a{a}")).unwrap();
                    let metric = MetricId::new(format!("m{m}")).unwrap();
                    let mine: Vec<&UsageRecord> = records.iter().filter(|r| r.account() == &key && r.metric() == &metric).collect();
                    for aggregation in AGGREGATIONS {
                        let expected = aggregate(mine.iter().copied(), &metric, aggregation, &p).ok();
                        let got = table.aggregate(&key, &metric, aggregation, &p);
                        prop_assert_eq!(got.map(|d| d.to_string()), expected.map(|d| d.to_string()), "{:?}", aggregation);
                    }
                }
            }
        }
    }
}
