//! A batch applied on the book its command read: taken only while nothing was written since.

use plock_core::money::*;
use plock_core::store::*;
use plock_store_sqlite::SqliteStore;

use crate::support::{account, aid, temp_dir};

fn add(id: &str, key: &str) -> Batch {
    Batch::one(Change::AddAccount {
        account: account(id, key, Currency::EUR),
    })
}

fn refused_for_its_key(result: Result<(), StoreError>) {
    match result {
        Err(StoreError::Account { index: 0, .. }) => {}
        other => panic!("expected the book's refusal of a taken key, got {other:?}"),
    }
}

#[test]
fn a_book_read_before_an_unchanged_database_is_taken() {
    let dir = temp_dir();
    let mut store = SqliteStore::create(dir.path().join("company.plock")).unwrap();
    store.apply(add("a", "key-a")).unwrap();
    let (book, mark) = store.account_book_marked().unwrap();
    let batch = Batch {
        changes: vec![
            Change::AddAccount {
                account: account("b", "key-b", Currency::EUR),
            },
            Change::Link {
                child: aid("b"),
                master: aid("a"),
            },
        ],
    };
    store.apply_on_book(&batch, book, &mark).unwrap();
    let b = store.account(&aid("b")).unwrap().unwrap();
    assert_eq!(b.master(), Some(&aid("a")));
    // The stored rows hold the batch: a fresh read of the book sees it whole.
    let (book, _) = store.account_book_marked().unwrap();
    assert_eq!(book.children(&aid("a")).count(), 1);
}

#[test]
fn another_connections_commit_since_the_read_makes_the_batch_read_its_accounts_again() {
    let dir = temp_dir();
    let path = dir.path().join("company.plock");
    let mut store = SqliteStore::create(&path).unwrap();
    let (book, mark) = store.account_book_marked().unwrap();
    let mut other = SqliteStore::open(&path).unwrap();
    other.apply(add("a", "key-a")).unwrap();
    // The book read before knows no `key-a`; the stored accounts do.
    refused_for_its_key(store.apply_on_book(&add("b", "key-a"), book, &mark));
    assert!(store.account(&aid("b")).unwrap().is_none());
}

#[test]
fn a_write_of_the_same_connection_since_the_read_makes_the_batch_read_its_accounts_again() {
    let dir = temp_dir();
    let mut store = SqliteStore::create(dir.path().join("company.plock")).unwrap();
    let (book, mark) = store.account_book_marked().unwrap();
    store.apply(add("a", "key-a")).unwrap();
    refused_for_its_key(store.apply_on_book(&add("b", "key-a"), book, &mark));
    assert!(store.account(&aid("b")).unwrap().is_none());
}
