//! Late usage found block by block, as an import hands its checked blocks to a store: the
//! subscriptions' arrears watermarks are gathered once, and blocks are read only when some
//! subscription has billed in arrears.

use std::collections::{BTreeMap, HashMap};

use chrono::NaiveDate;
use rust_decimal::Decimal;

use super::late::LateUsage;
use crate::book::AccountBook;
use crate::id::{AccountKey, MetricId, SubscriptionId};
use crate::import::{BlockError, UsageBlock};
use crate::subscription::Subscription;
use crate::usage::UsageRecord;

/// The subscriptions pricing a metric, with their arrears watermark.
type Pricing = Vec<(SubscriptionId, NaiveDate)>;

/// The late records of the blocks added, as [`late_usage`] finds them
/// in records: grouped by account, metric and subscription over every block.
#[derive(Debug, Default)]
pub struct LateFinder {
    /// Account key, then metric: the subscriptions billed in arrears pricing it.
    pricing: HashMap<String, HashMap<String, Pricing>>,
    late: BTreeMap<(AccountKey, MetricId, SubscriptionId), LateUsage>,
}

impl LateFinder {
    /// A finder for the accounts of `book` and their `subscriptions`.
    pub fn new(book: &AccountBook, subscriptions: &[Subscription]) -> LateFinder {
        let mut pricing: HashMap<String, HashMap<String, Pricing>> = HashMap::new();
        for sub in subscriptions {
            let (Some(account), Some(through)) =
                (book.get(sub.account()), sub.billed_through().in_arrears)
            else {
                continue;
            };
            for metric in sub.items().iter().filter_map(|i| i.metric.as_ref()) {
                pricing
                    .entry(account.key().as_str().to_owned())
                    .or_default()
                    .entry(metric.as_str().to_owned())
                    .or_default()
                    .push((sub.id().clone(), through));
            }
        }
        LateFinder {
            pricing,
            late: BTreeMap::new(),
        }
    }

    /// Adds the late records of `block`.
    ///
    /// # Errors
    /// [`BlockError`] for a block whose text is not a block's.
    pub fn add(&mut self, block: &UsageBlock) -> Result<(), BlockError> {
        if self.pricing.is_empty() {
            return Ok(());
        }
        block.for_each_record(|r| {
            self.note(r.account, r.metric, r.timestamp.date_naive(), r.quantity);
            Ok::<(), BlockError>(())
        })
    }

    /// Adds `record` when it is late.
    pub fn add_record(&mut self, record: &UsageRecord) {
        let day = record.timestamp().date_naive();
        self.note(
            record.account().as_str(),
            record.metric().as_str(),
            day,
            record.quantity(),
        );
    }

    /// Counts a record of `account` and `metric` on `day` for each subscription that has
    /// billed that day in arrears.
    fn note(&mut self, account: &str, metric: &str, day: NaiveDate, quantity: Decimal) {
        let Some(subs) = self.pricing.get(account).and_then(|m| m.get(metric)) else {
            return;
        };
        for (sub, through) in subs.iter().filter(|(_, through)| day < *through) {
            let (Ok(account), Ok(metric)) = (AccountKey::new(account), MetricId::new(metric))
            else {
                continue;
            };
            let entry = self
                .late
                .entry((account.clone(), metric.clone(), sub.clone()))
                .or_insert_with(|| LateUsage {
                    account,
                    metric,
                    subscription: sub.clone(),
                    billed_through: *through,
                    records: 0,
                    quantity: Decimal::ZERO,
                    first_day: day,
                });
            entry.records = entry.records.saturating_add(1);
            entry.quantity = entry.quantity.checked_add(quantity).unwrap_or(Decimal::MAX);
            entry.first_day = entry.first_day.min(day);
        }
    }

    /// The late records found, by account, metric and subscription.
    pub fn finish(self) -> Vec<LateUsage> {
        self.late.into_values().collect()
    }
}

/// The records of `records` that arrive late, grouped by account, metric and subscription,
/// in that order. A record is late when a subscription of its account prices its metric and
/// is billed in arrears through a day after the record's (UTC) day.
pub fn late_usage(
    records: &[UsageRecord],
    book: &AccountBook,
    subscriptions: &[Subscription],
) -> Vec<LateUsage> {
    let mut finder = LateFinder::new(book, subscriptions);
    for record in records {
        finder.add_record(record);
    }
    finder.finish()
}
