//! A flat fee changed inside billed days: the store keeps the item's earlier prices, and the
//! row that records the change settled, so the next run settles it once.

use rust_decimal::Decimal;

use super::fixtures::{date, licence};
use crate::billing::RunOptions;
use crate::id::{ProductId, SubscriptionId};
use crate::invoice::LineKind;
use crate::store::{Batch, Change, Store};

/// Runs on `on` and records the run; returns its lines' kinds and amounts.
fn bill<S: Store>(store: &mut S, on: chrono::NaiveDate) -> Vec<(LineKind, Decimal)> {
    let company = store.company().unwrap();
    let usage = company.usage_table().unwrap();
    let options = RunOptions {
        run_date: on,
        first_invoice_number: store.next_invoice_number().unwrap(),
        dispatch_erp: None,
    };
    let result = crate::billing::run(&company.data(&usage), &options).unwrap();
    store
        .apply(Batch::one(Change::RecordRun {
            invoices: result.invoices.clone(),
            billed: result.billed,
            billed_usage: result.billed_usage,
        }))
        .unwrap();
    result
        .invoices
        .iter()
        .flat_map(|i| i.lines())
        .filter(|l| l.subscription.as_ref().is_some_and(|s| s.as_str() == "s-t"))
        .map(|l| (l.kind, l.amount.amount()))
        .collect()
}

/// February billed at 100.00, the fee raised to 160.00 from 15 February: the subscription
/// comes back with its earlier price, the next run charges 14 of 28 days' difference, and
/// a run after it nothing more.
pub fn price_changes<S: Store>(store: &mut S) {
    super::seed(store);
    bill(store, date(2025, 2, 1));
    let id = SubscriptionId::new("s-t").unwrap();
    let mut sub = store.subscription(&id).unwrap().unwrap();
    let product = ProductId::new("licence").unwrap();
    sub.change_item(&product, licence(Decimal::from(160)), date(2025, 2, 15))
        .unwrap();
    store
        .apply(Batch::one(Change::PutSubscription {
            subscription: sub.clone(),
        }))
        .unwrap();
    let stored = store.subscription(&id).unwrap().unwrap();
    assert_eq!(stored.items(), sub.items(), "the price history is kept");
    assert_eq!(
        bill(store, date(2025, 2, 16)),
        [(LineKind::Compensation, Decimal::new(3000, 2))]
    );
    assert!(
        store
            .company()
            .unwrap()
            .billed_usage
            .iter()
            .any(|r| r.subscription == id && r.product == product && r.records == 1),
        "the change is recorded settled"
    );
    assert!(bill(store, date(2025, 2, 17)).is_empty(), "settled once");
}
