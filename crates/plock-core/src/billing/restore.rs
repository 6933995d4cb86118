//! Restoring an archived account (domain reference, 8.1): billing resumes from the restore
//! date, and the days it was archived are never billed.
//!
//! Accounts do not record when they were archived, and core reads no clock, so the caller
//! passes the restore date, and the batch carries it on the account's subscriptions: each is
//! written again billed through that date at least (never past its end), which a store keeps
//! as it keeps every watermark, forward only.

use chrono::NaiveDate;

use crate::id::AccountId;
use crate::store::{Batch, Change};
use crate::subscription::{BilledThrough, Subscription};

/// The batch that restores archived account `id` on `on`: the account Active again, and each
/// of its `subscriptions` (others are ignored) billed through `on`, or its end if that is
/// earlier. Days before `on` that were not billed before the archive are not billed either:
/// bill an account before archiving it.
pub fn restore_account(id: &AccountId, subscriptions: &[Subscription], on: NaiveDate) -> Batch {
    let mut changes = vec![Change::Restore { id: id.clone() }];
    for sub in subscriptions.iter().filter(|s| s.account() == id) {
        let through = sub.schedule().end().map_or(on, |end| end.min(on));
        let mut resumed = sub.clone();
        resumed.record_billed(BilledThrough {
            in_advance: Some(through),
            in_arrears: Some(through),
        });
        if resumed.billed_through() != sub.billed_through() {
            changes.push(Change::PutSubscription {
                subscription: resumed,
            });
        }
    }
    Batch { changes }
}
