//! Building a table one record at a time, and assembling its columns once sorted.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;

use super::columns::{Columns, DayWord, Days, Mantissas};
use super::pack::{Packed, Resent, pack};
use super::sort::{scale_byte, sort_columns, sorted_columns_spent};
use super::source::RecordSource;
use super::{Group, MIXED_SCALES, UsageTable};
use crate::hash::{FastState, dense};
use crate::id::{AccountKey, MetricId, RecordId};
use crate::usage::{UsageError, UsageRecord};

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
    pub fn push_record(&mut self, record: &UsageRecord) -> Result<(), UsageError> {
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
        let days = Days::of(days);
        let runs: Vec<(u32, usize, u8)> = bounds
            .windows(2)
            .enumerate()
            .filter_map(|(rank, w)| match *w {
                [start, end] if start < end => {
                    let scale = run_scale(&days, start, end)?;
                    Some((dense(rank), start, scale))
                }
                _ => None,
            })
            .collect();
        assemble(accounts, metrics, mantissas, days, runs, |rank| {
            order.get(rank as usize).map(|g| rank_of(*g))
        })
    }
}

impl UsageTable {
    /// A table of records whose `group` is `account x slots + metric`, indexes into
    /// `accounts` and `metrics` (both sorted, `metrics` at most `slots`). Re-sent records
    /// must already be resolved.
    pub(crate) fn from_dense<S: RecordSource>(
        accounts: Vec<AccountKey>,
        metrics: Vec<MetricId>,
        records: S,
        slots: u32,
    ) -> UsageTable {
        let groups = u32::try_from(accounts.len())
            .unwrap_or(u32::MAX)
            .saturating_mul(slots);
        // Columns without the group number: a group is its place, so equal usage makes equal
        // tables whatever numbering the records were built with.
        let (mantissas, days, runs, spent) = sorted_columns_spent(records, groups);
        let count = runs.iter().map(Vec::len).sum();
        // The filed records are freed on another thread while the table is assembled, which
        // is serial.
        let (table, ()) = crate::par::join(
            move || {
                let runs = runs.into_iter().flatten();
                assemble_counted(accounts, metrics, (mantissas, days), (runs, count), |g| {
                    Some((g.checked_div(slots)?, g.checked_rem(slots)?))
                })
            },
            move || drop(spent),
        );
        table
    }
}

/// The table of the columns of records sorted by group; `runs` are the groups' numbers,
/// places and scales (the one its records share, or [`MIXED_SCALES`]), in order, and `key_of` gives a group's (account, metric) indexes into the sorted
/// `accounts` and `metrics`. Only accounts with records stay, so equal usage makes equal
/// tables.
pub(super) fn assemble(
    sorted: Vec<AccountKey>,
    metrics: Vec<MetricId>,
    mantissas: Mantissas,
    days: Days,
    runs: impl IntoIterator<Item = (u32, usize, u8)>,
    key_of: impl Fn(u32) -> Option<(u32, u32)>,
) -> UsageTable {
    assemble_counted(sorted, metrics, (mantissas, days), (runs, 0), key_of)
}

/// [`assemble`] of `count` runs, about: the groups' vectors are made that long at once, not
/// grown (a copy and fresh pages at each doubling, on one thread).
fn assemble_counted(
    sorted: Vec<AccountKey>,
    metrics: Vec<MetricId>,
    (mantissas, days): (Mantissas, Days),
    (runs, count): (impl IntoIterator<Item = (u32, usize, u8)>, usize),
    key_of: impl Fn(u32) -> Option<(u32, u32)>,
) -> UsageTable {
    let (mut groups, mut scales) = (Vec::with_capacity(count), Vec::with_capacity(count));
    // The runs cover the records one after the other, and every run's group has a key: a
    // group ends where the next starts.
    for (group, start, scale) in runs {
        let Some((account, metric)) = key_of(group) else {
            continue;
        };
        groups.push(Group {
            account,
            metric,
            start,
        });
        scales.push(scale);
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
        scales,
        account_groups,
        mantissas,
        days,
    }
}

/// The scale every record of `days[start..end]` shares, or [`MIXED_SCALES`]; `None` for an
/// empty run.
fn run_scale(days: &Days, start: usize, end: usize) -> Option<u8> {
    fn of<D: DayWord>(run: &[D], base: u32) -> Option<u8> {
        let first = scale_byte(run.first()?.word(base));
        Some(
            match run.iter().all(|d| scale_byte(d.word(base)) == first) {
                true => first,
                false => MIXED_SCALES,
            },
        )
    }
    match days {
        Days::Narrow { base, offsets } => of(offsets.get(start..end)?, *base),
        Days::Wide(words) => of(words.get(start..end)?, 0),
    }
}

/// The rank of each element of `items` in sorted order.
pub(super) fn ranks<T: Ord>(items: &[T]) -> Vec<u32> {
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
