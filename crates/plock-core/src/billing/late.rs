//! Late usage (domain reference, 8.1): usage that arrives for a period already billed in
//! arrears is billed on the next run.
//!
//! A run keeps, for every usage item of a subscription and every period it bills in arrears,
//! what it billed: the records counted, their aggregate and the amount ([`BilledUsage`]). A
//! store records these with the run's invoices. A later run compares each billed period's
//! record count and aggregate with the usage it reads now; a period whose records changed
//! (late records, or a record re-sent with the same id and another quantity) is rated again
//! with all its usage, so tiers stay right, and the difference against what was billed for it
//! is charged (or credited) on a [`LineKind::LateUsage`] line naming that period.
//!
//! While an item's billed periods follow each other the check costs one count and, for a
//! summed metric, one sum over their whole span; only an item whose span changed, or whose
//! metric takes a maximum, minimum or average (which a span's does not tell), is checked a
//! period at a time: a run rates again only the periods whose records changed.

use rust_decimal::Decimal;

use super::BillingError;
use super::billed_usage::{BilledUsage, BilledUsageIndex};
use super::catalogue::{CatalogueEntry, UsageLookup};
use super::line::{Charge, line, pricing_error};
use crate::account::Account;
use crate::id::MetricId;
use crate::invoice::{InvoiceLine, LineKind};
use crate::period::{BillingPeriod, Period};
use crate::pricing::{PriceModel, PricingError};
use crate::subscription::{Item, Subscription};
use crate::usage::Aggregation;

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
    if index.is_empty() {
        return Ok(charges);
    }
    for (item, entry) in sub.items().iter().zip(entries) {
        let (Some(metric), Some(entry)) = (&item.metric, entry) else {
            continue;
        };
        let rows = index.rows(sub.id(), &item.product);
        if rows.is_empty() {
            continue;
        }
        // Days a restore skipped were billed nothing, and their usage is never billed.
        let billed: Vec<&BilledUsage> = rows
            .iter()
            .copied()
            .filter(|r| {
                r.period.end() <= through && !r.skipped && r.quantity != super::billed_days::VOID
            })
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
    if count(usage, account, metric, entry, &span)? != billed {
        return Ok(true);
    }
    // The same records, by count: a record re-sent with another quantity replaces the first.
    match entry.aggregation {
        // A quantity moves no count.
        Aggregation::Count => Ok(false),
        // The periods' sums add up to the span's.
        Aggregation::Sum => {
            let billed = rows
                .iter()
                .try_fold(Decimal::ZERO, |sum, r| sum.checked_add(r.quantity));
            let now = usage.aggregate(account.key(), metric, entry, &span);
            Ok(billed.is_none() || now.is_none() || billed != now)
        }
        // A period's maximum, minimum or average says nothing of the span's: check each.
        Aggregation::Max | Aggregation::Min | Aggregation::Average => Ok(true),
    }
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
        ..entry
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
    let used = usage
        .aggregate(account.key(), metric, entry, &row.period)
        .ok_or_else(|| overflow(account, metric, &row.period))?;
    if records == row.records && used == row.quantity {
        return Ok(None);
    }
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
        replaces: Some(Box::new(row.tally())),
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
