//! Invoices: what a billing run produces. An invoice's total is the sum of its rounded lines,
//! checked when it is built and again when it is loaded.
//!
//! Each [`InvoiceLine`] says what was charged, from which account, for which period, and its
//! amount, rounded once; [`Invoice::products`] sums the lines per product. Besides the invoices
//! of a billing run, this module makes one-off charges ([`one_off`]), credits of earlier invoices
//! ([`credit`]) and compensations for a change inside a billed period ([`compensation`]).
//!
//! ```
//! use chrono::NaiveDate;
//! use plock_core::account::{Account, AccountName, Contact};
//! use plock_core::id::{AccountId, AccountKey, ProductId};
//! use plock_core::invoice::{CreditRequest, InvoiceKind, LineKind, OneOffLine, credit, one_off};
//! use plock_core::money::{Currency, Money};
//! use rust_decimal::dec;
//!
//! let on = NaiveDate::from_ymd_opt(2025, 3, 14).ok_or("no such date")?;
//! let account = Account::new(AccountId::new("globex")?, AccountKey::new("globex")?, AccountName::new("Globex")?, Contact::default(), Currency::EUR, on);
//! let lines = [
//!     OneOffLine { product: ProductId::new("onboarding")?, quantity: dec!(6), unit_price: dec!(120.00) },
//!     OneOffLine { product: ProductId::new("training")?, quantity: dec!(1), unit_price: dec!(450.00) },
//! ];
//! let invoice = one_off(17, &account, on, &lines)?;
//! assert_eq!(invoice.total(), Money::new(dec!(1170.00), Currency::EUR));
//! assert!(invoice.lines().iter().all(|l| l.kind == LineKind::OneOff));
//!
//! // Crediting it in full: the same lines, negative.
//! let reversal = credit(18, &invoice, &[], &CreditRequest::Full)?;
//! assert_eq!(reversal.kind(), InvoiceKind::Credit { of: 17 });
//! assert_eq!(reversal.total(), Money::new(dec!(-1170.00), Currency::EUR));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub(crate) mod kinds;
mod products;
mod stored;
mod sums;

pub use kinds::{
    Accrual, CreditRequest, KindError, OneOffLine, accrual_schedule, compensation, credit, one_off,
    remaining_to_credit,
};
pub use stored::WithoutProducts;

use std::collections::BTreeMap;

use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::account::external::{ExternalId, ExternalSystem};
use crate::id::{AccountId, MetricId, ProductId, SubscriptionId};
use crate::money::{Currency, Money, MoneyError};
use crate::period::Period;

/// What a charge is, as printed on its line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LineKind {
    /// A fixed fee for a period, invoiced at its start.
    InAdvance,
    /// A fixed fee or usage for a period, invoiced at its end.
    InArrears,
    /// Units above a minimum commitment.
    Overage,
    /// A fixed fee for part of a period.
    Proration,
    /// An ad-hoc charge outside any subscription.
    OneOff,
    /// A reversal of (part of) an earlier invoice's line: a negative amount.
    Credit,
    /// A change inside an already invoiced period: the old rate credited, the new charged.
    Compensation,
    /// Usage that arrived after its period was billed: the period rated again with all its
    /// usage, less what was billed for it.
    LateUsage,
}

/// One line of an invoice.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InvoiceLine {
    /// The product: the item it prices, within its subscription.
    pub product: ProductId,
    /// The metric, for a line priced from usage.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metric: Option<MetricId>,
    /// The account the charge comes from (a child's, on a consolidated invoice).
    pub source_account: AccountId,
    /// The subscription, for charges of one (none for a one-off charge).
    pub subscription: Option<SubscriptionId>,
    /// The period the charge covers.
    pub period: Period,
    /// Quantity (licences, units used, units above the commitment).
    #[serde(serialize_with = "crate::money::text::serialize")]
    pub quantity: Decimal,
    /// The unit price, where the price model has one.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        serialize_with = "crate::money::text::serialize_option"
    )]
    pub unit_price: Option<Decimal>,
    /// The rebate applied, in percent.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        serialize_with = "crate::money::text::serialize_option"
    )]
    pub rebate_percent: Option<Decimal>,
    /// The amount, computed exactly and rounded once to the currency's minor units.
    pub amount: Money,
    /// What the charge is.
    pub kind: LineKind,
}

/// Per product, what all members of an invoice used and pay.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProductTotal {
    /// The product.
    pub product: ProductId,
    /// Total quantity across lines.
    #[serde(serialize_with = "crate::money::text::serialize")]
    pub quantity: Decimal,
    /// Total amount across lines.
    pub amount: Money,
}

/// The sum of `lines`' amounts in `currency`: added as integers where that is exact,
/// otherwise as [`Money::sum`] adds them, with its errors.
fn lines_total(currency: Currency, lines: &[InvoiceLine]) -> Result<Money, MoneyError> {
    if lines.iter().all(|l| l.amount.currency() == currency)
        && let Some(total) = sums::exact_sum(lines.iter().map(|l| l.amount.amount()))
    {
        return Ok(Money::new(total, currency));
    }
    Money::sum(currency, lines.iter().map(|l| l.amount))
}

/// The items of `items` in an allocation of exactly their size. `Vec::into_boxed_slice` would
/// shrink in place, but allocators may keep the whole block for a shrink (mimalloc does, down
/// to half), so a vector with spare room is copied once into a new one.
fn exact<T>(mut items: Vec<T>) -> Box<[T]> {
    if items.capacity() > items.len() {
        let mut exact = Vec::with_capacity(items.len());
        exact.append(&mut items);
        items = exact;
    }
    items.into_boxed_slice()
}

/// What an invoice is for.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "type")]
pub enum InvoiceKind {
    /// Produced by a billing run.
    #[default]
    Billing,
    /// An ad-hoc charge.
    OneOff,
    /// Reverses all or part of invoice `of`.
    Credit {
        /// The invoice credited.
        of: u64,
    },
    /// Corrects a change inside a period invoice `of` already billed.
    Compensation {
        /// The invoice corrected.
        of: u64,
    },
}

/// Why an invoice is held back from dispatch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "reason")]
pub enum HoldReason {
    /// The total is below a subscription's minimum invoice amount.
    BelowMinimum {
        /// The minimum.
        minimum: Decimal,
        /// The invoice total.
        total: Decimal,
    },
    /// The owner has no debtor id in the target ERP.
    NoDebtorId {
        /// The ERP.
        erp: ExternalSystem,
    },
}

/// Whether an invoice may be sent to the accounting system.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "status")]
pub enum Dispatch {
    /// Ready to dispatch.
    Ready,
    /// Produced, but not to be dispatched.
    Held {
        /// Why.
        reasons: Vec<HoldReason>,
    },
}

/// Why an invoice could not be built or loaded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvoiceError {
    /// An invoice has at least one line.
    #[error("invoice {number} has no lines")]
    NoLines {
        /// The invoice number.
        number: u64,
    },
    /// A line's currency is not the invoice's, or the sum overflowed.
    #[error("invoice {number}: {source}")]
    Money {
        /// The invoice number.
        number: u64,
        /// The money error.
        source: MoneyError,
    },
    /// A stored invoice whose total is not the sum of its lines.
    #[error("invoice {number}: total {total} is not the sum of its lines {sum}")]
    TotalMismatch {
        /// The invoice number.
        number: u64,
        /// The stored total.
        total: Money,
        /// The sum of the lines.
        sum: Money,
    },
}

/// An invoice to one owner in one currency.
///
/// Invoices come from a billing run, or from [`one_off`], [`credit`] and [`compensation`]; a
/// stored invoice is checked again when it is read:
///
/// ```
/// use chrono::NaiveDate;
/// use plock_core::Invoice;
/// use plock_core::account::{Account, AccountName, Contact};
/// use plock_core::id::{AccountId, AccountKey, ProductId};
/// use plock_core::invoice::{OneOffLine, one_off};
/// use plock_core::money::Currency;
/// use rust_decimal::dec;
///
/// let on = NaiveDate::from_ymd_opt(2025, 3, 14).ok_or("no such date")?;
/// let account = Account::new(AccountId::new("globex")?, AccountKey::new("globex")?, AccountName::new("Globex")?, Contact::default(), Currency::EUR, on);
/// let line = OneOffLine { product: ProductId::new("workshop")?, quantity: dec!(3), unit_price: dec!(333.333) };
/// let invoice = one_off(7, &account, on, &[line])?;
///
/// // Written and read back: the total must still be the sum of the lines.
/// let json = serde_json::to_string(&invoice)?;
/// let read: Invoice = serde_json::from_str(&json)?;
/// assert_eq!(read, invoice);
/// // The total is written first: 3 x 333.333, rounded once.
/// let tampered = json.replacen("\"1000.00\"", "\"1.00\"", 1);
/// assert_ne!(tampered, json);
/// assert!(serde_json::from_str::<Invoice>(&tampered).is_err());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(try_from = "stored::StoredInvoice")]
pub struct Invoice {
    number: u64,
    kind: InvoiceKind,
    owner: AccountId,
    currency: Currency,
    period: Period,
    /// Exactly the lines, no spare capacity: a run holds hundreds of thousands of invoices.
    lines: Box<[InvoiceLine]>,
    total: Money,
    /// The per-product view, made from the lines when first read.
    products: crate::invoice::products::Products,
    debtor_ids: BTreeMap<ExternalSystem, ExternalId>,
    dispatch: Dispatch,
    issued: Option<NaiveDate>,
    due: Option<NaiveDate>,
}

impl Invoice {
    /// Builds an invoice: the total is the sum of the lines, the period their span, the
    /// product view their per-product sums.
    ///
    /// # Errors
    /// No lines, a line in another currency, or overflow.
    pub fn new(
        number: u64,
        owner: AccountId,
        currency: Currency,
        lines: Vec<InvoiceLine>,
        debtor_ids: BTreeMap<ExternalSystem, ExternalId>,
        dispatch: Dispatch,
    ) -> Result<Invoice, InvoiceError> {
        let money = |source| InvoiceError::Money { number, source };
        let Some(first) = lines.first() else {
            return Err(InvoiceError::NoLines { number });
        };
        let period = lines.iter().fold(first.period, |p, l| p.hull(&l.period));
        let total = lines_total(currency, &lines).map_err(money)?;
        let products = crate::invoice::products::Products::of(number, currency, &lines)?;
        Ok(Invoice {
            number,
            kind: InvoiceKind::Billing,
            owner,
            currency,
            period,
            lines: exact(lines),
            total,
            products,
            debtor_ids,
            dispatch,
            issued: None,
            due: None,
        })
    }

    /// The same invoice, issued on `on` (the run date for a billing run's invoices).
    pub fn with_issued(mut self, on: NaiveDate) -> Invoice {
        self.issued = Some(on);
        self
    }

    /// The day it was issued, when known: invoices stored without one have none.
    pub fn issued(&self) -> Option<NaiveDate> {
        self.issued
    }

    /// The same invoice, due on `on` (its issue date plus the owner's payment terms).
    pub fn with_due(mut self, on: NaiveDate) -> Invoice {
        self.due = Some(on);
        self
    }

    /// The day it is due, when known: invoices stored without one have none.
    pub fn due(&self) -> Option<NaiveDate> {
        self.due
    }

    /// The same invoice, of another kind.
    pub fn with_kind(mut self, kind: InvoiceKind) -> Invoice {
        self.kind = kind;
        self
    }

    /// What the invoice is for.
    pub fn kind(&self) -> InvoiceKind {
        self.kind
    }

    /// The invoice number (sequential).
    pub fn number(&self) -> u64 {
        self.number
    }
    /// The account it is addressed to.
    pub fn owner(&self) -> &AccountId {
        &self.owner
    }
    /// Its currency.
    pub fn currency(&self) -> Currency {
        self.currency
    }
    /// The span of its lines' periods.
    pub fn period(&self) -> Period {
        self.period
    }
    /// Its lines.
    ///
    /// ```
    /// use chrono::NaiveDate;
    /// use plock_core::account::{Account, AccountName, Contact};
    /// use plock_core::id::{AccountId, AccountKey, ProductId};
    /// use plock_core::invoice::{LineKind, OneOffLine, one_off};
    /// use plock_core::money::Currency;
    /// use rust_decimal::dec;
    ///
    /// let on = NaiveDate::from_ymd_opt(2025, 3, 14).ok_or("no such date")?;
    /// let account = Account::new(AccountId::new("globex")?, AccountKey::new("globex")?, AccountName::new("Globex")?, Contact::default(), Currency::EUR, on);
    /// let invoice = one_off(7, &account, on, &[OneOffLine { product: ProductId::new("workshop")?, quantity: dec!(2), unit_price: dec!(450.00) }])?;
    /// let [line] = invoice.lines() else { return Err("one line expected".into()) };
    /// assert_eq!((line.kind, line.quantity, line.unit_price), (LineKind::OneOff, dec!(2), Some(dec!(450.00))));
    /// assert_eq!(line.amount.amount(), dec!(900.00));
    /// assert_eq!(line.source_account.as_str(), "globex");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn lines(&self) -> &[InvoiceLine] {
        &self.lines
    }
    /// The sum of its lines.
    ///
    /// ```
    /// use chrono::NaiveDate;
    /// use plock_core::account::{Account, AccountName, Contact};
    /// use plock_core::id::{AccountId, AccountKey, ProductId};
    /// use plock_core::invoice::{OneOffLine, one_off};
    /// use plock_core::money::{Currency, Money};
    /// use rust_decimal::dec;
    ///
    /// let on = NaiveDate::from_ymd_opt(2025, 3, 14).ok_or("no such date")?;
    /// let account = Account::new(AccountId::new("globex")?, AccountKey::new("globex")?, AccountName::new("Globex")?, Contact::default(), Currency::EUR, on);
    /// // Each line is rounded once (3 x 0.335 = 1.005 -> 1.01), then the lines are added.
    /// let line = |product: &str| -> Result<OneOffLine, Box<dyn std::error::Error>> {
    ///     Ok(OneOffLine { product: ProductId::new(product)?, quantity: dec!(3), unit_price: dec!(0.335) })
    /// };
    /// let invoice = one_off(7, &account, on, &[line("a")?, line("b")?])?;
    /// assert_eq!(invoice.total(), Money::new(dec!(2.02), Currency::EUR));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn total(&self) -> Money {
        self.total
    }
    /// Per product, quantity and amount across all members: made from the lines the first
    /// time it is read (a billing run's caller may never read it), the same sums either way.
    pub fn products(&self) -> &[ProductTotal] {
        self.products.get(self.number, self.currency, &self.lines)
    }
    /// The owner's ERP debtor ids.
    pub fn debtor_ids(&self) -> &BTreeMap<ExternalSystem, ExternalId> {
        &self.debtor_ids
    }
    /// Whether it may be dispatched.
    pub fn dispatch(&self) -> &Dispatch {
        &self.dispatch
    }

    /// Re-checks that the total is the sum of the lines, all in the invoice's currency.
    ///
    /// # Errors
    /// [`InvoiceError::TotalMismatch`] or [`InvoiceError::Money`].
    pub fn check_invariants(&self) -> Result<(), InvoiceError> {
        let sum =
            lines_total(self.currency, &self.lines).map_err(|source| InvoiceError::Money {
                number: self.number,
                source,
            })?;
        if sum == self.total {
            Ok(())
        } else {
            Err(InvoiceError::TotalMismatch {
                number: self.number,
                total: self.total,
                sum,
            })
        }
    }
}
