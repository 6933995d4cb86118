//! Compensation for an end moved inside days already billed (domain reference, 8.1 and 9).
//!
//! A subscription billed in advance through April and then ended on 15 April has billed
//! 16 days it no longer covers. The next run credits those days at the rate they were billed
//! (each item's fixed fee, prorated by the days of the period they lie in, rounded once), on a
//! [`LineKind::Compensation`] line of the period they lie in, and moves what the subscription
//! is billed through back to its end: the days are then neither billed nor credited again,
//! and an end moved later again bills the days it covers anew.

use rust_decimal::Decimal;

use super::BillingError;
use super::billed_days::{VOID, billed_parts, billed_past_end, is_skip};
use super::billed_usage::BilledUsageIndex;
use super::changes::fixed_lines;
use super::line::{Charge, has_fixed_part};
use crate::account::Account;
use crate::invoice::LineKind;
use crate::money::Money;
use crate::period::{BillingPeriod, Period};
use crate::subscription::{BilledThrough, BillingPractice, Item, Subscription};

/// The compensation charges of `sub` for days billed past its end, and what it is billed
/// through once they are: each timing billed past the end moves back to the end.
pub(super) fn compensations<'a>(
    sub: &'a Subscription,
    account: &Account,
    mut billed: BilledThrough,
    index: &BilledUsageIndex<'_>,
) -> Result<(Vec<Charge<'a>>, BilledThrough), BillingError> {
    let mut charges = Vec::new();
    let Some(end) = sub.schedule().end() else {
        return Ok((charges, billed));
    };
    for timing in [BillingPractice::InAdvance, BillingPractice::InArrears] {
        let Some(through) = billed.get(timing).filter(|t| *t > end) else {
            continue;
        };
        let fixed: Vec<&Item> = sub
            .items()
            .iter()
            .filter(|i| has_fixed_part(i) && i.fixed_timing(sub.practice()) == timing)
            .collect();
        if fixed.is_empty() {
            continue;
        }
        for period in billed_past_end(sub.schedule(), end, through) {
            let mut lines = Vec::with_capacity(fixed.len());
            for item in &fixed {
                let rows = index.rows(sub.id(), &item.product);
                for part in billed_parts(period, rows, item.metric.is_none()) {
                    // Each day is credited at the price agreed for it.
                    for mut line in fixed_lines(sub, account, item, part, LineKind::Compensation)? {
                        line.amount =
                            Money::new(negated(line.amount.amount()), line.amount.currency());
                        lines.push(line);
                    }
                }
            }
            charges.push(Charge::new(sub, period, lines));
        }
        if let Some(released) = released_skips(sub, &fixed, end, index) {
            charges.push(released);
        }
        match timing {
            BillingPractice::InAdvance => billed.in_advance = Some(end),
            BillingPractice::InArrears => billed.in_arrears = Some(end),
        }
    }
    Ok((charges, billed))
}

/// A charge without lines carrying the restore's records of skipped days of `fixed` cut back
/// to `end`: moving what is billed through back to the end gives the days past it back, so a
/// later run that bills them again bills them for real, and a later credit credits them. A
/// record wholly past the end is voided ([`VOID`](super::billed_days::VOID)); its key stays, so it replaces the old.
fn released_skips<'a>(
    sub: &'a Subscription,
    fixed: &[&Item],
    end: chrono::NaiveDate,
    index: &BilledUsageIndex<'_>,
) -> Option<Charge<'a>> {
    let mut rows = Vec::new();
    for item in fixed {
        for row in index.rows(sub.id(), &item.product) {
            if !is_skip(row, item.metric.is_none()) || row.period.end() <= end {
                continue;
            }
            let mut released = (*row).clone();
            match Period::new(row.period.start(), end) {
                Ok(kept) => released.period = kept,
                Err(_) => {
                    released.skipped = false;
                    released.quantity = VOID;
                }
            }
            rows.push(released);
        }
    }
    let first = rows.first()?.period;
    let mut charge = Charge::new(
        sub,
        BillingPeriod {
            covered: first,
            full: first,
        },
        Vec::new(),
    );
    charge.usage = rows;
    Some(charge)
}

/// A zero amount stays zero when negated (no `-0.00` on an invoice).
fn negated(amount: Decimal) -> Decimal {
    let mut negated = amount;
    if !amount.is_zero() {
        // A sign flip: it cannot overflow.
        negated.set_sign_negative(!amount.is_sign_negative());
    }
    negated
}
