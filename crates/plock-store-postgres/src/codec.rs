//! Domain values to and from rows.
//!
//! Scalars are written in their serde text form (dates `2025-01-31`, states `active`,
//! currencies `EUR`), the text plock's data files hold, and read back through the same
//! deserialisers, so every value is validated again on the way in. Amounts and quantities are
//! `numeric`, which keeps the decimal's scale (`12.30` stays `12.30`) and reads back into an
//! exact `Decimal`: never a float.

use std::fmt::Display;

use chrono::{DateTime, Duration, Timelike, Utc};
use plock_core::account::PaymentTerms;
use plock_core::id::RecordId;
use plock_core::store::StoreError;
use plock_core::subscription::BilledThrough;
use plock_core::{
    Account, AccountBook, AccountId, AccountKey, Invoice, MetricId, Subscription, UsageRecord,
};
use postgres::types::ToSql;
use rust_decimal::Decimal;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde::de::value::{Error as ValueError, StringDeserializer};
use serde_json::{Map, Value, json};

/// A failure of the backend, with what was being done.
pub(crate) fn backend(message: impl Into<String>) -> StoreError {
    StoreError::Backend {
        message: message.into(),
    }
}

/// Names what failed: `.context("reading accounts")?`.
pub(crate) trait Context<T> {
    /// The error as [`StoreError::Backend`], prefixed by `what`.
    fn context(self, what: &str) -> Result<T, StoreError>;
}

impl<T, E: std::error::Error> Context<T> for Result<T, E> {
    fn context(self, what: &str) -> Result<T, StoreError> {
        self.map_err(|e| backend(format!("{what}: {}", chain(&e))))
    }
}

/// An error with its causes: the client's `db error` says little, the server's message below
/// it says what happened.
pub(crate) fn chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// A query parameter.
pub(crate) type Param<'a> = &'a (dyn ToSql + Sync);

/// A value's serde text form: what a unit enum, a date or a timestamp serialises to.
pub(crate) fn text<T: Serialize + ?Sized>(value: &T) -> Result<String, StoreError> {
    match serde_json::to_value(value).context("encoding a value")? {
        Value::String(s) => Ok(s),
        other => Err(backend(format!("expected a text value, got {other}"))),
    }
}

/// Reads a value back from its serde text form, validating it.
pub(crate) fn parse<T: DeserializeOwned>(what: &str, s: String) -> Result<T, StoreError> {
    T::deserialize(StringDeserializer::<ValueError>::new(s.clone()))
        .map_err(|e| backend(format!("stored {what} {s:?} is invalid: {e}")))
}

/// The account a row is invoiced to: its master when the master bills the group, else itself.
/// Groups are one level deep, so a master is its own owner.
pub(crate) fn owner_in(book: &AccountBook, account: &Account) -> AccountId {
    match account.master() {
        Some(master) if book.get(master).is_some_and(Account::group_billing) => master.clone(),
        _ => account.id().clone(),
    }
}

/// What a query selects to read an account: the whole account as JSON text, in the shape its
/// deserialiser reads.
pub(crate) const ACCOUNT_JSON: &str = "json_build_object(\
     'id', a.id, 'key', a.key, 'name', a.name, 'state', a.state, 'currency', a.currency, \
     'master', a.master, 'group_billing', a.group_billing, 'created_on', a.created_on, \
     'payment_terms', coalesce(a.payment_terms_days, 30), \
     'contact', json_build_object('email', a.email, 'phone', a.phone, \
        'address_lines', coalesce(a.address_lines, '[]'::jsonb), 'country', a.country, \
        'organisation_number', a.organisation_number), \
     'tags', coalesce((SELECT json_agg(t.tag) FROM account_tags t WHERE t.account = a.id), \
        '[]'::json), \
     'external_ids', coalesce((SELECT json_object_agg(e.system, e.external_id) \
        FROM external_ids e WHERE e.account = a.id), '{}'::json))::text";

/// An account's JSON from a row selected by [`ACCOUNT_JSON`] (in column `column`).
pub(crate) fn account_value(row: &postgres::Row, column: usize) -> Result<Value, StoreError> {
    let json: String = row.try_get(column).context("reading an account")?;
    serde_json::from_str(&json).context("reading an account")
}

/// An account from [`account_value`]'s JSON, validated field by field.
pub(crate) fn account(value: Value) -> Result<Account, StoreError> {
    let id = value.get("id").cloned().unwrap_or_default();
    serde_json::from_value(value)
        .map_err(|e| backend(format!("stored account {id} is invalid: {e}")))
}

/// A book of `accounts` and `dismissed` keys, its invariants checked.
pub(crate) fn book(
    accounts: Vec<Value>,
    dismissed: Vec<String>,
) -> Result<AccountBook, StoreError> {
    serde_json::from_value(json!({ "accounts": accounts, "dismissed": dismissed }))
        .context("the stored accounts break a rule of the account book")
}

/// The columns of an `accounts` row, in [`ACCOUNT_COLUMNS`] order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct AccountRow {
    pub id: String,
    pub owner: String,
    pub key: String,
    pub name: String,
    pub state: String,
    pub currency: String,
    pub master: Option<String>,
    pub group_billing: bool,
    pub created_on: String,
    pub email: Option<String>,
    pub phone: Option<String>,
    /// A JSON array of the lines; `None` when there are none.
    pub address_lines: Option<String>,
    pub country: Option<String>,
    pub organisation_number: Option<String>,
    /// The days; `None` for the default terms (30 days, as [`ACCOUNT_JSON`] reads it).
    pub payment_terms_days: Option<i32>,
}

/// The `accounts` columns an [`AccountRow`] writes, in order; `address_lines` is bound as
/// text and cast.
pub(crate) const ACCOUNT_COLUMNS: &str = "id, owner, key, name, state, currency, master, \
     group_billing, created_on, email, phone, address_lines, country, organisation_number, \
     payment_terms_days";

impl AccountRow {
    pub(crate) fn of(account: &Account, owner: &AccountId) -> Result<AccountRow, StoreError> {
        let contact = account.contact();
        let address_lines = if contact.address_lines().is_empty() {
            None
        } else {
            Some(serde_json::to_string(contact.address_lines()).context("encoding an address")?)
        };
        Ok(AccountRow {
            id: account.id().to_string(),
            owner: owner.to_string(),
            key: account.key().to_string(),
            name: account.name().to_string(),
            state: text(&account.state())?,
            currency: text(&account.currency())?,
            master: account.master().map(ToString::to_string),
            group_billing: account.group_billing(),
            created_on: text(&account.created_on())?,
            email: contact.email().map(|e| e.as_str().to_owned()),
            phone: contact.phone().map(str::to_owned),
            address_lines,
            country: contact.country().map(|c| c.as_str().to_owned()),
            organisation_number: contact.organisation_number().map(str::to_owned),
            payment_terms_days: Some(account.payment_terms())
                .filter(|t| *t != PaymentTerms::DEFAULT)
                .map(|t| i32::from(t.days())),
        })
    }

    pub(crate) fn params(&self) -> [Param<'_>; 15] {
        [
            &self.id,
            &self.owner,
            &self.key,
            &self.name,
            &self.state,
            &self.currency,
            &self.master,
            &self.group_billing,
            &self.created_on,
            &self.email,
            &self.phone,
            &self.address_lines,
            &self.country,
            &self.organisation_number,
            &self.payment_terms_days,
        ]
    }

    /// `$n` placeholders for [`AccountRow::params`], `address_lines` cast to jsonb.
    pub(crate) fn placeholder(column: &str, n: usize) -> String {
        if column == "address_lines" {
            format!("${n}::text::jsonb")
        } else {
            format!("${n}")
        }
    }
}

/// The columns of a `subscriptions` row.
pub(crate) struct SubscriptionRow {
    pub id: String,
    pub owner: String,
    pub account: String,
    pub currency: String,
    pub state: String,
    /// The whole subscription as JSON; what it is billed through is the two columns'.
    pub subscription: String,
    pub billed_through_in_advance: Option<String>,
    pub billed_through_in_arrears: Option<String>,
}

/// The `subscriptions` columns, in [`SubscriptionRow`] order.
pub(crate) const SUBSCRIPTION_COLUMNS: &str = "id, owner, account, currency, state, \
     subscription, billed_through_in_advance, billed_through_in_arrears";

/// What a query selects to read a subscription.
pub(crate) const SUBSCRIPTION_SELECT: &str =
    "id, subscription, billed_through_in_advance, billed_through_in_arrears";

impl SubscriptionRow {
    pub(crate) fn of(
        subscription: &Subscription,
        owner: &AccountId,
    ) -> Result<SubscriptionRow, StoreError> {
        let state = serde_json::to_value(subscription.state()).context("encoding a state")?;
        let state = state
            .get("state")
            .and_then(Value::as_str)
            .map(str::to_owned)
            .ok_or_else(|| backend("a subscription state has no name"))?;
        let billed = subscription.billed_through();
        Ok(SubscriptionRow {
            id: subscription.id().to_string(),
            owner: owner.to_string(),
            account: subscription.account().to_string(),
            currency: text(&subscription.currency())?,
            state,
            subscription: serde_json::to_string(subscription).context("encoding a subscription")?,
            billed_through_in_advance: billed.in_advance.as_ref().map(text).transpose()?,
            billed_through_in_arrears: billed.in_arrears.as_ref().map(text).transpose()?,
        })
    }

    pub(crate) fn params(&self) -> [Param<'_>; 8] {
        [
            &self.id,
            &self.owner,
            &self.account,
            &self.currency,
            &self.state,
            &self.subscription,
            &self.billed_through_in_advance,
            &self.billed_through_in_arrears,
        ]
    }
}

/// A subscription from a row selected by [`SUBSCRIPTION_SELECT`], through the deserialiser
/// that validates a stored one; what it is billed through is the columns'.
pub(crate) fn subscription(row: &postgres::Row) -> Result<Subscription, StoreError> {
    let id: String = row.try_get(0).context("reading a subscription")?;
    let json: String = row.try_get(1).context("reading a subscription")?;
    let invalid = |e: &dyn Display| backend(format!("stored subscription {id} is invalid: {e}"));
    let mut value: Value = serde_json::from_str(&json).map_err(|e| invalid(&e))?;
    let mut billed = Map::new();
    for (column, name) in [(2, "in_advance"), (3, "in_arrears")] {
        let day: Option<String> = row.try_get(column).context("reading a subscription")?;
        if let Some(day) = day {
            billed.insert(name.into(), Value::String(day));
        }
    }
    match value.as_object_mut() {
        Some(object) => object.insert("billed_through".into(), Value::Object(billed)),
        None => return Err(invalid(&"not a JSON object")),
    };
    let subscription: Subscription = serde_json::from_value(value).map_err(|e| invalid(&e))?;
    if subscription.id().as_str() != id {
        return Err(invalid(&"its id column disagrees with the subscription"));
    }
    Ok(subscription)
}

/// A subscription's watermarks from their two columns.
pub(crate) fn billed_through(
    in_advance: Option<String>,
    in_arrears: Option<String>,
) -> Result<BilledThrough, StoreError> {
    Ok(BilledThrough {
        in_advance: in_advance.map(|d| parse("date", d)).transpose()?,
        in_arrears: in_arrears.map(|d| parse("date", d)).transpose()?,
    })
}

/// A timestamp split for `timestamptz`, which holds microseconds: the time floored to the
/// microsecond, and the nanoseconds below it (0..=999).
pub(crate) fn split_time(timestamp: DateTime<Utc>) -> (DateTime<Utc>, i16) {
    let nanos = timestamp.nanosecond() % 1000;
    let floored = timestamp
        .checked_sub_signed(Duration::nanoseconds(i64::from(nanos)))
        .unwrap_or(timestamp);
    (floored, i16::try_from(nanos).unwrap_or(0))
}

/// The time [`split_time`] split.
pub(crate) fn join_time(at: DateTime<Utc>, nanos: i16) -> Result<DateTime<Utc>, StoreError> {
    if !(0..=999).contains(&nanos) {
        return Err(backend(format!(
            "stored usage nanoseconds {nanos} are invalid"
        )));
    }
    at.checked_add_signed(Duration::nanoseconds(i64::from(nanos)))
        .ok_or_else(|| backend(format!("stored usage time {at} is out of range")))
}

/// Days since 1970-01-01 (UTC): the usage index's day, ordered for any year.
pub(crate) fn unix_day(day: chrono::NaiveDate) -> i32 {
    day.to_epoch_days()
}

/// The `usage` columns a record is written to, in [`UsageRow`]'s order.
pub(crate) const USAGE_COLUMNS: &str =
    "owner, account_key, metric, unix_day, at, nanos, quantity, record_id";

/// The `usage` columns read back into a record.
pub(crate) const USAGE_SELECT: &str = "account_key, metric, at, nanos, quantity, record_id";

/// A usage record from a row selected by [`USAGE_SELECT`], validated.
pub(crate) fn usage_record(row: &postgres::Row) -> Result<UsageRecord, StoreError> {
    let key: &str = row.try_get(0).context("reading usage")?;
    let account = AccountKey::new(key).context("stored usage account key")?;
    let metric: &str = row.try_get(1).context("reading usage")?;
    let metric = MetricId::new(metric).context("stored usage metric")?;
    let at: DateTime<Utc> = row.try_get(2).context("reading usage")?;
    let nanos: i16 = row.try_get(3).context("reading usage")?;
    let quantity: Decimal = row.try_get(4).context("reading usage")?;
    let record_id = row
        .try_get::<_, Option<&str>>(5)
        .context("reading usage")?
        .map(RecordId::new)
        .transpose()
        .context("stored usage record id")?;
    UsageRecord::new(account, metric, join_time(at, nanos)?, quantity, record_id)
        .map_err(|e| backend(format!("stored usage of {key} is invalid: {e}")))
}

/// The columns of an `invoices` row.
pub(crate) struct InvoiceRow {
    pub owner: String,
    pub number: i64,
    pub currency: String,
    pub total: Decimal,
    pub period_start: String,
    pub period_end: String,
    pub invoice: String,
}

impl InvoiceRow {
    pub(crate) fn of(invoice: &Invoice) -> Result<InvoiceRow, StoreError> {
        let period = invoice.period();
        Ok(InvoiceRow {
            owner: invoice.owner().to_string(),
            number: sql_number(invoice.number())?,
            currency: text(&invoice.currency())?,
            total: invoice.total().amount(),
            period_start: text(&period.start())?,
            period_end: text(&period.end())?,
            invoice: serde_json::to_string(invoice).context("encoding an invoice")?,
        })
    }

    pub(crate) fn params(&self) -> [Param<'_>; 7] {
        [
            &self.owner,
            &self.number,
            &self.currency,
            &self.total,
            &self.period_start,
            &self.period_end,
            &self.invoice,
        ]
    }
}

/// The `invoices` columns read back: the number, owner and total beside the invoice's JSON.
pub(crate) const INVOICE_SELECT: &str = "number, owner, total, invoice";

/// An invoice from a row selected by [`INVOICE_SELECT`]: its total is re-checked against its
/// lines, and the number, owner and total columns against the invoice.
pub(crate) fn invoice(row: &postgres::Row) -> Result<Invoice, StoreError> {
    let number: i64 = row.try_get(0).context("reading an invoice")?;
    let owner: &str = row.try_get(1).context("reading an invoice")?;
    let total: Decimal = row.try_get(2).context("reading an invoice")?;
    let json: &str = row.try_get(3).context("reading an invoice")?;
    let invalid = |e: &dyn Display| backend(format!("stored invoice {number} is invalid: {e}"));
    let invoice: Invoice = serde_json::from_str(json).map_err(|e| invalid(&e))?;
    invoice.check_invariants().map_err(|e| invalid(&e))?;
    if sql_number(invoice.number())? != number
        || invoice.owner().as_str() != owner
        || total != invoice.total().amount()
    {
        return Err(invalid(
            &"its number, owner or total column disagrees with the invoice",
        ));
    }
    Ok(invoice)
}

/// An invoice number as PostgreSQL's `bigint`.
pub(crate) fn sql_number(number: u64) -> Result<i64, StoreError> {
    i64::try_from(number).map_err(|_| {
        backend(format!(
            "invoice number {number} is beyond what the store can hold ({})",
            i64::MAX
        ))
    })
}

/// Back from PostgreSQL's `bigint`.
pub(crate) fn invoice_number(number: i64) -> Result<u64, StoreError> {
    u64::try_from(number)
        .map_err(|_| backend(format!("stored invoice number {number} is negative")))
}
