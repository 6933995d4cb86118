//! An invoice's per-product view: each product's quantity and amount, the sums of its lines.
//!
//! A billing run makes hundreds of thousands of invoices whose products are nearly one a
//! line, and many callers of a run read only the lines and the totals: the view is made from
//! the lines the first time it is read. Building the invoice still proves that making it
//! cannot fail (every sum stays far below `Decimal`'s limit), or makes it at once and returns
//! its error, so reading it later never fails and gives the sums building it would have.

use std::sync::OnceLock;

use rust_decimal::Decimal;

use crate::invoice::sums;
use crate::invoice::{InvoiceError, InvoiceLine, ProductTotal};
use crate::money::{Currency, Money, MoneyError};

/// The product view of an invoice, made when first read. Two invoices with equal lines have
/// equal views, so the view takes no part in comparing invoices.
#[derive(Clone, Default)]
pub(super) struct Products(OnceLock<Box<[ProductTotal]>>);

impl PartialEq for Products {
    fn eq(&self, _: &Products) -> bool {
        // Made from the lines, which the invoice compares.
        true
    }
}

impl Eq for Products {}

impl std::fmt::Debug for Products {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.0.get() {
            Some(products) => products.fmt(f),
            None => f.write_str("(made from the lines when read)"),
        }
    }
}

/// Below this, a sum of mantissas bounds every partial sum of the values (their scales are
/// not negative) with room for `Decimal`'s rounding: no product's sum can overflow.
const SAFE_MANTISSA_SUM: u128 = 1 << 95;

impl Products {
    /// The view of `lines` (all in `currency`), left to be made when read when no sum can
    /// fail; otherwise made now.
    ///
    /// # Errors
    /// A product's quantity or amount that overflows, as adding its lines one by one does.
    pub(super) fn of(
        number: u64,
        currency: Currency,
        lines: &[InvoiceLine],
    ) -> Result<Products, InvoiceError> {
        let mut bound = (0u128, 0u128);
        for l in lines {
            bound.0 = bound.0.saturating_add(l.quantity.mantissa().unsigned_abs());
            bound.1 = bound
                .1
                .saturating_add(l.amount.amount().mantissa().unsigned_abs());
        }
        let in_currency = lines.iter().all(|l| l.amount.currency() == currency);
        if in_currency && bound.0 < SAFE_MANTISSA_SUM && bound.1 < SAFE_MANTISSA_SUM {
            return Ok(Products::default());
        }
        Ok(Products(OnceLock::from(
            totals(number, currency, lines)?.into_boxed_slice(),
        )))
    }

    /// The view of the invoice `number` whose lines are `lines`: made now if not yet.
    pub(super) fn get(
        &self,
        number: u64,
        currency: Currency,
        lines: &[InvoiceLine],
    ) -> &[ProductTotal] {
        // `of` made the view of any lines whose sums could fail: these cannot.
        self.0.get_or_init(|| {
            totals(number, currency, lines)
                .unwrap_or_default()
                .into_boxed_slice()
        })
    }
}

/// Each product's total, in product order, each added in line order: the sums (and an
/// overflow's operands) are those of adding line by line. Lines often come in product order;
/// otherwise a stable sort of references allocates once, where a map allocated a node per
/// product. The products are counted first, so their vector is allocated once, exact.
fn totals(
    number: u64,
    currency: Currency,
    lines: &[InvoiceLine],
) -> Result<Vec<ProductTotal>, InvoiceError> {
    if let Some(count) = sorted_products(lines) {
        let mut products = Vec::with_capacity(count);
        for same in lines.chunk_by(|a, b| a.product == b.product) {
            products.extend(match same {
                [line] => single_total(number, currency, line)?,
                _ => product_total(number, currency, same.iter())?,
            });
        }
        return Ok(products);
    }
    let mut by_product: Vec<&InvoiceLine> = lines.iter().collect();
    by_product.sort_by(|a, b| a.product.cmp(&b.product));
    let same = || by_product.chunk_by(|a, b| a.product == b.product);
    let mut products = Vec::with_capacity(same().count());
    for same in same() {
        products.extend(match same {
            [line] => single_total(number, currency, line)?,
            _ => product_total(number, currency, same.iter().copied())?,
        });
    }
    Ok(products)
}

/// The total of one product's lines (all of the same product), added line by line; `None`
/// for no lines.
fn product_total<'l>(
    number: u64,
    currency: Currency,
    same: impl Iterator<Item = &'l InvoiceLine> + Clone,
) -> Result<Option<ProductTotal>, InvoiceError> {
    let money = |source| InvoiceError::Money { number, source };
    let mut same = same.peekable();
    let Some(first) = same.peek().copied() else {
        return Ok(None);
    };
    // Added as integers where that is exact; otherwise line by line, for the same sums and
    // the same error.
    let fast = same.clone().all(|l| l.amount.currency() == currency);
    let quantity = fast.then(|| sums::exact_sum(same.clone().map(|l| l.quantity)));
    let amount = fast.then(|| sums::exact_sum(same.clone().map(|l| l.amount.amount())));
    if let (Some(Some(quantity)), Some(Some(amount))) = (quantity, amount) {
        return Ok(Some(ProductTotal {
            product: first.product.clone(),
            quantity,
            amount: Money::new(amount, currency),
        }));
    }
    let (mut quantity, mut amount) = (Decimal::ZERO, Money::zero(currency));
    for line in same {
        quantity = quantity.checked_add(line.quantity).ok_or_else(|| {
            money(MoneyError::Overflow {
                operation: "quantity sum",
                left: quantity,
                right: line.quantity,
            })
        })?;
        amount = amount.checked_add(line.amount).map_err(money)?;
    }
    Ok(Some(ProductTotal {
        product: first.product.clone(),
        quantity,
        amount,
    }))
}

/// The total of a product with one line (most of a run's products): the line's quantity and
/// amount themselves when neither is zero, as zero plus one value is that value; otherwise
/// as [`product_total`] adds them.
fn single_total(
    number: u64,
    currency: Currency,
    line: &InvoiceLine,
) -> Result<Option<ProductTotal>, InvoiceError> {
    if line.amount.currency() == currency
        && !line.quantity.is_zero()
        && !line.amount.amount().is_zero()
    {
        return Ok(Some(ProductTotal {
            product: line.product.clone(),
            quantity: line.quantity,
            amount: line.amount,
        }));
    }
    product_total(number, currency, std::iter::once(line))
}

/// How many products `lines` has, when they are in product order: one comparison a pair of
/// neighbours tells both.
fn sorted_products(lines: &[InvoiceLine]) -> Option<usize> {
    let mut count = usize::from(!lines.is_empty());
    for pair in lines.windows(2) {
        if let [a, b] = pair {
            match a.product.cmp(&b.product) {
                std::cmp::Ordering::Less => count = count.saturating_add(1),
                std::cmp::Ordering::Equal => {}
                std::cmp::Ordering::Greater => return None,
            }
        }
    }
    Some(count)
}
