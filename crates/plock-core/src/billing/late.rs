//! Late usage (domain reference, 8.1): usage that arrives for a period already billed in
//! arrears is billed on the next run.
//!
//! A run keeps, for every usage item of a subscription and every period it bills in arrears,
//! what it billed: the records counted, their aggregate and the amount ([`BilledUsage`]). A
//! store records these with the run's invoices. A later run compares each billed period's
//! record count with the usage it reads now; a period that gained records is rated again with
//! all its usage, so tiers stay right, and the difference against what was billed for it is
//! charged on a [`LineKind::LateUsage`] line naming that period.
//!
//! The check costs one count a usage item while its billed periods follow each other
//! (one count over their whole span), and one count a billed period only for an item whose
//! span gained records: a run rates again only the periods with late records.

use std::collections::HashMap;

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::BillingError;
use super::line::{Charge, line, pricing_error};
use super::rules::{CatalogueEntry, UsageLookup};
use crate::account::Account;
use crate::hash::FastState;
use crate::id::{MetricId, ProductId, SubscriptionId};
use crate::invoice::{InvoiceLine, LineKind};
use crate::period::{BillingPeriod, Period};
use crate::pricing::{PriceModel, PricingError};
use crate::subscription::{Item, Subscription};
use crate::usage::Aggregation;

/// What a run billed for one usage item of a subscription over one period in arrears: a
/// later run compares it with the usage it then reads, and bills the difference.
///
/// ```
/// use chrono::NaiveDate;
/// use plock_core::billing::BilledUsage;
/// use plock_core::id::{ProductId, SubscriptionId};
/// use plock_core::period::Period;
/// use rust_decimal::dec;
///
/// let january = Period::new(
///     NaiveDate::from_ymd_opt(2025, 1, 1).ok_or("no such date")?,
///     NaiveDate::from_ymd_opt(2025, 2, 1).ok_or("no such date")?,
/// )?;
/// let billed = BilledUsage {
///     subscription: SubscriptionId::new("sub-globex")?,
///     product: ProductId::new("api")?,
///     period: january,
///     records: 2,
///     quantity: dec!(40000),
///     amount: dec!(80.00),
/// };
/// assert_eq!(billed.key(), ("sub-globex", "api", january.start()));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct BilledUsage {
    /// The subscription.
    pub subscription: SubscriptionId,
    /// The usage item, by its product.
    pub product: ProductId,
    /// The days billed (a period's covered days).
    pub period: Period,
    /// How many usage records the period held when billed.
    pub records: u64,
    /// Their aggregate, as rated.
    pub quantity: Decimal,
    /// What was billed for the period in all, rounded: its line, and any late lines since.
    pub amount: Decimal,
}

impl BilledUsage {
    /// What identifies it: a store keeps one per key, the latest.
    pub fn key(&self) -> (&str, &str, chrono::NaiveDate) {
        (
            self.subscription.as_str(),
            self.product.as_str(),
            self.period.start(),
        )
    }
}

/// The billed usage of one item, its periods in order.
struct ItemRows<'a> {
    rows: Vec<&'a BilledUsage>,
}

/// A run's billed usage by (subscription, product): built once a run, in one pass.
#[derive(Default)]
pub(crate) struct BilledUsageIndex<'a>(
    HashMap<(&'a SubscriptionId, &'a ProductId), ItemRows<'a>, FastState>,
);

impl<'a> BilledUsageIndex<'a> {
    /// The index of `rows`; of two rows with one key, the later in the slice counts.
    pub(crate) fn new(rows: &'a [BilledUsage]) -> BilledUsageIndex<'a> {
        let mut index: HashMap<_, ItemRows<'a>, FastState> = HashMap::default();
        for row in rows {
            index
                .entry((&row.subscription, &row.product))
                .or_insert_with(|| ItemRows { rows: Vec::new() })
                .rows
                .push(row);
        }
        for item in index.values_mut() {
            // Stable: of equal starts the later row stays last, and is the one kept.
            item.rows.sort_by_key(|r| r.period.start());
            let mut kept: Vec<&BilledUsage> = Vec::with_capacity(item.rows.len());
            for row in item.rows.drain(..) {
                match kept.last_mut() {
                    Some(last) if last.period.start() == row.period.start() => *last = row,
                    _ => kept.push(row),
                }
            }
            item.rows = kept;
        }
        BilledUsageIndex(index)
    }

    /// The billed rows of `sub`'s item `product`, in period order.
    pub(crate) fn rows<'s>(
        &'s self,
        sub: &'s SubscriptionId,
        product: &'s ProductId,
    ) -> &'s [&'s BilledUsage] {
        self.get(sub, product)
            .map_or(&[], |item| item.rows.as_slice())
    }

    fn get<'s>(
        &'s self,
        sub: &'s SubscriptionId,
        product: &'s ProductId,
    ) -> Option<&'s ItemRows<'s>> {
        // The map is covariant in its keys: looked up with keys of the shorter lifetime.
        let map: &'s HashMap<(&'s SubscriptionId, &'s ProductId), ItemRows<'s>, FastState> =
            &self.0;
        map.get(&(sub, product))
    }
}

/// The late usage charges of `sub`: for each usage item, every period billed before
/// `billed_through` (its in-arrears watermark) whose records changed since, rated again with
/// all its usage, the difference charged; with the billed usage that replaces those periods'.
pub(super) fn late_charges<'s, U: UsageLookup>(
    usage: &U,
    index: &BilledUsageIndex<'_>,
    entries: &[Option<CatalogueEntry>],
    sub: &'s Subscription,
    account: &Account,
    billed_through: Option<chrono::NaiveDate>,
) -> Result<Vec<Charge<'s>>, BillingError> {
    let mut charges = Vec::new();
    let Some(through) = billed_through else {
        return Ok(charges);
    };
    for (item, entry) in sub.items().iter().zip(entries) {
        let (Some(metric), Some(entry)) = (&item.metric, entry) else {
            continue;
        };
        let Some(rows) = index.get(sub.id(), &item.product) else {
            continue;
        };
        let billed: Vec<&BilledUsage> = rows
            .rows
            .iter()
            .copied()
            .filter(|r| r.period.end() <= through)
            .collect();
        if !span_changed(usage, account, metric, *entry, &billed)? {
            continue;
        }
        for row in billed {
            if let Some(charge) = late_charge(usage, sub, account, (item, metric), *entry, row)? {
                charges.push(charge);
            }
        }
    }
    Ok(charges)
}

/// Whether the records of `rows`' periods may differ from those billed: one count over their
/// span when they follow each other, `true` (check each) when they do not.
fn span_changed<U: UsageLookup>(
    usage: &U,
    account: &Account,
    metric: &MetricId,
    entry: CatalogueEntry,
    rows: &[&BilledUsage],
) -> Result<bool, BillingError> {
    let (Some(first), Some(last)) = (rows.first(), rows.last()) else {
        return Ok(false);
    };
    let contiguous = rows
        .windows(2)
        .all(|w| matches!(w, [a, b] if a.period.end() == b.period.start()));
    if !contiguous {
        return Ok(true);
    }
    let Ok(span) = Period::new(first.period.start(), last.period.end()) else {
        return Ok(true);
    };
    let billed = rows
        .iter()
        .fold(0u64, |sum, r| sum.saturating_add(r.records));
    Ok(count(usage, account, metric, entry, &span)? != billed)
}

/// How many records of `metric` `account` has over `period`.
fn count<U: UsageLookup>(
    usage: &U,
    account: &Account,
    metric: &MetricId,
    entry: CatalogueEntry,
    period: &Period,
) -> Result<u64, BillingError> {
    let counting = CatalogueEntry {
        aggregation: Aggregation::Count,
        table: entry.table,
    };
    let counted = usage
        .aggregate(account.key(), metric, counting, period)
        .ok_or_else(|| overflow(account, metric, period))?;
    Ok(u64::try_from(counted).unwrap_or(u64::MAX))
}

fn overflow(account: &Account, metric: &MetricId, period: &Period) -> BillingError {
    BillingError::UsageOverflow {
        account: account.key().clone(),
        metric: metric.clone(),
        period: *period,
    }
}

/// The charge of the late records of `row`'s period, if its records changed: the period rated
/// again, less what was billed for it, on one line; with the period's new billed usage.
fn late_charge<'s, U: UsageLookup>(
    usage: &U,
    sub: &'s Subscription,
    account: &Account,
    (item, metric): (&Item, &MetricId),
    entry: CatalogueEntry,
    row: &BilledUsage,
) -> Result<Option<Charge<'s>>, BillingError> {
    let records = count(usage, account, metric, entry, &row.period)?;
    if records == row.records {
        return Ok(None);
    }
    let used = usage
        .aggregate(account.key(), metric, entry, &row.period)
        .ok_or_else(|| overflow(account, metric, &row.period))?;
    let period = BillingPeriod {
        covered: row.period,
        full: sub
            .schedule()
            .period_containing(row.period.start())
            .map_or(row.period, |p| p.full),
    };
    let exact = item
        .price
        .usage_amount(used)
        .map_err(|source| pricing_error(sub, item, source))?;
    let quantity = match item.price {
        PriceModel::Commitment { .. } => item.price.overage_quantity(used),
        _ => used,
    };
    let rated = line(
        sub,
        account,
        item,
        period,
        quantity,
        exact,
        LineKind::LateUsage,
    )?;
    let total = rated.amount.amount();
    let too_large =
        |value: Decimal| pricing_error(sub, item, PricingError::Overflow { quantity: value });
    let difference = total
        .checked_sub(row.amount)
        .ok_or_else(|| too_large(total))?;
    let late_units = used
        .checked_sub(row.quantity)
        .ok_or_else(|| too_large(used))?;
    let renewed = BilledUsage {
        records,
        quantity: used,
        amount: total,
        ..row.clone()
    };
    let mut lines: Vec<InvoiceLine> = Vec::with_capacity(1);
    if !(difference.is_zero() && late_units.is_zero()) {
        let mut late = rated;
        late.quantity = late_units;
        late.amount = crate::money::Money::new(difference, late.amount.currency());
        lines.push(late);
    }
    let mut charge = Charge::new(sub, period, lines);
    charge.usage.push(renewed);
    Ok(Some(charge))
}
