//! Domain values to and from rows.
//!
//! Scalars are written in their serde text form (dates `2025-01-31`, states `active`,
//! currencies `EUR`), the text plock's data files hold, and read back through the same
//! deserialisers, so every value is validated again on the way in. Amounts and quantities are
//! `numeric`, which keeps the decimal's scale (`12.30` stays `12.30`) and reads back into an
//! exact `Decimal`: never a float.

use chrono::{DateTime, Duration, Timelike, Utc};
use plock_core::store::StoreError;
use plock_core::{Invoice, UsageRecord};
use postgres::types::ToSql;
use rust_decimal::Decimal;
use serde_json::Value;

pub(crate) use plock_store_sql::codec::owner_in;
pub(crate) use plock_store_sql::error::{CauseContext as Context, backend};

/// A query parameter.
pub(crate) type Param<'a> = &'a (dyn ToSql + Sync);

pub(crate) use plock_store_sql::sql::names;

/// PostgreSQL's numbered placeholder.
pub(crate) fn dollar(_column: &str, n: usize) -> String {
    format!("${n}")
}

/// The start of an account's JSON object, built from its row `a`: every field but its tags
/// and external ids, which each query joins its own way.
macro_rules! account_columns_json {
    () => {
        "json_build_object(\
         'id', a.id, 'key', a.key, 'name', a.name, 'state', a.state, 'currency', a.currency, \
         'master', a.master, 'group_billing', a.group_billing, 'created_on', a.created_on, \
         'payment_terms', coalesce(a.payment_terms_days, 30), \
         'contact', json_build_object('email', a.email, 'phone', a.phone, \
            'address_lines', coalesce(a.address_lines, '[]'::jsonb), 'country', a.country, \
            'organisation_number', a.organisation_number), "
    };
}
pub(crate) use account_columns_json;

/// What a query selects to read an account: the whole account as JSON text, in the shape its
/// deserialiser reads. Its tags and external ids are joined on the owner too, so that the
/// join stays within one owner's rows where the tables are distributed by owner.
pub(crate) const ACCOUNT_JSON: &str = concat!(
    account_columns_json!(),
    "'tags', coalesce((SELECT json_agg(t.tag) FROM account_tags t \
        WHERE t.owner = a.owner AND t.account = a.id), '[]'::json), \
     'external_ids', coalesce((SELECT json_object_agg(e.system, e.external_id) \
        FROM external_ids e WHERE e.owner = a.owner AND e.account = a.id), '{}'::json))::text"
);

/// An account's JSON from a row selected by [`ACCOUNT_JSON`] (in column `column`).
pub(crate) fn account_value(row: &postgres::Row, column: usize) -> Result<Value, StoreError> {
    let json: String = row.try_get(column).context("reading an account")?;
    serde_json::from_str(&json).context("reading an account")
}

/// The `accounts` columns the store writes, in order; `address_lines` is bound as text and
/// cast.
pub(crate) const ACCOUNT_COLUMNS: &str = "id, owner, key, name, state, currency, master, \
     group_billing, created_on, email, phone, address_lines, country, organisation_number, \
     payment_terms_days";

/// `$n` placeholders for the [`ACCOUNT_COLUMNS`], `address_lines` cast to jsonb.
pub(crate) fn account_placeholder(column: &str, n: usize) -> String {
    if column == "address_lines" {
        format!("${n}::text::jsonb")
    } else {
        format!("${n}")
    }
}

/// A subscription's values, in the order the store holds them: the `subscriptions` columns
/// (the whole subscription as JSON), then what it is billed through, the two dates of its
/// row in `subscription_watermarks`.
pub(crate) const SUBSCRIPTION_COLUMNS: &str = "id, owner, account, currency, state, \
     subscription, billed_through_in_advance, billed_through_in_arrears";

/// What a query selects to read a subscription, from [`SUBSCRIPTIONS_FROM`].
pub(crate) const SUBSCRIPTION_SELECT: &str =
    "s.id, s.subscription, w.in_advance, w.in_arrears, w.subscription IS NOT NULL";

/// Where a subscription is read from: its row, and its watermarks' row under the same owner
/// (a join within one owner's rows). Filters name the subscription's columns unqualified.
pub(crate) const SUBSCRIPTIONS_FROM: &str = "subscriptions s LEFT JOIN subscription_watermarks w \
     ON w.owner = s.owner AND w.subscription = s.id";

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

/// The `usage` columns a record is written to, in the order the rows carry them.
pub(crate) const USAGE_COLUMNS: &str = "owner, account_key, metric, at, nanos, quantity, record_id";

/// The `usage` columns read back into a record.
pub(crate) const USAGE_SELECT: &str = "account_key, metric, at, nanos, quantity, record_id";

/// A usage record from a row selected by [`USAGE_SELECT`], validated.
pub(crate) fn usage_record(row: &postgres::Row) -> Result<UsageRecord, StoreError> {
    let key: &str = row.try_get(0).context("reading usage")?;
    let metric: &str = row.try_get(1).context("reading usage")?;
    let at: DateTime<Utc> = row.try_get(2).context("reading usage")?;
    let nanos: i16 = row.try_get(3).context("reading usage")?;
    let quantity: Decimal = row.try_get(4).context("reading usage")?;
    let record_id: Option<&str> = row.try_get(5).context("reading usage")?;
    let timestamp = join_time(at, nanos)?;
    plock_store_sql::codec::usage_record(key, metric, timestamp, quantity, record_id)
}

/// The `invoices` columns, in the order the store writes them.
pub(crate) const INVOICE_COLUMNS: &str =
    "owner, number, currency, total, period_start, period_end, invoice";

/// The `invoices` columns read back: the number, owner and total beside the invoice's JSON.
pub(crate) const INVOICE_SELECT: &str = "number, owner, total, invoice";

/// An invoice from a row selected by [`INVOICE_SELECT`], checked by
/// [`plock_store_sql::codec::invoice`].
pub(crate) fn invoice(row: &postgres::Row) -> Result<Invoice, StoreError> {
    let number: i64 = row.try_get(0).context("reading an invoice")?;
    let owner: &str = row.try_get(1).context("reading an invoice")?;
    let total: Decimal = row.try_get(2).context("reading an invoice")?;
    let json: &str = row.try_get(3).context("reading an invoice")?;
    plock_store_sql::codec::invoice(number, owner, total, json)
}
