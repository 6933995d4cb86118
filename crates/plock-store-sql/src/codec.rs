//! Scalars to and from their stored text, and stored values read back into domain values,
//! validated on the way in.
//!
//! Scalars are stored in their serde text form (dates `2025-01-31`, states `active`,
//! currencies `EUR`), the text plock's data files hold, and read back through the same
//! deserialisers. Every value read is checked again: a row another program changed is an
//! error naming the thing, the field and a short form of the value, never a panic.

use std::fmt::Display;

use chrono::{DateTime, NaiveDate, Utc};
use plock_core::id::RecordId;
use plock_core::store::StoreError;
use plock_core::subscription::BilledThrough;
use plock_core::{
    Account, AccountBook, AccountId, AccountKey, Invoice, Metric, MetricId, UsageRecord,
};
use rust_decimal::Decimal;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde::de::value::{Error as ValueError, StringDeserializer};
use serde_json::Value;

use crate::error::{Context, backend};

/// A value's serde text form: what a unit enum, a date or a timestamp serialises to.
///
/// # Errors
/// [`StoreError::Backend`] when the value is not text.
pub fn text<T: Serialize + ?Sized>(value: &T) -> Result<String, StoreError> {
    match serde_json::to_value(value).context("encoding a value")? {
        Value::String(s) => Ok(s),
        other => Err(backend(format!("expected a text value, got {other}"))),
    }
}

/// Reads a value back from its serde text form, validating it.
///
/// # Errors
/// [`StoreError::Backend`] naming `what` and the text.
pub fn parse<T: DeserializeOwned>(what: &str, s: String) -> Result<T, StoreError> {
    T::deserialize(StringDeserializer::<ValueError>::new(s.clone()))
        .map_err(|e| backend(format!("stored {what} {s:?} is invalid: {e}")))
}

/// An exact decimal from its text, never rounded.
///
/// # Errors
/// [`StoreError::Backend`] naming `what` and the text.
pub fn decimal(what: &str, s: &str) -> Result<Decimal, StoreError> {
    Decimal::from_str_exact(s).map_err(|e| backend(format!("stored {what} {s:?} is invalid: {e}")))
}

/// Days since 1970-01-01 (UTC): the usage index's day, ordered for any year.
pub fn unix_day(day: NaiveDate) -> i32 {
    day.to_epoch_days()
}

/// The account a row is invoiced to: its master when the master bills the group, else itself.
/// Groups are one level deep, so a master is its own owner.
pub fn owner_in(book: &AccountBook, account: &Account) -> AccountId {
    match account.master() {
        Some(master) if book.get(master).is_some_and(Account::group_billing) => master.clone(),
        _ => account.id().clone(),
    }
}

/// An account from the JSON its deserialiser reads, validated field by field.
///
/// # Errors
/// [`StoreError::Backend`] naming the account.
pub fn account(value: Value) -> Result<Account, StoreError> {
    let id = value.get("id").cloned().unwrap_or_default();
    serde_json::from_value(value)
        .map_err(|e| backend(format!("stored account {id} is invalid: {e}")))
}

/// A book of `accounts` (as [`account`] reads them) and `dismissed` keys, its invariants
/// checked.
///
/// # Errors
/// [`StoreError::Backend`] naming the rule the stored accounts break.
pub fn book(accounts: Vec<Value>, dismissed: Vec<String>) -> Result<AccountBook, StoreError> {
    // Moved into the document, not serialised again: `json!` would copy every account.
    let mut document = serde_json::Map::new();
    document.insert("accounts".to_owned(), Value::Array(accounts));
    let dismissed = dismissed.into_iter().map(Value::String).collect();
    document.insert("dismissed".to_owned(), Value::Array(dismissed));
    serde_json::from_value(Value::Object(document))
        .context("the stored accounts break a rule of the account book")
}

/// A subscription's watermarks from their two columns.
///
/// # Errors
/// [`StoreError::Backend`] naming an invalid date.
pub fn billed_through(
    in_advance: Option<String>,
    in_arrears: Option<String>,
) -> Result<BilledThrough, StoreError> {
    Ok(BilledThrough {
        in_advance: in_advance.map(|d| parse("date", d)).transpose()?,
        in_arrears: in_arrears.map(|d| parse("date", d)).transpose()?,
    })
}

/// An invoice number as SQL's 64-bit integer.
///
/// # Errors
/// [`StoreError::Backend`] for a number past `i64::MAX`.
pub fn sql_number(number: u64) -> Result<i64, StoreError> {
    i64::try_from(number).map_err(|_| {
        backend(format!(
            "invoice number {number} is beyond what the store can hold ({})",
            i64::MAX
        ))
    })
}

/// An invoice number back from SQL's 64-bit integer.
///
/// # Errors
/// [`StoreError::Backend`] for a negative number.
pub fn invoice_number(number: i64) -> Result<u64, StoreError> {
    u64::try_from(number)
        .map_err(|_| backend(format!("stored invoice number {number} is negative")))
}

/// An invoice from its JSON and the `number`, `owner` and `total` columns stored beside it:
/// its total is re-checked against its lines, and the columns against the invoice.
///
/// # Errors
/// [`StoreError::Backend`] naming the invoice number.
pub fn invoice(
    number: i64,
    owner: &str,
    total: Decimal,
    json: &str,
) -> Result<Invoice, StoreError> {
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

/// A usage record from its stored parts, validated.
///
/// # Errors
/// [`StoreError::Backend`] naming the field, or the account key of an invalid record.
pub fn usage_record(
    key: &str,
    metric: &str,
    timestamp: DateTime<Utc>,
    quantity: Decimal,
    record_id: Option<&str>,
) -> Result<UsageRecord, StoreError> {
    let account = AccountKey::new(key).context("stored usage account key")?;
    let metric = MetricId::new(metric).context("stored usage metric")?;
    let record_id = record_id
        .map(RecordId::new)
        .transpose()
        .context("stored usage record id")?;
    UsageRecord::new(account, metric, timestamp, quantity, record_id)
        .map_err(|e| backend(format!("stored usage of {key} is invalid: {e}")))
}

/// A metric from its two columns.
///
/// # Errors
/// [`StoreError::Backend`] naming the invalid column's value.
pub fn metric(id: String, aggregation: String) -> Result<Metric, StoreError> {
    Ok(Metric {
        id: parse("metric id", id)?,
        aggregation: parse("aggregation", aggregation)?,
    })
}
