//! Small domain values for stores' tests: the contract's, and each store's own.

use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use rust_decimal::Decimal;

use crate::account::*;
use crate::id::*;
use crate::money::*;
use crate::period::*;
use crate::pricing::*;
use crate::store::*;
use crate::subscription::*;
use crate::usage::*;

/// A date of the proleptic calendar.
pub fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

/// An account id.
pub fn aid(id: &str) -> AccountId {
    AccountId::new(id).unwrap()
}

/// An active account `id` with `key`, named `Customer {id}`, created on 2025-01-01.
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

/// A monthly, calendar-aligned subscription billed in advance from 2025-01-01, as a draft.
pub fn draft(
    id: &str,
    account: &str,
    currency: Currency,
    items: Vec<Item>,
    minimum_invoice_amount: Option<Decimal>,
) -> Subscription {
    Subscription::new(
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
            items,
            minimum_invoice_amount,
        },
        currency,
    )
    .unwrap()
}

/// A `licence` flat fee of `price` a period.
pub fn licence(price: Decimal) -> Item {
    Item::flat_fee(ProductId::new("licence").unwrap(), price, Decimal::ONE)
}

/// A [`draft`] with every kind of field set: a `licence` of 100.50, `api` calls at 0.0025
/// each, a minimum invoice of 5.00; activated when `active`.
pub fn subscription(id: &str, account: &str, currency: Currency, active: bool) -> Subscription {
    let calls = Item::usage(
        ProductId::new("api").unwrap(),
        MetricId::new("calls").unwrap(),
        PriceModel::PerUnit {
            unit_price: Decimal::new(25, 4),
        },
    );
    let items = vec![licence(Decimal::new(10_050, 2)), calls];
    let mut s = draft(id, account, currency, items, Some(Decimal::new(500, 2)));
    if active {
        s.activate().unwrap();
    }
    s
}

/// A record of `calls` by `key` at `timestamp`.
pub fn record_at(
    key: &str,
    timestamp: DateTime<Utc>,
    quantity: Decimal,
    record_id: Option<&str>,
) -> UsageRecord {
    UsageRecord::new(
        AccountKey::new(key).unwrap(),
        MetricId::new("calls").unwrap(),
        timestamp,
        quantity,
        record_id.map(|r| RecordId::new(r).unwrap()),
    )
    .unwrap()
}

/// A [`record_at`] 13:30 on day `day` of January 2025.
pub fn record(key: &str, day: u32, quantity: Decimal, record_id: Option<&str>) -> UsageRecord {
    let timestamp = Utc.with_ymd_and_hms(2025, 1, day, 13, 30, 0).unwrap();
    record_at(key, timestamp, quantity, record_id)
}

/// A batch adding account `a` (key `key-a`, EUR), then `records`.
pub fn account_with_usage(records: Vec<UsageRecord>) -> Batch {
    Batch {
        changes: vec![
            Change::AddAccount {
                account: account("a", "key-a", Currency::EUR),
            },
            Change::AddUsage { records },
        ],
    }
}

/// The changes adding account `a` (key `key-a`, EUR), the summed metric `calls`, and its
/// active subscription `s-a` (see [`subscription`]).
pub fn subscribed_account() -> Vec<Change> {
    vec![
        Change::AddAccount {
            account: account("a", "key-a", Currency::EUR),
        },
        Change::PutMetric {
            metric: Metric {
                id: MetricId::new("calls").unwrap(),
                aggregation: Aggregation::Sum,
            },
        },
        Change::PutSubscription {
            subscription: subscription("s-a", "a", Currency::EUR, true),
        },
    ]
}
