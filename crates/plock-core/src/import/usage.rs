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
        let line = row.line;
        let text = |c: &str| cell_text(&table, row, c).unwrap_or_default();
        let key = AccountKey::new(text("account_key"));
        let metric = MetricId::new(text("metric"));
        let timestamp = parse_timestamp(&text("timestamp"));
        let quantity = table.decimal(&text("quantity"));
        let record_id = cell_text(&table, row, "record_id")
            .map(RecordId::new)
            .transpose();
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
            errors.push(line, "timestamp", &text("timestamp"), reason.clone());
        }
        match &quantity {
            Err(reason) => errors.push(line, "quantity", &text("quantity"), reason.clone()),
            Ok(q) if q.is_sign_negative() && !q.is_zero() => {
                errors.push(
                    line,
                    "quantity",
                    &text("quantity"),
                    "quantities are never negative (corrections are credits)",
                );
            }
            Ok(_) => {}
        }
        if let Err(e) = &record_id {
            errors.push(line, "record_id", &e.value, e.reason);
        }
        if errors.total() != before {
            continue;
        }
        if let (Ok(key), Ok(metric), Ok(timestamp), Ok(quantity), Ok(record_id)) =
            (key, metric, timestamp, quantity, record_id)
            && let Ok(record) = UsageRecord::new(key, metric, timestamp, quantity, record_id)
        {
            records.push(record);
        }
    }
    errors.into_result(records)
}
