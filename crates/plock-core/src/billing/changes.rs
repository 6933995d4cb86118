//! A flat fee changed from a date (domain reference, 8.1 and 9): new days are priced as
//! agreed on each day, and days billed before the change are settled once.
//!
//! A period is billed with one line for each piece of it where one price was agreed, so a
//! period straddling a change is billed at the earlier price up to the change and at the new
//! one after it. When a change starts inside days already billed ([`PriceChange::billed`]),
//! the next run charges or credits, for those days, the new price less the price they were
//! billed at (the item's price before the change), each item's fee prorated by the days of
//! the period they lie in, rounded once a line, on [`LineKind::Compensation`] lines naming
//! those days. Days a restore skipped were billed nothing, and are not settled.
//!
//! That changes are settled is recorded beside what runs billed of usage: one
//! [`BilledUsage`] of the item for the day before the subscription starts, whose `records`
//! counts the item's changes settled (in the order they were made). A run settles every
//! change after those, so its work follows the changes made since the last run, not the
//! history.

use rust_decimal::Decimal;

use super::BillingError;
use super::billed_days::{billed_parts, billed_past_end};
use super::billed_usage::{BilledUsage, BilledUsageIndex};
use super::line::{Charge, fixed_line, pricing_error};
use crate::account::Account;
use crate::invoice::{InvoiceLine, LineKind};
use crate::money::Money;
use crate::period::{BillingPeriod, Period};
use crate::pricing::{PriceModel, PricingError};
use crate::subscription::{Item, PriceChange, PriceChanges, Subscription, Version};

/// The lines of `item`'s fixed fee over `period`: one for each piece of it at one price.
/// A period cut by a change is billed in prorated pieces.
pub(super) fn fixed_lines(
    sub: &Subscription,
    account: &Account,
    item: &Item,
    period: BillingPeriod,
    kind: LineKind,
) -> Result<Vec<InvoiceLine>, BillingError> {
    if item.changes.is_empty() {
        return Ok(vec![fixed_line(sub, account, item, period, kind)?]);
    }
    let pieces = item.pieces(item.changes.len(), period.covered);
    let kind = if pieces.len() > 1 && kind != LineKind::Compensation {
        LineKind::Proration
    } else {
        kind
    };
    pieces
        .into_iter()
        .map(|(covered, version)| {
            let piece = BillingPeriod {
                covered,
                full: period.full,
            };
            fixed_line(sub, account, &priced(item, version), piece, kind)
        })
        .collect()
}

/// `item` at `version`'s price, without its changes.
fn priced(item: &Item, version: Version<'_>) -> Item {
    Item {
        product: item.product.clone(),
        metric: None,
        price: version.price.clone(),
        practice: item.practice,
        rebate: version.rebate,
        changes: PriceChanges::default(),
    }
}

/// The charges that settle `sub`'s changes made inside billed days and not settled yet,
/// one carrying the row that records them settled.
pub(super) fn settlements<'a>(
    sub: &'a Subscription,
    account: &Account,
    index: &BilledUsageIndex<'_>,
) -> Result<Vec<Charge<'a>>, BillingError> {
    let mut charges = Vec::new();
    for item in sub.items().iter().filter(|i| !i.changes.is_empty()) {
        let Some(marker) = marker_days(sub) else {
            return Ok(charges);
        };
        let rows = index.rows(sub.id(), &item.product);
        // The latest record, also one written before the start moved (a re-import).
        let settled = rows
            .iter()
            .filter(|r| is_settled_record(r))
            .map(|r| usize::try_from(r.records).unwrap_or(usize::MAX))
            .max()
            .unwrap_or(0);
        if settled >= item.changes.len() {
            continue;
        }
        let mut total = Money::zero(sub.currency());
        for (number, change) in item.changes.iter().enumerate().skip(settled) {
            let settling = settle(sub, account, item, number, change, rows)?;
            for line in settling.iter().flat_map(|c| c.lines.iter()) {
                total = total
                    .checked_add(line.amount)
                    .map_err(|_| overflow(sub, item))?;
            }
            charges.extend(settling);
        }
        let mut record = Charge::new(
            sub,
            BillingPeriod {
                covered: marker,
                full: marker,
            },
            Vec::new(),
        );
        record.usage.push(BilledUsage {
            subscription: sub.id().clone(),
            product: item.product.clone(),
            period: marker,
            records: u64::try_from(item.changes.len()).unwrap_or(u64::MAX),
            quantity: Decimal::ZERO,
            amount: total.amount(),
            replaces: None,
            skipped: false,
        });
        charges.push(record);
    }
    Ok(charges)
}

/// Is `row` a record of changes settled? A flat fee has no other rows but days a restore
/// skipped: one day before the start, nothing counted, at least one change.
fn is_settled_record(row: &BilledUsage) -> bool {
    row.period.days() == 1 && row.quantity.is_zero() && row.records > 0
}

/// The days a settled change is recorded for: the day before the subscription starts, which
/// no run bills and no restore skips, so no other row of a flat fee has its key.
fn marker_days(sub: &Subscription) -> Option<Period> {
    let start = sub.schedule().start();
    Period::new(start.pred_opt()?, start).ok()
}

/// The charges of change `number` of `item`: for each billed piece of its days, the new
/// price less the price before it, one charge a period. Returns at least one charge (maybe
/// without lines) to carry the row that records it settled.
fn settle<'a>(
    sub: &'a Subscription,
    account: &Account,
    item: &Item,
    number: usize,
    change: &PriceChange,
    rows: &[&BilledUsage],
) -> Result<Vec<Charge<'a>>, BillingError> {
    let Some(through) = change.billed else {
        return Ok(Vec::new());
    };
    let mut charges = Vec::new();
    let new = item.version_on(number.saturating_add(1), change.from);
    for period in billed_past_end(sub.schedule(), change.from, through) {
        let mut lines = Vec::new();
        for part in billed_parts(period, rows, item.metric.is_none()) {
            for (covered, old) in item.pieces(number, part.covered) {
                let piece = BillingPeriod {
                    covered,
                    full: period.full,
                };
                let exact = exact_amount(sub, item, new, piece)?
                    .checked_sub(exact_amount(sub, item, old, piece)?)
                    .ok_or_else(|| overflow(sub, item))?;
                let amount = sub.currency().round(exact);
                if amount.is_zero() {
                    continue;
                }
                lines.push(InvoiceLine {
                    product: item.product.clone(),
                    metric: None,
                    source_account: account.id().clone(),
                    subscription: Some(sub.id().clone()),
                    period: covered,
                    quantity: quantity(new.price),
                    unit_price: None,
                    rebate_percent: None,
                    amount: Money::new(amount, sub.currency()),
                    kind: LineKind::Compensation,
                });
            }
        }
        charges.push(Charge::new(sub, period, lines));
    }
    Ok(charges)
}

/// `version`'s fee over `piece`, prorated and rebated, not rounded.
fn exact_amount(
    sub: &Subscription,
    item: &Item,
    version: Version<'_>,
    piece: BillingPeriod,
) -> Result<Decimal, BillingError> {
    let full = version
        .price
        .fixed_amount()
        .map_err(|source| pricing_error(sub, item, source))?;
    let exact = piece
        .prorate(full)
        .map_err(|_| overflow_of(sub, item, full))?;
    match version.rebate {
        Some(rebate) => rebate
            .apply(exact)
            .map_err(|source| pricing_error(sub, item, source)),
        None => Ok(exact),
    }
}

fn quantity(price: &PriceModel) -> Decimal {
    match price {
        PriceModel::FlatFee { quantity, .. } => *quantity,
        _ => Decimal::ZERO,
    }
}

fn overflow(sub: &Subscription, item: &Item) -> BillingError {
    overflow_of(sub, item, Decimal::ZERO)
}

fn overflow_of(sub: &Subscription, item: &Item, quantity: Decimal) -> BillingError {
    pricing_error(sub, item, PricingError::Overflow { quantity })
}
