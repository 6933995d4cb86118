//! A database an older plock made is migrated without losing what it holds: the watermarks
//! moved out of `subscriptions` (migration 7), billed usage split from its JSON into columns
//! (migration 8).

use plock_core::billing::{Billed, BilledUsage};
use plock_core::id::SubscriptionId;
use plock_core::money::Currency;
use plock_core::store::{Batch, Change};
use plock_core::subscription::BilledThrough;
use plock_core::{Store, contract::fixtures};
use plock_store_postgres::{PostgresStore, SCHEMA_VERSION};

use crate::support::{fresh_schema, server};

/// Takes a current database back to schema 6's layout, its data as schema 6 held it: the
/// watermarks in `subscriptions`, billed usage as the row's JSON (`json`, in key order).
fn back_to_schema_6(config: &str, json: &[String]) {
    let mut client = postgres::Client::connect(config, postgres::NoTls).unwrap();
    client
        .batch_execute(
            "ALTER TABLE subscriptions ADD COLUMN billed_through_in_advance text, \
                 ADD COLUMN billed_through_in_arrears text;
             UPDATE subscriptions s SET billed_through_in_advance = w.in_advance, \
                 billed_through_in_arrears = w.in_arrears \
                 FROM subscription_watermarks w WHERE w.subscription = s.id;
             DROP TABLE subscription_watermarks;
             ALTER TABLE billed_usage ADD COLUMN row text;",
        )
        .unwrap();
    let keys: Vec<(String, String, String)> = client
        .query(
            "SELECT subscription, product, period_start FROM billed_usage \
             ORDER BY subscription, product, period_start",
            &[],
        )
        .unwrap()
        .iter()
        .map(|row| (row.get(0), row.get(1), row.get(2)))
        .collect();
    assert_eq!(keys.len(), json.len());
    for ((subscription, product, start), json) in keys.iter().zip(json) {
        client
            .execute(
                "UPDATE billed_usage SET row = $4 \
                 WHERE subscription = $1 AND product = $2 AND period_start = $3",
                &[subscription, product, start, json],
            )
            .unwrap();
    }
    client
        .batch_execute(
            "ALTER TABLE billed_usage ALTER COLUMN row SET NOT NULL, DROP COLUMN period_end, \
                 DROP COLUMN records, DROP COLUMN quantity, DROP COLUMN amount, \
                 DROP COLUMN skipped;
             DELETE FROM plock_schema WHERE version > 6;",
        )
        .unwrap();
}

fn billed_usage(subscription: &str, month: u32, skipped: bool) -> BilledUsage {
    crate::support::billed_usage(subscription, month, 2500, skipped)
}

#[test]
fn a_schema_6_database_keeps_its_watermarks_and_billed_usage() {
    let Some(server) = server("a_schema_6_database_keeps_its_watermarks_and_billed_usage") else {
        return;
    };
    let config = fresh_schema(&server);
    let mut store = PostgresStore::create(&config).unwrap();
    let mut changes = vec![Change::AddAccount {
        account: fixtures::account("a", "key-a", Currency::EUR),
    }];
    for id in ["s-1", "s-2"] {
        changes.push(Change::PutSubscription {
            subscription: fixtures::subscription(id, "a", Currency::EUR, true),
        });
    }
    store.apply(Batch { changes }).unwrap();
    let moved = BilledThrough {
        in_advance: Some(fixtures::date(2025, 3, 1)),
        in_arrears: Some(fixtures::date(2025, 2, 1)),
    };
    let rows = vec![billed_usage("s-1", 1, false), billed_usage("s-1", 2, true)];
    store
        .apply(Batch::one(Change::RecordRun {
            invoices: vec![],
            billed: vec![Billed {
                subscription: SubscriptionId::new("s-1").unwrap(),
                from: BilledThrough::default(),
                through: moved,
            }],
            billed_usage: rows.clone(),
        }))
        .unwrap();
    let before = store.company().unwrap();
    drop(store);
    let json: Vec<String> = rows
        .iter()
        .map(|row| serde_json::to_string(row).unwrap())
        .collect();
    back_to_schema_6(&config, &json);

    let store = PostgresStore::open(&config).unwrap();
    assert_eq!(store.schema_version().unwrap(), SCHEMA_VERSION);
    let after = store.company().unwrap();
    assert_eq!(after.subscriptions, before.subscriptions);
    assert_eq!(
        after.subscriptions.first().map(|s| s.billed_through()),
        Some(moved)
    );
    assert_eq!(after.billed_usage, rows);
    store.check().unwrap();
}
