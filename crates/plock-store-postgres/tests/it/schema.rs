//! The schema is ready to be distributed by invoice owner: every table that grows with
//! customers carries a non-null `owner`, and every other table is a small one a distributed
//! PostgreSQL copies to every node. A new table must be put in one list or the other.

use crate::support::{fresh_schema, server};

/// Tables that grow with customers: distributed by `owner`.
const BY_OWNER: [&str; 9] = [
    "accounts",
    "account_tags",
    "external_ids",
    "subscriptions",
    "subscription_watermarks",
    "usage",
    "usage_blocks",
    "invoices",
    "billed_usage",
];

/// Small tables copied to every node: the company's settings, metrics, dismissed keys (a
/// key is unique across the company), and the schema version.
const REFERENCE: [&str; 4] = ["dismissed_keys", "metrics", "meta", "plock_schema"];

#[test]
fn every_table_that_grows_with_customers_carries_its_owner() {
    let Some(server) = server("every_table_that_grows_with_customers_carries_its_owner") else {
        return;
    };
    let config = fresh_schema(&server);
    drop(plock_store_postgres::PostgresStore::create(&config).unwrap());
    let mut client = postgres::Client::connect(&config, postgres::NoTls).unwrap();
    let tables: Vec<String> = client
        .query(
            "SELECT tablename FROM pg_tables WHERE schemaname = current_schema() \
             ORDER BY tablename",
            &[],
        )
        .unwrap()
        .iter()
        .map(|row| row.get(0))
        .collect();
    let mut expected: Vec<&str> = BY_OWNER.iter().chain(&REFERENCE).copied().collect();
    expected.sort_unstable();
    assert_eq!(
        tables, expected,
        "every table is distributed or a reference table"
    );
    for table in BY_OWNER {
        let owner = client
            .query_opt(
                "SELECT data_type, is_nullable FROM information_schema.columns \
                 WHERE table_schema = current_schema() AND table_name = $1 \
                 AND column_name = 'owner'",
                &[&table],
            )
            .unwrap()
            .map(|row| (row.get::<_, String>(0), row.get::<_, String>(1)));
        assert_eq!(
            owner,
            Some(("text".to_owned(), "NO".to_owned())),
            "{table}.owner"
        );
    }
}

#[test]
fn billed_usage_follows_its_subscription_to_a_new_owner() {
    use plock_core::billing::BilledUsage;
    use plock_core::id::{ProductId, SubscriptionId};
    use plock_core::money::Currency;
    use plock_core::period::Period;
    use plock_core::store::{Batch, Change};
    use plock_core::{Store, contract::fixtures};
    use rust_decimal::Decimal;

    let Some(server) = server("billed_usage_follows_its_subscription_to_a_new_owner") else {
        return;
    };
    let config = fresh_schema(&server);
    let mut store = plock_store_postgres::PostgresStore::create(&config).unwrap();
    let changes = vec![
        Change::AddAccount {
            account: fixtures::account("m", "key-m", Currency::EUR),
        },
        Change::AddAccount {
            account: fixtures::account("c", "key-c", Currency::EUR),
        },
        Change::SetGroupBilling {
            master: fixtures::aid("m"),
            on: true,
        },
        Change::PutSubscription {
            subscription: fixtures::subscription("s-c", "c", Currency::EUR, true),
        },
    ];
    store.apply(Batch { changes }).unwrap();
    let billed = BilledUsage {
        subscription: SubscriptionId::new("s-c").unwrap(),
        product: ProductId::new("api").unwrap(),
        period: Period::new(fixtures::date(2025, 1, 1), fixtures::date(2025, 2, 1)).unwrap(),
        records: 2,
        quantity: Decimal::new(1250, 2),
        amount: Decimal::new(2500, 2),
        replaces: None,
        skipped: false,
    };
    store
        .apply(Batch::one(Change::RecordRun {
            invoices: vec![],
            billed: vec![],
            billed_usage: vec![billed.clone()],
        }))
        .unwrap();
    let owners = || {
        let mut client = postgres::Client::connect(&config, postgres::NoTls).unwrap();
        ["billed_usage", "subscription_watermarks"].map(|table| {
            let owner: String = client
                .query_one(&format!("SELECT owner FROM {table}"), &[])
                .unwrap()
                .get(0);
            owner
        })
    };
    assert_eq!(owners(), ["c", "c"]);

    store
        .apply(Batch::one(Change::Link {
            child: fixtures::aid("c"),
            master: fixtures::aid("m"),
        }))
        .unwrap();
    assert_eq!(owners(), ["m", "m"]);
    store.check().unwrap();
    assert_eq!(store.company().unwrap().billed_usage, [billed]);
}
