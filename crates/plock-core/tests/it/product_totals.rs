//! An invoice's product totals are each product's lines added from zero, to the scale:
//! a product with one line (most of a run's) included, zeros and all.

use std::collections::BTreeMap;

use plock_core::Invoice;
use plock_core::id::AccountId;
use plock_core::invoice::{Dispatch, InvoiceLine};
use plock_core::money::Currency;
use rust_decimal::{Decimal, dec};

use crate::fixtures::march_line as line;

/// A decimal's mantissa, scale and sign: what its text shows, and the sign of a zero too.
fn exact(d: Decimal) -> String {
    format!("{} {} {}", d.mantissa(), d.scale(), d.is_sign_negative())
}

/// Each product's (quantity, amount) exactly: `Decimal::ZERO` plus each line in turn.
fn folded(lines: &[InvoiceLine]) -> Vec<(String, String, String)> {
    let mut by_product: BTreeMap<String, (Decimal, Decimal)> = BTreeMap::new();
    for l in lines {
        let sums = by_product
            .entry(l.product.as_str().to_owned())
            .or_insert((Decimal::ZERO, Decimal::ZERO));
        sums.0 = sums.0.checked_add(l.quantity).unwrap();
        sums.1 = sums.1.checked_add(l.amount.amount()).unwrap();
    }
    by_product
        .into_iter()
        .map(|(p, (q, a))| (p, exact(q), exact(a)))
        .collect()
}

fn check(lines: Vec<InvoiceLine>) {
    let expected = folded(&lines);
    let invoice = Invoice::new(
        1,
        AccountId::new("a").unwrap(),
        Currency::EUR,
        lines,
        BTreeMap::new(),
        Dispatch::Ready,
    )
    .unwrap();
    let got: Vec<(String, String, String)> = invoice
        .products()
        .iter()
        .map(|p| {
            (
                p.product.as_str().to_owned(),
                exact(p.quantity),
                exact(p.amount.amount()),
            )
        })
        .collect();
    assert_eq!(got, expected);
}

#[test]
fn one_line_products_total_as_added_from_zero() {
    // Zero quantities and amounts at a scale: zero plus them is not them.
    check(vec![
        line("a", dec!(0.000), dec!(5.00)),
        line("b", dec!(2.5), dec!(0.00)),
        line("c", dec!(1.250), dec!(3.10)),
        line("d", dec!(-0.00), dec!(-0.00)),
    ]);
    // Products out of order, one of them with two lines.
    check(vec![
        line("z", dec!(1), dec!(0.00)),
        line("b", dec!(0.0), dec!(1.00)),
        line("z", dec!(2.00), dec!(1.50)),
    ]);
}
