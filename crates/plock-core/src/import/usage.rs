//! The usage CSV: one row per usage record.

use super::table::{ImportErrors, Table};
use super::{cell_text, parse_timestamp};
use crate::{AccountBook, AccountKey, MetricId, RecordId, UsageRecord};

/// The columns of the usage CSV.
pub const USAGE_COLUMNS: [&str; 5] = [
    "account_key",
    "metric",
    "timestamp",
    "quantity",
    "record_id",
];

const REQUIRED: [&str; 4] = ["account_key", "metric", "timestamp", "quantity"];

/// Validates a usage CSV: every account key known to `book`, timestamps in UTC, quantities
/// not negative. Re-sent records (same record id) are kept; billing counts them once.
///
/// # Errors
/// Every problem of the file at once.
pub fn parse_usage(bytes: &[u8], book: &AccountBook) -> Result<Vec<UsageRecord>, ImportErrors> {
    let table = Table::parse(bytes, &USAGE_COLUMNS, &REQUIRED)?;
    let mut errors = table.problems.clone();
    let mut records = Vec::with_capacity(table.rows.len());
    for row in &table.rows {
        let cells = UsageCells {
            account_key: cell_text(&table, row, "account_key"),
            metric: cell_text(&table, row, "metric"),
            timestamp: cell_text(&table, row, "timestamp"),
            quantity: cell_text(&table, row, "quantity"),
            record_id: cell_text(&table, row, "record_id"),
        };
        if let Some(record) = usage_row(cells, row.line, book, |t| table.decimal(t), &mut errors) {
            records.push(record);
        }
    }
    errors.into_result(records)
}

/// One row's cells, as [`cell_text`] gives them.
pub(super) struct UsageCells {
    pub(super) account_key: Option<String>,
    pub(super) metric: Option<String>,
    pub(super) timestamp: Option<String>,
    pub(super) quantity: Option<String>,
    pub(super) record_id: Option<String>,
}

/// Validates one row: its record, or its problems added to `errors`.
pub(super) fn usage_row(
    cells: UsageCells,
    line: u64,
    book: &AccountBook,
    decimal: impl Fn(&str) -> Result<rust_decimal::Decimal, String>,
    errors: &mut ImportErrors,
) -> Option<UsageRecord> {
    let text = |c: &Option<String>| c.clone().unwrap_or_default();
    let key = AccountKey::new(text(&cells.account_key));
    let metric = MetricId::new(text(&cells.metric));
    let timestamp = parse_timestamp(&text(&cells.timestamp));
    let quantity = decimal(&text(&cells.quantity));
    let record_id = cells.record_id.as_ref().map(RecordId::new).transpose();
    let before = errors.total();
    match &key {
        Err(e) => errors.push(line, "account_key", &e.value, e.reason),
        Ok(k) if book.by_key(k).is_none() => {
            errors.push(line, "account_key", k.as_str(), "no account has this key")
        }
        Ok(_) => {}
    }
    if let Err(e) = &metric {
        errors.push(line, "metric", &e.value, e.reason);
    }
    if let Err(reason) = &timestamp {
        errors.push(line, "timestamp", &text(&cells.timestamp), reason.clone());
    }
    match &quantity {
        Err(reason) => errors.push(line, "quantity", &text(&cells.quantity), reason.clone()),
        Ok(q) if q.is_sign_negative() && !q.is_zero() => {
            errors.push(
                line,
                "quantity",
                &text(&cells.quantity),
                "quantities are never negative (corrections are credits)",
            );
        }
        Ok(_) => {}
    }
    if let Err(e) = &record_id {
        errors.push(line, "record_id", &e.value, e.reason);
    }
    if errors.total() != before {
        return None;
    }
    match (key, metric, timestamp, quantity, record_id) {
        (Ok(key), Ok(metric), Ok(timestamp), Ok(quantity), Ok(record_id)) => {
            UsageRecord::new(key, metric, timestamp, quantity, record_id).ok()
        }
        _ => None,
    }
}
