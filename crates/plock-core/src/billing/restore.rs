//! Restoring an archived account (domain reference, 8.1): billing resumes from the restore
//! date, and the days it was archived are never billed.
//!
//! Accounts do not record when they were archived, and core reads no clock, so the caller
//! passes the restore date, and the batch carries it on the account's subscriptions: each is
//! written again billed through that date at least (never past its end), which a store keeps
//! as it keeps every watermark, forward only. The days skipped are recorded as billed for
//! nothing (a [`BilledUsage`] of each fixed part over them, amount zero, marked
//! [`BilledUsage::skipped`]), so an end moved back into them later credits only the days that
//! were billed, and usage of those days is never rated as late.

use chrono::NaiveDate;
use rust_decimal::Decimal;

use super::billed_usage::BilledUsage;
use super::line::has_fixed_part;
use crate::id::AccountId;
use crate::period::Period;
use crate::store::{Batch, Change};
use crate::subscription::{BilledThrough, Subscription};

/// The batch that restores archived account `id` on `on`: the account Active again, and each
/// of its `subscriptions` (others are ignored) billed through `on`, or its end if that is
/// earlier. Days before `on` that were not billed before the archive are not billed either:
/// bill an account before archiving it.
pub fn restore_account(id: &AccountId, subscriptions: &[Subscription], on: NaiveDate) -> Batch {
    let mut changes = vec![Change::Restore { id: id.clone() }];
    let mut skipped = Vec::new();
    for sub in subscriptions.iter().filter(|s| s.account() == id) {
        let through = sub.schedule().end().map_or(on, |end| end.min(on));
        let mut resumed = sub.clone();
        resumed.record_billed(BilledThrough {
            in_advance: Some(through),
            in_arrears: Some(through),
        });
        if resumed.billed_through() != sub.billed_through() {
            skipped.extend(skipped_days(sub, through));
            changes.push(Change::PutSubscription {
                subscription: resumed,
            });
        }
    }
    if !skipped.is_empty() {
        changes.push(Change::RecordRun {
            invoices: Vec::new(),
            billed: Vec::new(),
            billed_usage: skipped,
        });
    }
    Batch { changes }
}

/// Each fixed part of `sub` (a flat fee, a commitment's committed part) over the days its
/// watermark skips to reach `through`, billed for nothing.
fn skipped_days(sub: &Subscription, through: NaiveDate) -> Vec<BilledUsage> {
    let billed = sub.billed_through();
    sub.items()
        .iter()
        .filter(|i| has_fixed_part(i))
        .filter_map(|item| {
            let timing = item.fixed_timing(sub.practice());
            let from = billed.get(timing).unwrap_or(sub.schedule().start());
            let period = Period::new(from, through).ok()?;
            Some(BilledUsage {
                subscription: sub.id().clone(),
                product: item.product.clone(),
                period,
                records: 0,
                quantity: Decimal::ZERO,
                amount: Decimal::ZERO,
                replaces: None,
                skipped: true,
            })
        })
        .collect()
}
