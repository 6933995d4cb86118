//! What the tests share: a fresh schema per store, and the small domain values of
//! plock-core's contract fixtures.

use std::sync::atomic::{AtomicU32, Ordering};

use chrono::Utc;
use plock_store_postgres::PostgresStore;

pub use plock_core::contract::fixtures::{account, aid, date, record, subscription};

pub use plock_store_postgres::testing::server;

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

/// A billed usage row of subscription `subscription` and product `api` for `month` of 2025:
/// 2 records, 12.50 units, `amount_cents` hundredths.
pub fn billed_usage(
    subscription: &str,
    month: u32,
    amount_cents: i64,
    skipped: bool,
) -> plock_core::billing::BilledUsage {
    use plock_core::id::{ProductId, SubscriptionId};
    plock_core::billing::BilledUsage {
        subscription: SubscriptionId::new(subscription).unwrap(),
        product: ProductId::new("api").unwrap(),
        period: plock_core::period::Period::new(date(2025, month, 1), date(2025, month + 1, 1))
            .unwrap(),
        records: 2,
        quantity: rust_decimal::Decimal::new(1250, 2),
        amount: rust_decimal::Decimal::new(amount_cents, 2),
        replaces: None,
        skipped,
    }
}
