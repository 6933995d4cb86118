//! Re-imports change only what the file states: an empty cell keeps the stored value, an
//! Ended subscription stays ended, a duplicate row is an error.

use plock_core::book::*;
use plock_core::id::*;
use plock_core::import::*;
use plock_core::money::*;
use plock_core::pricing::*;
use plock_core::store::*;
use plock_core::subscription::*;
use plock_core::usage::*;
use rust_decimal::dec;

use crate::fixtures::{active_monthly, date, first_run_on};

fn apply(book: &AccountBook, batch: &Batch) -> AccountBook {
    let mut next = book.clone();
    for (i, change) in batch.changes.iter().enumerate() {
        apply_to_book(&mut next, i, change).unwrap();
    }
    next
}

fn imported(csv: &str, book: &AccountBook) -> AccountBook {
    apply(
        book,
        &plan_account_import(csv.as_bytes(), book, date(2025, 2, 1)).unwrap(),
    )
}

#[test]
fn an_account_row_without_contact_columns_keeps_email_and_country() {
    let full =
        "key,name,currency,email,country,phone\nacme,Acme,EUR,billing@acme.example,SE,+46 8 123\n";
    let book = imported(full, &AccountBook::new());
    let short = "key,name,currency\nacme,Acme AB,EUR\n";
    let book = imported(short, &book);
    let acme = book.by_key(&AccountKey::new("acme").unwrap()).unwrap();
    assert_eq!(acme.name().as_str(), "Acme AB");
    assert_eq!(
        acme.contact().email().map(|e| e.as_str()),
        Some("billing@acme.example")
    );
    assert_eq!(acme.contact().country().map(|c| c.as_str()), Some("SE"));
    // An empty cell keeps too; the clearing token removes one field, another value replaces.
    let edit = format!(
        "key,name,currency,email,country,phone\nacme,Acme AB,EUR,,{CLEAR_CELL},+46 8 999\n"
    );
    let book = imported(&edit, &book);
    let acme = book.by_key(&AccountKey::new("acme").unwrap()).unwrap();
    assert_eq!(
        acme.contact().email().map(|e| e.as_str()),
        Some("billing@acme.example")
    );
    assert_eq!(acme.contact().country(), None);
    assert_eq!(acme.contact().phone(), Some("+46 8 999"));
}

fn book() -> AccountBook {
    imported("key,name,currency\nacme,Acme,EUR\n", &AccountBook::new())
}

const SUBS: &str = "subscription_id,account_key,start,currency,product,model,price\n";

fn plan(csv: &str, existing: &[Subscription]) -> Result<Batch, ImportErrors> {
    plan_subscription_import(csv.as_bytes(), &book(), existing, &[])
}

fn put(batch: &Batch) -> Vec<Subscription> {
    batch
        .changes
        .iter()
        .filter_map(|c| match c {
            Change::PutSubscription { subscription } => Some(subscription.clone()),
            _ => None,
        })
        .collect()
}

#[test]
fn an_ended_subscription_stays_ended_on_reimport() {
    let csv = format!("{SUBS}s1,acme,2025-01-01,EUR,licence,flat_fee,100\n");
    let mut subs = put(&plan(&csv, &[]).unwrap());
    assert_eq!(subs[0].state(), SubscriptionState::Active);
    subs[0].end(date(2025, 4, 15)).unwrap();
    let again = put(&plan(&csv, &subs).unwrap());
    for s in &again {
        assert_eq!(s.state(), SubscriptionState::Ended, "{s:?}");
        assert_eq!(s.schedule().end(), Some(date(2025, 4, 15)));
    }
    // A file that says so still changes it.
    let said = "subscription_id,account_key,start,currency,product,model,price,state\n\
                s1,acme,2025-01-01,EUR,licence,flat_fee,100,active\n";
    let reopened = put(&plan(said, &subs).unwrap());
    assert_eq!(reopened[0].state(), SubscriptionState::Active);
}

#[test]
fn two_identical_subscription_rows_are_an_error_naming_both_lines() {
    let row = "s1,acme,2025-01-01,EUR,licence,flat_fee,100\n";
    let csv = format!("{SUBS}{row}{row}");
    let errors = plan(&csv, &[]).unwrap_err();
    let shown = errors.to_string();
    assert!(
        shown.contains("line 2") && shown.contains("line 3"),
        "{shown}"
    );
    assert!(shown.contains("licence"), "{shown}");
    let two_products = format!("{SUBS}{row}s1,acme,2025-01-01,EUR,support,flat_fee,50\n");
    let subs = put(&plan(&two_products, &[]).unwrap());
    assert_eq!(subs[0].items().len(), 2);
    assert_eq!(subs[0].items()[1].price.fixed_amount().unwrap(), dec!(50));
}

/// Subscription s1 of acme, active from 1 January: API calls at 1.00 each, in arrears.
fn api_calls_in_arrears() -> Subscription {
    active_monthly(
        "s1",
        "acme",
        BillingPractice::InArrears,
        Currency::EUR,
        vec![Item::usage(
            ProductId::new("api").unwrap(),
            MetricId::new("calls").unwrap(),
            PriceModel::PerUnit {
                unit_price: dec!(1),
            },
        )],
    )
}

/// Bills January's API calls (per unit 1.00) of `records` on 1 February.
fn january_calls(records: &[UsageRecord]) -> Money {
    let sub = api_calls_in_arrears();
    let metrics = [Metric {
        id: MetricId::new("calls").unwrap(),
        aggregation: Aggregation::Sum,
    }];
    let options = first_run_on(date(2025, 2, 1));
    let result =
        crate::billing_props::run_records(&book(), &[sub], &metrics, records, &options).unwrap();
    result.invoices[0].total()
}

#[test]
fn the_same_usage_file_imported_twice_bills_once() {
    // Two equal rows in one file are two records; the file imported twice is still two.
    let file = "account_key,metric,timestamp,quantity\n\
                acme,calls,2025-01-10T10:00:00Z,250\n\
                acme,calls,2025-01-10T10:00:00Z,250\n";
    let once = parse_usage(file.as_bytes(), &book()).unwrap();
    assert_eq!(
        january_calls(&once),
        Money::new(dec!(500.00), Currency::EUR)
    );
    let mut twice = once.clone();
    twice.extend(parse_usage(file.as_bytes(), &book()).unwrap());
    assert_eq!(
        january_calls(&twice),
        Money::new(dec!(500.00), Currency::EUR)
    );
    // Another file with the same row is new usage.
    let other = "account_key,metric,timestamp,quantity\nacme,calls,2025-01-10T10:00:00Z,250\n\n";
    twice.extend(parse_usage(other.as_bytes(), &book()).unwrap());
    assert_eq!(
        january_calls(&twice),
        Money::new(dec!(750.00), Currency::EUR)
    );
    // With record ids, ids decide.
    let with_ids = "account_key,metric,timestamp,quantity,record_id\n\
                    acme,calls,2025-01-10T10:00:00Z,250,r1\n";
    let mut sent = parse_usage(with_ids.as_bytes(), &book()).unwrap();
    sent.extend(parse_usage(with_ids.as_bytes(), &book()).unwrap());
    assert_eq!(
        january_calls(&sent),
        Money::new(dec!(250.00), Currency::EUR)
    );
}

#[test]
fn usage_for_days_already_billed_in_arrears_is_reported_where_it_enters() {
    let mut sub = api_calls_in_arrears();
    sub.record_billed(BilledThrough {
        in_advance: None,
        in_arrears: Some(date(2025, 2, 1)),
    });
    let file = "account_key,metric,timestamp,quantity\n\
                acme,calls,2025-01-20T10:00:00Z,30\n\
                acme,calls,2025-01-31T23:59:59Z,12\n\
                acme,calls,2025-02-01T00:00:00Z,99\n\
                acme,other,2025-01-05T00:00:00Z,5\n";
    let records = parse_usage(file.as_bytes(), &book()).unwrap();
    let late = late_usage(&records, &book(), &[sub]);
    assert_eq!(late.len(), 1, "{late:?}");
    assert_eq!(late[0].records, 2);
    assert_eq!(late[0].quantity, dec!(42));
    assert_eq!(late[0].first_day, date(2025, 1, 20));
    assert_eq!(late[0].billed_through, date(2025, 2, 1));
}
