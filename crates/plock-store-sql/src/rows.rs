//! The rows of the tables both stores have, as values by column name.
//!
//! A store names its columns in its own order (its schema, with or without PostgreSQL's
//! `owner`) and asks a row for [`Row::values`] in that order: the column lists stay with
//! the schemas, and what each column holds is written once, here.

use plock_core::account::PaymentTerms;
use plock_core::store::StoreError;
use plock_core::{Account, AccountId, Invoice, Subscription};
use serde_json::Value;

use crate::codec::{sql_number, text};
use crate::error::{Context, backend};
use crate::value::SqlValue;

/// A row whose columns can be asked for by name.
pub trait Row {
    /// The table, for errors.
    const TABLE: &'static str;

    /// The value of `column`.
    ///
    /// # Errors
    /// [`StoreError::Backend`] for a column the table does not have, or a value that cannot
    /// be encoded.
    fn value(&self, column: &str) -> Result<SqlValue, StoreError>;

    /// The values of `columns`, in their order.
    ///
    /// # Errors
    /// As [`Row::value`].
    fn values(&self, columns: &[&str]) -> Result<Vec<SqlValue>, StoreError> {
        columns.iter().map(|c| self.value(c)).collect()
    }
}

fn unknown(table: &str, column: &str) -> StoreError {
    backend(format!("the {table} table has no column {column:?}"))
}

/// A date, timestamp or unit enum as its text, `NULL` when absent.
fn optional_text<T: serde::Serialize>(value: Option<&T>) -> Result<SqlValue, StoreError> {
    Ok(value.map(text).transpose()?.into())
}

/// An `accounts` row: the account, and the account its rows are invoiced to.
#[derive(Debug, Clone, Copy)]
pub struct AccountRow<'a> {
    /// The account.
    pub account: &'a Account,
    /// Its invoice owner ([`crate::codec::owner_in`]).
    pub owner: &'a AccountId,
}

impl Row for AccountRow<'_> {
    const TABLE: &'static str = "accounts";

    fn value(&self, column: &str) -> Result<SqlValue, StoreError> {
        let account = self.account;
        let contact = account.contact();
        Ok(match column {
            "id" => account.id().as_str().into(),
            "owner" => self.owner.as_str().into(),
            "key" => account.key().as_str().into(),
            "name" => account.name().to_string().into(),
            "state" => text(&account.state())?.into(),
            "currency" => text(&account.currency())?.into(),
            "master" => account.master().map(AccountId::as_str).into(),
            "group_billing" => account.group_billing().into(),
            "created_on" => text(&account.created_on())?.into(),
            "email" => contact.email().map(|e| e.as_str()).into(),
            "phone" => contact.phone().into(),
            // A JSON array of the lines; `NULL` when there are none.
            "address_lines" if contact.address_lines().is_empty() => SqlValue::Null,
            "address_lines" => serde_json::to_string(contact.address_lines())
                .context("encoding an address")?
                .into(),
            "country" => contact.country().map(|c| c.as_str()).into(),
            "organisation_number" => contact.organisation_number().into(),
            // `NULL` for the default terms, so a later default follows the account.
            "payment_terms_days" if account.payment_terms() == PaymentTerms::DEFAULT => {
                SqlValue::Null
            }
            "payment_terms_days" => i64::from(account.payment_terms().days()).into(),
            _ => return Err(unknown(Self::TABLE, column)),
        })
    }
}

/// A `subscriptions` row: the subscription, and the account its rows are invoiced to.
#[derive(Debug, Clone, Copy)]
pub struct SubscriptionRow<'a> {
    /// The subscription.
    pub subscription: &'a Subscription,
    /// Its invoice owner.
    pub owner: &'a AccountId,
    /// Is a subscription of this id stored already? A store may insert a new one with a
    /// plain `INSERT`, which SQLite writes without a statement journal.
    pub stored: bool,
}

impl SubscriptionRow<'_> {
    /// A field of the state's serde form: its name (`state`) or when it paused (`since`).
    fn state_field(&self, name: &str) -> Result<Option<String>, StoreError> {
        let state = serde_json::to_value(self.subscription.state()).context("encoding a state")?;
        Ok(state.get(name).and_then(Value::as_str).map(str::to_owned))
    }
}

impl Row for SubscriptionRow<'_> {
    const TABLE: &'static str = "subscriptions";

    fn value(&self, column: &str) -> Result<SqlValue, StoreError> {
        let subscription = self.subscription;
        let spec = subscription.spec();
        let billed = subscription.billed_through();
        Ok(match column {
            "id" => subscription.id().as_str().into(),
            "owner" => self.owner.as_str().into(),
            "account" => subscription.account().as_str().into(),
            "state" => self
                .state_field("state")?
                .ok_or_else(|| backend("a subscription state has no name"))?
                .into(),
            "paused_since" => self.state_field("since")?.into(),
            "currency" => text(&subscription.currency())?.into(),
            "starts_on" => text(&spec.start)?.into(),
            "ends_on" => optional_text(spec.end.as_ref())?,
            "interval_months" => i64::from(spec.interval.months()).into(),
            "mode" => text(&spec.mode)?.into(),
            "anchor" => optional_text(spec.anchor.as_ref())?,
            "practice" => text(&spec.practice)?.into(),
            "minimum_invoice_amount" => spec.minimum_invoice_amount.into(),
            // The items as JSON (prices as decimal strings).
            "items" => serde_json::to_string(&spec.items)
                .context("encoding items")?
                .into(),
            // The whole subscription as JSON; what it is billed through is the two columns'.
            "subscription" => serde_json::to_string(subscription)
                .context("encoding a subscription")?
                .into(),
            "billed_through_in_advance" => optional_text(billed.in_advance.as_ref())?,
            "billed_through_in_arrears" => optional_text(billed.in_arrears.as_ref())?,
            _ => return Err(unknown(Self::TABLE, column)),
        })
    }
}

/// An `invoices` row: the invoice as JSON, with the columns it is found by beside it.
#[derive(Debug, Clone, Copy)]
pub struct InvoiceRow<'a> {
    /// The invoice.
    pub invoice: &'a Invoice,
}

impl Row for InvoiceRow<'_> {
    const TABLE: &'static str = "invoices";

    fn value(&self, column: &str) -> Result<SqlValue, StoreError> {
        let invoice = self.invoice;
        let period = invoice.period();
        Ok(match column {
            "number" => sql_number(invoice.number())?.into(),
            "owner" => invoice.owner().as_str().into(),
            "currency" => text(&invoice.currency())?.into(),
            "total" => invoice.total().amount().into(),
            "period_start" => text(&period.start())?.into(),
            "period_end" => text(&period.end())?.into(),
            // Without the per-product totals, which reading makes from the lines.
            "invoice" => serde_json::to_string(&invoice.without_products())
                .context("encoding an invoice")?
                .into(),
            _ => return Err(unknown(Self::TABLE, column)),
        })
    }
}
