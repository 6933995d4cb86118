//! What the tests share: a temporary folder, small domain values, a raw view of the tables.

use chrono::{NaiveDate, TimeZone, Utc};
use plock_core::account::*;
use plock_core::id::*;
use plock_core::money::*;
use plock_core::period::*;
use plock_core::pricing::*;
use plock_core::subscription::*;
use plock_core::usage::*;
use rusqlite::Connection;
use rust_decimal::Decimal;
use std::path::Path;

/// A folder removed when the test ends, whatever its outcome.
pub fn temp_dir() -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix("plock-store-sqlite-")
        .tempdir()
        .unwrap()
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

/// Every row of every table, as text, in a fixed order: what "unchanged" means for the file.
pub fn dump(path: &Path) -> Vec<String> {
    let conn = Connection::open(path).unwrap();
    let tables: Vec<String> = conn
        .prepare("SELECT name FROM sqlite_schema WHERE type = 'table' ORDER BY name")
        .unwrap()
        .query_map([], |row| row.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let mut out = Vec::new();
    for table in tables {
        let mut stmt = conn.prepare(&format!("SELECT * FROM {table}")).unwrap();
        let columns = stmt.column_count();
        let mut rows: Vec<String> = stmt
            .query_map([], |row| {
                let mut cells = Vec::new();
                for i in 0..columns {
                    let value: rusqlite::types::Value = row.get(i)?;
                    cells.push(format!("{value:?}"));
                }
                Ok(format!("{table}: {}", cells.join(" | ")))
            })
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        rows.sort();
        out.extend(rows);
    }
    let version: i64 = conn
        .pragma_query_value(None, "user_version", |row| row.get(0))
        .unwrap();
    out.push(format!("user_version: {version}"));
    out
}
