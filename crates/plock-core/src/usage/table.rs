//! The usage table: usage records packed for billing at scale.
//!
//! A record takes 6 to 12 bytes, in two columns: its quantity's mantissa (4 bytes while
//! every mantissa of the table fits in 32 bits, 8 otherwise), and its UTC day and scale in
//! one word (2 bytes when every word of the table is within 65,535 of the least, 4 otherwise).
//! Records are sorted by (account, metric) group and day, and a group is a range of places,
//! so a period's records are one search of the day column away and aggregate in one pass of
//! integer additions (i128, exact) that is converted to `Decimal` once per period. While the
//! table is built, a record is 12 to 16 bytes: the two columns and its group number, in a
//! third column that is dropped once the records are in group order. Re-sent records (same
//! record id) are resolved when the table is built, with the rule of
//! [`deduplicate`](super::deduplicate).
//!
//! The files: `pack` packs one record, `build` builds a table, `columns` holds its columns,
//! `sort` orders them, `query` answers a billing run, and `pieces` cuts work for threads.

mod build;
mod columns;
mod filing;
mod key_sort;
mod pack;
mod pieces;
mod query;
mod sort;
mod source;
#[cfg(test)]
mod tests;

pub use build::UsageTableBuilder;
#[cfg(test)]
pub(crate) use pack::pack;
pub(crate) use pack::{Packed, Resent, pack_record, quantity, unix_day_word};
pub(crate) use pieces::split_lengths;
pub(crate) use source::{Bounds, RecordSource, bucket_of, count_in, part_len};

use crate::id::{AccountKey, MetricId};
use columns::{Days, Mantissas};

/// An (account, metric) group: its records are `records[start..]` up to the next group's
/// start (the table's end for the last group), sorted by day. 16 bytes: at scale M a table
/// has about one group for every ten records.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Group {
    account: u32,
    metric: u32,
    start: usize,
}

/// A group's [`UsageTable::scales`] entry when its records' scales differ.
const MIXED_SCALES: u8 = u8::MAX;

/// Usage records packed for billing runs at scale: build it with [`UsageTableBuilder`], or
/// [`UsageTable::from_records`], then bill with [`run`](crate::billing::run).
///
/// ```
/// use chrono::{NaiveDate, TimeZone, Utc};
/// use plock_core::{AccountKey, MetricId, UsageRecord, UsageTable};
/// use plock_core::period::Period;
/// use plock_core::usage::{Aggregation, UsageTableBuilder};
/// use rust_decimal::dec;
///
/// let (globex, seats) = (AccountKey::new("globex")?, MetricId::new("seats")?);
/// let mut builder = UsageTableBuilder::new();
/// for (day, quantity) in [(3, dec!(40)), (17, dec!(55)), (28, dec!(48))] {
///     let at = Utc.with_ymd_and_hms(2025, 1, day, 9, 0, 0).single().ok_or("no such time")?;
///     builder.push_record(&UsageRecord::new(globex.clone(), seats.clone(), at, quantity, None)?)?;
/// }
/// let table: UsageTable = builder.finish();
/// let january = Period::new(
///     NaiveDate::from_ymd_opt(2025, 1, 1).ok_or("no such date")?,
///     NaiveDate::from_ymd_opt(2025, 2, 1).ok_or("no such date")?,
/// )?;
/// assert_eq!(table.aggregate(&globex, &seats, Aggregation::Max, &january), Some(dec!(55)));
/// assert_eq!(table.aggregate(&globex, &seats, Aggregation::Sum, &january), Some(dec!(143)));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct UsageTable {
    /// Account keys with usage, sorted.
    accounts: Vec<AccountKey>,
    /// Metrics with usage, sorted.
    metrics: Vec<MetricId>,
    /// Groups, sorted by (account, metric), their records one after the other.
    groups: Vec<Group>,
    /// By group, the scale every record of the group has, or [`MIXED_SCALES`].
    scales: Vec<u8>,
    /// `groups[account_groups[a]..account_groups[a + 1]]` are account `a`'s.
    account_groups: Vec<usize>,
    /// The records' quantity mantissas, in group then day order.
    mantissas: Mantissas,
    /// The records' packed day and scale words, in the same order: a group's days are
    /// contiguous, so a period's bounds are searched in 2 or 4 bytes a record.
    days: Days,
}
