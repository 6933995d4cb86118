//! A subscription is read from its columns with its stored items as they are: items that are
//! not one JSON value, or that would reach past their own member, are refused naming the
//! subscription, never read as something else.

use plock_core::store::{Batch, Change};
use plock_core::{Currency, Store, SubscriptionId};
use plock_store_sqlite::SqliteStore;
use rusqlite::Connection;

use crate::support::{account, subscription, temp_dir};

/// What reading subscription `s-1` says once its items column holds `items`.
fn check_items(items: Option<&str>) -> Result<(), String> {
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
    if let Some(items) = items {
        Connection::open(&path)
            .unwrap()
            .execute("UPDATE subscriptions SET items = ?1", [items])
            .unwrap();
    }
    let id = SubscriptionId::new("s-1").unwrap();
    let read = store.subscription(&id).map_err(|e| e.to_string())?;
    assert_eq!(read, Some(stored.clone()));
    let (company, _) = store.run_input().map_err(|e| e.to_string())?;
    assert_eq!(company.subscriptions, [stored]);
    Ok(())
}

#[test]
fn stored_items_are_read_as_stored() {
    check_items(None).unwrap();
}

#[test]
fn items_that_are_not_one_json_value_are_refused() {
    for items in [
        "",
        "[",
        "not json",
        // Would close the object early and name another account.
        "[]}",
        "[], \"account\": \"b\"",
        // Would add a member the subscription does not have.
        "[], \"note\": 1",
    ] {
        let err = check_items(Some(items)).unwrap_err();
        assert!(err.contains("stored subscription s-1 is invalid"), "{items:?}: {err}");
    }
}
