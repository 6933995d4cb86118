//! Which days of a subscription were billed: the periods past a moved end or a price
//! change, less the days a restore records as skipped (billed for nothing).

use chrono::NaiveDate;
use rust_decimal::Decimal;

use super::billed_usage::BilledUsage;
use crate::period::{BillingPeriod, Period, Schedule};

/// The parts of the schedule's periods (as if it had no end) in `[end, through)`.
pub(super) fn billed_past_end(
    schedule: &Schedule,
    end: NaiveDate,
    through: NaiveDate,
) -> Vec<BillingPeriod> {
    // The same start, interval, mode and anchor were valid with the end; without it they are.
    let Ok(open) = Schedule::new(
        schedule.start(),
        None,
        schedule.interval(),
        schedule.mode(),
        schedule.anchor(),
    ) else {
        return Vec::new();
    };
    open.periods_from(end)
        .take_while(|p| p.covered.start() < through)
        .filter_map(|p| {
            let covered =
                Period::new(p.covered.start().max(end), p.covered.end().min(through)).ok()?;
            Some(BillingPeriod {
                covered,
                full: p.full,
            })
        })
        .collect()
}

/// The parts of `period` that were billed: without the days of `rows` that say nothing was
/// billed for them (a restore skips the days an account was archived, and records them so).
/// `flat` says the rows are a flat fee's, which only restores and settled changes write.
pub(super) fn billed_parts(
    period: BillingPeriod,
    rows: &[&BilledUsage],
    flat: bool,
) -> Vec<BillingPeriod> {
    let mut parts = vec![period.covered];
    for skipped in rows.iter().filter(|r| is_skip(r, flat)).map(|r| r.period) {
        parts = parts
            .into_iter()
            .flat_map(|p| {
                let before = Period::new(p.start(), p.end().min(skipped.start())).ok();
                let after = Period::new(p.start().max(skipped.end()), p.end()).ok();
                [before, after].into_iter().flatten()
            })
            .collect();
    }
    parts
        .into_iter()
        .map(|covered| BillingPeriod {
            covered,
            full: period.full,
        })
        .collect()
}

/// The quantity that marks a restore's record of skipped days as voided: no row counts a
/// negative quantity, late usage reads none, and a voided record leaves every day to what
/// was billed.
pub(super) const VOID: Decimal = Decimal::NEGATIVE_ONE;

/// A row that records days skipped, billed nothing: what [`restore_account`] writes. A
/// commitment's rows are its usage's too, where a period without records looks the same, so
/// only the mark counts. A flat fee's other rows (changes settled) count at least one change,
/// so its zero rows written before the mark are skips too.
///
/// [`restore_account`]: super::restore_account
pub(super) fn is_skip(row: &BilledUsage, flat: bool) -> bool {
    row.skipped || (flat && row.records == 0 && row.quantity.is_zero() && row.amount.is_zero())
}
