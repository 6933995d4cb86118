//! Two connections on one file: a reader beside a writer, a writer behind a writer.

use std::time::{Duration, Instant};

use plock_core::account::*;
use plock_core::money::*;
use plock_core::store::*;
use plock_store_sqlite::{BUSY_TIMEOUT, SqliteStore};
use rusqlite::Connection;

use crate::support::{account, aid, temp_dir};

/// A second connection holding the write lock, mid-transaction, with a write not committed.
fn open_writer(path: &std::path::Path) -> Connection {
    let writer = Connection::open(path).unwrap();
    writer.execute_batch("BEGIN IMMEDIATE").unwrap();
    writer
        .execute(
            "UPDATE accounts SET name = 'Uncommitted' WHERE id = 'a'",
            [],
        )
        .unwrap();
    writer
}

#[test]
fn a_reader_is_not_blocked_by_an_open_write_transaction() {
    let dir = temp_dir();
    let path = dir.path().join("company.plock");
    let mut store = SqliteStore::create(&path).unwrap();
    store
        .apply(Batch::one(Change::AddAccount {
            account: account("a", "key-a", Currency::EUR),
        }))
        .unwrap();
    let writer = open_writer(&path);
    let started = Instant::now();
    let reader = SqliteStore::open(&path).unwrap();
    let seen = reader.account(&aid("a")).unwrap().unwrap();
    let company = reader.company().unwrap();
    assert!(
        started.elapsed() < BUSY_TIMEOUT / 4,
        "the reader waited {:?}",
        started.elapsed()
    );
    assert_eq!(seen.name().as_str(), "Customer a", "read the last commit");
    assert_eq!(company.accounts.len(), 1);
    writer.execute_batch("COMMIT").unwrap();
    let seen = reader.account(&aid("a")).unwrap().unwrap();
    assert_eq!(seen.name().as_str(), "Uncommitted");
}

#[test]
fn a_second_writer_waits_for_the_first() {
    let dir = temp_dir();
    let path = dir.path().join("company.plock");
    let mut store = SqliteStore::create(&path).unwrap();
    store
        .apply(Batch::one(Change::AddAccount {
            account: account("a", "key-a", Currency::EUR),
        }))
        .unwrap();
    let writer = open_writer(&path);
    let hold = Duration::from_millis(300);
    let releaser = std::thread::spawn(move || {
        std::thread::sleep(hold);
        writer.execute_batch("COMMIT").unwrap();
    });
    let started = Instant::now();
    store
        .apply(Batch::one(Change::Tag {
            id: aid("a"),
            tag: Tag::new("waited").unwrap(),
        }))
        .unwrap();
    let waited = started.elapsed();
    releaser.join().unwrap();
    assert!(
        waited >= hold / 2,
        "applied after {waited:?}, before the lock was free"
    );
    let a = store.account(&aid("a")).unwrap().unwrap();
    assert_eq!(
        a.name().as_str(),
        "Uncommitted",
        "the first writer's commit is kept"
    );
    assert!(a.tags().contains(&Tag::new("waited").unwrap()));
}

#[test]
fn two_connections_billing_the_same_late_usage_bill_it_once() {
    use plock_core::contract::late_race::{late_lines, late_run, record, seed_late_usage};
    let dir = temp_dir();
    let path = dir.path().join("company.plock");
    let mut a = SqliteStore::create(&path).unwrap();
    seed_late_usage(&mut a);
    let mut b = SqliteStore::open(&path).unwrap();
    // B reads the billed usage before A records its run, its invoice number after.
    let read_by_b = b.company().unwrap();
    let day = crate::support::date(2025, 2, 2);
    let run_a = late_run(&a.company().unwrap(), a.next_invoice_number().unwrap(), day);
    assert_eq!(late_lines(&run_a), 1);
    a.apply(Batch::one(record(run_a))).unwrap();
    let run_b = late_run(&read_by_b, b.next_invoice_number().unwrap(), day);
    assert_eq!(late_lines(&run_b), 1);
    let refused = b.apply(Batch::one(record(run_b)));
    assert!(
        matches!(
            &refused,
            Err(StoreError::Conflict {
                what: "billed usage",
                ..
            })
        ),
        "{refused:?}"
    );
    let invoices = b.list_invoices(&InvoiceQuery::default()).unwrap().items;
    let late: usize = invoices
        .iter()
        .flat_map(|i| i.lines())
        .filter(|l| l.kind == plock_core::invoice::LineKind::LateUsage)
        .count();
    assert_eq!((invoices.len(), late), (2, 1), "{invoices:?}");
}
