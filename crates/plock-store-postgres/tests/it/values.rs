//! Values come back exactly as written; a database from a newer plock is refused untouched.

use chrono::{TimeZone, Utc};
use plock_core::{id::*, store::*, usage::*};
use plock_store_postgres::{PostgresStore, SCHEMA_VERSION};
use rust_decimal::Decimal;

use plock_core::contract::fixtures::account_with_usage;

use crate::support::{fresh_schema, fresh_store, server};

#[test]
fn usage_times_and_quantities_round_trip_exactly() {
    let Some(server) = server("usage_times_and_quantities_round_trip_exactly") else {
        return;
    };
    let mut store = fresh_store(&server);
    let key = AccountKey::new("key-a").unwrap();
    let at = |y, mo, d, h, mi, s, n| {
        Utc.with_ymd_and_hms(y, mo, d, h, mi, s)
            .unwrap()
            .checked_add_signed(chrono::Duration::nanoseconds(n))
            .unwrap()
    };
    let records: Vec<UsageRecord> = [
        (
            at(1969, 12, 31, 23, 59, 59, 999_999_999),
            Decimal::new(1500, 3),
        ),
        (at(2025, 1, 31, 23, 59, 59, 1), Decimal::new(12_30, 2)),
        (at(2025, 2, 1, 0, 0, 0, 0), Decimal::new(7, 0)),
        (at(2400, 2, 29, 12, 0, 0, 123_456_789), Decimal::new(1, 28)),
    ]
    .into_iter()
    .map(|(t, q)| {
        UsageRecord::new(key.clone(), MetricId::new("calls").unwrap(), t, q, None).unwrap()
    })
    .collect();
    store.apply(account_with_usage(records.clone())).unwrap();
    let mut stored = store.company().unwrap().usage;
    stored.sort();
    let mut expected = records;
    expected.sort();
    assert_eq!(stored, expected);
    for (s, e) in stored.iter().zip(&expected) {
        assert_eq!(s.timestamp(), e.timestamp());
        assert_eq!(s.quantity().scale(), e.quantity().scale(), "{s:?}");
    }
    let (_, table) = store.billing_input().unwrap();
    assert_eq!(table.len(), expected.len());

    // Periods reach past the times a `timestamptz` holds, as an unbounded filter does.
    let day = |y, m, d| chrono::NaiveDate::from_ymd_opt(y, m, d).unwrap();
    let read = |from, to| {
        let period = plock_core::period::Period::new(from, to).unwrap();
        store.usage(std::slice::from_ref(&key), &period).unwrap()
    };
    assert_eq!(
        read(chrono::NaiveDate::MIN, chrono::NaiveDate::MAX),
        expected
    );
    assert_eq!(read(day(2025, 2, 1), chrono::NaiveDate::MAX).len(), 2);
    assert_eq!(read(day(2025, 1, 31), day(2025, 2, 1)).len(), 1);
    assert_eq!(read(chrono::NaiveDate::MIN, day(-5000, 1, 1)), []);
}

#[test]
fn a_database_from_a_newer_plock_is_refused() {
    let Some(server) = server("a_database_from_a_newer_plock_is_refused") else {
        return;
    };
    let config = fresh_schema(&server);
    let store = PostgresStore::create(&config).unwrap();
    assert_eq!(store.schema_version().unwrap(), SCHEMA_VERSION);
    let mut client = postgres::Client::connect(&config, postgres::NoTls).unwrap();
    client
        .execute(
            "INSERT INTO plock_schema (version) VALUES ($1)",
            &[&i32::try_from(SCHEMA_VERSION + 1).unwrap()],
        )
        .unwrap();
    let refused = PostgresStore::open(&config).unwrap_err().to_string();
    assert!(refused.contains("newer plock"), "{refused}");
    let again = PostgresStore::create(&config).unwrap_err().to_string();
    assert!(again.contains("already holds"), "{again}");
    let empty = fresh_schema(&server);
    let none = PostgresStore::open(&empty).unwrap_err().to_string();
    assert!(none.contains("plock init"), "{none}");
}
