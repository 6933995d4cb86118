//! An invoice's serialised forms: the full one every export and output shows, with the
//! per-product totals, and a store's, [`WithoutProducts`], which leaves them out. Both are
//! read by the same deserialiser, which makes the totals from the lines whether the text has
//! them or not, and checks the total against the lines.
//!
//! Both forms are written from borrowed fields: an invoice is not cloned to be written, and a
//! store's form does not make the per-product totals at all.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize, Serializer};

use super::{Dispatch, Invoice, InvoiceError, InvoiceKind, InvoiceLine, ProductTotal};
use crate::account::external::{ExternalId, ExternalSystem};
use crate::id::AccountId;
use crate::money::{Currency, Money};
use crate::period::Period;

/// An invoice as it is read. The per-product totals are read past when present (older stored
/// invoices and every full form have them) and made from the lines.
#[derive(Deserialize)]
pub(super) struct StoredInvoice {
    number: u64,
    #[serde(default)]
    kind: InvoiceKind,
    owner: AccountId,
    currency: Currency,
    /// Required as ever, and made again from the lines.
    #[serde(rename = "period")]
    _period: Period,
    total: Money,
    dispatch: Dispatch,
    debtor_ids: BTreeMap<ExternalSystem, ExternalId>,
    lines: Vec<InvoiceLine>,
    #[serde(default, rename = "products")]
    _products: serde::de::IgnoredAny,
    #[serde(default)]
    issued: Option<NaiveDate>,
    #[serde(default)]
    due: Option<NaiveDate>,
}

/// An invoice as it is written, borrowed: the fields in the order of [`StoredInvoice`], the
/// total before the lines.
#[derive(Serialize)]
struct Written<'a> {
    number: u64,
    kind: InvoiceKind,
    owner: &'a AccountId,
    currency: Currency,
    period: Period,
    total: Money,
    dispatch: &'a Dispatch,
    debtor_ids: &'a BTreeMap<ExternalSystem, ExternalId>,
    lines: &'a [InvoiceLine],
    #[serde(skip_serializing_if = "Option::is_none")]
    products: Option<&'a [ProductTotal]>,
    #[serde(skip_serializing_if = "Option::is_none")]
    issued: Option<NaiveDate>,
    #[serde(skip_serializing_if = "Option::is_none")]
    due: Option<NaiveDate>,
}

impl<'a> Written<'a> {
    fn of(i: &'a Invoice, products: Option<&'a [ProductTotal]>) -> Written<'a> {
        Written {
            number: i.number,
            kind: i.kind,
            owner: &i.owner,
            currency: i.currency,
            period: i.period,
            total: i.total,
            dispatch: &i.dispatch,
            debtor_ids: &i.debtor_ids,
            lines: &i.lines,
            products,
            issued: i.issued,
            due: i.due,
        }
    }
}

impl Serialize for Invoice {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        Written::of(self, Some(self.products())).serialize(serializer)
    }
}

/// An invoice serialised without its per-product totals, which reading makes from the lines:
/// the form a store keeps, a fifth shorter at a run's typical invoice. [`Invoice`]'s
/// deserialiser reads it, as it reads the full form.
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
/// let compact = serde_json::to_string(&invoice.without_products())?;
/// assert!(!compact.contains("\"products\""));
/// let read: Invoice = serde_json::from_str(&compact)?;
/// assert_eq!(read, invoice);
/// assert_eq!(read.products(), invoice.products());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Copy)]
pub struct WithoutProducts<'a>(&'a Invoice);

impl Serialize for WithoutProducts<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        Written::of(self.0, None).serialize(serializer)
    }
}

impl Invoice {
    /// The invoice serialised without its per-product totals (see [`WithoutProducts`]).
    pub fn without_products(&self) -> WithoutProducts<'_> {
        WithoutProducts(self)
    }
}

impl TryFrom<StoredInvoice> for Invoice {
    type Error = InvoiceError;
    fn try_from(s: StoredInvoice) -> Result<Invoice, InvoiceError> {
        let invoice = Invoice::new(
            s.number,
            s.owner,
            s.currency,
            s.lines,
            s.debtor_ids,
            s.dispatch,
        )?
        .with_kind(s.kind);
        let invoice = match s.issued {
            Some(on) => invoice.with_issued(on),
            None => invoice,
        };
        let invoice = match s.due {
            Some(on) => invoice.with_due(on),
            None => invoice,
        };
        if invoice.total != s.total {
            return Err(InvoiceError::TotalMismatch {
                number: s.number,
                total: s.total,
                sum: invoice.total,
            });
        }
        Ok(invoice)
    }
}
