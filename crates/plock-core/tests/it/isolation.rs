//! One account's error never stops a run: the run bills every other account, reports the
//! account with the reason, and leaves its charges unbilled (its watermarks do not move), so
//! a later run bills them once the data is fixed. A case a test.

use chrono::{NaiveDate, TimeZone, Utc};
use plock_core::billing::oracle::RecordData;
use plock_core::billing::*;
use plock_core::book::*;
use plock_core::bounds::{MAX_PRICE, MAX_QUANTITY};
use plock_core::id::*;
use plock_core::money::*;
use plock_core::pricing::*;
use plock_core::subscription::*;
use plock_core::usage::*;
use rust_decimal::{Decimal, dec};

use crate::billing_props::recorded;
use crate::fixtures::{active_monthly, date, run_checked_by_oracle, sek_account};

fn add_account(book: &mut AccountBook, name: &str) {
    book.add(sek_account(name, name)).unwrap();
}

fn sub(id: &str, account: &str, practice: BillingPractice, item: Item) -> Subscription {
    active_monthly(id, account, practice, Currency::SEK, vec![item])
}

fn licence(id: &str, account: &str, fee: Decimal, quantity: Decimal) -> Subscription {
    let item = Item::flat_fee(ProductId::new("licence").unwrap(), fee, quantity);
    sub(id, account, BillingPractice::InAdvance, item)
}

struct Company {
    book: AccountBook,
    subscriptions: Vec<Subscription>,
    metrics: Vec<Metric>,
    usage: Vec<UsageRecord>,
}

impl Company {
    /// "good" pays 100.00 a month in advance.
    fn new() -> Company {
        let mut book = AccountBook::new();
        add_account(&mut book, "good");
        Company {
            book,
            subscriptions: vec![licence("sub-good", "good", dec!(100.00), Decimal::ONE)],
            metrics: vec![Metric {
                id: MetricId::new("calls").unwrap(),
                aggregation: Aggregation::Sum,
            }],
            usage: Vec::new(),
        }
    }

    /// Bills on `on` (the oracle agrees) and records the watermarks.
    fn bill(&mut self, on: NaiveDate) -> BillingRun {
        let result = run_checked_by_oracle(
            &RecordData {
                accounts: &self.book,
                subscriptions: &self.subscriptions,
                metrics: &self.metrics,
                usage: &self.usage,
                billed_usage: &[],
            },
            on,
        );
        self.subscriptions = recorded(&self.subscriptions, &result);
        result
    }
}

fn owners(result: &BillingRun) -> Vec<(u64, String, Decimal)> {
    result
        .invoices
        .iter()
        .map(|i| (i.number(), i.owner().to_string(), i.total().amount()))
        .collect()
}

fn held(result: &BillingRun) -> Vec<String> {
    result
        .not_billed
        .iter()
        .map(|n| format!("{} {} {}: {}", n.owner, n.account, n.subscription, n.reason))
        .collect()
}

fn moved(result: &BillingRun) -> Vec<&str> {
    result
        .billed
        .iter()
        .map(|b| b.subscription.as_str())
        .collect()
}

/// Nine licences each at the largest fee and quantity are each within range, but their
/// invoice's total is not. Before, the whole run failed and nobody was billed.
#[test]
fn an_invoice_total_overflow_holds_only_its_owner() {
    let mut company = Company::new();
    add_account(&mut company.book, "huge");
    for n in 0..9 {
        company.subscriptions.push(licence(
            &format!("sub-huge-{n}"),
            "huge",
            MAX_PRICE,
            MAX_QUANTITY,
        ));
    }
    let result = company.bill(date(2025, 1, 1));
    assert_eq!(owners(&result), [(1, "good".to_owned(), dec!(100.00))]);
    assert_eq!(
        held(&result),
        [
            "huge huge sub-huge-0: the invoice of account \"huge\" in SEK sums past the largest amount plock can hold"
        ]
    );
    assert_eq!(moved(&result), ["sub-good"]);

    // Fixed: the licences split over two accounts. The held month is billed.
    company.subscriptions.truncate(6);
    let result = company.bill(date(2025, 1, 2));
    assert_eq!(owners(&result).len(), 1);
    assert_eq!(owners(&result)[0].1, "huge");
    assert_eq!(moved(&result).len(), 5);
}

/// A usage sum that overflows once priced (nine records at the largest quantity, at the
/// largest unit price) holds its owner only.
#[test]
fn a_usage_charge_overflow_holds_only_its_owner() {
    let mut company = Company::new();
    add_account(&mut company.book, "heavy");
    let item = Item::usage(
        ProductId::new("api").unwrap(),
        MetricId::new("calls").unwrap(),
        PriceModel::PerUnit {
            unit_price: MAX_PRICE,
        },
    );
    company
        .subscriptions
        .push(sub("sub-heavy", "heavy", BillingPractice::InArrears, item));
    for n in 0..9 {
        company.usage.push(
            UsageRecord::new(
                AccountKey::new("heavy").unwrap(),
                MetricId::new("calls").unwrap(),
                Utc.with_ymd_and_hms(2025, 1, 10, 12, 0, n).unwrap(),
                MAX_QUANTITY,
                Some(RecordId::new(format!("r{n}")).unwrap()),
            )
            .unwrap(),
        );
    }
    let result = company.bill(date(2025, 2, 1));
    assert_eq!(owners(&result), [(1, "good".to_owned(), dec!(200.00))]);
    assert_eq!(result.not_billed.len(), 1, "{:?}", held(&result));
    assert!(
        held(&result)[0]
            .starts_with("heavy heavy sub-heavy: subscription \"sub-heavy\", item \"api\""),
        "{:?}",
        held(&result)
    );
    assert_eq!(moved(&result), ["sub-good"]);

    // Fixed: a sane price. January's calls are billed.
    let spec = company.subscriptions[1].spec().clone();
    let mut fixed = spec.clone();
    fixed.items = vec![Item::usage(
        ProductId::new("api").unwrap(),
        MetricId::new("calls").unwrap(),
        PriceModel::PerUnit {
            unit_price: dec!(0.000000001),
        },
    )];
    let mut sub = Subscription::new(fixed, Currency::SEK).unwrap();
    sub.activate().unwrap();
    company.subscriptions[1] = sub;
    let result = company.bill(date(2025, 2, 1));
    assert_eq!(owners(&result).len(), 1);
    assert_eq!(owners(&result)[0].1, "heavy");
    assert_eq!(moved(&result), ["sub-heavy"]);
}

/// An account whose currency no longer matches its subscription's is held, billed once its
/// currency is set back: every month held is billed then.
#[test]
fn a_currency_mismatch_holds_its_owner_until_fixed() {
    let mut company = Company::new();
    add_account(&mut company.book, "moved");
    company
        .subscriptions
        .push(licence("sub-moved", "moved", dec!(50.00), Decimal::ONE));
    company
        .book
        .set_currency(&AccountId::new("moved").unwrap(), Currency::EUR)
        .unwrap();
    let result = company.bill(date(2025, 2, 1));
    assert_eq!(owners(&result), [(1, "good".to_owned(), dec!(200.00))]);
    assert_eq!(
        held(&result),
        [
            "moved moved sub-moved: subscription \"sub-moved\" is in SEK but account \"moved\" bills in EUR"
        ]
    );
    assert_eq!(moved(&result), ["sub-good"]);

    company
        .book
        .set_currency(&AccountId::new("moved").unwrap(), Currency::SEK)
        .unwrap();
    let result = company.bill(date(2025, 2, 1));
    assert_eq!(owners(&result), [(1, "moved".to_owned(), dec!(100.00))]);
}
