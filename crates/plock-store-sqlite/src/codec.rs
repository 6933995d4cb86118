//! Domain values to and from rows.
//!
//! Scalars are written in their serde text form (dates `2025-01-31`, states `active`,
//! currencies `EUR`), the very text the memory store's data file holds, and read back through
//! the same deserialisers, so every value is validated again on the way in. Amounts and
//! quantities are the decimal's own text (`12.30`, scale kept), read back with
//! [`Decimal::from_str_exact`]: never a float.

use std::fmt::Display;

use chrono::{DateTime, NaiveDate, Utc};
use plock_core::account::PaymentTerms;
use plock_core::id::RecordId;
use plock_core::store::StoreError;
use plock_core::subscription::BilledThrough;
use plock_core::{Account, AccountBook, AccountKey, Invoice, MetricId, Subscription, UsageRecord};
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

impl<T, E: Display> Context<T> for Result<T, E> {
    fn context(self, what: &str) -> Result<T, StoreError> {
        self.map_err(|e| backend(format!("{what}: {e}")))
    }
}

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

/// An exact decimal from its text.
pub(crate) fn decimal(what: &str, s: &str) -> Result<Decimal, StoreError> {
    Decimal::from_str_exact(s).map_err(|e| backend(format!("stored {what} {s:?} is invalid: {e}")))
}

/// Days since 1970-01-01: the usage table's index key, ordered for any year.
pub(crate) fn unix_day(day: NaiveDate) -> i32 {
    day.to_epoch_days()
}

/// The columns of an `accounts` row, in [`ACCOUNT_COLUMNS`] order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct AccountRow {
    pub id: String,
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
    /// The days; `None` for the default terms.
    pub payment_terms_days: Option<i64>,
}

/// The `accounts` columns an [`AccountRow`] writes, in order.
pub(crate) const ACCOUNT_COLUMNS: &str = "id, key, name, state, currency, master, group_billing, \
     created_on, email, phone, address_lines, country, organisation_number, payment_terms_days";

/// What a query selects to read an account: its row, then its tags and external ids as JSON.
pub(crate) const ACCOUNT_SELECT: &str = "a.id, a.key, a.name, a.state, a.currency, a.master, \
     a.group_billing, a.created_on, a.email, a.phone, a.address_lines, a.country, \
     a.organisation_number, \
     (SELECT json_group_array(t.tag) FROM account_tags t WHERE t.account = a.id), \
     (SELECT json_group_object(e.system, e.external_id) FROM external_ids e \
      WHERE e.account = a.id), \
     a.payment_terms_days";

impl AccountRow {
    pub(crate) fn of(account: &Account) -> Result<AccountRow, StoreError> {
        let contact = account.contact();
        let address_lines = if contact.address_lines().is_empty() {
            None
        } else {
            Some(serde_json::to_string(contact.address_lines()).context("encoding an address")?)
        };
        Ok(AccountRow {
            id: account.id().to_string(),
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
                .map(|t| i64::from(t.days())),
        })
    }

    pub(crate) fn params(&self) -> [&dyn rusqlite::ToSql; 14] {
        [
            &self.id,
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
}

/// An account as the JSON its deserialiser reads, from a row selected by [`ACCOUNT_SELECT`].
pub(crate) fn account_value(row: &rusqlite::Row<'_>) -> Result<Value, StoreError> {
    let get_text = |i: usize| {
        row.get::<_, Option<String>>(i)
            .context("reading an account")
    };
    let json = |i: usize, empty: Value| -> Result<Value, StoreError> {
        match get_text(i)? {
            Some(s) => serde_json::from_str(&s).context("reading an account's lists"),
            None => Ok(empty),
        }
    };
    let group_billing: bool = row.get(6).context("reading an account")?;
    Ok(json!({
        "id": get_text(0)?,
        "key": get_text(1)?,
        "name": get_text(2)?,
        "state": get_text(3)?,
        "currency": get_text(4)?,
        "master": get_text(5)?,
        "group_billing": group_billing,
        "created_on": get_text(7)?,
        "contact": {
            "email": get_text(8)?,
            "phone": get_text(9)?,
            "address_lines": json(10, json!([]))?,
            "country": get_text(11)?,
            "organisation_number": get_text(12)?,
        },
        "tags": json(13, json!([]))?,
        "external_ids": json(14, json!({}))?,
        "payment_terms": row.get::<_, Option<i64>>(15).context("reading an account")?.unwrap_or(i64::from(PaymentTerms::DEFAULT.days())),
    }))
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

/// The columns of a `subscriptions` row, in [`SUBSCRIPTION_COLUMNS`] order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SubscriptionRow {
    pub id: String,
    pub account: String,
    pub state: String,
    pub paused_since: Option<String>,
    pub currency: String,
    pub starts_on: String,
    pub ends_on: Option<String>,
    pub interval_months: u32,
    pub mode: String,
    pub anchor: Option<String>,
    pub practice: String,
    pub minimum_invoice_amount: Option<String>,
    /// The items as JSON (prices as decimal strings).
    pub items: String,
    pub billed_through_in_advance: Option<String>,
    pub billed_through_in_arrears: Option<String>,
}

/// The `subscriptions` columns, in [`SubscriptionRow`] order.
pub(crate) const SUBSCRIPTION_COLUMNS: &str = "id, account, state, paused_since, currency, \
     starts_on, ends_on, interval_months, mode, anchor, practice, minimum_invoice_amount, items, \
     billed_through_in_advance, billed_through_in_arrears";

impl SubscriptionRow {
    pub(crate) fn of(subscription: &Subscription) -> Result<SubscriptionRow, StoreError> {
        let spec = subscription.spec();
        let state = serde_json::to_value(subscription.state()).context("encoding a state")?;
        let field = |name: &str| state.get(name).and_then(Value::as_str).map(str::to_owned);
        let billed = subscription.billed_through();
        Ok(SubscriptionRow {
            id: spec.id.to_string(),
            account: spec.account.to_string(),
            state: field("state").ok_or_else(|| backend("a subscription state has no name"))?,
            paused_since: field("since"),
            currency: text(&spec.currency)?,
            starts_on: text(&spec.start)?,
            ends_on: spec.end.as_ref().map(text).transpose()?,
            interval_months: spec.interval.months(),
            mode: text(&spec.mode)?,
            anchor: spec.anchor.as_ref().map(text).transpose()?,
            practice: text(&spec.practice)?,
            minimum_invoice_amount: spec.minimum_invoice_amount.map(|d| d.to_string()),
            items: serde_json::to_string(&spec.items).context("encoding items")?,
            billed_through_in_advance: billed.in_advance.as_ref().map(text).transpose()?,
            billed_through_in_arrears: billed.in_arrears.as_ref().map(text).transpose()?,
        })
    }

    pub(crate) fn params(&self) -> [&dyn rusqlite::ToSql; 15] {
        [
            &self.id,
            &self.account,
            &self.state,
            &self.paused_since,
            &self.currency,
            &self.starts_on,
            &self.ends_on,
            &self.interval_months,
            &self.mode,
            &self.anchor,
            &self.practice,
            &self.minimum_invoice_amount,
            &self.items,
            &self.billed_through_in_advance,
            &self.billed_through_in_arrears,
        ]
    }

    pub(crate) fn read(row: &rusqlite::Row<'_>) -> rusqlite::Result<SubscriptionRow> {
        Ok(SubscriptionRow {
            id: row.get(0)?,
            account: row.get(1)?,
            state: row.get(2)?,
            paused_since: row.get(3)?,
            currency: row.get(4)?,
            starts_on: row.get(5)?,
            ends_on: row.get(6)?,
            interval_months: row.get(7)?,
            mode: row.get(8)?,
            anchor: row.get(9)?,
            practice: row.get(10)?,
            minimum_invoice_amount: row.get(11)?,
            items: row.get(12)?,
            billed_through_in_advance: row.get(13)?,
            billed_through_in_arrears: row.get(14)?,
        })
    }

    /// The subscription, through the deserialiser that validates a stored one (its spec
    /// built again, its state and watermarks restored).
    pub(crate) fn subscription(self) -> Result<Subscription, StoreError> {
        let invalid =
            |e: &dyn Display| backend(format!("stored subscription {} is invalid: {e}", self.id));
        let items: Value = serde_json::from_str(&self.items).map_err(|e| invalid(&e))?;
        let minimum = self
            .minimum_invoice_amount
            .as_deref()
            .map(|m| decimal("minimum invoice amount", m))
            .transpose()?;
        let mut object = Map::new();
        object.insert("id".into(), json!(self.id));
        object.insert("account".into(), json!(self.account));
        object.insert("start".into(), json!(self.starts_on));
        object.insert("end".into(), json!(self.ends_on));
        object.insert("interval".into(), json!(self.interval_months));
        object.insert("mode".into(), json!(self.mode));
        object.insert("anchor".into(), json!(self.anchor));
        object.insert("practice".into(), json!(self.practice));
        object.insert("currency".into(), json!(self.currency));
        object.insert("items".into(), items);
        object.insert("minimum_invoice_amount".into(), json!(minimum));
        object.insert("state".into(), json!(self.state));
        if let Some(since) = &self.paused_since {
            object.insert("since".into(), json!(since));
        }
        let mut billed = Map::new();
        if let Some(day) = &self.billed_through_in_advance {
            billed.insert("in_advance".into(), json!(day));
        }
        if let Some(day) = &self.billed_through_in_arrears {
            billed.insert("in_arrears".into(), json!(day));
        }
        object.insert("billed_through".into(), Value::Object(billed));
        serde_json::from_value(Value::Object(object)).map_err(|e| invalid(&e))
    }
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

/// The columns of a `usage` row, in [`USAGE_COLUMNS`] order.
pub(crate) struct UsageRow {
    pub account_key: String,
    pub metric: String,
    pub unix_day: i32,
    pub timestamp: String,
    pub quantity: String,
    pub record_id: Option<String>,
}

/// The `usage` columns read back into a record.
pub(crate) const USAGE_SELECT: &str = "account_key, metric, timestamp, quantity, record_id";

impl UsageRow {
    pub(crate) fn of(record: &UsageRecord) -> Result<UsageRow, StoreError> {
        let timestamp = record.timestamp();
        Ok(UsageRow {
            account_key: record.account().to_string(),
            metric: record.metric().to_string(),
            unix_day: unix_day(timestamp.date_naive()),
            timestamp: text(&timestamp)?,
            quantity: record.quantity().to_string(),
            record_id: record.record_id().map(ToString::to_string),
        })
    }

    pub(crate) fn params(&self) -> [&dyn rusqlite::ToSql; 6] {
        [
            &self.account_key,
            &self.metric,
            &self.unix_day,
            &self.timestamp,
            &self.quantity,
            &self.record_id,
        ]
    }
}

/// A usage record from a row selected by [`USAGE_SELECT`], validated.
pub(crate) fn usage_record(row: &rusqlite::Row<'_>) -> Result<UsageRecord, StoreError> {
    let get = |i: usize| row.get::<_, String>(i).context("reading usage");
    let key = get(0)?;
    let account = AccountKey::new(&key).context("stored usage account key")?;
    let metric = MetricId::new(get(1)?).context("stored usage metric")?;
    let timestamp: DateTime<Utc> = parse("usage timestamp", get(2)?)?;
    let quantity = decimal("usage quantity", &get(3)?)?;
    let record_id = row
        .get::<_, Option<String>>(4)
        .context("reading usage")?
        .map(RecordId::new)
        .transpose()
        .context("stored usage record id")?;
    UsageRecord::new(account, metric, timestamp, quantity, record_id)
        .map_err(|e| backend(format!("stored usage of {key} is invalid: {e}")))
}

/// The columns of an `invoices` row.
pub(crate) struct InvoiceRow {
    pub number: i64,
    pub owner: String,
    pub currency: String,
    pub total: String,
    pub period_start: String,
    pub period_end: String,
    pub invoice: String,
}

impl InvoiceRow {
    pub(crate) fn of(invoice: &Invoice) -> Result<InvoiceRow, StoreError> {
        let period = invoice.period();
        Ok(InvoiceRow {
            number: sql_number(invoice.number())?,
            owner: invoice.owner().to_string(),
            currency: text(&invoice.currency())?,
            total: invoice.total().amount().to_string(),
            period_start: text(&period.start())?,
            period_end: text(&period.end())?,
            invoice: serde_json::to_string(invoice).context("encoding an invoice")?,
        })
    }

    pub(crate) fn params(&self) -> [&dyn rusqlite::ToSql; 7] {
        [
            &self.number,
            &self.owner,
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
pub(crate) fn invoice(row: &rusqlite::Row<'_>) -> Result<Invoice, StoreError> {
    let number: i64 = row.get(0).context("reading an invoice")?;
    let owner: String = row.get(1).context("reading an invoice")?;
    let total: String = row.get(2).context("reading an invoice")?;
    let json: String = row.get(3).context("reading an invoice")?;
    let invalid = |e: &dyn Display| backend(format!("stored invoice {number} is invalid: {e}"));
    let invoice: Invoice = serde_json::from_str(&json).map_err(|e| invalid(&e))?;
    invoice.check_invariants().map_err(|e| invalid(&e))?;
    if sql_number(invoice.number())? != number
        || invoice.owner().as_str() != owner
        || decimal("invoice total", &total)? != invoice.total().amount()
    {
        return Err(invalid(
            &"its number, owner or total column disagrees with the invoice",
        ));
    }
    Ok(invoice)
}

/// An invoice number as SQLite's integer.
pub(crate) fn sql_number(number: u64) -> Result<i64, StoreError> {
    i64::try_from(number).map_err(|_| {
        backend(format!(
            "invoice number {number} is beyond what the store can hold ({})",
            i64::MAX
        ))
    })
}

/// Back from SQLite's integer.
pub(crate) fn invoice_number(number: i64) -> Result<u64, StoreError> {
    u64::try_from(number)
        .map_err(|_| backend(format!("stored invoice number {number} is negative")))
}

/// A list as one JSON array parameter, for `IN (SELECT value FROM json_each(?))`: one
/// statement whatever the list's length.
pub(crate) fn json_list<'a>(
    items: impl IntoIterator<Item = &'a str>,
) -> Result<String, StoreError> {
    serde_json::to_string(&items.into_iter().collect::<Vec<&str>>()).context("encoding a list")
}
