//! Rules that were wrong without an error: combined tag filters, the invoice date sent to the
//! ERP, the closed list of countries, an export that imports back exactly, keys that look
//! like what they are, and errors that repeat at most 100 characters of a value.

use plock_core::account::*;
use plock_core::book::*;
use plock_core::bounds::*;
use plock_core::erp::*;
use plock_core::id::*;
use plock_core::import::*;
use plock_core::invoice::*;
use plock_core::money::*;
use plock_core::pricing::*;
use plock_core::store::*;
use plock_core::usage::*;

use crate::billing_props::run_records;
use crate::billing_scenario::company;
use crate::fixtures::{date, first_run_on};

#[test]
fn fortnox_invoice_date_is_the_run_date_not_the_period_start() {
    let c = company();
    let options = first_run_on(date(2025, 2, 1));
    let invoices = run_records(&c.book, &c.subscriptions, &c.metrics, &c.usage, &options)
        .unwrap()
        .invoices;
    assert!(
        invoices
            .iter()
            .any(|i| i.period().start() < date(2025, 2, 1))
    );
    assert!(
        invoices
            .iter()
            .all(|i| i.issued() == Some(date(2025, 2, 1)))
    );
    let export = export_to_erp(&invoices, &ExternalSystem::Fortnox);
    assert!(!export.payloads.is_empty());
    for payload in &export.payloads {
        let ErpPayload::Fortnox { invoice, .. } = payload else {
            panic!("not a Fortnox payload: {payload:?}");
        };
        assert_eq!(invoice.invoice_date, "2025-02-01");
    }
    // The issue date is stored with the invoice.
    let json = serde_json::to_string(&invoices[0]).unwrap();
    let back: Invoice = serde_json::from_str(&json).unwrap();
    assert_eq!(back.issued(), Some(date(2025, 2, 1)));
}

#[test]
fn countries_come_from_the_iso_3166_list() {
    for code in ["XX", "ZZ", "QQ", "AA", "UK"] {
        assert!(Country::new(code).is_err(), "{code} accepted");
    }
    for code in ["SE", "fi", " no "] {
        assert!(Country::new(code).is_ok(), "{code} refused");
    }
}

#[test]
fn an_exported_value_beginning_with_a_quote_imports_back_as_it_was() {
    let mut book = AccountBook::new();
    for key in ["'=key2", "''x", "'plain", "=formula"] {
        book.add(Account::new(
            AccountId::new(key).unwrap(),
            AccountKey::new(key).unwrap(),
            AccountName::new("'quoted name").unwrap(),
            Contact::default(),
            Currency::EUR,
            date(2025, 1, 1),
        ))
        .unwrap();
    }
    let csv = export_accounts(&book);
    let batch = plan_account_import(csv.as_bytes(), &book, date(2025, 2, 1)).unwrap();
    assert!(
        batch.changes.is_empty(),
        "re-importing plock's own export changed {batch:?}"
    );
    let fresh = plan_account_import(csv.as_bytes(), &AccountBook::new(), date(2025, 2, 1)).unwrap();
    let mut imported = AccountBook::new();
    for (i, change) in fresh.changes.iter().enumerate() {
        apply_to_book(&mut imported, i, change).unwrap();
    }
    assert_eq!(imported, book);
}

#[test]
fn a_quantity_or_price_that_could_overflow_a_run_is_refused_where_it_enters() {
    use chrono::{TimeZone, Utc};
    use rust_decimal::Decimal;
    let huge = Decimal::MAX; // 79228162514264337593543950335
    let at = Utc.with_ymd_and_hms(2025, 1, 5, 0, 0, 0).unwrap();
    let record = |q| {
        UsageRecord::new(
            AccountKey::new("acme").unwrap(),
            MetricId::new("calls").unwrap(),
            at,
            q,
            None,
        )
    };
    assert!(matches!(
        record(huge),
        Err(UsageError::QuantityTooLarge { .. })
    ));
    assert!(record(MAX_QUANTITY).is_ok());
    let fee = |fee: Decimal| {
        PriceModel::FlatFee {
            fee,
            quantity: Decimal::ONE,
        }
        .validate()
    };
    assert!(fee("4e28".parse::<Decimal>().unwrap_or(huge)).is_err());
    assert!(fee(MAX_PRICE).is_ok());
    assert!(
        Tiers::new(vec![
            Tier::unit(Some(huge), Decimal::ONE),
            Tier::unit(None, Decimal::ONE)
        ])
        .is_err()
    );
    // The CSV import names the row and the column.
    let mut book = AccountBook::new();
    book.add(crate::fixtures::eur_account("acme", "Acme"))
        .unwrap();
    let csv = "account_key,metric,timestamp,quantity\nacme,calls,2025-01-05,79228162514264337593543950335\n";
    let errors = parse_usage(csv.as_bytes(), &book).unwrap_err();
    let shown = errors.to_string();
    assert!(
        shown.contains("quantity") && shown.contains("largest quantity"),
        "{shown}"
    );
    // The largest values priced together fit: no overflow in a run.
    let priced = PriceModel::PerUnit {
        unit_price: MAX_PRICE,
    }
    .usage_amount(MAX_QUANTITY);
    assert!(priced.is_ok());
}

/// Keys that look alike must be alike: an accounts file whose keys hold a control, a
/// zero-width or a bidirectional-override character is refused, cell by cell; letters of any
/// script are welcome.
#[test]
fn keys_refuse_control_zero_width_and_bidirectional_override_characters_where_they_enter() {
    let csv = "key,name,currency\nkey\u{200B}2,Zero width,SEK\n\u{202E}2yek,Override,SEK\n\
               \"key\u{7}bell\",Control,SEK\ntandläkare-سلام,Welcome,SEK\n";
    let errors =
        plan_account_import(csv.as_bytes(), &AccountBook::new(), date(2025, 1, 1)).unwrap_err();
    let refused: Vec<(u64, &str)> = errors
        .errors()
        .iter()
        .map(|e| (e.line, e.column.as_str()))
        .collect();
    assert_eq!(refused, [(2, "key"), (3, "key"), (4, "key")], "{errors}");
    let fine = "key,name,currency\ntandläkare-سلام,Welcome,SEK\n";
    assert!(plan_account_import(fine.as_bytes(), &AccountBook::new(), date(2025, 1, 1)).is_ok());
}

/// A 5 MB cell is refused with at most 100 characters of it, so the message stays short (a
/// 50 MB cell once gave a 52 MB message).
#[test]
fn an_error_shows_at_most_100_characters_of_a_huge_value() {
    let huge = "x".repeat(5_000_000);
    let csv = format!("key,name,currency\nacme,{huge},SEK\n");
    let errors =
        plan_account_import(csv.as_bytes(), &AccountBook::new(), date(2025, 1, 1)).unwrap_err();
    let error = &errors.errors()[0];
    assert_eq!(error.column, "name");
    assert!(
        error.value == format!("{}...", "x".repeat(100)),
        "{} bytes of value",
        error.value.len()
    );
    let message = errors.to_string();
    assert!(message.len() < 400, "{} bytes of message", message.len());
}
