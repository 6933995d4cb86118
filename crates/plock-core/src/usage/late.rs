//! Late usage: records for days a subscription has already billed in arrears. They are never
//! lost silently: [`late_usage`](super::late_usage) finds them where usage enters, so an import says so.

use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::id::{AccountKey, MetricId, SubscriptionId};

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
