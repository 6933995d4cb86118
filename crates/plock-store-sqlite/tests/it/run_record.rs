//! A recorded run refuses an invoice number already taken and a subscription that is not
//! stored, and a refused run changes nothing; its billed usage is stored as it gave it.

use plock_core::billing::{Billed, BilledUsage};
use plock_core::period::Period;
use plock_core::store::{Batch, Change, StoreError};
use plock_core::*;
use plock_store_sqlite::SqliteStore;
use rust_decimal::Decimal;

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

#[test]
fn a_runs_billed_usage_is_recorded_a_later_row_of_a_key_replacing_an_earlier() {
    let dir = temp_dir();
    let path = dir.path().join("company.plock");
    let (mut store, _) = billed(&path);
    let row = |n: u64, cents: i64| BilledUsage {
        subscription: SubscriptionId::new(format!("s-{n:03}")).unwrap(),
        product: ProductId::new("api").unwrap(),
        period: Period::new(date(2025, 1, 1), date(2025, 2, 1)).unwrap(),
        records: n,
        quantity: Decimal::new(i64::try_from(n).unwrap(), 1),
        amount: Decimal::new(cents, 2),
        replaces: None,
        skipped: n.is_multiple_of(7),
    };
    // 151 rows, rows 5 and 0 again later in the run: the later row of a key is the one kept.
    let mut rows: Vec<BilledUsage> = (0..149).map(|n| row(n, 100 + n as i64)).collect();
    rows.insert(10, row(5, 555));
    rows.push(row(0, 999));
    store
        .apply(Batch::one(Change::RecordRun {
            invoices: Vec::new(),
            billed: Vec::new(),
            billed_usage: rows.clone(),
        }))
        .unwrap();
    let mut stored = store.company().unwrap().billed_usage;
    stored.sort();
    let mut expected: Vec<BilledUsage> = rows
        .into_iter()
        .filter(|r| r.amount != Decimal::new(100, 2) && r.amount != Decimal::new(105, 2))
        .collect();
    expected.sort();
    assert_eq!(expected.len(), 149);
    assert_eq!(stored, expected);
}

/// Copies of `invoice` numbered `numbers`.
fn numbered(invoice: &Invoice, numbers: impl Iterator<Item = u64>) -> Vec<Invoice> {
    numbers
        .map(|n| {
            Invoice::new(
                n,
                invoice.owner().clone(),
                invoice.currency(),
                invoice.lines().to_vec(),
                invoice.debtor_ids().clone(),
                invoice.dispatch().clone(),
            )
            .unwrap()
        })
        .collect()
}

#[test]
fn many_invoices_are_recorded_and_a_taken_number_among_them_is_named() {
    let dir = temp_dir();
    let path = dir.path().join("company.plock");
    let (mut store, run) = billed(&path);
    // Inserted several rows a statement: 27 invoices fill some statements and leave a rest.
    let invoices = numbered(&run.invoices[0], 100..127);
    record(&mut store, &invoices, Vec::new()).unwrap();
    let stored: Vec<Invoice> = (100..127)
        .map(|n| store.invoice(n).unwrap().unwrap())
        .collect();
    assert_eq!(stored, invoices);
    // Number 140 taken, in the middle of a statement's rows: the run is refused naming it.
    record(
        &mut store,
        &numbered(&run.invoices[0], 140..141),
        Vec::new(),
    )
    .unwrap();
    let before = dump(&path);
    let again = record(
        &mut store,
        &numbered(&run.invoices[0], 130..160),
        Vec::new(),
    );
    assert!(
        matches!(&again, Err(StoreError::Conflict { index: 0, what: "invoice", id, .. }) if id == "140"),
        "{again:?}"
    );
    assert_eq!(dump(&path), before);
}
