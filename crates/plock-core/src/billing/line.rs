//! A subscription's charges as invoice lines: the charge of one period, the line of a fixed
//! fee, and any line rounded once to the currency's minor units. The rules and the
//! compensation of days billed past an end both build them.

use rust_decimal::Decimal;

use super::BillingError;
use crate::account::Account;
use crate::invoice::{InvoiceLine, LineKind};
use crate::money::Money;
use crate::period::BillingPeriod;
use crate::pricing::{PriceModel, PricingError};
use crate::subscription::{Item, Subscription};

/// One subscription's due charge for one period and timing, before its owner is known.
pub(crate) struct Charge<'a> {
    pub(super) subscription: &'a Subscription,
    pub(super) period: BillingPeriod,
    pub(super) lines: Vec<InvoiceLine>,
    /// What the charge billed of usage items in arrears, period by period: a store keeps it
    /// so a later run can bill late usage.
    pub(super) usage: Vec<super::billed_usage::BilledUsage>,
    /// Whether the lines are known to be in the invoice's order among themselves: a line an
    /// item, over the charge's period, priced in strictly increasing product order.
    pub(super) ordered: bool,
}

impl<'a> Charge<'a> {
    pub(super) fn new(
        subscription: &'a Subscription,
        period: BillingPeriod,
        lines: Vec<InvoiceLine>,
    ) -> Charge<'a> {
        Charge {
            subscription,
            period,
            lines,
            usage: Vec::new(),
            ordered: false,
        }
    }
}

pub(super) fn has_fixed_part(item: &Item) -> bool {
    matches!(
        item.price,
        PriceModel::FlatFee { .. } | PriceModel::Commitment { .. }
    )
}

pub(super) fn pricing_error(sub: &Subscription, item: &Item, source: PricingError) -> BillingError {
    BillingError::Pricing {
        subscription: sub.id().clone(),
        product: item.product.clone(),
        source,
    }
}

/// The line of `item`'s fixed fee (a flat fee, or a commitment's committed part) over
/// `period`, prorated by its days, of `kind`.
pub(super) fn fixed_line(
    sub: &Subscription,
    account: &Account,
    item: &Item,
    period: BillingPeriod,
    kind: LineKind,
) -> Result<InvoiceLine, BillingError> {
    let full = item
        .price
        .fixed_amount()
        .map_err(|source| pricing_error(sub, item, source))?;
    let exact = period
        .prorate(full)
        .map_err(|_| pricing_error(sub, item, PricingError::Overflow { quantity: full }))?;
    let quantity = match item.price {
        PriceModel::FlatFee { quantity, .. } => quantity,
        PriceModel::Commitment { committed, .. } => committed,
        _ => Decimal::ZERO,
    };
    let mut fixed = line(sub, account, item, period, quantity, exact, kind)?;
    // A fixed fee counts no metric, even a commitment's.
    fixed.metric = None;
    Ok(fixed)
}

/// The line of `item` over `period` for the exact amount `exact`: the rebate applied, then
/// rounded once to the currency's minor units.
pub(super) fn line(
    sub: &Subscription,
    account: &Account,
    item: &Item,
    period: BillingPeriod,
    quantity: Decimal,
    exact: Decimal,
    kind: LineKind,
) -> Result<InvoiceLine, BillingError> {
    let exact = match item.rebate {
        Some(rebate) => rebate
            .apply(exact)
            .map_err(|source| pricing_error(sub, item, source))?,
        None => exact,
    };
    Ok(InvoiceLine {
        product: item.product.clone(),
        metric: item.metric.clone(),
        source_account: account.id().clone(),
        subscription: Some(sub.id().clone()),
        period: period.covered,
        quantity,
        unit_price: item.price.unit_price(),
        rebate_percent: item.rebate.map(|r| r.value()),
        amount: Money::new(sub.currency().round(exact), sub.currency()),
        kind,
    })
}
