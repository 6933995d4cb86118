//! What subscriptions are billed through, in `subscription_watermarks`: carried over from
//! the two columns of `subscriptions` in schema version 5, and written only when they move.

use plock_core::billing::Billed;
use plock_core::store::{Batch, Change, Store};
use plock_store_sqlite::{SCHEMA_VERSION, SqliteStore};
use rusqlite::Connection;

use crate::support::{date, log_writes, temp_dir, writes};

/// A store with a recorded billing run: subscriptions billed through some dates.
fn billed_store(path: &std::path::Path) -> SqliteStore {
    let mut store = SqliteStore::create(path).unwrap();
    plock_core::contract::billing_runs(&mut store);
    store
}

fn column_names(conn: &Connection, table: &str) -> Vec<String> {
    conn.prepare(&format!("SELECT name FROM pragma_table_info('{table}')"))
        .unwrap()
        .query_map([], |row| row.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

#[test]
fn the_watermarks_of_a_version_5_database_are_carried_over() {
    let dir = temp_dir();
    let path = dir.path().join("company.plock");
    let store = billed_store(&path);
    let before = store.company().unwrap();
    assert!(
        before
            .subscriptions
            .iter()
            .any(|s| s.billed_through().in_advance.is_some()),
        "{:?}",
        before.subscriptions
    );
    drop(store);
    // The columns version 5 kept them in, in place of today's table.
    let conn = Connection::open(&path).unwrap();
    crate::compact_runs::to_version_6(&conn);
    conn.execute_batch(
        "ALTER TABLE subscriptions ADD COLUMN billed_through_in_advance TEXT;
             ALTER TABLE subscriptions ADD COLUMN billed_through_in_arrears TEXT;
             UPDATE subscriptions SET
                 billed_through_in_advance = (SELECT in_advance FROM subscription_watermarks
                     WHERE subscription = subscriptions.id),
                 billed_through_in_arrears = (SELECT in_arrears FROM subscription_watermarks
                     WHERE subscription = subscriptions.id);
             DROP TABLE subscription_watermarks;
             PRAGMA user_version = 5;",
    )
    .unwrap();
    let store = SqliteStore::open(&path).unwrap();
    assert_eq!(store.schema_version().unwrap(), SCHEMA_VERSION);
    assert_eq!(store.company().unwrap(), before);
    store.check().unwrap();
    let conn = Connection::open(&path).unwrap();
    assert!(
        !column_names(&conn, "subscriptions")
            .iter()
            .any(|c| c.starts_with("billed_through")),
        "{:?}",
        column_names(&conn, "subscriptions")
    );
    let rows: i64 = conn
        .query_row("SELECT count(*) FROM subscription_watermarks", [], |row| {
            row.get(0)
        })
        .unwrap();
    assert_eq!(rows, before.subscriptions.len() as i64);
}

#[test]
fn a_run_writes_only_the_watermarks_it_moves_and_no_subscription() {
    let dir = temp_dir();
    let path = dir.path().join("company.plock");
    let mut store = billed_store(&path);
    let subscriptions = store.company().unwrap().subscriptions;
    assert!(subscriptions.len() >= 2, "{subscriptions:?}");
    log_writes(&path, &["subscriptions", "subscription_watermarks"]);
    // Every subscription stays where it is, but the first, moved a day on.
    let billed: Vec<Billed> = subscriptions
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let from = s.billed_through();
            let mut through = from;
            if i == 0 {
                through.in_arrears = Some(date(2031, 1, 1));
            }
            Billed {
                subscription: s.id().clone(),
                from,
                through,
            }
        })
        .collect();
    store
        .apply(Batch::one(Change::RecordRun {
            invoices: Vec::new(),
            billed,
            billed_usage: Vec::new(),
        }))
        .unwrap();
    assert_eq!(writes(&path), ["UPDATE subscription_watermarks"]);
    let first = store.subscription(subscriptions[0].id()).unwrap().unwrap();
    assert_eq!(first.billed_through().in_arrears, Some(date(2031, 1, 1)));
    // A subscription written again as it is, as an import writes it, writes no watermark.
    let second = subscriptions[1].clone();
    store
        .apply(Batch::one(Change::PutSubscription {
            subscription: second,
        }))
        .unwrap();
    assert_eq!(writes(&path), ["UPDATE subscriptions"]);
    store.check().unwrap();
}

#[test]
fn a_subscription_without_its_watermark_row_fails_the_check() {
    let dir = temp_dir();
    let path = dir.path().join("company.plock");
    let store = billed_store(&path);
    let first = store.company().unwrap().subscriptions[0].id().clone();
    store.check().unwrap();
    Connection::open(&path)
        .unwrap()
        .execute(
            "DELETE FROM subscription_watermarks WHERE subscription = ?1",
            [first.as_str()],
        )
        .unwrap();
    let err = store.check().unwrap_err().to_string();
    assert!(
        err.contains(first.as_str()) && err.contains("subscription_watermarks"),
        "{err}"
    );
}

#[test]
fn a_subscription_put_twice_in_one_batch_is_inserted_then_replaced() {
    use plock_core::contract::fixtures::subscription;
    use plock_core::{Currency, SubscriptionId};
    let dir = temp_dir();
    let mut store = SqliteStore::create(dir.path().join("company.plock")).unwrap();
    let account = crate::support::account("a", "key-a", Currency::EUR);
    let put = |id: &str, active| Change::PutSubscription {
        subscription: subscription(id, "a", Currency::EUR, active),
    };
    store
        .apply(Batch {
            changes: vec![
                Change::AddAccount { account },
                put("s1", false),
                put("s2", false),
                put("s1", true),
            ],
        })
        .unwrap();
    let stored = |id: &str| {
        store
            .subscription(&SubscriptionId::new(id).unwrap())
            .unwrap()
            .unwrap()
    };
    assert_eq!(stored("s1"), subscription("s1", "a", Currency::EUR, true));
    assert_eq!(stored("s2"), subscription("s2", "a", Currency::EUR, false));
    store.check().unwrap();
}
