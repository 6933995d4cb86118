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
        let mut products: Vec<ProductSum> = Vec::new();
        for (at, line) in lines.iter().enumerate() {
            period = period.hull(&line.period);
            total = total.and_then(|mut t| t.add(line.amount.amount()).map(|()| t));
            let found = products
                .iter()
                .rposition(|p| lines.get(p.first).is_some_and(|f| f.product == line.product));
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
        totals.sort_unstable_by(|a, b| a.product.cmp(&b.product));
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
