//! Builders shared by the integration tests.

use chrono::NaiveDate;
use plock_core::account::*;
use plock_core::book::*;
use plock_core::id::*;
use plock_core::money::*;

pub fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

pub fn id(s: &str) -> AccountId {
    AccountId::new(s).unwrap()
}

pub fn account(name: &str, currency: Currency) -> Account {
    Account::new(
        id(name),
        AccountKey::new(format!("key-{name}")).unwrap(),
        AccountName::new(&format!("Customer {name}")).unwrap(),
        Contact::default(),
        currency,
        date(2025, 1, 1),
    )
}

pub fn book_with(names: &[(&str, AccountState)]) -> AccountBook {
    let mut book = AccountBook::new();
    for (name, state) in names {
        book.add(account(name, Currency::SEK).with_state(*state))
            .unwrap();
    }
    book
}

/// A run on `run_date` whose invoices are numbered from 1, dispatched to no ERP.
pub fn first_run_on(run_date: NaiveDate) -> plock_core::RunOptions {
    plock_core::RunOptions {
        run_date,
        first_invoice_number: 1,
        dispatch_erp: None,
    }
}

/// An account in `currency` from 1 January 2025 whose id and key are `key`.
pub fn keyed_account(key: &str, name: &str, currency: Currency) -> Account {
    Account::new(
        AccountId::new(key).unwrap(),
        AccountKey::new(key).unwrap(),
        AccountName::new(name).unwrap(),
        Contact::default(),
        currency,
        date(2025, 1, 1),
    )
}

/// An EUR account from 1 January 2025 whose id and key are `key`.
pub fn eur_account(key: &str, name: &str) -> Account {
    keyed_account(key, name, Currency::EUR)
}

/// A SEK account from 1 January 2025 whose id and key are `key`.
pub fn sek_account(key: &str, name: &str) -> Account {
    keyed_account(key, name, Currency::SEK)
}

/// A book of EUR accounts whose id, key and name are each of `keys`.
pub fn keyed_book(keys: &[&str]) -> AccountBook {
    let mut book = AccountBook::new();
    for k in keys {
        book.add(eur_account(k, k)).unwrap();
    }
    book
}

/// Subscription `id` of `account`, active from 1 January 2025: monthly, calendar-aligned, no
/// end and no minimum invoice.
pub fn active_monthly(
    id: &str,
    account: &str,
    practice: plock_core::subscription::BillingPractice,
    currency: Currency,
    items: Vec<plock_core::subscription::Item>,
) -> plock_core::subscription::Subscription {
    use plock_core::period::*;
    use plock_core::subscription::*;
    let mut sub = Subscription::new(
        SubscriptionSpec {
            id: SubscriptionId::new(id).unwrap(),
            account: AccountId::new(account).unwrap(),
            start: date(2025, 1, 1),
            end: None,
            interval: BillingInterval::MONTHLY,
            mode: PeriodMode::Calendar,
            anchor: None,
            practice,
            currency,
            items,
            minimum_invoice_amount: None,
        },
        currency,
    )
    .unwrap();
    sub.activate().unwrap();
    sub
}

/// The run on `on` (invoices numbered from 1), after checking that the reference oracle
/// bills the same records alike (the count of periods visited aside).
pub fn run_checked_by_oracle(
    records: &plock_core::billing::oracle::RecordData<'_>,
    on: NaiveDate,
) -> plock_core::billing::BillingRun {
    use plock_core::billing::*;
    let options = first_run_on(on);
    let table = plock_core::usage::UsageTable::from_records(records.usage).unwrap();
    let data = CompanyData {
        accounts: records.accounts,
        subscriptions: records.subscriptions,
        metrics: records.metrics,
        usage: &table,
        billed_usage: records.billed_usage,
    };
    let result = run(&data, &options).unwrap();
    let reference = oracle::reference_run(records, &options).unwrap();
    assert_eq!(
        BillingRun {
            periods_visited: 0,
            ..result.clone()
        },
        BillingRun {
            periods_visited: 0,
            ..reference
        }
    );
    result
}

/// A line of `product` in arrears for March 2025, of account `a` and subscription `s`, in
/// euros.
pub fn march_line(
    product: &str,
    quantity: rust_decimal::Decimal,
    amount: rust_decimal::Decimal,
) -> plock_core::invoice::InvoiceLine {
    plock_core::invoice::InvoiceLine {
        product: ProductId::new(product).unwrap(),
        metric: None,
        source_account: id("a"),
        subscription: Some(SubscriptionId::new("s").unwrap()),
        period: plock_core::period::Period::new(date(2025, 3, 1), date(2025, 4, 1)).unwrap(),
        quantity,
        unit_price: None,
        rebate_percent: None,
        amount: Money::new(amount, Currency::EUR),
        kind: plock_core::invoice::LineKind::InArrears,
    }
}
