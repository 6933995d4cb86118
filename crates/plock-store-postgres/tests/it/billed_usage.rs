//! What runs billed of usage is written straight into its table when its keys are new, and
//! over the stored rows when a key is stored already, or a row names the stored row it
//! replaces.

use plock_core::billing::BilledUsage;
use plock_core::money::Currency;
use plock_core::store::{Batch, Change};
use plock_core::{Store, contract::fixtures};
use plock_store_postgres::PostgresStore;

use crate::support::{fresh_schema, server};

fn row(month: u32, amount: i64) -> BilledUsage {
    crate::support::billed_usage("s-1", month, amount, false)
}

fn record(store: &mut PostgresStore, rows: &[BilledUsage]) {
    store
        .apply(Batch::one(Change::RecordRun {
            invoices: vec![],
            billed: vec![],
            billed_usage: rows.to_vec(),
        }))
        .unwrap();
}

#[test]
fn billed_usage_rows_replace_stored_ones_of_their_keys() {
    let Some(server) = server("billed_usage_rows_replace_stored_ones_of_their_keys") else {
        return;
    };
    let mut store = PostgresStore::create(&fresh_schema(&server)).unwrap();
    let changes = vec![
        Change::AddAccount {
            account: fixtures::account("a", "key-a", Currency::EUR),
        },
        Change::PutSubscription {
            subscription: fixtures::subscription("s-1", "a", Currency::EUR, true),
        },
    ];
    store.apply(Batch { changes }).unwrap();
    // New keys only: copied straight into the table.
    record(&mut store, &[row(1, 100), row(2, 200)]);
    // January's key is stored: written over it, March's beside it.
    record(&mut store, &[row(1, 150), row(3, 300)]);
    // February's late usage names the stored row it replaces.
    let late = BilledUsage {
        replaces: Some(Box::new(row(2, 200).tally())),
        ..row(2, 250)
    };
    record(&mut store, &[late, row(4, 400)]);
    assert_eq!(
        store.company().unwrap().billed_usage,
        [row(1, 150), row(2, 250), row(3, 300), row(4, 400)]
    );
    store.check().unwrap();
}
