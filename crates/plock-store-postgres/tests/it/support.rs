//! What the tests share: a fresh schema per store, small domain values.

use std::sync::atomic::{AtomicU32, Ordering};

use chrono::{NaiveDate, TimeZone, Utc};
use plock_core::{account::*, id::*, money::*, period::*, pricing::*, subscription::*, usage::*};
use plock_store_postgres::PostgresStore;
use rust_decimal::Decimal;

/// The environment variable naming the test server.
pub const SERVER: &str = "PLOCK_TEST_POSTGRES";

/// The test server's connection string, or `None` after printing why the test is skipped.
pub fn server(test: &str) -> Option<String> {
    match std::env::var(SERVER) {
        Ok(config) if !config.trim().is_empty() => Some(config),
        _ => {
            // Written to the process's stderr, not through `eprintln!`, which the test harness
            // captures and hides for a passing test.
            let notice = format!(
                "skipped {test}: {SERVER} is not set (`.ci/postgres.sh run cargo test -p \
                 plock-store-postgres` runs these tests against a throwaway server)\n"
            );
            let _ = std::io::Write::write_all(&mut std::io::stderr(), notice.as_bytes());
            None
        }
    }
}

/// A new, empty schema on the server, and the connection string whose `search_path` is it:
/// each store a test makes is a company of its own.
pub fn fresh_schema(server: &str) -> String {
    static COUNT: AtomicU32 = AtomicU32::new(0);
    let name = format!(
        "plock_test_{}_{}_{}",
        std::process::id(),
        COUNT.fetch_add(1, Ordering::Relaxed),
        Utc::now().timestamp_subsec_nanos()
    );
    let mut admin = postgres::Client::connect(server, postgres::NoTls).unwrap();
    admin
        .batch_execute(&format!("CREATE SCHEMA {name}"))
        .unwrap();
    with_search_path(server, &name)
}

/// `server` with `search_path` set to `schema`.
pub fn with_search_path(server: &str, schema: &str) -> String {
    if server.starts_with("postgres://") || server.starts_with("postgresql://") {
        let sep = if server.contains('?') { '&' } else { '?' };
        format!("{server}{sep}options=-csearch_path%3D{schema}")
    } else {
        format!("{server} options=-csearch_path={schema}")
    }
}

/// A new store in a fresh schema.
pub fn fresh_store(server: &str) -> PostgresStore {
    PostgresStore::create(&fresh_schema(server)).unwrap()
}

pub fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

pub fn aid(id: &str) -> AccountId {
    AccountId::new(id).unwrap()
}

pub fn account(id: &str, key: &str, currency: Currency) -> Account {
    Account::new(
        aid(id),
        AccountKey::new(key).unwrap(),
        AccountName::new(&format!("Customer {id}")).unwrap(),
        Contact::default(),
        currency,
        date(2025, 1, 1),
    )
}

pub fn subscription(id: &str, account: &str, currency: Currency, active: bool) -> Subscription {
    let mut s = Subscription::new(
        SubscriptionSpec {
            id: SubscriptionId::new(id).unwrap(),
            account: aid(account),
            start: date(2025, 1, 1),
            end: None,
            interval: BillingInterval::MONTHLY,
            mode: PeriodMode::Calendar,
            anchor: None,
            practice: BillingPractice::InAdvance,
            currency,
            items: vec![
                Item::flat_fee(
                    ProductId::new("licence").unwrap(),
                    Decimal::new(10_050, 2),
                    Decimal::ONE,
                ),
                Item::usage(
                    ProductId::new("api").unwrap(),
                    MetricId::new("calls").unwrap(),
                    PriceModel::PerUnit {
                        unit_price: Decimal::new(25, 4),
                    },
                ),
            ],
            minimum_invoice_amount: Some(Decimal::new(500, 2)),
        },
        currency,
    )
    .unwrap();
    if active {
        s.activate().unwrap();
    }
    s
}

pub fn record(key: &str, day: u32, quantity: Decimal, record_id: Option<&str>) -> UsageRecord {
    UsageRecord::new(
        AccountKey::new(key).unwrap(),
        MetricId::new("calls").unwrap(),
        Utc.with_ymd_and_hms(2025, 1, day, 13, 30, 0).unwrap(),
        quantity,
        record_id.map(|r| RecordId::new(r).unwrap()),
    )
    .unwrap()
}
