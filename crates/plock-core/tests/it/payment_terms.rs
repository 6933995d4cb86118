//! A due date from payment terms: a run's invoice is due on its issue date plus its owner's
//! payment terms (30 days unless the account says otherwise), in the invoice, its JSON and
//! the Fortnox payload's DueDate.

use plock_core::account::*;
use plock_core::billing::*;
use plock_core::book::*;
use plock_core::erp::{ErpPayload, export_to_erp};
use plock_core::id::*;
use plock_core::money::*;
use plock_core::store::{Change, apply_to_book};
use plock_core::subscription::*;
use plock_core::usage::*;
use rust_decimal::dec;

use crate::fixtures::{active_monthly, date, first_run_on, sek_account};

fn bill(book: &AccountBook) -> BillingRun {
    let mut subscriptions = Vec::new();
    for account in book.iter() {
        let sub = active_monthly(
            &format!("sub-{}", account.id()),
            account.id().as_str(),
            BillingPractice::InAdvance,
            Currency::SEK,
            vec![Item::flat_fee(
                ProductId::new("licence").unwrap(),
                dec!(100.00),
                dec!(1),
            )],
        );
        subscriptions.push(sub);
    }
    let usage = UsageTable::default();
    let data = CompanyData {
        accounts: book,
        subscriptions: &subscriptions,
        metrics: &[],
        usage: &usage,
        billed_usage: &[],
    };
    let options = first_run_on(date(2025, 2, 1));
    run(&data, &options).unwrap()
}

/// Accounts `default`, on the default terms, and `net10`, due 10 days after issue.
fn book() -> AccountBook {
    let mut book = AccountBook::new();
    for name in ["default", "net10"] {
        book.add(sek_account(name, name)).unwrap();
    }
    apply_to_book(
        &mut book,
        0,
        &Change::SetPaymentTerms {
            id: AccountId::new("net10").unwrap(),
            terms: PaymentTerms::new(10).unwrap(),
        },
    )
    .unwrap();
    book
}

#[test]
fn an_invoice_is_due_its_owners_payment_terms_after_issue() {
    let book = book();
    let result = bill(&book);
    let due: Vec<(String, Option<chrono::NaiveDate>)> = result
        .invoices
        .iter()
        .map(|i| (i.owner().to_string(), i.due()))
        .collect();
    assert_eq!(
        due,
        [
            ("default".to_owned(), Some(date(2025, 3, 3))),
            ("net10".to_owned(), Some(date(2025, 2, 11))),
        ]
    );
    // In the invoice's JSON, and back.
    let invoice = &result.invoices[1];
    let json = serde_json::to_value(invoice).unwrap();
    assert_eq!(json["due"], "2025-02-11");
    let back: plock_core::invoice::Invoice = serde_json::from_value(json).unwrap();
    assert_eq!(&back, invoice);
}

#[test]
fn the_fortnox_payload_carries_the_due_date() {
    let mut book = book();
    for account in ["default", "net10"] {
        apply_to_book(
            &mut book,
            0,
            &Change::SetExternalId {
                id: AccountId::new(account).unwrap(),
                system: ExternalSystem::Fortnox,
                external_id: ExternalId::new(&format!("F-{account}")).unwrap(),
            },
        )
        .unwrap();
    }
    let result = bill(&book);
    let export = export_to_erp(&result.invoices, &ExternalSystem::Fortnox);
    let dates: Vec<(String, Option<String>)> = export
        .payloads
        .iter()
        .map(|p| match p {
            ErpPayload::Fortnox { invoice, .. } => {
                (invoice.invoice_date.clone(), invoice.due_date.clone())
            }
            ErpPayload::Generic(_) => panic!("Fortnox was asked for"),
        })
        .collect();
    assert_eq!(
        dates,
        [
            ("2025-02-01".to_owned(), Some("2025-03-03".to_owned())),
            ("2025-02-01".to_owned(), Some("2025-02-11".to_owned())),
        ]
    );
    let json = serde_json::to_string(&export.payloads[1]).unwrap();
    assert!(json.contains(r#""DueDate":"2025-02-11""#), "{json}");
}

/// Applies an accounts CSV to `book`.
fn import(book: &mut AccountBook, csv: &str) -> usize {
    let today = date(2025, 1, 1);
    let batch = plock_core::import::plan_account_import(csv.as_bytes(), book, today).unwrap();
    for (i, change) in batch.changes.iter().enumerate() {
        apply_to_book(book, i, change).unwrap();
    }
    batch.changes.len()
}

fn terms_of(book: &AccountBook, key: &str) -> u16 {
    book.by_key(&AccountKey::new(key).unwrap())
        .unwrap()
        .payment_terms()
        .days()
}

#[test]
fn the_accounts_csv_carries_payment_terms_through_an_export_and_back() {
    let mut book = AccountBook::new();
    import(
        &mut book,
        "key,name,currency,payment_terms\nnet10,Net Ten,SEK,10\ndefault,Default,SEK,\n",
    );
    assert_eq!(
        (terms_of(&book, "net10"), terms_of(&book, "default")),
        (10, 30)
    );

    // The export writes them; importing it into an empty book gives the same accounts, and
    // into the same book changes nothing.
    let exported = plock_core::import::export_accounts(&book);
    let header = exported.lines().next().unwrap();
    assert!(
        header.split(',').any(|c| c == "payment_terms"),
        "{exported}"
    );
    let mut copy = AccountBook::new();
    import(&mut copy, &exported);
    assert_eq!(plock_core::import::export_accounts(&copy), exported);
    assert_eq!(terms_of(&copy, "net10"), 10);
    assert_eq!(import(&mut book, &exported), 0, "{exported}");

    // An invoice's due date follows the imported terms.
    let due: Vec<(String, Option<chrono::NaiveDate>)> = bill(&copy)
        .invoices
        .iter()
        .map(|i| (i.owner().to_string(), i.due()))
        .collect();
    assert_eq!(
        due,
        [
            ("default".to_owned(), Some(date(2025, 3, 3))),
            ("net10".to_owned(), Some(date(2025, 2, 11))),
        ]
    );
}

#[test]
fn an_accounts_reimport_keeps_payment_terms_on_an_empty_cell_and_resets_them_on_the_clear_token() {
    let mut book = AccountBook::new();
    import(
        &mut book,
        "key,name,currency,payment_terms\nacme,Acme,SEK,14\n",
    );
    // Without the column, or with an empty cell: kept.
    assert_eq!(import(&mut book, "key,name,currency\nacme,Acme,SEK\n"), 0);
    import(
        &mut book,
        "key,name,currency,payment_terms\nacme,Acme,SEK,\n",
    );
    assert_eq!(terms_of(&book, "acme"), 14);
    // A new value replaces them; the clear token resets them to the default.
    import(
        &mut book,
        "key,name,currency,payment_terms\nacme,Acme,SEK,45\n",
    );
    assert_eq!(terms_of(&book, "acme"), 45);
    let clear = format!(
        "key,name,currency,payment_terms\nacme,Acme,SEK,{}\n",
        plock_core::import::CLEAR_CELL
    );
    import(&mut book, &clear);
    assert_eq!(terms_of(&book, "acme"), PaymentTerms::DEFAULT.days());
}

#[test]
fn an_accounts_csv_refuses_payment_terms_past_a_year_or_not_whole_days() {
    let bad = "key,name,currency,payment_terms\ncorp,Corp,SEK,366\ndelta,Delta,SEK,1.5\n";
    let today = date(2025, 1, 1);
    let errors =
        plock_core::import::plan_account_import(bad.as_bytes(), &AccountBook::new(), today)
            .unwrap_err();
    let found: Vec<(u64, String, String)> = errors
        .errors()
        .iter()
        .map(|e| (e.line, e.column.clone(), e.value.clone()))
        .collect();
    assert_eq!(
        found,
        [
            (2, "payment_terms".to_owned(), "366".to_owned()),
            (3, "payment_terms".to_owned(), "1.5".to_owned()),
        ]
    );
}
