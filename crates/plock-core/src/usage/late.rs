//! Late usage: records for days a subscription has already billed in arrears. They are never
//! lost silently: [`late_usage`] finds them where usage enters, so an import says so.

use std::collections::{BTreeMap, HashMap};

use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::book::AccountBook;
use crate::id::{AccountKey, MetricId, SubscriptionId};
use crate::subscription::Subscription;
use crate::usage::UsageRecord;

/// Records of one account and metric that fall in days a subscription pricing the metric has
/// already billed in arrears.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct LateUsage {
    /// The account.
    pub account: AccountKey,
    /// The metric.
    pub metric: MetricId,
    /// The subscription that prices it.
    pub subscription: SubscriptionId,
    /// What the subscription is billed through in arrears: the records are before it.
    pub billed_through: NaiveDate,
    /// How many records.
    pub records: u64,
    /// Their summed quantity (saturating at `Decimal::MAX`: a report, not a charge).
    pub quantity: Decimal,
    /// The earliest record's day.
    pub first_day: NaiveDate,
}

/// The records of `records` that arrive late, grouped by account, metric and subscription,
/// in that order. A record is late when a subscription of its account prices its metric and
/// is billed in arrears through a day after the record's (UTC) day.
pub fn late_usage(
    records: &[UsageRecord],
    book: &AccountBook,
    subscriptions: &[Subscription],
) -> Vec<LateUsage> {
    // (account key, metric) -> the subscriptions pricing it, with their arrears watermark.
    let mut pricing: HashMap<(&AccountKey, &MetricId), Vec<(&SubscriptionId, NaiveDate)>> =
        HashMap::new();
    for sub in subscriptions {
        let (Some(account), Some(through)) =
            (book.get(sub.account()), sub.billed_through().in_arrears)
        else {
            continue;
        };
        for metric in sub.items().iter().filter_map(|i| i.metric.as_ref()) {
            pricing
                .entry((account.key(), metric))
                .or_default()
                .push((sub.id(), through));
        }
    }
    let mut late: BTreeMap<(AccountKey, MetricId, SubscriptionId), LateUsage> = BTreeMap::new();
    for record in records {
        let day = record.timestamp().date_naive();
        let Some(subs) = pricing.get(&(record.account(), record.metric())) else {
            continue;
        };
        for (sub, through) in subs.iter().filter(|(_, through)| day < *through) {
            let entry = late
                .entry((
                    record.account().clone(),
                    record.metric().clone(),
                    (*sub).clone(),
                ))
                .or_insert_with(|| LateUsage {
                    account: record.account().clone(),
                    metric: record.metric().clone(),
                    subscription: (*sub).clone(),
                    billed_through: *through,
                    records: 0,
                    quantity: Decimal::ZERO,
                    first_day: day,
                });
            entry.records = entry.records.saturating_add(1);
            entry.quantity = entry
                .quantity
                .checked_add(record.quantity())
                .unwrap_or(Decimal::MAX);
            entry.first_day = entry.first_day.min(day);
        }
    }
    late.into_values().collect()
}
