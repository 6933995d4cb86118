//! A recorded run refuses an invoice number already taken and a subscription that is not
//! stored, and a refused run changes nothing.

use plock_core::billing::Billed;
use plock_core::store::{Batch, Change, StoreError};
use plock_core::*;
use plock_store_sqlite::SqliteStore;

use plock_core::contract::fixtures::subscribed_account;

use crate::support::{date, dump, temp_dir};

/// A database holding one active subscription, and the run that bills it.
fn billed(path: &std::path::Path) -> (SqliteStore, BillingRun) {
    let mut store = SqliteStore::create(path).unwrap();
    store
        .apply(Batch {
            changes: subscribed_account(),
        })
        .unwrap();
    let (company, usage) = store.run_input().unwrap();
    let options = RunOptions {
        run_date: date(2025, 2, 1),
        first_invoice_number: store.next_invoice_number().unwrap(),
        dispatch_erp: None,
    };
    let run = plock_core::billing::run(&company.data(&usage), &options).unwrap();
    assert!(!run.invoices.is_empty(), "{:?}", run.not_billed);
    (store, run)
}

fn record(
    store: &mut SqliteStore,
    invoices: &[Invoice],
    billed: Vec<Billed>,
) -> Result<(), StoreError> {
    store.apply(Batch::one(Change::RecordRun {
        invoices: invoices.to_vec(),
        billed,
        billed_usage: Vec::new(),
    }))
}

#[test]
fn an_invoice_number_already_taken_is_a_conflict_and_changes_nothing() {
    let dir = temp_dir();
    let path = dir.path().join("company.plock");
    let (mut store, run) = billed(&path);
    record(&mut store, &run.invoices, run.billed.clone()).unwrap();
    let before = dump(&path);
    let again = record(&mut store, &run.invoices, Vec::new());
    let first = run.invoices[0].number().to_string();
    assert!(
        matches!(&again, Err(StoreError::Conflict { index: 0, what: "invoice", id, .. }) if *id == first),
        "{again:?}"
    );
    assert_eq!(dump(&path), before);
}

#[test]
fn a_run_over_a_subscription_not_stored_is_refused_and_changes_nothing() {
    let dir = temp_dir();
    let path = dir.path().join("company.plock");
    let (mut store, run) = billed(&path);
    let before = dump(&path);
    let mut ghost = run.billed[0].clone();
    ghost.subscription = SubscriptionId::new("ghost").unwrap();
    let billed = vec![run.billed[0].clone(), ghost];
    let refused = record(&mut store, &run.invoices, billed);
    assert!(
        matches!(&refused, Err(StoreError::NotFound { what: "subscription", id, .. }) if id == "ghost"),
        "{refused:?}"
    );
    assert_eq!(dump(&path), before);
}
