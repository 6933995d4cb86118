//! A batch putting many subscriptions has their items encoded ahead of the writes: each is
//! stored with its own items, a subscription put twice keeps the last, and a refusal midway
//! leaves nothing written.

use std::collections::BTreeMap;

use plock_core::contract::fixtures::{draft, licence};
use plock_core::store::{Batch, Change, StoreError};
use plock_core::{Currency, Store, Subscription};
use plock_store_sqlite::SqliteStore;
use rust_decimal::Decimal;

use crate::support::account;

/// More puts than a batch encodes where it writes them.
const PUTS: i64 = 700;

fn priced(id: &str, account: &str, cents: i64) -> Subscription {
    draft(
        id,
        account,
        Currency::EUR,
        vec![licence(Decimal::new(cents, 2))],
        None,
    )
}

fn many_puts() -> Vec<Change> {
    let mut changes = vec![Change::AddAccount {
        account: account("a", "key-a", Currency::EUR),
    }];
    for n in 0..PUTS {
        changes.push(Change::PutSubscription {
            subscription: priced(&format!("s-{n}"), "a", 100 + n),
        });
    }
    changes
}

#[test]
fn many_subscriptions_are_stored_with_their_own_items() {
    let mut store = SqliteStore::in_memory().unwrap();
    let mut changes = many_puts();
    changes.push(Change::PutSubscription {
        subscription: priced("s-7", "a", 99_999),
    });
    let mut expected = BTreeMap::new();
    for change in &changes {
        if let Change::PutSubscription { subscription } = change {
            expected.insert(subscription.id().clone(), subscription.spec().items.clone());
        }
    }
    store.apply(Batch { changes }).unwrap();
    let stored: BTreeMap<_, _> = store
        .company()
        .unwrap()
        .subscriptions
        .into_iter()
        .map(|s| (s.id().clone(), s.spec().items.clone()))
        .collect();
    assert_eq!(stored.len(), usize::try_from(PUTS).unwrap());
    assert_eq!(stored, expected);
}

#[test]
fn a_refused_put_among_many_leaves_nothing() {
    let mut store = SqliteStore::in_memory().unwrap();
    let mut changes = many_puts();
    changes.insert(
        400,
        Change::PutSubscription {
            subscription: priced("s-lost", "missing", 1),
        },
    );
    let refused = store.apply(Batch { changes }).unwrap_err();
    assert!(
        matches!(&refused, StoreError::NotFound { index: 400, what: "account", id } if id == "missing"),
        "{refused:?}"
    );
    let company = store.company().unwrap();
    assert!(company.subscriptions.is_empty());
    assert!(company.accounts.is_empty());
}
