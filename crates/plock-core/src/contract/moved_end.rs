//! An end moved inside days already billed is credited once: the run that credits them moves
//! what the subscription is billed through back to its end, and the store records it so.
// Test support: a failed expectation must stop the test, so panicking is the point here.
#![allow(
    clippy::arithmetic_side_effects,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use rust_decimal::Decimal;

use super::fixtures::{account, date, draft, licence};
use super::late_race::{late_run, record};
use crate::id::SubscriptionId;
use crate::invoice::LineKind;
use crate::money::Currency;
use crate::store::{Batch, Change, Store};

/// A monthly licence of 100.00 in advance billed through February, then ended on
/// 15 February: the next run credits the 14 days past the end, and the store keeps the
/// subscription billed through its end, so the run after credits nothing more.
pub fn an_end_moved_back_is_credited_once<S: Store>(store: &mut S) {
    let mut sub = draft(
        "s-e",
        "e",
        Currency::EUR,
        vec![licence(Decimal::from(100))],
        None,
    );
    sub.activate().unwrap();
    store
        .apply(Batch {
            changes: vec![
                Change::AddAccount {
                    account: account("e", "key-e", Currency::EUR),
                },
                Change::PutSubscription { subscription: sub },
            ],
        })
        .unwrap();
    let february = late_run(&store.company().unwrap(), 1, date(2025, 2, 1));
    store.apply(Batch::one(record(february))).unwrap();
    let id = SubscriptionId::new("s-e").unwrap();
    let mut ended = store.subscription(&id).unwrap().unwrap();
    ended.end(date(2025, 2, 15)).unwrap();
    store
        .apply(Batch::one(Change::PutSubscription {
            subscription: ended,
        }))
        .unwrap();
    let credits = |run: &crate::billing::BillingRun| -> Vec<Decimal> {
        run.invoices
            .iter()
            .flat_map(|i| i.lines())
            .filter(|l| l.kind == LineKind::Compensation)
            .map(|l| l.amount.amount())
            .collect()
    };
    let next = store.next_invoice_number().unwrap();
    let credited = late_run(&store.company().unwrap(), next, date(2025, 2, 2));
    // 14 of February's 28 days.
    assert_eq!(credits(&credited), [Decimal::new(-5000, 2)]);
    store.apply(Batch::one(record(credited))).unwrap();
    let stored = store.subscription(&id).unwrap().unwrap().billed_through();
    assert_eq!(stored.in_advance, Some(date(2025, 2, 15)));
    let next = store.next_invoice_number().unwrap();
    let again = late_run(&store.company().unwrap(), next, date(2025, 2, 3));
    assert!(
        credits(&again).is_empty(),
        "credited twice: {:?}",
        again.invoices
    );
}
