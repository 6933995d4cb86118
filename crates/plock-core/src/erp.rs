//! Dispatch to the accounting system (docs/domain.md, section 3.3): each invoice as the
//! target ERP's import payload, addressed to the owner's debtor id there. Invoices without one,
//! or held from dispatch, are reported and not exported.
//!
//! An invoice is addressed to its owner's debtor id in the target system, which the account holds
//! as an [`ExternalId`]. [`export_to_erp`] gives Fortnox invoices in Fortnox's own shape and
//! other systems a generic payload.
//!
//! ```
//! use chrono::NaiveDate;
//! use plock_core::account::{Account, AccountName, Contact, ExternalId, ExternalSystem};
//! use plock_core::book::AccountBook;
//! use plock_core::erp::{ErpPayload, export_to_erp};
//! use plock_core::id::{AccountId, AccountKey, ProductId};
//! use plock_core::invoice::{OneOffLine, one_off};
//! use plock_core::money::Currency;
//! use rust_decimal::dec;
//!
//! let on = NaiveDate::from_ymd_opt(2025, 3, 14).ok_or("no such date")?;
//! let mut book = AccountBook::new();
//! for key in ["globex", "initech"] {
//!     book.add(Account::new(AccountId::new(key)?, AccountKey::new(key)?, AccountName::new(key)?, Contact::default(), Currency::SEK, on))?;
//! }
//! // Globex is customer 5001 in Fortnox; Initech is not there yet.
//! book.set_external_id(&AccountId::new("globex")?, ExternalSystem::Fortnox, ExternalId::new("5001")?)?;
//! let setup = [OneOffLine { product: ProductId::new("setup")?, quantity: dec!(1), unit_price: dec!(2500.00) }];
//! let invoices = [
//!     one_off(1, book.get(&AccountId::new("globex")?).ok_or("no account")?, on, &setup)?,
//!     one_off(2, book.get(&AccountId::new("initech")?).ok_or("no account")?, on, &setup)?,
//! ];
//!
//! let export = export_to_erp(&invoices, &ExternalSystem::Fortnox);
//! let [ErpPayload::Fortnox { number: 1, invoice }] = export.payloads.as_slice() else {
//!     return Err("expected one Fortnox invoice".into());
//! };
//! assert_eq!(invoice.customer_number, "5001");
//! // Initech's invoice waits until it has a Fortnox customer number.
//! assert_eq!(export.not_exported.len(), 1);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::account::{ExternalId, ExternalSystem};
use crate::invoice::{Dispatch, HoldReason, Invoice, LineKind};

/// An invoice in Fortnox's invoice import shape (`POST /3/invoices`), PascalCase as Fortnox
/// spells it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct FortnoxInvoice {
    /// The debtor: the owner's Fortnox customer number.
    pub customer_number: String,
    /// plock's invoice number, as the external reference.
    pub your_order_number: String,
    /// ISO 4217 code.
    pub currency: String,
    /// The day the invoice was issued (the run date), never back-dated to its period. An
    /// invoice stored without an issue date gives its period's first day.
    pub invoice_date: String,
    /// The day it is due: its issue date plus the owner's payment terms. An invoice stored
    /// without a due date sends none, and Fortnox then takes the customer's own terms.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub due_date: Option<String>,
    /// The rows.
    pub invoice_rows: Vec<FortnoxRow>,
}

/// One Fortnox invoice row. `DeliveredQuantity x Price` is the row amount: when a line has no
/// single unit price (tiers, packages, rebates, credits), the row is quantity 1 at the line's
/// amount and the description carries the quantity used.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct FortnoxRow {
    /// plock's product id as the article number.
    pub article_number: String,
    /// What the row is: product, source account, period, quantity.
    pub description: String,
    /// Quantity.
    pub delivered_quantity: String,
    /// Price per quantity.
    pub price: String,
}

/// A generic payload: the invoice as plock writes it, with the debtor id for the target ERP.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GenericPayload {
    /// The target ERP.
    pub erp: ExternalSystem,
    /// The owner's debtor id there.
    pub debtor_id: ExternalId,
    /// The invoice.
    pub invoice: Invoice,
}

/// One exported invoice.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "format")]
pub enum ErpPayload {
    /// Fortnox's invoice shape, wrapped as `{"Invoice": {...}}` like its API.
    Fortnox {
        /// plock's invoice number.
        number: u64,
        /// The body.
        #[serde(rename = "Invoice")]
        invoice: FortnoxInvoice,
    },
    /// Any other ERP.
    Generic(GenericPayload),
}

/// Why an invoice was not exported.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NotExported {
    /// The invoice.
    pub number: u64,
    /// Why.
    pub reasons: Vec<HoldReason>,
}

/// What an export produced.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErpExport {
    /// The payloads, by invoice number.
    pub payloads: Vec<ErpPayload>,
    /// The invoices left out, and why.
    pub not_exported: Vec<NotExported>,
}

fn fortnox(invoice: &Invoice, debtor: &ExternalId) -> FortnoxInvoice {
    let rows = invoice
        .lines()
        .iter()
        .map(|l| {
            let exact = l
                .unit_price
                .filter(|_| l.rebate_percent.is_none() && l.kind != LineKind::Credit)
                .filter(|p| p.checked_mul(l.quantity) == Some(l.amount.amount()));
            let (quantity, price) = match exact {
                Some(p) => (l.quantity, p),
                None => (Decimal::ONE, l.amount.amount()),
            };
            FortnoxRow {
                article_number: l.product.to_string(),
                description: format!(
                    "{} {} {} qty {}",
                    l.product,
                    l.source_account,
                    l.period,
                    l.quantity.normalize()
                ),
                delivered_quantity: quantity.normalize().to_string(),
                price: price.to_string(),
            }
        })
        .collect();
    FortnoxInvoice {
        customer_number: debtor.to_string(),
        your_order_number: invoice.number().to_string(),
        currency: invoice.currency().to_string(),
        invoice_date: invoice
            .issued()
            .unwrap_or_else(|| invoice.period().start())
            .to_string(),
        due_date: invoice.due().map(|d| d.to_string()),
        invoice_rows: rows,
    }
}

/// Exports `invoices` for `erp`: Fortnox's shape for Fortnox, the generic payload otherwise.
/// An invoice held from dispatch, or whose owner has no debtor id in `erp`, is reported in
/// `not_exported` with its reasons.
pub fn export_to_erp(invoices: &[Invoice], erp: &ExternalSystem) -> ErpExport {
    let mut export = ErpExport {
        payloads: Vec::new(),
        not_exported: Vec::new(),
    };
    for invoice in invoices {
        let mut reasons = match invoice.dispatch() {
            Dispatch::Ready => Vec::new(),
            Dispatch::Held { reasons } => reasons
                .iter()
                .filter(|r| !matches!(r, HoldReason::NoDebtorId { .. }))
                .cloned()
                .collect(),
        };
        let debtor = invoice.debtor_ids().get(erp);
        if debtor.is_none() {
            reasons.push(HoldReason::NoDebtorId { erp: erp.clone() });
        }
        match debtor {
            Some(debtor) if reasons.is_empty() => export.payloads.push(match erp {
                ExternalSystem::Fortnox => ErpPayload::Fortnox {
                    number: invoice.number(),
                    invoice: fortnox(invoice, debtor),
                },
                other => ErpPayload::Generic(GenericPayload {
                    erp: other.clone(),
                    debtor_id: debtor.clone(),
                    invoice: invoice.clone(),
                }),
            }),
            _ => export.not_exported.push(NotExported {
                number: invoice.number(),
                reasons,
            }),
        }
    }
    export
}
