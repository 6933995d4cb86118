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
        match (self.account, entry.table, entry.group) {
            (Some(_), Some(_), Some(g)) => self.table.aggregate_group(g, entry.aggregation, period),
            (Some(a), Some(m), None) => self.table.aggregate_of(a, m, entry.aggregation, period),
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
    ) -> Option<(Decimal, u64)> {
        let counted = match (self.account, entry.table, entry.group) {
            (Some(_), Some(_), Some(g)) => {
                self.table
                    .aggregate_counted_in(g, entry.aggregation, period)
            }
            (Some(a), Some(m), None) => {
                self.table
                    .aggregate_counted_of(a, m, entry.aggregation, period)
            }
            _ => return Some((Decimal::ZERO, 0)),
        };
        counted.map(|(value, count)| (value, u64::try_from(count).unwrap_or(u64::MAX)))
    }
}
