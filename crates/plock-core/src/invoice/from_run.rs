//! The invoice of a billing run's lines, built without the checks the run already makes.
//!
//! [`Invoice::new`] takes lines from anywhere: it checks each line's currency against the
//! invoice's, then sorts references to the lines by product for the product view. A run's
//! lines are in the invoice's currency by construction (the run drafts one invoice per owner
//! and currency, and prices each line in its subscription's currency), so here every sum is
//! added in one pass over the lines, on the amounts' mantissas as integers, and the few
//! products of an invoice are found by a short scan instead of a sort. The invoice is the one
//! [`Invoice::new`] builds from the same lines, errors included: debug builds build both and
//! compare them, and a property test compares them over random lines.

use std::collections::BTreeMap;

use crate::account::external::{ExternalId, ExternalSystem};
use crate::id::AccountId;
use crate::invoice::sums::ExactSum;
use crate::invoice::{
    Dispatch, Invoice, InvoiceError, InvoiceKind, InvoiceLine, ProductTotal, exact, product_total,
};
use crate::money::{Currency, Money};

/// Up to this many products an invoice's product view is gathered by a scan; past it, by
/// [`Invoice::new`]'s sort, whose cost does not grow with the products squared.
const SCANNED_PRODUCTS: usize = 32;

/// One product's sums while the lines are read: its first line, and its quantity and amount
/// added exactly, or `None` once the integers cannot be sure of `Decimal`'s result.
struct ProductSum {
    first: usize,
    sums: Option<(ExactSum, ExactSum)>,
}

impl Invoice {
    /// The invoice [`Invoice::new`] builds from `lines`, each of whose amounts is in
    /// `currency` (a billing run's guarantee, asserted in debug builds).
    ///
    /// # Errors
    /// No lines, or a sum past `Decimal`'s range: [`Invoice::new`]'s errors.
    pub(crate) fn from_run_lines(
        number: u64,
        owner: AccountId,
        currency: Currency,
        lines: Vec<InvoiceLine>,
        debtor_ids: BTreeMap<ExternalSystem, ExternalId>,
        dispatch: Dispatch,
    ) -> Result<Invoice, InvoiceError> {
        debug_assert!(lines.iter().all(|l| l.amount.currency() == currency));
        let Some(first) = lines.first() else {
            return Err(InvoiceError::NoLines { number });
        };
        let mut period = first.period;
        let mut total = Some(ExactSum::default());
        // Most invoices have a few products: one allocation, rarely grown.
        let mut products: Vec<ProductSum> = Vec::with_capacity(lines.len().min(8));
        for (at, line) in lines.iter().enumerate() {
            period = period.hull(&line.period);
            total = total.and_then(|mut t| t.add(line.amount.amount()).map(|()| t));
            let found = products.iter().rposition(|p| {
                lines
                    .get(p.first)
                    .is_some_and(|f| f.product == line.product)
            });
            let place = match found {
                Some(place) => place,
                None if products.len() < SCANNED_PRODUCTS => {
                    products.push(ProductSum {
                        first: at,
                        sums: Some((ExactSum::default(), ExactSum::default())),
                    });
                    products.len().saturating_sub(1)
                }
                None => return Invoice::new(number, owner, currency, lines, debtor_ids, dispatch),
            };
            let Some(product) = products.get_mut(place) else {
                continue;
            };
            product.sums = product.sums.and_then(|(mut quantity, mut amount)| {
                quantity.add(line.quantity)?;
                amount.add(line.amount.amount())?;
                Some((quantity, amount))
            });
        }
        let money = |source| InvoiceError::Money { number, source };
        let total = match total.and_then(|t| t.finish()) {
            Some(total) => Money::new(total, currency),
            None => Money::sum(currency, lines.iter().map(|l| l.amount)).map_err(money)?,
        };
        // In product order, so the first product whose sum fails is the one `Invoice::new`
        // reports.
        let product = |p: &ProductSum| lines.get(p.first).map(|l| &l.product);
        if !products.is_sorted_by(|a, b| product(a) <= product(b)) {
            products.sort_unstable_by(|a, b| product(a).cmp(&product(b)));
        }
        let mut totals = Vec::with_capacity(products.len());
        for p in &products {
            let Some(first) = lines.get(p.first) else {
                continue;
            };
            let exact = p.sums.and_then(|(q, a)| Some((q.finish()?, a.finish()?)));
            match exact {
                Some((quantity, amount)) => totals.push(ProductTotal {
                    product: first.product.clone(),
                    quantity,
                    amount: Money::new(amount, currency),
                }),
                None => {
                    let same = lines.iter().filter(|l| l.product == first.product);
                    totals.extend(product_total(number, currency, same)?);
                }
            }
        }
        let invoice = Invoice {
            number,
            kind: InvoiceKind::Billing,
            owner,
            currency,
            period,
            lines: exact(lines),
            total,
            products: totals.into_boxed_slice(),
            debtor_ids,
            dispatch,
            issued: None,
            due: None,
        };
        #[cfg(debug_assertions)]
        debug_assert_eq!(
            Invoice::new(
                number,
                invoice.owner.clone(),
                currency,
                invoice.lines.to_vec(),
                invoice.debtor_ids.clone(),
                invoice.dispatch.clone(),
            )
            .as_ref(),
            Ok(&invoice),
            "a run's invoice differs from the checked constructor's"
        );
        Ok(invoice)
    }

    /// The same invoice, dispatched as `dispatch` says: a run decides once the total is known.
    pub(crate) fn with_dispatch(mut self, dispatch: Dispatch) -> Invoice {
        self.dispatch = dispatch;
        self
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use chrono::NaiveDate;
    use proptest::prelude::*;
    use rust_decimal::Decimal;

    use crate::id::{AccountId, ProductId};
    use crate::invoice::{Dispatch, Invoice, InvoiceError, InvoiceLine, LineKind};
    use crate::money::{Currency, Money};
    use crate::period::Period;

    /// A line of `product` (one of a few), over a month of 2025, with `quantity` and `amount`.
    fn line(product: u8, month: u32, quantity: Decimal, amount: Decimal) -> InvoiceLine {
        let start = NaiveDate::from_ymd_opt(2025, month, 1).unwrap();
        let end = NaiveDate::from_ymd_opt(2025, month + 1, 1).unwrap();
        InvoiceLine {
            product: ProductId::new(format!("product-{product}")).unwrap(),
            metric: None,
            source_account: AccountId::new("acme").unwrap(),
            subscription: None,
            period: Period::new(start, end).unwrap(),
            quantity,
            unit_price: None,
            rebate_percent: None,
            amount: Money::new(amount, Currency::EUR),
            kind: LineKind::InArrears,
        }
    }

    /// Both constructors on the same lines.
    fn check_same(lines: Vec<InvoiceLine>) -> Result<(), TestCaseError> {
        let build = |f: fn(
            u64,
            AccountId,
            Currency,
            Vec<InvoiceLine>,
            BTreeMap<_, _>,
            Dispatch,
        ) -> Result<Invoice, InvoiceError>,
                     lines: Vec<InvoiceLine>| {
            f(
                9,
                AccountId::new("acme").unwrap(),
                Currency::EUR,
                lines,
                BTreeMap::new(),
                Dispatch::Ready,
            )
        };
        let run = build(Invoice::from_run_lines, lines.clone());
        let checked = build(Invoice::new, lines);
        prop_assert_eq!(&run, &checked);
        if let Ok(invoice) = run {
            // The text too: a sum's scale is part of what is stored and shown.
            let text = |i: &Invoice| {
                let products: Vec<String> = i
                    .products()
                    .iter()
                    .map(|p| format!("{} {} {}", p.product, p.quantity, p.amount.amount()))
                    .collect();
                (i.total().amount().to_string(), products)
            };
            prop_assert_eq!(text(&invoice), text(checked.as_ref().unwrap()));
            prop_assert!(invoice.check_invariants().is_ok());
        }
        Ok(())
    }

    fn decimal() -> impl Strategy<Value = Decimal> {
        prop_oneof![
            // Zeros of any scale, and amounts that cancel.
            (-2i64..=2, 0u32..=3).prop_map(|(m, s)| Decimal::new(m, s)),
            (-100_000i64..100_000, 0u32..=4).prop_map(|(m, s)| Decimal::new(m, s)),
            // Near the limit: the integer sums give way to Decimal's, errors included.
            (any::<bool>(), 0u32..=2).prop_map(|(negative, s)| Decimal::from_parts(
                u32::MAX,
                u32::MAX,
                u32::MAX,
                negative,
                s
            )),
        ]
    }

    proptest! {
        /// The run's constructor builds the checked constructor's invoice: total, products in
        /// order, scales and errors.
        #[test]
        fn run_lines_build_the_checked_invoice(
            lines in prop::collection::vec((0u8..6, 1u32..=11, decimal(), decimal()), 0..40),
        ) {
            check_same(lines.into_iter().map(|(p, m, q, a)| line(p, m, q, a)).collect())?;
        }
    }

    #[test]
    fn many_products_take_the_sorting_path() {
        let lines: Vec<InvoiceLine> = (0..40u8)
            .rev()
            .map(|p| line(p, 3, Decimal::new(i64::from(p), 1), Decimal::new(150, 2)))
            .collect();
        check_same(lines).unwrap();
    }
}
