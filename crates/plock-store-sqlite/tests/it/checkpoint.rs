//! A batch whose checkpoint is left to the next connection is durable in the log, read by
//! every later connection, and copied into the database by the next one to close.

use plock_core::Store;
use plock_core::account::Tag;
use plock_core::contract::fixtures::subscribed_account;
use plock_core::store::{Batch, Change};
use plock_store_sqlite::SqliteStore;

use crate::support::{aid, dump, temp_dir};

#[test]
fn a_left_checkpoint_keeps_the_batch_in_the_log_until_the_next_connection_copies_it() {
    let dir = temp_dir();
    let path = dir.path().join("company.plock");
    let log = dir.path().join("company.plock-wal");
    let log_bytes = || std::fs::metadata(&log).map_or(0, |m| m.len());
    let mut store = SqliteStore::create(&path).unwrap();
    store
        .apply(Batch {
            changes: subscribed_account(),
        })
        .unwrap();
    drop(store);
    assert_eq!(log_bytes(), 0, "a connection closing last copies the log");

    let mut store = SqliteStore::open(&path).unwrap();
    store.leave_checkpoint().unwrap();
    store
        .apply(Batch::one(Change::Tag {
            id: aid("a"),
            tag: Tag::new("dental").unwrap(),
        }))
        .unwrap();
    drop(store);
    assert!(log_bytes() > 0, "the batch stays in the log");

    // Every later connection reads the batch from the log; the last to close copies it.
    let reader = SqliteStore::open(&path).unwrap();
    let account = reader.account(&aid("a")).unwrap().unwrap();
    assert!(account.tags().contains(&Tag::new("dental").unwrap()));
    drop(reader);
    assert_eq!(log_bytes(), 0);
    assert!(
        dump(&path).iter().any(|row| row.contains("dental")),
        "the database holds the batch"
    );
}
