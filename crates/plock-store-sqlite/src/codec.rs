//! SQLite's row layout: what its queries select, read back into domain values, and the
//! shared layer's values bound as SQLite's.
//!
//! Scalars are written in their serde text form (dates `2025-01-31`, states `active`,
//! currencies `EUR`), the very text the memory store's data file holds, and read back through
//! the same deserialisers, so every value is validated again on the way in. Amounts and
//! quantities are the decimal's own text (`12.30`, scale kept), read back with
//! [`Decimal::from_str_exact`](rust_decimal::Decimal::from_str_exact): never a float. What
//! the columns hold and how values are checked is `plock-store-sql`'s; this module knows
//! only where SQLite keeps them.

use chrono::{DateTime, Utc};
use plock_core::account::PaymentTerms;
use plock_core::store::StoreError;
use plock_core::{Invoice, UsageRecord};
use plock_store_sql::SqlValue;
use rusqlite::ParamsFromIter;
use rusqlite::ToSql;
use rusqlite::types::{ToSqlOutput, Value as SqliteValue, ValueRef};
use serde_json::{Value, json};

pub(crate) use plock_store_sql::codec::{decimal, parse, unix_day};
pub(crate) use plock_store_sql::error::{Context, backend};

/// A shared value bound as SQLite's: a decimal as its exact text, a boolean as 0 or 1, text
/// borrowed.
pub(crate) struct Bind<'a>(pub(crate) &'a SqlValue);

impl ToSql for Bind<'_> {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(match self.0 {
            SqlValue::Null => ToSqlOutput::Owned(SqliteValue::Null),
            SqlValue::Bool(b) => ToSqlOutput::Owned(SqliteValue::Integer(i64::from(*b))),
            SqlValue::Int(i) => ToSqlOutput::Owned(SqliteValue::Integer(*i)),
            SqlValue::Text(s) => ToSqlOutput::Borrowed(ValueRef::Text(s.as_bytes())),
            SqlValue::Decimal(d) => {
                ToSqlOutput::Owned(SqliteValue::Text(plock_core::money::decimal_text(*d)))
            }
        })
    }
}

/// SQLite's numbered placeholder.
pub(crate) fn question(_column: &str, n: usize) -> String {
    format!("?{n}")
}

/// Shared values as a statement's parameters `?1`, `?2`, ….
pub(crate) fn params(values: &[SqlValue]) -> ParamsFromIter<impl Iterator<Item = Bind<'_>>> {
    rusqlite::params_from_iter(values.iter().map(Bind))
}

/// The `accounts` columns, in the order the store writes them.
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
        "payment_terms": row
            .get::<_, Option<i64>>(15)
            .context("reading an account")?
            .unwrap_or(i64::from(PaymentTerms::DEFAULT.days())),
    }))
}

/// The `subscriptions` columns, in the order the store writes them: the spec spread over
/// columns, the items as JSON.
pub(crate) const SUBSCRIPTION_COLUMNS: &str = "id, account, state, paused_since, currency, \
     starts_on, ends_on, interval_months, mode, anchor, practice, minimum_invoice_amount, items";

/// A subscription read back, in the order [`crate::subscription_rows::encoded`] reads it: the
/// `subscriptions` columns, then what it is billed through from `subscription_watermarks w`
/// (joined by [`crate::subscription_watermarks::JOIN`]).
pub(crate) const SUBSCRIPTION_SELECT: &str = "id, account, state, paused_since, currency, \
     starts_on, ends_on, interval_months, mode, anchor, practice, minimum_invoice_amount, items, \
     w.in_advance, w.in_arrears";

/// The serde field each text column of [`SUBSCRIPTION_SELECT`] is read into, by position;
/// `None` for the columns read apart (the interval, the minimum, the items, the watermarks).
pub(crate) const SUBSCRIPTION_FIELDS: [Option<&str>; 15] = [
    Some("id"),
    Some("account"),
    Some("state"),
    Some("since"),
    Some("currency"),
    Some("start"),
    Some("end"),
    None,
    Some("mode"),
    Some("anchor"),
    Some("practice"),
    None,
    None,
    None,
    None,
];

/// The `usage` columns a record is written to, in [`usage_values`]'s order.
pub(crate) const USAGE_COLUMNS: &str =
    "account_key, metric, unix_day, timestamp, quantity, record_id";

/// A record's `usage` row: the timestamp as its text, the quantity as the decimal's.
pub(crate) fn usage_values(record: &UsageRecord) -> Result<[SqliteValue; 6], StoreError> {
    let timestamp = record.timestamp();
    let text = |s: String| SqliteValue::Text(s);
    Ok([
        text(record.account().to_string()),
        text(record.metric().to_string()),
        SqliteValue::Integer(i64::from(unix_day(timestamp.date_naive()))),
        text(plock_store_sql::codec::text(&timestamp)?),
        text(record.quantity().to_string()),
        record
            .record_id()
            .map_or(SqliteValue::Null, |r| text(r.to_string())),
    ])
}

/// The `usage` columns read back into a record.
pub(crate) const USAGE_SELECT: &str = "account_key, metric, timestamp, quantity, record_id";

/// A usage record from a row selected by [`USAGE_SELECT`], validated.
pub(crate) fn usage_record(row: &rusqlite::Row<'_>) -> Result<UsageRecord, StoreError> {
    let get = |i: usize| row.get::<_, String>(i).context("reading usage");
    let timestamp: DateTime<Utc> = parse("usage timestamp", get(2)?)?;
    let quantity = decimal("usage quantity", &get(3)?)?;
    let record_id: Option<String> = row.get(4).context("reading usage")?;
    plock_store_sql::codec::usage_record(
        &get(0)?,
        &get(1)?,
        timestamp,
        quantity,
        record_id.as_deref(),
    )
}

/// The `invoices` columns the shared layer's [`InvoiceRow`](plock_store_sql::rows::InvoiceRow)
/// makes, in the order the store writes them; `json_bytes` and `invoice` follow
/// ([`crate::invoice_json`]).
pub(crate) const INVOICE_SCALARS: &str = "number, owner, currency, total, period_start, period_end";

/// The `invoices` columns read back: the number, owner and total beside the invoice's JSON.
pub(crate) const INVOICE_SELECT: &str = "number, owner, total, json_bytes, invoice";

/// An invoice from a row selected by [`INVOICE_SELECT`], checked by
/// [`plock_store_sql::codec::invoice`].
pub(crate) fn invoice(row: &rusqlite::Row<'_>) -> Result<Invoice, StoreError> {
    let number: i64 = row.get(0).context("reading an invoice")?;
    let owner: String = row.get(1).context("reading an invoice")?;
    let total: String = row.get(2).context("reading an invoice")?;
    let json_bytes: i64 = row.get(3).context("reading an invoice")?;
    let stored = row.get_ref(4).context("reading an invoice")?;
    let json = crate::invoice_json::read(number, json_bytes, stored)?;
    let total = decimal("invoice total", &total)?;
    plock_store_sql::codec::invoice(number, &owner, total, &json)
}

/// A list as one JSON array parameter, for `IN (SELECT value FROM json_each(?))`: one
/// statement whatever the list's length.
pub(crate) fn json_list<'a>(
    items: impl IntoIterator<Item = &'a str>,
) -> Result<String, StoreError> {
    serde_json::to_string(&items.into_iter().collect::<Vec<&str>>()).context("encoding a list")
}
