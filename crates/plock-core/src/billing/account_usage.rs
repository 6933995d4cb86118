//! Where the engine finds a subscription's usage: its account's place in the packed table,
//! found once for all of the account's subscriptions.

use rust_decimal::Decimal;

use super::catalogue::{CatalogueEntry, UsageLookup};
use crate::id::{AccountKey, MetricId};
use crate::period::Period;
use crate::usage::UsageTable;

/// One account's usage in the table, already found: its subscriptions' lookups need no hash.
pub(super) struct AccountUsage<'a> {
    pub(super) table: &'a UsageTable,
    pub(super) account: Option<usize>,
}

impl UsageLookup for AccountUsage<'_> {
    /// `account` is the subscription's own, the one this value was made for.
    fn aggregate(
        &self,
        _account: &AccountKey,
        _metric: &MetricId,
        entry: CatalogueEntry,
        period: &Period,
    ) -> Option<Decimal> {
        match (self.account, entry.table) {
            (Some(a), Some(m)) => self.table.aggregate_of(a, m, entry.aggregation, period),
            _ => Some(Decimal::ZERO),
        }
    }

    /// The period's records found once for the aggregate and their count.
    fn aggregate_counted(
        &self,
        _account: &AccountKey,
        _metric: &MetricId,
        entry: CatalogueEntry,
        period: &Period,
    ) -> Option<(Decimal, Decimal)> {
        match (self.account, entry.table) {
            (Some(a), Some(m)) => self
                .table
                .aggregate_counted_of(a, m, entry.aggregation, period)
                .map(|(value, count)| (value, Decimal::from(count))),
            _ => Some((Decimal::ZERO, Decimal::ZERO)),
        }
    }
}
