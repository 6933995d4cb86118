//! An invoice's product view is made from its lines when first read: building the invoice
//! still refuses lines whose product sums overflow, reading the view later gives the sums
//! building it would have, and whether it was read takes no part in comparing invoices.

use std::collections::BTreeMap;

use plock_core::Invoice;
use plock_core::id::AccountId;
use plock_core::invoice::{Dispatch, InvoiceError, InvoiceLine};
use plock_core::money::{Currency, MoneyError};
use rust_decimal::{Decimal, dec};

use crate::fixtures::march_line as line;

fn invoice(lines: Vec<InvoiceLine>) -> Result<Invoice, InvoiceError> {
    Invoice::new(
        4,
        AccountId::new("a").unwrap(),
        Currency::EUR,
        lines,
        BTreeMap::new(),
        Dispatch::Ready,
    )
}

/// Each product's (product, quantity, amount) as the invoice gives them.
fn view(invoice: &Invoice) -> Vec<(String, Decimal, Decimal)> {
    invoice
        .products()
        .iter()
        .map(|p| (p.product.as_str().to_owned(), p.quantity, p.amount.amount()))
        .collect()
}

#[test]
fn a_product_quantity_that_overflows_is_refused_when_the_invoice_is_built() {
    // The amounts add up; one product's quantities do not.
    let lines = vec![
        line("p", Decimal::MAX, dec!(1.00)),
        line("p", Decimal::MAX, dec!(2.00)),
    ];
    let built = invoice(lines);
    assert!(
        matches!(
            built,
            Err(InvoiceError::Money {
                number: 4,
                source: MoneyError::Overflow {
                    operation: "quantity sum",
                    ..
                },
            })
        ),
        "{built:?}"
    );
}

#[test]
fn sums_near_the_limit_that_fit_are_made_and_read_exactly() {
    // Too large for the view to be left to its first read: made when built, the same sums.
    let big = Decimal::from_i128_with_scale(1 << 95, 0);
    let built = invoice(vec![
        line("p", big, dec!(1.00)),
        line("p", -big, dec!(2.50)),
        line("q", big, dec!(3.00)),
    ])
    .unwrap();
    assert_eq!(
        view(&built),
        vec![
            ("p".to_owned(), Decimal::ZERO, dec!(3.50)),
            ("q".to_owned(), big, dec!(3.00)),
        ]
    );
}

#[test]
fn reading_the_view_changes_neither_the_invoice_nor_its_stored_form() {
    let lines = || {
        vec![
            line("b", dec!(2), dec!(4.00)),
            line("a", dec!(1.5), dec!(1.50)),
            line("b", dec!(3), dec!(6.00)),
        ]
    };
    let (read, unread) = (invoice(lines()).unwrap(), invoice(lines()).unwrap());
    assert_eq!(
        view(&read),
        vec![
            ("a".to_owned(), dec!(1.5), dec!(1.50)),
            ("b".to_owned(), dec!(5), dec!(10.00)),
        ]
    );
    assert_eq!(read, unread);
    // The stored form holds the view whether or not it was read first.
    let (read_json, unread_json) = (
        serde_json::to_string(&read).unwrap(),
        serde_json::to_string(&unread).unwrap(),
    );
    assert_eq!(read_json, unread_json);
    assert!(unread_json.contains("\"products\":[{\"product\":\"a\""));
    let loaded: Invoice = serde_json::from_str(&unread_json).unwrap();
    assert_eq!(view(&loaded), view(&read));
}
