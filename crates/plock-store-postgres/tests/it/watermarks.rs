//! A run's watermarks are moved all at once, or not at all: the first subscription, in the
//! run's order, that is not stored or was moved since the run read it is the refusal, and
//! nothing of the run is written.

use plock_core::billing::Billed;
use plock_core::id::SubscriptionId;
use plock_core::money::Currency;
use plock_core::store::{Batch, Change, StoreError};
use plock_core::subscription::BilledThrough;
use plock_core::{Store, contract::fixtures};
use plock_store_postgres::PostgresStore;

use crate::support::{fresh_schema, server};

fn through(month: u32) -> BilledThrough {
    BilledThrough {
        in_advance: Some(fixtures::date(2025, month, 1)),
        in_arrears: None,
    }
}

fn billed(id: &str, from: BilledThrough, to: BilledThrough) -> Billed {
    Billed {
        subscription: SubscriptionId::new(id).unwrap(),
        from,
        through: to,
    }
}

fn record(store: &mut PostgresStore, billed: Vec<Billed>) -> Result<(), StoreError> {
    store.apply(Batch::one(Change::RecordRun {
        invoices: vec![],
        billed,
        billed_usage: vec![],
    }))
}

fn watermarks(store: &PostgresStore) -> Vec<BilledThrough> {
    let company = store.company().unwrap();
    company
        .subscriptions
        .iter()
        .map(|s| s.billed_through())
        .collect()
}

#[test]
fn a_run_is_refused_at_its_first_stale_or_missing_subscription() {
    let Some(server) = server("a_run_is_refused_at_its_first_stale_or_missing_subscription") else {
        return;
    };
    let mut store = PostgresStore::create(&fresh_schema(&server)).unwrap();
    let mut changes = vec![Change::AddAccount {
        account: fixtures::account("a", "key-a", Currency::EUR),
    }];
    for id in ["s-1", "s-2", "s-3"] {
        changes.push(Change::PutSubscription {
            subscription: fixtures::subscription(id, "a", Currency::EUR, true),
        });
    }
    store.apply(Batch { changes }).unwrap();
    let never = BilledThrough::default();
    record(&mut store, vec![billed("s-2", never, through(2))]).unwrap();
    let before = watermarks(&store);
    assert_eq!(before, [never, through(2), never]);

    // s-2 was moved since: refused there, before the missing s-9 and the staying s-3.
    let stale = record(
        &mut store,
        vec![
            billed("s-1", never, through(3)),
            billed("s-2", never, through(3)),
            billed("s-9", never, through(3)),
            billed("s-3", never, never),
        ],
    );
    assert!(
        matches!(&stale, Err(StoreError::Conflict { what: "subscription", id, .. }) if id == "s-2"),
        "{stale:?}"
    );
    // The missing one first: not found.
    let missing = record(
        &mut store,
        vec![
            billed("s-9", never, through(3)),
            billed("s-2", never, through(3)),
        ],
    );
    assert!(
        matches!(&missing, Err(StoreError::NotFound { what: "subscription", id, .. }) if id == "s-9"),
        "{missing:?}"
    );
    // Listed twice, the second from another watermark than the first moved it to.
    let broken = record(
        &mut store,
        vec![
            billed("s-1", never, through(3)),
            billed("s-1", through(4), through(5)),
        ],
    );
    assert!(
        matches!(&broken, Err(StoreError::Conflict { id, .. }) if id == "s-1"),
        "{broken:?}"
    );
    assert_eq!(watermarks(&store), before, "a refused run writes nothing");

    // Listed twice in a chain, and one left where it is: recorded.
    record(
        &mut store,
        vec![
            billed("s-1", never, through(3)),
            billed("s-3", never, never),
            billed("s-1", through(3), through(4)),
        ],
    )
    .unwrap();
    assert_eq!(watermarks(&store), [through(4), through(2), never]);
    store.check().unwrap();
}
