//! The usage CSV: one row per usage record.

use super::cell_text;
use super::table::{Delimiter, ImportErrors, Table, decimal};
use super::time_format::TimeFormat;
use crate::book::AccountBook;
use crate::id::{AccountKey, MetricId, RecordId};
use crate::usage::UsageRecord;

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
/// A row without a record id gets one from the file and its line, `file-<fingerprint>-<line>`
/// (the fingerprint is a hash of the file's bytes): importing the same file twice gives the
/// same records twice, which count once, while identical rows of one file, or of two
/// different files, count each.
///
/// # Errors
/// Every problem of the file at once.
///
/// # Examples
///
/// ```
/// use chrono::NaiveDate;
/// use plock_core::{Account, AccountBook, AccountId, AccountKey, Currency};
/// use plock_core::account::{AccountName, Contact};
/// use plock_core::import::parse_usage;
///
/// let mut book = AccountBook::new();
/// let day = NaiveDate::from_ymd_opt(2025, 1, 1).ok_or("no such date")?;
/// book.add(Account::new(AccountId::new("globex")?, AccountKey::new("globex")?, AccountName::new("Globex")?, Contact::default(), Currency::EUR, day))?;
/// let csv = "account_key,metric,timestamp,quantity\n\
///            globex,emails,2025-01-03T09:00:00Z,12000\n\
///            initech,emails,2025-01-03T09:00:00Z,10\n\
///            globex,emails,yesterday,5\n";
/// // An unknown account and a time that is not one: both reported, nothing read.
/// let problems = parse_usage(csv.as_bytes(), &book).unwrap_err();
/// let lines: Vec<u64> = problems.errors().iter().map(|e| e.line).collect();
/// assert_eq!(lines, [3, 4]);
/// let fixed: String = csv.lines().take(2).map(|l| format!("{l}\n")).collect();
/// assert_eq!(parse_usage(fixed.as_bytes(), &book)?.len(), 1);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn parse_usage(bytes: &[u8], book: &AccountBook) -> Result<Vec<UsageRecord>, ImportErrors> {
    let fingerprint = fingerprint(bytes);
    let table = Table::parse(bytes, &USAGE_COLUMNS, &REQUIRED)?;
    let rules = RowRules::plock(table.delimiter);
    let mut errors = table.problems.clone();
    let mut records = Vec::with_capacity(table.rows.len());
    for row in &table.rows {
        let cells = UsageCells {
            account_key: cell_text(&table, row, "account_key"),
            metric: cell_text(&table, row, "metric"),
            timestamp: cell_text(&table, row, "timestamp"),
            quantity: cell_text(&table, row, "quantity"),
            record_id: cell_text(&table, row, "record_id")
                .or_else(|| Some(format!("file-{fingerprint:016x}-{}", row.line))),
        };
        if let Some(record) = usage_row(cells, row.line, book, &rules, &mut errors) {
            records.push(record);
        }
    }
    errors.into_result(records)
}

/// A 64-bit FNV-1a hash of `bytes`: stable across versions and platforms, as the record ids
/// made from it must be.
fn fingerprint(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash: u64, b| {
        (hash ^ u64::from(*b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// One row's cells, as [`cell_text`] gives them.
#[derive(Default)]
pub(super) struct UsageCells {
    pub(super) account_key: Option<String>,
    pub(super) metric: Option<String>,
    pub(super) timestamp: Option<String>,
    pub(super) quantity: Option<String>,
    pub(super) record_id: Option<String>,
}

/// How a file's cells are read: the names its problems give the columns, how it writes
/// times, and its separator (a `;` file may write decimal commas).
pub(super) struct RowRules {
    /// Account key, metric, timestamp, quantity and record id columns, as the file names them.
    pub(super) names: [String; 5],
    pub(super) time: TimeFormat,
    pub(super) delimiter: Delimiter,
}

impl RowRules {
    /// The rules of plock's own usage format.
    pub(super) fn plock(delimiter: Delimiter) -> RowRules {
        RowRules {
            names: USAGE_COLUMNS.map(str::to_owned),
            time: TimeFormat::Rfc3339,
            delimiter,
        }
    }

    fn name(&self, field: usize) -> &str {
        self.names.get(field).map_or("", String::as_str)
    }
}

/// The most characters of a refused value an error repeats.
const MAX_SHOWN_CHARS: usize = 100;

/// A refused value as an error shows it: at most [`MAX_SHOWN_CHARS`] characters of it, and
/// an ellipsis when there was more.
fn shown(value: &str) -> String {
    match value.char_indices().nth(MAX_SHOWN_CHARS) {
        Some((end, _)) => format!("{}...", value.get(..end).unwrap_or(value)),
        None => value.to_owned(),
    }
}

/// Validates one row: its record, or its problems added to `errors`.
pub(super) fn usage_row(
    cells: UsageCells,
    line: u64,
    book: &AccountBook,
    rules: &RowRules,
    errors: &mut ImportErrors,
) -> Option<UsageRecord> {
    let text = |c: &Option<String>| c.clone().unwrap_or_default();
    let key = AccountKey::new(text(&cells.account_key));
    let metric = MetricId::new(text(&cells.metric));
    let timestamp = rules.time.parse(&text(&cells.timestamp));
    let quantity = decimal(rules.delimiter, &text(&cells.quantity));
    let record_id = cells.record_id.as_ref().map(RecordId::new).transpose();
    let before = errors.total();
    let mut refuse = |field: usize, value: &str, reason: &str| {
        errors.push(line, rules.name(field), &shown(value), reason);
    };
    match &key {
        Err(e) => refuse(0, &e.value, e.reason),
        Ok(k) if book.by_key(k).is_none() => refuse(0, k.as_str(), "no account has this key"),
        Ok(_) => {}
    }
    if let Err(e) = &metric {
        refuse(1, &e.value, e.reason);
    }
    if let Err(reason) = &timestamp {
        refuse(2, &text(&cells.timestamp), reason);
    }
    match &quantity {
        Err(reason) => refuse(3, &text(&cells.quantity), reason),
        Ok(q) if q.is_sign_negative() && !q.is_zero() => refuse(
            3,
            &text(&cells.quantity),
            "quantities are never negative (corrections are credits)",
        ),
        Ok(q) => {
            if let Some(reason) = crate::bounds::quantity_too_large(*q) {
                refuse(3, &text(&cells.quantity), reason);
            }
        }
    }
    if let Err(e) = &record_id {
        refuse(4, &e.value, e.reason);
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
