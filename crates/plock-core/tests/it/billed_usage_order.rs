//! A run's billed usage comes back in (subscription, product, period) order whatever order
//! the run made it in: items listed against product order, several periods due at once, and
//! subscriptions whose id order is not their accounts' order.

use chrono::{TimeZone, Utc};
use plock_core::billing::oracle::RecordData;
use plock_core::id::*;
use plock_core::money::*;
use plock_core::pricing::*;
use plock_core::subscription::*;
use plock_core::usage::*;
use rust_decimal::dec;

use crate::fixtures::{active_monthly, date, keyed_book, run_checked_by_oracle};

/// Usage items "z" (metric "calls") then "a" (metric "sms").
fn metered(id: &str, account: &str) -> Subscription {
    let item = |product: &str, metric: &str, price| {
        Item::usage(
            ProductId::new(product).unwrap(),
            MetricId::new(metric).unwrap(),
            PriceModel::PerUnit { unit_price: price },
        )
    };
    let items = vec![item("z", "calls", dec!(0.50)), item("a", "sms", dec!(0.25))];
    active_monthly(
        id,
        account,
        BillingPractice::InArrears,
        Currency::EUR,
        items,
    )
}

#[test]
fn billed_usage_is_in_subscription_product_and_period_order() {
    let book = keyed_book(&["acme", "globex"]);
    // acme's subscription sorts after globex's: partitions (by account) and ids disagree.
    let subscriptions = vec![metered("s2", "acme"), metered("s1", "globex")];
    let usage: Vec<UsageRecord> = ["acme", "globex"]
        .iter()
        .flat_map(|key| (1..=3).flat_map(move |month| ["calls", "sms"].map(|m| (key, month, m))))
        .map(|(key, month, metric)| {
            let at = Utc.with_ymd_and_hms(2025, month, 10, 12, 0, 0).unwrap();
            let key = AccountKey::new(*key).unwrap();
            UsageRecord::new(key, MetricId::new(metric).unwrap(), at, dec!(40), None).unwrap()
        })
        .collect();
    let metrics = ["calls", "sms"].map(|m| Metric {
        id: MetricId::new(m).unwrap(),
        aggregation: Aggregation::Sum,
    });
    let records = RecordData {
        accounts: &book,
        subscriptions: &subscriptions,
        metrics: &metrics,
        usage: &usage,
        billed_usage: &[],
    };
    // January to March billed at once: three periods of two items each, per subscription.
    let run = run_checked_by_oracle(&records, date(2025, 4, 1));
    let keys: Vec<(&str, &str, u32)> = run
        .billed_usage
        .iter()
        .map(|b| {
            use chrono::Datelike;
            (
                b.subscription.as_str(),
                b.product.as_str(),
                b.period.start().month(),
            )
        })
        .collect();
    let mut expected = Vec::new();
    for sub in ["s1", "s2"] {
        for product in ["a", "z"] {
            for month in 1..=3 {
                expected.push((sub, product, month));
            }
        }
    }
    assert_eq!(keys, expected);
}
