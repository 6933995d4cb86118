//! The blocks of an account key: found after several imports, and carried over from the
//! row-per-key-and-block table of schema version 4.

use plock_core::period::Period;
use plock_core::store::{Batch, Change};
use plock_core::*;
use plock_store_sqlite::SqliteStore;
use rusqlite::Connection;
use rust_decimal::Decimal;

use crate::support::{account, date, record, temp_dir};

fn accounts(store: &mut SqliteStore) {
    store
        .apply(Batch {
            changes: vec![
                Change::AddAccount {
                    account: account("a", "key-a", Currency::EUR),
                },
                Change::AddAccount {
                    account: account("b", "key-b", Currency::EUR),
                },
            ],
        })
        .unwrap();
}

/// Imports `records`, each slice one block, in one import.
fn import(store: &mut SqliteStore, blocks: &[&[UsageRecord]]) {
    let mut import = store.usage_import().unwrap();
    for block in blocks {
        import.add(block).unwrap();
    }
    import.commit().unwrap();
}

fn january() -> Period {
    Period::new(date(2025, 1, 1), date(2025, 2, 1)).unwrap()
}

fn days_of(store: &SqliteStore, key: &str) -> Vec<u32> {
    use chrono::Datelike;
    store
        .usage(&[AccountKey::new(key).unwrap()], &january())
        .unwrap()
        .iter()
        .map(|r| r.timestamp().day())
        .collect()
}

#[test]
fn a_key_finds_its_blocks_of_every_import_and_only_those() {
    let dir = temp_dir();
    let path = dir.path().join("company.plock");
    let mut store = SqliteStore::create(&path).unwrap();
    accounts(&mut store);
    let one = |key: &str, day| record(key, day, Decimal::ONE, None);
    import(
        &mut store,
        &[&[one("key-a", 1), one("key-b", 2)], &[one("key-b", 3)]],
    );
    import(
        &mut store,
        &[&[one("key-b", 4)], &[one("key-a", 5), one("key-a", 6)]],
    );
    assert_eq!(days_of(&store, "key-a"), [1, 5, 6]);
    assert_eq!(days_of(&store, "key-b"), [2, 3, 4]);
    drop(store);
    let expected = [
        ("key-a", 1, "[1]"),
        ("key-a", 4, "[4]"),
        ("key-b", 1, "[1,2]"),
        ("key-b", 3, "[3]"),
    ];
    assert_key_blocks(&path, &expected);
}

#[test]
fn the_keys_of_a_version_4_database_are_carried_over() {
    let dir = temp_dir();
    let path = dir.path().join("company.plock");
    let mut store = SqliteStore::create(&path).unwrap();
    accounts(&mut store);
    let one = |key: &str, day| record(key, day, Decimal::ONE, None);
    import(
        &mut store,
        &[&[one("key-a", 1), one("key-b", 2)], &[one("key-b", 3)]],
    );
    drop(store);
    // The table version 4 had, a row per key and block, in place of today's (and the
    // watermarks in `subscriptions`, as version 4 kept them).
    let conn = Connection::open(&path).unwrap();
    crate::compact_runs::to_version_6(&conn);
    conn.execute_batch(
        "CREATE TABLE usage_block_keys (account_key TEXT NOT NULL, block INTEGER NOT NULL, \
             PRIMARY KEY (account_key, block)) STRICT, WITHOUT ROWID;
             INSERT INTO usage_block_keys VALUES ('key-b', 2), ('key-a', 1), ('key-b', 1);
             DROP TABLE usage_key_blocks;
             ALTER TABLE subscriptions ADD COLUMN billed_through_in_advance TEXT;
             ALTER TABLE subscriptions ADD COLUMN billed_through_in_arrears TEXT;
             DROP TABLE subscription_watermarks;
             PRAGMA user_version = 4;",
    )
    .unwrap();
    let store = SqliteStore::open(&path).unwrap();
    assert_eq!(days_of(&store, "key-a"), [1]);
    assert_eq!(days_of(&store, "key-b"), [2, 3]);
    store.check().unwrap();
}

fn page_size(path: &std::path::Path) -> i64 {
    Connection::open(path)
        .unwrap()
        .query_row("PRAGMA page_size", [], |row| row.get(0))
        .unwrap()
}

#[test]
fn a_new_database_has_large_pages_and_an_existing_one_keeps_its_own() {
    let dir = temp_dir();
    let new = dir.path().join("new.plock");
    SqliteStore::create(&new).unwrap();
    assert_eq!(page_size(&new), 65_536);
    // A database of 4 KiB pages (as older plock made them) keeps them, and takes an import.
    let old = dir.path().join("old.plock");
    Connection::open(&old)
        .unwrap()
        .execute_batch("PRAGMA page_size = 4096; CREATE TABLE t (x); DROP TABLE t;")
        .unwrap();
    let mut store = SqliteStore::open(&old).unwrap();
    accounts(&mut store);
    import(&mut store, &[&[record("key-a", 1, Decimal::ONE, None)]]);
    drop(store);
    assert_eq!(page_size(&old), 4096);
    let store = SqliteStore::open(&old).unwrap();
    assert_eq!(days_of(&store, "key-a"), [1]);
}

/// Blocks checked by core's `UsageChecker`, their keys numbered by the checker's book, each
/// `(key, day)` one record.
fn checked(book: &AccountBook, blocks: &[&[(&str, u32)]]) -> Vec<plock_core::import::UsageBlock> {
    let checker = plock_core::import::UsageChecker::new(
        "account_key,metric,timestamp,quantity,record_id",
        book,
    );
    blocks
        .iter()
        .map(|records| {
            let lines: Vec<String> = records
                .iter()
                .map(|(key, day)| format!("{key},m,2025-01-{day:02}T00:00:00Z,1,r{key}{day}"))
                .collect();
            let rows: Vec<(u64, &[u8])> = lines.iter().map(|l| (2, l.as_bytes())).collect();
            checker.check(&rows).unwrap()
        })
        .collect()
}

#[test]
fn numbered_keys_and_hashed_keys_find_the_same_blocks() {
    let dir = temp_dir();
    let path = dir.path().join("company.plock");
    let mut store = SqliteStore::create(&path).unwrap();
    accounts(&mut store);
    let book = store.account_book().unwrap();
    let numbered = checked(
        &book,
        &[&[("key-b", 1), ("key-a", 2), ("key-b", 3)], &[("key-b", 4)]],
    );
    assert!(numbered.iter().all(|b| b.keys().is_some()));
    // A book of other keys numbers them otherwise: its blocks are noted by their text.
    let mut other = book.clone();
    other.add(account("c", "key-0", Currency::EUR)).unwrap();
    let renumbered = checked(&other, &[&[("key-a", 5), ("key-b", 6)]]);
    let mut import = store.usage_import().unwrap();
    for block in numbered.iter().chain(&renumbered).chain(&numbered[..1]) {
        import.add_block(block).unwrap();
    }
    import.commit().unwrap();
    assert_eq!(days_of(&store, "key-a"), [2, 2, 5]);
    assert_eq!(days_of(&store, "key-b"), [1, 1, 3, 3, 4, 6]);
    store.check().unwrap();
    drop(store);
    let expected = [
        ("key-a", 1, "[1,4]"),
        ("key-a", 3, "[3]"),
        ("key-b", 1, "[1,2,4]"),
        ("key-b", 3, "[3]"),
    ];
    assert_key_blocks(&path, &expected);
}

/// Asserts the rows of `usage_key_blocks` in the database at `path`, by key and first block.
fn assert_key_blocks(path: &std::path::Path, expected: &[(&str, i64, &str)]) {
    let rows: Vec<(String, i64, String)> = Connection::open(path)
        .unwrap()
        .prepare("SELECT * FROM usage_key_blocks ORDER BY account_key, first_block")
        .unwrap()
        .query_map([], |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let expected: Vec<(String, i64, String)> = expected
        .iter()
        .map(|(k, f, b)| ((*k).to_owned(), *f, (*b).to_owned()))
        .collect();
    assert_eq!(rows, expected);
}
