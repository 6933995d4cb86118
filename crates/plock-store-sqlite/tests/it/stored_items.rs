//! A subscription is read from its columns with its stored items as they are: items that are
//! not one JSON value, or that would reach past their own member, are refused naming the
//! subscription, never read as something else.

use plock_core::store::{Batch, Change};
use plock_core::{Currency, Store, SubscriptionId};
use plock_store_sqlite::SqliteStore;
use rusqlite::Connection;

use crate::support::{account, subscription, temp_dir};

/// What reading subscription `s-1` says once its items column holds what `items` makes of
/// the stored items.
fn check_items(items: impl Fn(&str) -> String) -> Result<(), String> {
    let dir = temp_dir();
    let path = dir.path().join("company.plock");
    let mut store = SqliteStore::create(&path).unwrap();
    let stored = subscription("s-1", "a", Currency::EUR, true);
    store
        .apply(Batch {
            changes: vec![
                Change::AddAccount {
                    account: account("a", "key-a", Currency::EUR),
                },
                Change::PutSubscription {
                    subscription: stored.clone(),
                },
            ],
        })
        .unwrap();
    let conn = Connection::open(&path).unwrap();
    let stored_items: String = conn
        .query_row("SELECT items FROM subscriptions", [], |row| row.get(0))
        .unwrap();
    conn.execute(
        "UPDATE subscriptions SET items = ?1",
        [items(&stored_items)],
    )
    .unwrap();
    let id = SubscriptionId::new("s-1").unwrap();
    let read = store.subscription(&id).map_err(|e| e.to_string())?;
    assert_eq!(read, Some(stored.clone()));
    let (company, _) = store.run_input().map_err(|e| e.to_string())?;
    assert_eq!(company.subscriptions, [stored]);
    Ok(())
}

#[test]
fn stored_items_are_read_as_stored() {
    check_items(str::to_owned).unwrap();
}

#[test]
fn items_that_are_not_one_json_value_are_refused() {
    let damaged: [fn(&str) -> String; 6] = [
        |_| String::new(),
        |items| format!("{items}x"),
        |items| items.replacen(']', "", 1),
        // Would close the object early.
        |items| format!("{items}}}"),
        // Would name another account, or add a member the subscription does not have.
        |items| format!("{items}, \"account\": \"b\""),
        |items| format!("{items}, \"note\": 1"),
    ];
    for items in damaged {
        let err = check_items(items).unwrap_err();
        assert!(err.contains("stored subscription s-1 is invalid"), "{err}");
    }
}
