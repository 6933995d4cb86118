//! Two runs that read the same billed usage must not both bill a period's late usage: the
//! store refuses the second, whose billed usage "before" no longer holds.
// Test support: a failed expectation must stop the test, so panicking is the point here.
#![allow(
    clippy::arithmetic_side_effects,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use chrono::{TimeZone, Utc};
use rust_decimal::Decimal;

use super::fixtures::{date, record_at, subscribed_account};
use crate::billing::{BillingRun, RunOptions};
use crate::invoice::LineKind;
use crate::store::{Batch, Change, CompanySnapshot, Store, StoreError};

/// Account `a` with subscription `s-a` (a licence, and `api` calls at 0.0025 each billed in
/// arrears), January's one call billed by a run on 2025-02-01, then a second January call,
/// which arrives late.
pub fn seed_late_usage<S: Store>(store: &mut S) {
    let call = |day: u32, id: &str| {
        let at = Utc.with_ymd_and_hms(2025, 1, day, 12, 0, 0).unwrap();
        record_at("key-a", at, Decimal::from(1000), Some(id))
    };
    let mut changes = subscribed_account();
    changes.push(Change::AddUsage {
        records: vec![call(10, "first")],
    });
    store.apply(Batch { changes }).unwrap();
    let first = store.next_invoice_number().unwrap();
    let january = late_run(&store.company().unwrap(), first, date(2025, 2, 1));
    store.apply(Batch::one(record(january))).unwrap();
    store
        .apply(Batch::one(Change::AddUsage {
            records: vec![call(20, "late")],
        }))
        .unwrap();
}

/// The run on `run_date` over `company`, its invoices numbered from `first_invoice_number`.
pub fn late_run(
    company: &CompanySnapshot,
    first_invoice_number: u64,
    run_date: chrono::NaiveDate,
) -> BillingRun {
    let usage = company.usage_table().unwrap();
    let options = RunOptions {
        run_date,
        first_invoice_number,
        dispatch_erp: None,
    };
    crate::billing::run(&company.data(&usage), &options).unwrap()
}

/// The change that records `run`.
pub fn record(run: BillingRun) -> Change {
    Change::RecordRun {
        invoices: run.invoices,
        billed: run.billed,
        billed_usage: run.billed_usage,
    }
}

/// How many late usage lines `run` bills.
pub fn late_lines(run: &BillingRun) -> usize {
    run.invoices
        .iter()
        .flat_map(|i| i.lines())
        .filter(|l| l.kind == LineKind::LateUsage)
        .count()
}

/// Run B reads the company (the billed usage before the late call is billed), run A bills
/// the late call and is recorded, then B, numbering its invoices after A's, bills it again:
/// the store refuses B, and a run after A bills nothing late.
pub fn racing_late_usage<S: Store>(store: &mut S) {
    seed_late_usage(store);
    let read_by_b = store.company().unwrap();
    let day = date(2025, 2, 2);
    let a = late_run(
        &store.company().unwrap(),
        store.next_invoice_number().unwrap(),
        day,
    );
    assert_eq!(late_lines(&a), 1, "{:?}", a.invoices);
    store.apply(Batch::one(record(a))).unwrap();
    let b = late_run(&read_by_b, store.next_invoice_number().unwrap(), day);
    assert_eq!(late_lines(&b), 1, "{:?}", b.invoices);
    let refused = store.apply(Batch::one(record(b)));
    assert!(
        matches!(
            &refused,
            Err(StoreError::Conflict { index: 0, what: "billed usage", id, .. })
                if id.starts_with("s-a")
        ),
        "{refused:?}"
    );
    let after = late_run(
        &store.company().unwrap(),
        store.next_invoice_number().unwrap(),
        day,
    );
    assert_eq!(late_lines(&after), 0, "{:?}", after.invoices);
}
