//! What a billing run asks of a table: its groups, and a group's aggregate over a period.

use rust_decimal::Decimal;

use super::build::UsageTableBuilder;
use super::columns::{DayWord, Days, Mantissa, Mantissas};
use super::pack::{day_word, decimal, period_contains_word, quantity};
use super::{Group, MIXED_SCALES, UsageTable};
use crate::id::{AccountKey, MetricId};
use crate::period::Period;
use crate::usage::{Aggregation, Metric, UsageError, UsageRecord, aggregate_quantities};

/// Calls `$f(mantissas, days, base, $at)` with the table's columns at their widths: one
/// dispatch for every reader of the columns, so each is compiled for each pair of widths.
macro_rules! on_columns {
    ($table:expr, $f:ident, $at:expr) => {
        match (&$table.mantissas, &$table.days) {
            (Mantissas::Narrow(m), Days::Narrow { base, offsets }) => $f(m, offsets, *base, $at),
            (Mantissas::Narrow(m), Days::Wide(words)) => $f(m, words, 0, $at),
            (Mantissas::Wide(m), Days::Narrow { base, offsets }) => $f(m, offsets, *base, $at),
            (Mantissas::Wide(m), Days::Wide(words)) => $f(m, words, 0, $at),
        }
    };
}

impl UsageTable {
    /// A table of `records`.
    ///
    /// # Errors
    /// As [`UsageTableBuilder::push`].
    ///
    /// # Examples
    ///
    /// ```
    /// use chrono::{TimeZone, Utc};
    /// use plock_core::{AccountKey, MetricId, UsageRecord, UsageTable};
    /// use plock_core::id::RecordId;
    /// use rust_decimal::dec;
    ///
    /// let at = Utc.with_ymd_and_hms(2025, 1, 15, 12, 0, 0).single().ok_or("no such time")?;
    /// let record = |id: &str| -> Result<UsageRecord, Box<dyn std::error::Error>> {
    ///     Ok(UsageRecord::new(AccountKey::new("globex")?, MetricId::new("api_calls")?, at, dec!(500), Some(RecordId::new(id)?))?)
    /// };
    /// // The second record is the first one sent again: it counts once.
    /// let table = UsageTable::from_records(&[record("evt-1")?, record("evt-1")?, record("evt-2")?])?;
    /// assert_eq!(table.len(), 2);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn from_records<'a>(
        records: impl IntoIterator<Item = &'a UsageRecord>,
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
            self.scales.capacity(),
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
        let span = self.span(index)?;
        Some((
            self.accounts.get(g.account as usize)?,
            self.metrics.get(g.metric as usize)?,
            span.end.saturating_sub(span.start),
        ))
    }

    /// The places and scale of the group at `index`.
    fn span(&self, index: usize) -> Option<Span> {
        let start = self.groups.get(index)?.start;
        let end = self
            .groups
            .get(index.saturating_add(1))
            .map_or(self.len(), |g| g.start);
        let scale = self.scales.get(index).copied()?;
        Some(Span {
            start,
            end,
            scale: (scale != MIXED_SCALES).then_some(u32::from(scale)),
        })
    }

    /// The aggregate of `account`'s records of `metric` whose UTC day lies in `period`, exactly
    /// as [`aggregate`](crate::usage::aggregate) computes it; `None` on overflow.
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

    pub(crate) fn aggregate_group(
        &self,
        group: usize,
        aggregation: Aggregation,
        period: &Period,
    ) -> Option<Decimal> {
        let span = self.span(group)?;
        let at = (&span, aggregation, period);
        on_columns!(self, aggregate_column, at)
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
        match self.group_of(account, metric) {
            Some(group) => self.aggregate_group(group, aggregation, period),
            None => Some(Decimal::ZERO),
        }
    }

    /// [`UsageTable::aggregate_of`] with the count of the records it read: the period's
    /// records are found once for both (a billing run reports how many records each usage
    /// line priced).
    pub(crate) fn aggregate_counted_of(
        &self,
        account: usize,
        metric: u32,
        aggregation: Aggregation,
        period: &Period,
    ) -> Option<(Decimal, usize)> {
        let Some(group) = self.group_of(account, metric) else {
            return Some((Decimal::ZERO, 0));
        };
        self.aggregate_counted_in(group, aggregation, period)
    }

    /// [`UsageTable::aggregate_counted_of`] of the group at `group`, found already.
    pub(crate) fn aggregate_counted_in(
        &self,
        group: usize,
        aggregation: Aggregation,
        period: &Period,
    ) -> Option<(Decimal, usize)> {
        let span = self.span(group)?;
        let at = (&span, aggregation, period);
        on_columns!(self, counted_column, at)
    }

    /// Every (account, metric) aggregate over `period`, in [`UsageTable::groups`] order, each
    /// with its metric's aggregation (sum for a metric not in `metrics`); `None` where one
    /// overflows. The aggregation alone, split across the current rayon pool's threads.
    pub fn aggregate_all(&self, metrics: &[Metric], period: &Period) -> Vec<Option<Decimal>> {
        use crate::par::prelude::*;
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
            .enumerate()
            .map(|(i, g)| {
                let aggregation = aggregations
                    .get(g.metric as usize)
                    .copied()
                    .unwrap_or_default();
                self.aggregate_group(i, aggregation, period)
            })
            .collect()
    }

    /// The account's table index, if it has usage.
    pub(crate) fn account_index(&self, account: &AccountKey) -> Option<usize> {
        self.accounts.binary_search(account).ok()
    }
}

/// A group's records, `start..end`, and the scale they all have, if one.
pub(super) struct Span {
    start: usize,
    end: usize,
    scale: Option<u32>,
}

/// A group's aggregate over a period, from columns whose day words are `base` plus the
/// values held.
pub(super) fn aggregate_column<M: Mantissa, D: DayWord>(
    mantissas: &[M],
    days: &[D],
    base: u32,
    (group, aggregation, period): (&Span, Aggregation, &Period),
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

/// [`aggregate_column`] and the count of the records it aggregates.
fn counted_column<M: Mantissa, D: DayWord>(
    mantissas: &[M],
    days: &[D],
    base: u32,
    (group, aggregation, period): (&Span, Aggregation, &Period),
) -> Option<(Decimal, usize)> {
    let (Some(lo), Some(hi)) = (day_word(period.start()), day_word(period.end())) else {
        // A period outside the table's range: the exact (slow) path, twice.
        let value = aggregate_column(mantissas, days, base, (group, aggregation, period))?;
        let count = aggregate_column(mantissas, days, base, (group, Aggregation::Count, period))?;
        return Some((value, usize::try_from(count).ok()?));
    };
    let range = group.start..group.end;
    let mantissas = mantissas.get(range.clone()).unwrap_or_default();
    let days = days.get(range).unwrap_or_default();
    let selected = in_days(days, lo.saturating_sub(base), hi.saturating_sub(base));
    let mantissas = mantissas.get(selected.clone()).unwrap_or_default();
    let value = aggregate_packed(
        mantissas,
        days.get(selected).unwrap_or_default(),
        base,
        group.scale,
        aggregation,
    )?;
    Some((value, mantissas.len()))
}

/// The places of the days, sorted, whose held value is in `lo..hi`. Usually the whole group
/// is, or all but a few records at the end (a later period's): both are found without a
/// binary search.
pub(super) fn in_days<D: DayWord>(days: &[D], lo: u32, hi: u32) -> std::ops::Range<usize> {
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

/// The aggregate of records that all lie in the period. Records of one scale take the
/// integer path; mixed scales (rare) take the `Decimal` path, which is exact by construction.
pub(super) fn aggregate_packed<M: Mantissa, D: DayWord>(
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
